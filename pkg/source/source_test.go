package source

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

// gitRepo makes a repository with the git CLI and returns its file:// URL and a commit function.
func gitRepo(t *testing.T) (string, func(files map[string]string, symlinks map[string]string)) {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q", "-b", "main")
	commit := func(files map[string]string, symlinks map[string]string) {
		for name, content := range files {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for name, target := range symlinks {
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		run("add", "-A")
		run("commit", "-q", "-m", "change")
	}
	return "file://" + dir, commit
}

func TestFetchReadsACommitAndReusesIt(t *testing.T) {
	url, commit := gitRepo(t)
	commit(map[string]string{"clusters/test/a.yaml": "a", "clusters/test/b.yaml": "b", "clusters/test/sub/c.yaml": "c"},
		map[string]string{"clusters/test/escape.yaml": "../../../../etc/passwd"})
	f := NewFetcher(Repo{URL: url, Ref: "main"}, 30*time.Second)
	snap, err := f.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files, err := snap.ListFiles("clusters/test")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(files, ",") != "clusters/test/a.yaml,clusters/test/b.yaml,clusters/test/escape.yaml" {
		t.Errorf("ListFiles = %v (files and links directly in the directory, sorted; links are refused on read)", files)
	}
	if data, err := snap.ReadFile("clusters/test/a.yaml"); err != nil || string(data) != "a" {
		t.Errorf("ReadFile = %q, %v", data, err)
	}
	if _, err := snap.ReadFile("clusters/test/escape.yaml"); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a symlink must be refused, got %v", err)
	}
	if _, err := snap.ReadFile("clusters/../../x"); err == nil || !strings.Contains(err.Error(), "leaves the repository") {
		t.Errorf("a path leaving the repository must be refused, got %v", err)
	}

	again, err := f.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if again != snap {
		t.Error("an unchanged ref must reuse the snapshot instead of fetching again")
	}
	commit(map[string]string{"clusters/test/a.yaml": "a2"}, nil)
	next, err := f.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if next.Revision == snap.Revision {
		t.Fatal("a new commit must give a new snapshot")
	}
	if data, _ := next.ReadFile("clusters/test/a.yaml"); string(data) != "a2" {
		t.Errorf("new snapshot reads %q", data)
	}
	if data, _ := snap.ReadFile("clusters/test/a.yaml"); string(data) != "a" {
		t.Errorf("an old snapshot must not change, reads %q", data)
	}
}

func TestFetchErrorsSayWhatToCheck(t *testing.T) {
	url, commit := gitRepo(t)
	commit(map[string]string{"x": "x"}, nil)
	_, err := NewFetcher(Repo{URL: url, Ref: "release"}, 30*time.Second).Fetch(context.Background())
	if err == nil || !strings.Contains(err.Error(), `ref "release" not found`) {
		t.Errorf("missing ref: %v", err)
	}
	_, err = NewFetcher(Repo{URL: "file:///does/not/exist", Ref: "main"}, 30*time.Second).Fetch(context.Background())
	if err == nil || !strings.Contains(err.Error(), "file:///does/not/exist") {
		t.Errorf("missing repository: %v", err)
	}
}

func TestFetchErrorsRedactCredentialsInTheURL(t *testing.T) {
	const canary = "canary-Pa55-0xfeed"
	git, err := gitserver.Start(gitserver.Options{Dir: t.TempDir(), Username: "gitops", Password: canary})
	if err != nil {
		t.Fatal(err)
	}
	defer git.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plain, err := git.CreateRepo("config", dir)
	if err != nil {
		t.Fatal(err)
	}
	withUser := func(u, password string) string { return strings.Replace(u, "://", "://gitops:"+password+"@", 1) }
	failing := func(context.Context) (transport.AuthMethod, error) {
		return nil, fmt.Errorf("read Secret for %s: gone", withUser(plain, canary))
	}
	for name, repo := range map[string]Repo{
		"missing ref":         {URL: withUser(plain, canary), Ref: "release"},
		"wrong password":      {URL: withUser(plain, "wrong-"+canary), Ref: "main"},
		"missing repository":  {URL: withUser(strings.Replace(plain, "config.git", "nothing.git", 1), canary), Ref: "main"},
		"unreachable":         {URL: withUser("http://127.0.0.1:1/config.git", canary), Ref: "main"},
		"credentials failing": {URL: withUser(plain, canary), Ref: "main", Auth: failing},
	} {
		_, err := NewFetcher(repo, 30*time.Second).Fetch(context.Background())
		if err == nil || strings.Contains(err.Error(), canary) || !strings.Contains(err.Error(), "http://xxxxx@") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The URL with its credentials still fetches: only what is shown is redacted.
	if _, err := NewFetcher(Repo{URL: withUser(plain, canary), Ref: "main"}, 30*time.Second).Fetch(context.Background()); err != nil {
		t.Errorf("fetch with credentials in the URL: %v", err)
	}
}
