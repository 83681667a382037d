package preview

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
)

// revisions serves every revision name as its own commit "commit-NAME"; "" is the tracked one.
type revisions struct{}

func (revisions) Current(context.Context, *v1alpha1.DesiredState) (fs.FS, string, error) {
	return fstest.MapFS{}, "commit-main", nil
}

func (revisions) At(_ context.Context, _ *v1alpha1.DesiredState, revision string) (fs.FS, string, error) {
	return fstest.MapFS{}, "commit-" + revision, nil
}

func (revisions) Root(*v1alpha1.DesiredState) bool { return true }

func (r revisions) Reviewed(ctx context.Context, ds *v1alpha1.DesiredState, revision string) (fs.FS, string, error) {
	return r.At(ctx, ds, revision)
}

// countingRender renders one ConfigMap named after the spec's path; a path "fail" fails. After
// holdNext, the next render closes entered and waits for release.
type countingRender struct {
	renders atomic.Int32
	mu      sync.Mutex
	hold    chan struct{}
	entered chan struct{}
}

func (c *countingRender) render(ctx context.Context, ds *v1alpha1.DesiredState, _ fs.FS) ([]*unstructured.Unstructured, error) {
	c.renders.Add(1)
	c.mu.Lock()
	hold, entered := c.hold, c.entered
	c.hold, c.entered = nil, nil // only the next render waits
	c.mu.Unlock()
	if hold != nil {
		close(entered)
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if ds.Spec.Source.Path == "fail" {
		return nil, errors.New("render apps/app: the chart failed")
	}
	cm := &unstructured.Unstructured{}
	cm.SetAPIVersion("v1")
	cm.SetKind("ConfigMap")
	cm.SetName(ds.Spec.Source.Path)
	return []*unstructured.Unstructured{cm}, nil
}

// holdNext makes the next render wait until the returned release is called.
func (c *countingRender) holdNext() (entered <-chan struct{}, release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hold, c.entered = make(chan struct{}), make(chan struct{})
	hold := c.hold
	return c.entered, func() { close(hold) }
}

func newTestPreview(t *testing.T, r *countingRender) *Preview {
	t.Helper()
	engine, err := apply.New(&rest.Config{Host: "https://127.0.0.1:1"}, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{Sources: revisions{}, Render: r.render, Engine: engine})
}

func app(path string) *v1alpha1.DesiredState {
	return &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "app"},
		Spec: v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: path}}}
}

func TestPreviewsOfOtherRevisionsAreBounded(t *testing.T) {
	r := &countingRender{}
	p := newTestPreview(t, r)
	entered, release := r.holdNext()
	first := make(chan error, 1)
	go func() {
		_, err := p.Manifests(context.Background(), app("a"), "feature")
		first <- err
	}()
	<-entered

	_, err := p.Manifests(context.Background(), app("a"), "other-branch")
	if !apierrors.IsTooManyRequests(err) {
		t.Fatalf("a second preview of another revision: %v, want 429 Too Many Requests", err)
	}
	if delay, ok := apierrors.SuggestsClientDelay(err); !ok || delay != retryPreviewAfter {
		t.Errorf("Retry-After = %d, %v; want %d", delay, ok, retryPreviewAfter)
	}
	if _, err := p.Manifests(context.Background(), app("a"), ""); err != nil {
		t.Errorf("a preview of the tracked revision is not bounded with the others: %v", err)
	}

	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if _, err := p.Manifests(context.Background(), app("a"), "other-branch"); err != nil {
		t.Errorf("once the first preview is done: %v", err)
	}
}

func TestPreviewRendersOncePerApplicationSpecAndCommit(t *testing.T) {
	r := &countingRender{}
	p := newTestPreview(t, r)
	for i, step := range []struct {
		path, revision string
		renders        int32 // in all, after this step
		err            string
	}{
		{"a", "", 1, ""},
		{"a", "", 1, ""},                      // cached
		{"a", "main", 1, ""},                  // the same commit, asked for by name
		{"a", "feature", 2, ""},               // another commit
		{"b", "feature", 3, ""},               // another spec
		{"a", "feature", 3, ""},               // cached
		{"fail", "pr", 4, "the chart failed"}, // a failure...
		{"fail", "pr", 4, "the chart failed"}, // ...is cached too
		{"b", "", 5, ""},                      // the spec at the tracked commit
	} {
		out, err := p.Manifests(context.Background(), app(step.path), step.revision)
		if step.err == "" && err != nil || step.err != "" && (err == nil || !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), step.err)) {
			t.Fatalf("step %d (%s at %q): error %v, want %q", i, step.path, step.revision, err, step.err)
		}
		if err == nil && (len(out.Objects) != 1 || !strings.Contains(string(out.Objects[0].Raw), `"name":"`+step.path+`"`)) {
			t.Errorf("step %d: objects %s", i, out.Objects)
		}
		if got := r.renders.Load(); got != step.renders {
			t.Errorf("step %d (%s at %q): %d renders in all, want %d", i, step.path, step.revision, got, step.renders)
		}
	}
}

func TestConcurrentPreviewsShareOneRender(t *testing.T) {
	r := &countingRender{}
	p := newTestPreview(t, r)
	entered, release := r.holdNext()
	const n = 5
	errs := make(chan error, n)
	go func() {
		_, err := p.Manifests(context.Background(), app("a"), "")
		errs <- err
	}()
	<-entered
	for range n - 1 {
		go func() {
			_, err := p.Manifests(context.Background(), app("a"), "")
			errs <- err
		}()
	}
	// The followers wait on the render in flight; there is no way to see them waiting, so
	// release and count: one render however the requests interleave with it.
	release()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := r.renders.Load(); got != 1 {
		t.Errorf("%d renders for %d requests of the same application and commit, want 1", got, n)
	}
}

func TestAGivenUpPreviewIsNotCached(t *testing.T) {
	r := &countingRender{}
	p := newTestPreview(t, r)
	entered, release := r.holdNext()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Manifests(ctx, app("a"), "")
		done <- err
	}()
	<-entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	release()
	if _, err := p.Manifests(context.Background(), app("a"), ""); err != nil {
		t.Fatalf("the next request got %v: a cancelled render must not be cached", err)
	}
}

func TestCachedRendersAreCopies(t *testing.T) {
	r := &countingRender{}
	p := newTestPreview(t, r)
	objs, _, err := p.render(context.Background(), app("a"), "")
	if err != nil {
		t.Fatal(err)
	}
	objs[0].SetName("changed by the caller")
	again, _, err := p.render(context.Background(), app("a"), "")
	if err != nil {
		t.Fatal(err)
	}
	if again[0].GetName() != "a" || r.renders.Load() != 1 {
		t.Errorf("the cached render was changed by a caller: %s (renders %d)", again[0].GetName(), r.renders.Load())
	}
}
