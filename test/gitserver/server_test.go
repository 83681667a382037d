package gitserver

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	testUser     = "tester"
	testPassword = "s3cret-pw"
	fixtureDir   = "../fixtures/winterlight-config"
)

func startServer(t *testing.T) *Server {
	t.Helper()
	s, err := Start(Options{Dir: t.TempDir(), Username: testUser, Password: testPassword, Logf: t.Logf})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// withCreds puts user:password into an http:// URL, as a user of the git CLI would.
func withCreds(url, user, password string) string {
	return strings.Replace(url, "http://", "http://"+user+":"+password+"@", 1)
}

// gitT runs git with the package's clean environment and fails the test on error.
func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitCmd(dir, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

func TestCloneOverHTTPWithAuth(t *testing.T) {
	s := startServer(t)
	url, err := s.CreateRepo("winterlight-config", fixtureDir)
	if err != nil {
		t.Fatalf("CreateRepo: %v", err)
	}
	if want := "http://" + s.Addr() + "/winterlight-config.git"; url != want || s.URL("winterlight-config") != want {
		t.Fatalf("URL = %q, want %q", url, want)
	}
	head, err := s.Head("winterlight-config", "main")
	if err != nil {
		t.Fatalf("Head: %v", err)
	}

	dst := filepath.Join(t.TempDir(), "clone")
	gitT(t, "", "clone", "--quiet", withCreds(url, testUser, testPassword), dst)
	if got := gitT(t, dst, "rev-parse", "HEAD"); got != head {
		t.Errorf("cloned HEAD = %s, want %s", got, head)
	}
	if got := gitT(t, dst, "rev-parse", "--abbrev-ref", "HEAD"); got != "main" {
		t.Errorf("cloned branch = %s, want main", got)
	}
	want, err := os.ReadFile(filepath.Join(fixtureDir, "clusters/test/winterlight.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "clusters/test/winterlight.yaml"))
	if err != nil || string(got) != string(want) {
		t.Errorf("cloned clusters/test/winterlight.yaml differs from the fixture (err %v)", err)
	}
	if n := gitT(t, dst, "rev-list", "--count", "HEAD"); n != "1" {
		t.Errorf("commits on main = %s, want 1", n)
	}
	if _, err := s.CreateRepo("winterlight-config", fixtureDir); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second CreateRepo: err = %v, want fs.ErrExist", err)
	}
}

func TestAuthRequired(t *testing.T) {
	s := startServer(t)
	url, err := s.CreateRepo("r", fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, service := range []string{"git-upload-pack", "git-receive-pack"} {
		refs := url + "/info/refs?service=" + service
		for _, tc := range []struct {
			name, user, password string
			auth                 bool
			want                 int
		}{
			{name: "none", want: http.StatusUnauthorized},
			{name: "wrong password", user: testUser, password: "nope", auth: true, want: http.StatusUnauthorized},
			{name: "wrong user", user: "mallory", password: testPassword, auth: true, want: http.StatusUnauthorized},
			{name: "right", user: testUser, password: testPassword, auth: true, want: http.StatusOK},
		} {
			t.Run(service+"/"+tc.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, refs, nil)
				if tc.auth {
					req.SetBasicAuth(tc.user, tc.password)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Fatalf("status = %d, want %d", resp.StatusCode, tc.want)
				}
				if tc.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("WWW-Authenticate = %q, want a Basic challenge", resp.Header.Get("WWW-Authenticate"))
				}
				if tc.want == http.StatusOK {
					if ct, want := resp.Header.Get("Content-Type"), "application/x-"+service+"-advertisement"; ct != want {
						t.Errorf("Content-Type = %q, want %q", ct, want)
					}
				}
			})
		}
	}

	// The git CLI with a wrong password fails with an authentication error.
	dst := filepath.Join(t.TempDir(), "clone")
	_, err = gitCmd("", nil, "clone", "--quiet", withCreds(url, testUser, "nope"), dst)
	if err == nil || !strings.Contains(err.Error(), "Authentication failed") {
		t.Errorf("clone with wrong password: err = %v, want Authentication failed", err)
	}
}

func TestCommitPushesOverHTTP(t *testing.T) {
	s := startServer(t)
	if _, err := s.CreateRepo("cfg", fixtureDir); err != nil {
		t.Fatal(err)
	}
	base, _ := s.Head("cfg", "main")

	sha, err := s.Commit("cfg", "main", map[string]string{
		"envs/test/winterlight.yaml": "image:\n  tag: \"1.1.3\"\n",
		"new/dir/file.txt":           "hello\n",
	}, "Bump winterlight to 1.1.3", "clusters/prod/guestbook.yaml")
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if head, _ := s.Head("cfg", "main"); head != sha {
		t.Fatalf("Head = %s, want the new commit %s", head, sha)
	}
	if parent := gitT(t, "", "--git-dir="+s.Path("cfg"), "rev-parse", sha+"^"); parent != base {
		t.Errorf("parent = %s, want %s", parent, base)
	}
	if got, _ := s.ReadFile("cfg", sha, "envs/test/winterlight.yaml"); got != "image:\n  tag: \"1.1.3\"\n" {
		t.Errorf("envs/test/winterlight.yaml = %q", got)
	}
	if _, err := s.ReadFile("cfg", sha, "clusters/prod/guestbook.yaml"); err == nil {
		t.Errorf("clusters/prod/guestbook.yaml still exists after removal")
	}
	if got, _ := s.ReadFile("cfg", sha, "clusters/test/guestbook.yaml"); got == "" {
		t.Errorf("untouched file clusters/test/guestbook.yaml lost")
	}
	msg := gitT(t, "", "--git-dir="+s.Path("cfg"), "log", "-1", "--format=%an <%ae>|%s", sha)
	if want := AuthorName + " <" + AuthorEmail + ">|Bump winterlight to 1.1.3"; msg != want {
		t.Errorf("commit = %q, want %q", msg, want)
	}

	// A missing branch is created from main; full refs work too.
	for _, branch := range []string{"bump-1.1.4", "refs/pull/7/head"} {
		bsha, err := s.Commit("cfg", branch, map[string]string{"envs/test/winterlight.yaml": "image:\n  tag: \"1.1.4\"\n"}, "Bump to 1.1.4")
		if err != nil {
			t.Fatalf("Commit to %s: %v", branch, err)
		}
		if parent := gitT(t, "", "--git-dir="+s.Path("cfg"), "rev-parse", bsha+"^"); parent != sha {
			t.Errorf("%s: parent = %s, want main %s", branch, parent, sha)
		}
		if head, _ := s.Head("cfg", branch); head != bsha {
			t.Errorf("Head(%s) = %s, want %s", branch, head, bsha)
		}
	}
	if head, _ := s.Head("cfg", "main"); head != sha {
		t.Errorf("main moved to %s by a branch commit", head)
	}
	if _, err := s.Head("cfg", "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Head of a missing branch: err = %v, want fs.ErrNotExist", err)
	}

	// Bad input is refused before anything is pushed.
	for _, p := range []string{"../escape", "/abs", ".git/config"} {
		if _, err := s.Commit("cfg", "main", map[string]string{p: "x"}, "bad"); err == nil {
			t.Errorf("Commit with path %q: want an error", p)
		}
	}
	if _, err := s.Commit("cfg", "main", nil, "rm", "does/not/exist"); err == nil {
		t.Errorf("removing a missing file: want an error")
	}
}

func TestCommitToEmptyRepo(t *testing.T) {
	s := startServer(t)
	if _, err := s.CreateRepo("empty", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Head("empty", "main"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Head of empty repo: err = %v, want fs.ErrNotExist", err)
	}
	sha, err := s.Commit("empty", "main", map[string]string{"README.md": "# hi\n"}, "First")
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if head, _ := s.Head("empty", "main"); head != sha {
		t.Errorf("Head = %s, want %s", head, sha)
	}
}

// A push larger than git's http.postBuffer (1 MiB) is sent chunked, which
// Go's CGI host refuses unless the server spools it.
func TestLargePush(t *testing.T) {
	s := startServer(t)
	if _, err := s.CreateRepo("big", fixtureDir); err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 3<<20)
	_, _ = rand.Read(raw)
	content := hex.EncodeToString(raw) // incompressible enough
	sha, err := s.Commit("big", "main", map[string]string{"blob.txt": content}, "Large file")
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got, _ := s.ReadFile("big", sha, "blob.txt"); got != content {
		t.Errorf("blob.txt has %d bytes, want %d", len(got), len(content))
	}
}

func TestConcurrentCommitsSerialize(t *testing.T) {
	s := startServer(t)
	if _, err := s.CreateRepo("cfg", fixtureDir); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.Commit("cfg", "main", map[string]string{fmt.Sprintf("concurrent/%d.txt", i): fmt.Sprint(i)}, fmt.Sprintf("commit %d", i))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := gitT(t, "", "--git-dir="+s.Path("cfg"), "rev-list", "--count", "main"); got != fmt.Sprint(n+1) {
		t.Errorf("commits on main = %s, want %d", got, n+1)
	}
	for i := range n {
		if got, err := s.ReadFile("cfg", "main", fmt.Sprintf("concurrent/%d.txt", i)); err != nil || got != fmt.Sprint(i) {
			t.Errorf("concurrent/%d.txt = %q, %v", i, got, err)
		}
	}
}

// A push from outside (as kube-gitops' write-back does) between Commit's
// fetch and push is absorbed by retrying on the new tip.
func TestCommitRetriesAfterOutsidePush(t *testing.T) {
	s := startServer(t)
	url, err := s.CreateRepo("cfg", fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "clone")
	gitT(t, "", "clone", "--quiet", withCreds(url, testUser, testPassword), dst)

	var wg sync.WaitGroup
	const n = 5
	errs := make([]error, n)
	wg.Go(func() {
		for i := range n {
			_, errs[i] = s.Commit("cfg", "main", map[string]string{fmt.Sprintf("ours/%d", i): "x"}, "ours")
		}
	})
	for i := range n {
		if err := os.WriteFile(filepath.Join(dst, fmt.Sprintf("theirs-%d", i)), []byte("y"), 0o644); err != nil {
			t.Fatal(err)
		}
		gitT(t, dst, "add", "-A")
		gitT(t, dst, "commit", "--quiet", "-m", "theirs")
		for range 20 { // the outside pusher retries too
			if _, err := gitCmd(dst, nil, "pull", "--quiet", "--rebase", "origin", "main"); err != nil {
				continue
			}
			if _, err = gitCmd(dst, nil, "push", "--quiet", "origin", "HEAD:main"); err == nil {
				break
			}
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		for _, p := range []string{fmt.Sprintf("ours/%d", i), fmt.Sprintf("theirs-%d", i)} {
			if _, err := s.ReadFile("cfg", "main", p); err != nil {
				t.Errorf("%s lost: %v", p, err)
			}
		}
	}
}

func TestStartValidates(t *testing.T) {
	if _, err := Start(Options{}); err == nil {
		t.Error("Start without Dir: want an error")
	}
	if _, err := Start(Options{Dir: t.TempDir(), Username: "u"}); err == nil {
		t.Error("Start with a user but no password: want an error")
	}
}
