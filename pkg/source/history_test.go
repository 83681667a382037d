package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

const (
	gitUser     = "tester"
	gitPassword = "s3cret-pw"
)

// trackedRepo is a repository on a real Git HTTP server (git http-backend) with a history on
// main and commits that never reached main.
type trackedRepo struct {
	t       *testing.T
	server  *gitserver.Server
	name    string
	url     string       // through a proxy that counts uploads
	uploads atomic.Int64 // git-upload-pack requests: fetches, not ref listings
}

func newTrackedRepo(t *testing.T) *trackedRepo {
	t.Helper()
	r := &trackedRepo{t: t, name: "config"}
	s, err := gitserver.Start(gitserver.Options{Dir: t.TempDir(), Username: gitUser, Password: gitPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	r.server = s
	if _, err := s.CreateRepo(r.name, ""); err != nil {
		t.Fatal(err)
	}
	// Counted as each request arrives, before it is answered: a count read after a fetch
	// returned includes that fetch (the server's own log is written after it answers).
	backend := &url.URL{Scheme: "http", Host: s.Addr()}
	proxy := httputil.NewSingleHostReverseProxy(backend)
	counter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/git-upload-pack") {
			r.uploads.Add(1)
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(counter.Close)
	r.url = strings.Replace(s.URL(r.name), backend.String(), counter.URL, 1)
	return r
}

func (r *trackedRepo) commit(branch, content string) string {
	r.t.Helper()
	sha, err := r.server.Commit(r.name, branch, map[string]string{"a.yaml": content}, "set a to "+content)
	if err != nil {
		r.t.Fatal(err)
	}
	return sha
}

// git runs git on the bare repository, as its owner would (tags, force-pushes).
func (r *trackedRepo) git(args ...string) string {
	r.t.Helper()
	return runGit(r.t, r.server.Path(r.name), "", args...)
}

func runGit(t *testing.T, gitDir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"--git-dir=" + gitDir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *trackedRepo) fetcher(ref string) *Fetcher {
	auth := func(context.Context) (transport.AuthMethod, error) {
		return &githttp.BasicAuth{Username: gitUser, Password: gitPassword}, nil
	}
	return NewFetcher(Repo{URL: r.url, Ref: ref, Auth: auth}, 30*time.Second)
}

func TestSyncRevisionsMustBeInTheTrackedHistory(t *testing.T) {
	repo := newTrackedRepo(t)
	main := make([]string, 6) // main[i] sets a.yaml to "v<i>"; main[5] is the tip
	for i := range main {
		main[i] = repo.commit("main", fmt.Sprintf("v%d", i))
	}
	feature := repo.commit("feature", "unreviewed")
	pull := repo.commit("refs/pull/1/head", "from a fork")
	repo.git("tag", "-a", "-m", "unmerged", "v9-unmerged", feature)
	repo.git("tag", "-a", "-m", "release", "v1.2.0", main[3])
	repo.git("tag", "light-good", main[4])
	repo.git("update-ref", "refs/heads/release", main[2])

	for _, tc := range []struct {
		name, revision string
		want           string // the content of a.yaml; "" when refused
		refusal        string // what the error says when refused
	}{
		{"a commit on main 3 commits back", main[2], "v2", ""},
		{"its abbreviation", main[2][:7], "v2", ""},
		{"its abbreviation in capitals", strings.ToUpper(main[1][:10]), "v1", ""},
		{"the first commit of main", main[0], "v0", ""},
		{"the tip of main by name", "main", "v5", ""},
		{"the tip of main by hash", main[5], "v5", ""},
		{"a branch that points into main", "release", "v2", ""},
		{"an annotated tag on a main commit", "v1.2.0", "v3", ""},
		{"a lightweight tag on a main commit", "refs/tags/light-good", "v4", ""},
		{"a branch tip not merged", "feature", "", "revision feature is not in the history of main: sync and rollback apply only reviewed commits; preview it with kubectl gitops diff --revision feature"},
		{"refs/pull/1/head", "refs/pull/1/head", "", "not in the history of main"},
		{"pull/1/head", "pull/1/head", "", "not in the history of main"},
		{"an annotated tag on an unmerged commit", "v9-unmerged", "", "not in the history of main"},
		{"the SHA of a commit only in a PR", pull, "", "not in the history of main"},
		{"its abbreviation", pull[:8], "", "not in the history of main"},
		{"the SHA of an unmerged branch", feature, "", "not in the history of main"},
		{"a name that is nothing", "no-such-branch", "", "not found"},
		{"a hash that is nothing", strings.Repeat("0", 40), "", "not in the history of main"},
		{"too short an abbreviation", main[2][:6], "", "not found"},
		{"a name with a newline", "main\nrevision ok", "", "not a valid branch, tag, ref or commit name"},
		{"a name with a range", "main..feature", "", "not a valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap, err := repo.fetcher("main").FetchTracked(context.Background(), tc.revision)
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), tc.refusal) {
					t.Fatalf("FetchTracked(%s) = %v, %v; want refused with %q", tc.revision, snap, err, tc.refusal)
				}
				if snap != nil {
					t.Error("a refused revision returned a snapshot")
				}
				return
			}
			if err != nil {
				t.Fatalf("FetchTracked(%s): %v", tc.revision, err)
			}
			if data, err := snap.ReadFile("a.yaml"); err != nil || string(data) != tc.want {
				t.Errorf("a.yaml at %s = %q, %v; want %q", tc.revision, data, err, tc.want)
			}
		})
	}

	// Previews are read-only and may read what sync refuses.
	for revision, want := range map[string]string{"feature": "unreviewed", "refs/pull/1/head": "from a fork", "v9-unmerged": "unreviewed", pull: "from a fork"} {
		snap, err := repo.fetcher("main").FetchRevision(context.Background(), revision)
		if err != nil {
			t.Errorf("preview of %s: %v", revision, err)
			continue
		}
		if data, _ := snap.ReadFile("a.yaml"); string(data) != want {
			t.Errorf("preview of %s reads a.yaml = %q, want %q", revision, data, want)
		}
	}

	var notInHistory *NotInHistoryError
	if _, err := repo.fetcher("main").ResolveTracked(context.Background(), "feature"); !errors.As(err, &notInHistory) || notInHistory.Ref != "main" {
		t.Errorf("an unmerged branch: %v, want a *NotInHistoryError for main", err)
	}
	if _, err := repo.fetcher("main").ResolveTracked(context.Background(), "no-such-branch"); !errors.Is(err, ErrUnknownRevision) {
		t.Errorf("an unknown name: %v, want ErrUnknownRevision", err)
	}
	// The tracked ref is the DesiredState's own: on feature, feature's history is reviewed.
	if _, err := repo.fetcher("feature").ResolveTracked(context.Background(), main[1]); err != nil {
		t.Errorf("main's history is in feature's: %v", err)
	}
	if _, err := repo.fetcher("release").ResolveTracked(context.Background(), main[3]); err == nil {
		t.Error("a commit after release's tip must be refused for a DesiredState that tracks release")
	}
}

func TestAForcePushedAwayCommitIsRefused(t *testing.T) {
	repo := newTrackedRepo(t)
	var main []string
	for i := range 4 {
		main = append(main, repo.commit("main", fmt.Sprintf("v%d", i)))
	}
	dropped := repo.commit("main", "dropped")
	f := repo.fetcher("main")
	ctx := context.Background()
	if _, err := f.FetchTracked(ctx, dropped); err != nil {
		t.Fatalf("before the force-push: %v", err)
	}
	if _, err := f.FetchTracked(ctx, main[1]); err != nil {
		t.Fatalf("before the force-push: %v", err)
	}
	repo.git("update-ref", "refs/heads/main", main[3]) // a force-push that drops the last commit

	if _, err := f.ResolveTracked(ctx, dropped); err == nil || !strings.Contains(err.Error(), "not in the history of main") {
		t.Errorf("a commit dropped by a force-push: %v, want refused", err)
	}
	if _, err := f.FetchTracked(ctx, dropped); err == nil {
		t.Error("FetchTracked returned a commit dropped by a force-push (from its cache)")
	}
	if _, err := f.FetchTracked(ctx, main[1]); err != nil {
		t.Errorf("a commit still in main after the force-push: %v", err)
	}
	// A new commit on top is a new tip: its history is checked afresh.
	next := repo.commit("main", "next")
	if _, err := f.FetchTracked(ctx, next); err != nil {
		t.Errorf("the new tip: %v", err)
	}
	if _, err := f.ResolveTracked(ctx, dropped); err == nil {
		t.Error("the dropped commit after a new commit on main: want refused")
	}
}

func TestTrackedHistoryIsDeepenedOnDemandAndAnswersAreCached(t *testing.T) {
	repo := newTrackedRepo(t)
	first := repo.commit("main", "first")
	// MaxHistory+40 more commits in one go: a long history, made as a Git server's owner would.
	var stream strings.Builder
	for i := range MaxHistory + 40 {
		fmt.Fprintf(&stream, "commit refs/heads/main\nmark :%d\ncommitter t <t@x> %d +0000\ndata 2\nc\n", i+1, 1700000000+i)
		if i == 0 {
			fmt.Fprintf(&stream, "from %s\n", first)
		}
		fmt.Fprintf(&stream, "M 644 inline a.yaml\ndata %d\n%d\n\n", len(fmt.Sprint(i))+1, i)
	}
	runGit(t, repo.server.Path(repo.name), stream.String(), "fast-import", "--quiet")
	log := strings.Fields(repo.git("rev-list", "main"))
	ctx := context.Background()

	f := repo.fetcher("main")
	// 3 back: the first, shallow step is enough.
	if _, err := f.ResolveTracked(ctx, log[3]); err != nil {
		t.Fatalf("3 commits back: %v", err)
	}
	if f.history.depth != historyDepths[0] {
		t.Errorf("history fetched to depth %d for a commit 3 back, want the first step %d", f.history.depth, historyDepths[0])
	}
	// 200 back: deepened until found, not to the maximum.
	if _, err := f.ResolveTracked(ctx, log[200]); err != nil {
		t.Fatalf("200 commits back: %v", err)
	}
	if f.history.depth >= MaxHistory {
		t.Errorf("history fetched to depth %d for a commit 200 back, want less than %d", f.history.depth, MaxHistory)
	}
	// The same question again: answered from the cache, no fetch.
	before := repo.uploads.Load()
	if before == 0 {
		t.Fatal("no fetch was counted: the server log format changed")
	}
	if _, err := f.ResolveTracked(ctx, log[200]); err != nil {
		t.Fatal(err)
	}
	if n := repo.uploads.Load() - before; n != 0 {
		t.Errorf("a cached answer fetched %d times, want 0 (only the refs are listed)", n)
	}
	// Another commit of the history already held: walked, not fetched.
	if _, err := f.ResolveTracked(ctx, log[100]); err != nil {
		t.Fatal(err)
	}
	if n := repo.uploads.Load() - before; n != 0 {
		t.Errorf("a commit of the history already held fetched %d times, want 0", n)
	}
	// Within the bound, and past it.
	if _, err := f.FetchTracked(ctx, log[MaxHistory-1]); err != nil {
		t.Errorf("%d commits back: %v", MaxHistory-1, err)
	}
	_, err := f.ResolveTracked(ctx, first)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("not in the last %d commits of main", MaxHistory)) {
		t.Errorf("a commit past the bound: %v, want refused naming the bound", err)
	}
	if f.history.depth > MaxHistory {
		t.Errorf("history fetched to depth %d, past the bound %d", f.history.depth, MaxHistory)
	}
}

func TestTrackedSnapshotsAreSafeToReadWhileTheHistoryGrows(t *testing.T) {
	repo := newTrackedRepo(t)
	var main []string
	for i := range 6 {
		main = append(main, repo.commit("main", fmt.Sprintf("v%d", i)))
	}
	f := repo.fetcher("main")
	var wg sync.WaitGroup
	for i, sha := range main[:5] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			snap, err := f.FetchTracked(context.Background(), sha)
			if err != nil {
				t.Error(err)
				return
			}
			for range 20 {
				if data, err := snap.ReadFile("a.yaml"); err != nil || string(data) != fmt.Sprintf("v%d", i) {
					t.Errorf("a.yaml at %s = %q, %v", sha, data, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
