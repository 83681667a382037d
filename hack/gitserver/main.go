// Command gitserver serves a local Git repository over authenticated HTTP for the demo and hack/local-up.sh.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

const usage = `gitserver serves bare Git repositories over HTTP with basic auth (git http-backend).

On start it creates the repository named after --fixture from that directory,
unless it already exists (its history is kept across restarts), writes the
repository's URL to DIR/url, and serves until SIGINT or SIGTERM. The password
is read from --password-file, or generated and written there (mode 0600) if the
file does not exist.

Example:
  go run ./hack/gitserver --dir .local/git --fixture test/fixtures/winterlight-config \
      --addr 127.0.0.1:0 --user gitops --password-file .local/git/password
  cat .local/git/url      # http://127.0.0.1:PORT/winterlight-config.git
  git clone http://gitops:$(cat .local/git/password)@127.0.0.1:PORT/winterlight-config.git

Flags:
`

func main() {
	log.SetFlags(log.LstdFlags)
	log.SetPrefix("gitserver: ")
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	fset := flag.NewFlagSet("gitserver", flag.ContinueOnError)
	dir := fset.String("dir", ".local/git", "directory holding the bare repositories")
	fixture := fset.String("fixture", "test/fixtures/winterlight-config", "directory whose files become the first commit of the repository")
	repo := fset.String("repo", "", "repository name (default: the base name of --fixture)")
	addr := fset.String("addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	user := fset.String("user", "gitops", "basic auth user name")
	passwordFile := fset.String("password-file", "", "file holding the basic auth password; created with a random one if missing (default DIR/password)")
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), usage)
		fset.PrintDefaults()
	}
	if err := fset.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fset.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see --help)", fset.Args())
	}
	if *repo == "" {
		*repo = filepath.Base(filepath.Clean(*fixture))
	}
	if *passwordFile == "" {
		*passwordFile = filepath.Join(*dir, "password")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", *dir, err)
	}
	password, err := loadOrCreatePassword(*passwordFile)
	if err != nil {
		return err
	}

	srv, err := gitserver.Start(gitserver.Options{
		Dir: *dir, Username: *user, Password: password, Addr: *addr, Logf: log.Printf,
	})
	if err != nil {
		return err
	}
	defer srv.Close()

	url, err := srv.CreateRepo(*repo, *fixture)
	switch {
	case errors.Is(err, fs.ErrExist):
		url = srv.URL(*repo)
		head, _ := srv.Head(*repo, "main")
		log.Printf("repository %s exists, keeping its history (main at %.12s)", *repo, head)
	case err != nil:
		return err
	default:
		log.Printf("created repository %s from %s", *repo, *fixture)
	}
	urlFile := filepath.Join(*dir, "url")
	if err := writeFileAtomic(urlFile, url+"\n", 0o644); err != nil {
		return err
	}
	defer os.Remove(urlFile)
	log.Printf("serving %s (user %s, password in %s)", url, *user, *passwordFile)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	log.Printf("shutting down")
	return nil
}

// loadOrCreatePassword reads the password from path, or writes a random one there.
func loadOrCreatePassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		pw := strings.TrimSpace(string(b))
		if pw == "" {
			return "", fmt.Errorf("password file %s is empty: delete it to generate a new password", path)
		}
		return pw, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read password file: %w", err)
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	pw := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("create password file: %w", err)
	}
	if err := writeFileAtomic(path, pw+"\n", 0o600); err != nil {
		return "", err
	}
	log.Printf("generated a new password in %s", path)
	return pw, nil
}

// writeFileAtomic writes data to path through a temp file and rename, so readers never see half a file.
func writeFileAtomic(path, data string, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
