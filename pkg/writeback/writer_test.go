package writeback

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/kube-gitops/kube-gitops/pkg/pins"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

const (
	user     = "writer"
	password = "pa55-w0rd-writeback"
)

// testRepo is a repository on a real git http-backend server.
type testRepo struct {
	t      *testing.T
	server *gitserver.Server
	name   string
	url    string
}

// newRepo starts a server (stopped at the end of the test) with one repository holding files.
func newRepo(t *testing.T, files map[string]string, symlinks ...string) *testRepo {
	t.Helper()
	s, err := gitserver.Start(gitserver.Options{Dir: t.TempDir(), Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i+1 < len(symlinks); i += 2 { // link, target
		if err := os.Symlink(symlinks[i+1], filepath.Join(dir, symlinks[i])); err != nil {
			t.Fatal(err)
		}
	}
	url, err := s.CreateRepo("config", dir)
	if err != nil {
		t.Fatal(err)
	}
	return &testRepo{t: t, server: s, name: "config", url: url}
}

func goodAuth(context.Context) (transport.AuthMethod, error) {
	return &githttp.BasicAuth{Username: user, Password: password}, nil
}

func (r *testRepo) writer(opts Options) *Writer {
	r.t.Helper()
	w, err := NewWriter(r.url, "main", goodAuth, opts)
	if err != nil {
		r.t.Fatal(err)
	}
	return w
}

func (r *testRepo) head(branch string) string {
	r.t.Helper()
	h, err := r.server.Head(r.name, branch)
	if err != nil {
		r.t.Fatal(err)
	}
	return h
}

func (r *testRepo) read(rev, file string) string {
	r.t.Helper()
	s, err := r.server.ReadFile(r.name, rev, file)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// git runs git on the bare repository.
func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"--git-dir=" + r.server.Path(r.name)}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *testRepo) commits(branch string) int {
	r.t.Helper()
	n, err := strconv.Atoi(r.git("rev-list", "--count", branch))
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

const prodValues = `# winterlight in prod (cluster ace-prod).
# The image tag moves only by promotion from test: kubectl gitops promote winterlight --from test
image:
  repository: registry.example/acme/winterlight
  tag: "1.1.2"  # promoted from test by kube-gitops

replicaCount: 2
resources: {limits: {cpu: 500m, memory: 256Mi}}   # flow map

env:
    LOG_LEVEL: 'info'     # quoted
    FEATURES: [a, "b", c]
# the end
`

const prodState = `# DesiredState of winterlight in prod
apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: winterlight, namespace: apps}
spec:
  helm:
    chart: {repoURL: https://charts.example, name: winterlight, version: 1.4.2}   # chart pin
    valuesFiles: [apps/winterlight/values.yaml, envs/prod/winterlight.yaml]
  sync: {automated: true, prune: true}
  versions:
    - {name: image, file: envs/prod/winterlight.yaml, path: image.tag}
    - {name: chart, field: spec.helm.chart.version}
  promotion: {from: test}
`

func TestApplyCommitsOnlyTheChangedScalar(t *testing.T) {
	r := newRepo(t, map[string]string{"envs/prod/winterlight.yaml": prodValues, "README.md": "hello\n"})
	before := r.head("main")
	start := time.Now()
	res, err := r.writer(Options{}).Apply(context.Background(), Change{
		Edits:   []pins.Edit{{File: "envs/prod/winterlight.yaml", Path: "image.tag", Value: "1.1.4", Name: "image"}},
		Subject: "promote winterlight to prod",
		Author:  Signature{Name: "Ada Lovelace", Email: "ada@example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Apply took %v", time.Since(start).Round(time.Millisecond))
	if res.NoOp || res.Branch != "main" || res.Commit != r.head("main") || res.Attempts != 1 {
		t.Errorf("Result = %+v, head %s", res, r.head("main"))
	}
	want := strings.Replace(prodValues, `tag: "1.1.2"  # promoted`, `tag: "1.1.4"  # promoted`, 1)
	if got := r.read("main", "envs/prod/winterlight.yaml"); got != want {
		t.Errorf("file changed beyond the value:\n%s\nwant\n%s", got, want)
	}
	if got := r.git("rev-parse", "main^"); got != before {
		t.Errorf("parent = %s, want the old head %s", got, before)
	}
	if got := r.git("log", "-1", "--format=%an <%ae>|%cn <%ce>", "main"); got != "Ada Lovelace <ada@example.com>|kube-gitops <kube-gitops@localhost>" {
		t.Errorf("author|committer = %s", got)
	}
	msg := r.git("log", "-1", "--format=%B", "main")
	if wantMsg := "promote winterlight to prod: image 1.1.2 → 1.1.4\n\nenvs/prod/winterlight.yaml image.tag: 1.1.2 → 1.1.4"; msg != wantMsg {
		t.Errorf("message = %q, want %q", msg, wantMsg)
	}
	if got := r.git("diff", "--stat", before, "main"); !strings.Contains(got, "1 file changed, 1 insertion(+), 1 deletion(-)") {
		t.Errorf("diff: %s", got)
	}
	if len(res.Changes) != 1 || res.Changes[0] != (PinChange{Name: "image", File: "envs/prod/winterlight.yaml", Path: "image.tag", Old: "1.1.2", New: "1.1.4"}) {
		t.Errorf("Changes = %+v", res.Changes)
	}
	if r.read("main", "README.md") != "hello\n" {
		t.Error("another file changed")
	}
}

func TestApplyFieldPinAndFilePinInOneCommit(t *testing.T) {
	r := newRepo(t, map[string]string{
		"envs/prod/winterlight.yaml":     prodValues,
		"clusters/prod/winterlight.yaml": prodState,
		"clusters/prod/guestbook.yaml":   strings.ReplaceAll(prodState, "winterlight", "guestbook"),
	})
	res, err := r.writer(Options{}).Apply(context.Background(), Change{Edits: []pins.Edit{
		{File: "envs/prod/winterlight.yaml", Path: "image.tag", Value: "1.1.4", Name: "image"},
		{File: "clusters/prod/winterlight.yaml", Path: "spec.helm.chart.version", Value: "1.5.0", Name: "chart",
			Document: pins.Document{Kind: "DesiredState", Namespace: "apps", Name: "winterlight"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(prodState, "version: 1.4.2}", "version: 1.5.0}", 1)
	if got := r.read("main", "clusters/prod/winterlight.yaml"); got != want {
		t.Errorf("DesiredState changed beyond the value:\n%s\nwant\n%s", got, want)
	}
	if got, _ := readValue(t, []byte(r.read("main", "envs/prod/winterlight.yaml")), "image.tag"); got != "1.1.4" {
		t.Errorf("image.tag = %q", got)
	}
	if r.commits("main") != 2 || len(res.Changes) != 2 {
		t.Errorf("%d commits, changes %+v; want one new commit with two changes", r.commits("main"), res.Changes)
	}
	if msg := r.git("log", "-1", "--format=%s", "main"); msg != "update versions: image 1.1.2 → 1.1.4, chart 1.4.2 → 1.5.0" {
		t.Errorf("subject = %q", msg)
	}
	if got := r.git("diff", "--name-only", "main^", "main"); got != "clusters/prod/winterlight.yaml\nenvs/prod/winterlight.yaml" {
		t.Errorf("changed files: %s", got)
	}
}

func TestApplyNoOp(t *testing.T) {
	r := newRepo(t, map[string]string{"envs/prod/winterlight.yaml": prodValues})
	before := r.head("main")
	res, err := r.writer(Options{}).Apply(context.Background(), Change{
		Edits: []pins.Edit{{File: "envs/prod/winterlight.yaml", Path: "image.tag", Value: "1.1.2"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.NoOp || res.Commit != before || len(res.Changes) != 0 || r.head("main") != before {
		t.Errorf("Result = %+v; want a no-op at %s and no new commit", res, before)
	}
}

// TestApplyConcurrently runs 20 Apply calls at once, each with its own Writer as callers would:
// ten set ten different files, ten set one shared pin to ten different values.
func TestApplyConcurrently(t *testing.T) {
	files := map[string]string{"shared.yaml": "version: \"0.0.0\" # shared pin\n"}
	for i := range 10 {
		files[fmt.Sprintf("apps/app-%d.yaml", i)] = "image:\n  tag: 1.0.0  # app\n"
	}
	r := newRepo(t, files)
	start := time.Now()
	results := make([]*Result, 20)
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := pins.Edit{File: "shared.yaml", Path: "version", Value: fmt.Sprintf("2.0.%d", i)}
			if i < 10 {
				e = pins.Edit{File: fmt.Sprintf("apps/app-%d.yaml", i), Path: "image.tag", Value: fmt.Sprintf("1.0.%d", i+1)}
			}
			results[i], errs[i] = r.writer(Options{}).Apply(context.Background(), Change{Edits: []pins.Edit{e}})
		}()
	}
	wg.Wait()
	t.Logf("20 concurrent Apply calls took %v", time.Since(start).Round(time.Millisecond))
	checkConcurrent(t, r, results, errs)
}

// TestApplyRacesWithoutTheProcessLock lets the 20 calls race each other through the server
// (as Writers in different processes would): every lost push must be retried on the new head.
func TestApplyRacesWithoutTheProcessLock(t *testing.T) {
	files := map[string]string{"shared.yaml": "version: \"0.0.0\" # shared pin\n"}
	for i := range 10 {
		files[fmt.Sprintf("apps/app-%d.yaml", i)] = "image:\n  tag: 1.0.0  # app\n"
	}
	r := newRepo(t, files)
	start := time.Now()
	results := make([]*Result, 20)
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := pins.Edit{File: "shared.yaml", Path: "version", Value: fmt.Sprintf("2.0.%d", i)}
			if i < 10 {
				e = pins.Edit{File: fmt.Sprintf("apps/app-%d.yaml", i), Path: "image.tag", Value: fmt.Sprintf("1.0.%d", i+1)}
			}
			// Each loss means another call's push landed in between, so 20 attempts always suffice.
			w := r.writer(Options{MaxAttempts: 20})
			w.noLock = true
			results[i], errs[i] = w.Apply(context.Background(), Change{Edits: []pins.Edit{e}})
		}()
	}
	wg.Wait()
	attempts := 0
	for _, res := range results {
		if res != nil {
			attempts += res.Attempts
		}
	}
	t.Logf("20 racing Apply calls took %v and %d attempts", time.Since(start).Round(time.Millisecond), attempts)
	checkConcurrent(t, r, results, errs)
	if attempts == 20 {
		t.Log("no push lost a race this time; TestApplyRetriesAfterAConcurrentPush covers the retry")
	}
}

func checkConcurrent(t *testing.T, r *testRepo, results []*Result, errs []error) {
	t.Helper()
	commits := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			t.Errorf("Apply %d: %v", i, err)
			continue
		}
		if results[i].NoOp || commits[results[i].Commit] {
			t.Errorf("Apply %d: %+v is a no-op or a commit reported twice", i, results[i])
		}
		commits[results[i].Commit] = true
	}
	if n := r.commits("main"); n != 21 {
		t.Errorf("main has %d commits, want 1 + 20", n)
	}
	r.git("fsck", "--strict", "--no-dangling")
	for i := range 10 {
		got, _ := readValue(t, []byte(r.read("main", fmt.Sprintf("apps/app-%d.yaml", i))), "image.tag")
		if want := fmt.Sprintf("1.0.%d", i+1); got != want {
			t.Errorf("app-%d: tag %q, want %q (an update was lost)", i, got, want)
		}
	}
	// The shared pin holds the value of the last of its ten commits.
	order := strings.Fields(r.git("rev-list", "main"))
	for _, c := range order {
		for i := 10; i < 20; i++ {
			if results[i] != nil && results[i].Commit == c {
				got := r.read("main", "shared.yaml")
				if want := fmt.Sprintf("version: \"2.0.%d\" # shared pin\n", i); got != want {
					t.Errorf("shared.yaml = %q, want %q", got, want)
				}
				return
			}
		}
	}
	t.Error("no commit of the shared pin is on main")
}

func TestApplyRetriesAfterAConcurrentPush(t *testing.T) {
	r := newRepo(t, map[string]string{"envs/prod/winterlight.yaml": prodValues, "other.yaml": "a: 1\n"})
	w := r.writer(Options{})
	w.beforePush = func(attempt int) {
		if attempt == 1 { // someone else pushes between our clone and our push
			if _, err := r.server.Commit(r.name, "main", map[string]string{"other.yaml": "a: 2\n"}, "concurrent"); err != nil {
				t.Error(err)
			}
		}
	}
	res, err := w.Apply(context.Background(), Change{Edits: []pins.Edit{{File: "envs/prod/winterlight.yaml", Path: "image.tag", Value: "1.1.4"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || r.commits("main") != 3 {
		t.Errorf("attempts %d, commits %d; want 2 and 3", res.Attempts, r.commits("main"))
	}
	if r.read("main", "other.yaml") != "a: 2\n" || r.git("log", "-1", "--format=%s", "main^") != "concurrent" {
		t.Error("the concurrent commit was lost")
	}
	if got, _ := readValue(t, []byte(r.read("main", "envs/prod/winterlight.yaml")), "image.tag"); got != "1.1.4" {
		t.Errorf("image.tag = %q", got)
	}

	// When the concurrent push already set the value, the retry finds nothing to do.
	w.beforePush = func(attempt int) {
		if attempt == 1 {
			data := strings.Replace(r.read("main", "envs/prod/winterlight.yaml"), "1.1.4", "1.1.5", 1)
			if _, err := r.server.Commit(r.name, "main", map[string]string{"envs/prod/winterlight.yaml": data}, "same value"); err != nil {
				t.Error(err)
			}
		}
	}
	res, err = w.Apply(context.Background(), Change{Edits: []pins.Edit{{File: "envs/prod/winterlight.yaml", Path: "image.tag", Value: "1.1.5"}}})
	if err != nil || !res.NoOp || res.Attempts != 2 || res.Commit != r.head("main") {
		t.Errorf("Result %+v, %v; want a no-op on the second attempt", res, err)
	}
}

func TestApplyGivesUpWhenTheBranchKeepsMoving(t *testing.T) {
	r := newRepo(t, map[string]string{"a.yaml": "v: 1\n", "b.yaml": "n: 0\n"})
	w := r.writer(Options{MaxAttempts: 3})
	w.beforePush = func(attempt int) {
		if _, err := r.server.Commit(r.name, "main", map[string]string{"b.yaml": fmt.Sprintf("n: %d\n", attempt)}, "busy"); err != nil {
			t.Error(err)
		}
	}
	_, err := w.Apply(context.Background(), Change{Edits: []pins.Edit{{File: "a.yaml", Path: "v", Value: "2"}}})
	if !errors.Is(err, ErrConcurrentUpdate) || !strings.Contains(err.Error(), "during each of 3 attempts") {
		t.Fatalf("got %v, want ErrConcurrentUpdate after 3 attempts", err)
	}
	t.Log(err)
	if got, _ := readValue(t, []byte(r.read("main", "a.yaml")), "v"); got != "1" || r.commits("main") != 4 {
		t.Errorf("a.yaml v = %s with %d commits; want it untouched", got, r.commits("main"))
	}
}

func TestApplyToANewBranch(t *testing.T) {
	r := newRepo(t, map[string]string{"envs/prod/winterlight.yaml": prodValues})
	main := r.head("main")
	w := r.writer(Options{})
	change := Change{Branch: "promote/winterlight-prod", Edits: []pins.Edit{{File: "envs/prod/winterlight.yaml", Path: "image.tag", Value: "1.1.4"}}}
	res, err := w.Apply(context.Background(), change)
	if err != nil {
		t.Fatal(err)
	}
	if res.Branch != "promote/winterlight-prod" || res.NoOp || res.Commit != r.head("promote/winterlight-prod") {
		t.Errorf("Result = %+v", res)
	}
	if r.head("main") != main || r.read("main", "envs/prod/winterlight.yaml") != prodValues {
		t.Error("main changed")
	}
	if r.git("rev-parse", "promote/winterlight-prod^") != main {
		t.Error("the branch does not start at main's head")
	}
	if got, _ := readValue(t, []byte(r.read("promote/winterlight-prod", "envs/prod/winterlight.yaml")), "image.tag"); got != "1.1.4" {
		t.Errorf("branch image.tag = %q", got)
	}

	// Again, as a retried promotion would: the branch already holds the values.
	again, err := w.Apply(context.Background(), change)
	if err != nil || !again.NoOp || again.Commit != res.Commit || len(again.Changes) != 1 {
		t.Errorf("second Apply = %+v, %v; want the existing branch reported as a no-op", again, err)
	}
	// Different values on an existing branch are refused.
	change.Edits[0].Value = "1.1.9"
	_, err = w.Apply(context.Background(), change)
	if err == nil || !strings.Contains(err.Error(), `branch promote/winterlight-prod already exists`) || !strings.Contains(err.Error(), "choose another branch name, or delete the branch") {
		t.Errorf("got %v, want a refusal to overwrite the branch", err)
	}
	if r.head("promote/winterlight-prod") != res.Commit || r.head("main") != main {
		t.Error("a refused Apply moved a branch")
	}
}

func TestApplyErrors(t *testing.T) {
	r := newRepo(t, map[string]string{"envs/prod/x.yaml": prodValues, "real/a.yaml": "v: 1\n"}, "link.yaml", "real/a.yaml", "linkdir", "real")
	before := r.head("main")
	w := r.writer(Options{})
	for _, c := range []struct {
		edit pins.Edit
		want string
	}{
		{pins.Edit{File: "envs/prod/x.yaml", Path: "image.digest", Value: "1"}, `image.digest not found in envs/prod/x.yaml (no key "digest" under image): add it, or fix the pin's path`},
		{pins.Edit{File: "envs/prod/missing.yaml", Path: "image.tag", Value: "1"}, "envs/prod/missing.yaml not found: check the pin's file (branch main of " + r.url + ")"},
		{pins.Edit{File: "envs/prod/x.yaml", Path: "image", Value: "1"}, "image in envs/prod/x.yaml is a mapping, not a single value"},
		{pins.Edit{File: "link.yaml", Path: "v", Value: "2"}, "link.yaml is a symbolic link"},
		{pins.Edit{File: "linkdir/a.yaml", Path: "v", Value: "2"}, "linkdir is a symbolic link"},
		{pins.Edit{File: "../x.yaml", Path: "v", Value: "2"}, "must be a relative path inside the repository"},
		{pins.Edit{File: "/etc/passwd", Path: "v", Value: "2"}, "must be a relative path inside the repository"},
		{pins.Edit{File: "envs/../../x.yaml", Path: "v", Value: "2"}, "must be a relative path inside the repository"},
		{pins.Edit{File: ".git/config", Path: "v", Value: "2"}, "not in .git"},
		{pins.Edit{File: "README.md", Path: "v", Value: "2"}, `file "README.md" is not a YAML file`},
		{pins.Edit{File: "real/a.yaml", Path: "v..w", Value: "2"}, "empty segment"},
		{pins.Edit{File: "real/a.yaml", Path: "v", Value: ""}, "the value is empty"},
	} {
		_, err := w.Apply(context.Background(), Change{Edits: []pins.Edit{c.edit}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v\nwant it to say %q", c.edit, err, c.want)
		}
	}
	_, err := w.Apply(context.Background(), Change{Edits: []pins.Edit{{File: "real/a.yaml", Path: "v", Value: "2"}, {File: "real/a.yaml", Path: "v", Value: "3"}}})
	if err == nil || !strings.Contains(err.Error(), "edits 1 and 2 both set v in real/a.yaml") {
		t.Errorf("conflicting edits: %v", err)
	}
	if r.head("main") != before {
		t.Error("a failed Apply committed")
	}
	if _, err := NewWriter(r.url, "refs/tags/v1", goodAuth, Options{}); err == nil || !strings.Contains(err.Error(), "write-back pushes to a branch") {
		t.Errorf("a tag as tracked ref: %v", err)
	}
	nw, _ := NewWriter(r.url, "nope", goodAuth, Options{})
	if _, err := nw.Apply(context.Background(), Change{Edits: []pins.Edit{{File: "real/a.yaml", Path: "v", Value: "2"}}}); err == nil || !strings.Contains(err.Error(), "branch nope not found in") {
		t.Errorf("missing branch: %v", err)
	}
}

func TestApplyBadCredentials(t *testing.T) {
	r := newRepo(t, map[string]string{"a.yaml": "v: 1\n"})
	change := Change{Edits: []pins.Edit{{File: "a.yaml", Path: "v", Value: "2"}}}
	for name, auth := range map[string]func(context.Context) (transport.AuthMethod, error){
		"wrong password": func(context.Context) (transport.AuthMethod, error) {
			return &githttp.BasicAuth{Username: user, Password: "wrong-secret-123"}, nil
		},
		"none": nil,
	} {
		w, err := NewWriter(r.url, "main", auth, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.Apply(context.Background(), change)
		if err == nil || !strings.Contains(err.Error(), "authentication required") || !strings.Contains(err.Error(), "check the write-back credentials") {
			t.Errorf("%s: got %v, want an authentication error saying what to check", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
		if !errors.Is(err, transport.ErrAuthenticationRequired) {
			t.Errorf("%s: the error must wrap transport.ErrAuthenticationRequired", name)
		}
		if err != nil && strings.Contains(err.Error(), "wrong-secret-123") {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
	}
	// A password in the URL never shows in errors either.
	w, err := NewWriter(strings.Replace(r.url, "http://", "http://"+user+":wrong-secret-123@", 1), "main", nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Apply(context.Background(), change); err == nil || strings.Contains(err.Error(), "wrong-secret-123") {
		t.Errorf("URL with a wrong password: got %v, want an error without the password", err)
	}
	w, _ = NewWriter(r.url, "main", func(context.Context) (transport.AuthMethod, error) {
		return nil, errors.New(`read Secret apps/git: not found`)
	}, Options{})
	if _, err := w.Apply(context.Background(), change); err == nil || !strings.Contains(err.Error(), "credentials for "+r.url+": read Secret apps/git") {
		t.Errorf("auth func error: %v", err)
	}
	if r.commits("main") != 1 {
		t.Error("a refused Apply committed")
	}
}

func TestApplyHonoursTheContextWhileWaiting(t *testing.T) {
	r := newRepo(t, map[string]string{"a.yaml": "v: 1\n"})
	w := r.writer(Options{})
	w.lock <- struct{}{} // another Apply holds the repository
	defer func() { <-w.lock }()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := w.Apply(ctx, Change{Edits: []pins.Edit{{File: "a.yaml", Path: "v", Value: "2"}}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the context's deadline", err)
	}
}

func TestApplyToAFileURL(t *testing.T) {
	r := newRepo(t, map[string]string{"a.yaml": "v: 1 # pin\n"})
	w, err := NewWriter("file://"+r.server.Path(r.name), "main", nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Apply(context.Background(), Change{Edits: []pins.Edit{{File: "a.yaml", Path: "v", Value: "2"}}})
	if err != nil || res.Commit != r.head("main") || r.read("main", "a.yaml") != "v: 2 # pin\n" {
		t.Fatalf("Apply = %+v, %v; a.yaml %q", res, err, r.read("main", "a.yaml"))
	}
	r.git("fsck", "--strict", "--no-dangling")
}

// readValue reads a file pin's path in data.
func readValue(t *testing.T, data []byte, path string) (string, error) {
	t.Helper()
	return pins.Read(data, "", pins.Document{}, path)
}

// TestApplyTellsTheCommitBeforePushing: Pushing hears of the commit (and its branch and pins)
// before it is pushed, so a caller can record it and later find out whether the push happened;
// an error from Pushing pushes nothing.
func TestApplyTellsTheCommitBeforePushing(t *testing.T) {
	edit := []pins.Edit{{File: "envs/prod/winterlight.yaml", Path: "image.tag", Value: "1.1.4"}}
	for _, tc := range []struct {
		name   string
		refuse error
	}{{"recorded", nil}, {"recording failed", errors.New("status write failed")}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t, map[string]string{"envs/prod/winterlight.yaml": prodValues})
			before := r.head("main")
			var told, branch string
			var changes []PinChange
			res, err := r.writer(Options{}).Apply(context.Background(), Change{Edits: edit, Pushing: func(commit, b string, c []PinChange) error {
				told, branch, changes = commit, b, c
				if r.head("main") != before {
					t.Errorf("Pushing was called after the push")
				}
				return tc.refuse
			}})
			if tc.refuse != nil {
				if !errors.Is(err, tc.refuse) || r.head("main") != before {
					t.Errorf("Apply = %v, head %s; want the Pushing error and nothing pushed", err, r.head("main"))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if told == "" || told != res.Commit || told != r.head("main") || branch != "main" || len(changes) != 1 || changes[0].New != "1.1.4" {
				t.Errorf("Pushing heard %s on %s with %+v; pushed %s, head %s", told, branch, changes, res.Commit, r.head("main"))
			}
		})
	}
}

// TestApplyPushesOnlyWhileMayPushAllows: MayPush is asked right before the push (after the
// commit is recorded by Pushing), to the tracked branch or a new one; its error pushes nothing.
func TestApplyPushesOnlyWhileMayPushAllows(t *testing.T) {
	edit := []pins.Edit{{File: "envs/prod/winterlight.yaml", Path: "image.tag", Value: "1.1.4"}}
	notLeading := errors.New("this replica does not hold the Lease now")
	for _, tc := range []struct {
		name   string
		branch string
		refuse error
	}{
		{"allowed", "", nil},
		{"refused", "", notLeading},
		{"refused, to a new branch", "kube-gitops/promote", notLeading},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t, map[string]string{"envs/prod/winterlight.yaml": prodValues})
			before := r.head("main")
			asked := 0
			w := r.writer(Options{MayPush: func() error { asked++; return tc.refuse }})
			_, err := w.Apply(context.Background(), Change{Edits: edit, Branch: tc.branch})
			if asked != 1 {
				t.Errorf("MayPush asked %d times, want once", asked)
			}
			if tc.refuse == nil {
				if err != nil || r.head("main") == before {
					t.Errorf("Apply = %v, head %s; want pushed", err, r.head("main"))
				}
				return
			}
			if !errors.Is(err, tc.refuse) || r.head("main") != before {
				t.Errorf("Apply = %v, main %s; want the MayPush error and nothing pushed", err, r.head("main"))
			}
			if tc.branch != "" {
				if h, err := r.server.Head(r.name, tc.branch); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("branch %s is at %s (%v), want not pushed", tc.branch, h, err)
				}
			}
		})
	}
}
