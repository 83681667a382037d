// Command registry is the demo's local OCI registry (go-containerregistry's, in memory) and the
// push a CI would make to it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const usage = `usage:
  registry serve [--addr 127.0.0.1:5000] [--addr-file FILE]
      Serves an OCI registry (in memory, plain HTTP) until SIGINT or SIGTERM; once it listens,
      writes the address to FILE (a script waits for that, not for the port, which another
      process may hold).
  registry push REF...
      Pushes a small image under each REF (e.g. localhost:5000/acme/winterlight:1.1.3), as an
      application's CI would, and prints its digest.
`

func main() {
	log.SetFlags(log.LstdFlags)
	log.SetPrefix("registry: ")
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serveCmd(os.Args[2:])
	case "push":
		err = pushCmd(os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		log.Fatal(err)
	}
}

func serveCmd(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:5000", "listen address")
	addrFile := fs.String("addr-file", "", "file to write the address to once listening")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q\n%s", fs.Args(), usage)
	}
	l, err := listen(*addr)
	if err != nil {
		return err
	}
	defer l.Close()
	if *addrFile != "" {
		if err := writeAddr(*addrFile, l); err != nil {
			return err
		}
		defer os.Remove(*addrFile)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("serving an OCI registry on %s", l.Addr())
	return serve(ctx, l, log.Default())
}

// listen binds addr, saying what to do when another process has the port.
func listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%s is taken by another process (another demo or registry? `ss -ltnp` shows which): stop it, or serve on another port with --addr: %w", addr, err)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l, nil
}

// writeAddr writes the address l listens on to path, whole or not at all: a script waiting for
// the file must not read half of it.
func writeAddr(path string, l net.Listener) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(l.Addr().String()+"\n"), 0o644); err != nil {
		return fmt.Errorf("write --addr-file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write --addr-file: %w", err)
	}
	return nil
}

// serve answers registry requests on l until ctx ends.
func serve(ctx context.Context, l net.Listener, logger *log.Logger) error {
	srv := &http.Server{Handler: ggcr.New(ggcr.Logger(logger)), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	// Nothing to drain: a push cut short is retried by its client, and the images live in memory.
	return srv.Close()
}

func pushCmd(refs []string) error {
	if len(refs) == 0 {
		return fmt.Errorf("push needs at least one image reference\n%s", usage)
	}
	for _, ref := range refs {
		digest, err := push(ref)
		if err != nil {
			return err
		}
		fmt.Printf("pushed %s@%s\n", ref, digest)
	}
	return nil
}

// push writes a small random image labelled with its tag under ref (host:port/repo:tag, plain
// HTTP): the clusters here run no containers, so what matters is the tag and the digest.
func push(ref string) (v1.Hash, error) {
	tag, err := name.NewTag(ref, name.Insecure, name.StrictValidation)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("image reference %q: %w (want host:port/repository:tag)", ref, err)
	}
	img, err := random.Image(512, 1)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("make an image for %s: %w", ref, err)
	}
	img, err = mutate.Config(img, v1.Config{Labels: map[string]string{"org.opencontainers.image.version": tag.TagStr()}})
	if err != nil {
		return v1.Hash{}, fmt.Errorf("label the image for %s: %w", ref, err)
	}
	if err := remote.Write(tag, img); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w (is the registry running?)", ref, err)
	}
	return img.Digest()
}
