package apply

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func annotated(kind, name string, ann map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind(kind)
	u.SetName(name)
	u.SetAnnotations(ann)
	return u
}

func TestWavesGroupInOrder(t *testing.T) {
	objs := []*unstructured.Unstructured{
		annotated("ConfigMap", "late", map[string]string{AnnotationSyncWave: "2"}),
		annotated("ConfigMap", "plain", nil),
		annotated("ConfigMap", "argo", map[string]string{AnnotationArgoSyncWave: "-1"}),
		annotated("ConfigMap", "ours-wins", map[string]string{AnnotationSyncWave: "2", AnnotationArgoSyncWave: "-5"}),
		annotated("ConfigMap", "bad", map[string]string{AnnotationSyncWave: "soon"}),
	}
	items := prepare(&Request{Owner: types.NamespacedName{Namespace: "a", Name: "b"}, Objects: objs})
	ws := waves(items)
	var got []string
	for _, w := range ws {
		var names []string
		for _, it := range w.items {
			names = append(names, it.ref.Name)
		}
		got = append(got, strings.Join(names, ","))
	}
	if want := []string{"argo", "plain,bad", "late,ours-wins"}; strings.Join(got, " | ") != strings.Join(want, " | ") {
		t.Errorf("waves %q, want %q", got, want)
	}
	if err := items[4].err; err == nil || !strings.Contains(err.Error(), AnnotationSyncWave) || !strings.Contains(err.Error(), `"soon"`) {
		t.Errorf("a wave that is not a number: error %v, want one naming the annotation and the value", err)
	}
}

func TestSplitHooks(t *testing.T) {
	objs := []*unstructured.Unstructured{
		annotated("ConfigMap", "a", nil),
		annotated("Job", "migrate", map[string]string{AnnotationHook: "pre-install, pre-upgrade"}),
		annotated("Pod", "smoke", map[string]string{AnnotationHook: "test"}),
		annotated("Pod", "legacy-smoke", map[string]string{AnnotationHook: "test-success"}),
		annotated("ConfigMap", "b", map[string]string{"other": "x"}),
		annotated("Job", "cleanup", map[string]string{AnnotationHook: "post-delete"}),
	}
	release, hooks := SplitHooks(objs)
	names := func(us []*unstructured.Unstructured) string {
		var n []string
		for _, u := range us {
			n = append(n, u.GetName())
		}
		return strings.Join(n, ",")
	}
	if got := names(release); got != "a,b" {
		t.Errorf("release %s, want a,b", got)
	}
	if got := names(hooks); got != "migrate,cleanup" {
		t.Errorf("hooks %s, want migrate,cleanup (test hooks never run by a sync)", got)
	}
	if got := hookEvents(hooks[0]); strings.Join(got, "|") != "pre-install|pre-upgrade" {
		t.Errorf("events %q", got)
	}
}

func TestReleaseDigestChangesWithHooksAndObjects(t *testing.T) {
	release, hooks := SplitHooks([]*unstructured.Unstructured{
		annotated("ConfigMap", "a", nil),
		annotated("Job", "migrate", map[string]string{AnnotationHook: "pre-upgrade"}),
	})
	d := ReleaseDigest(release, hooks)
	if d != ReleaseDigest(release, hooks) {
		t.Fatal("the digest of one release differs between calls")
	}
	changedHook := hooks[0].DeepCopy()
	changedHook.SetLabels(map[string]string{"v": "2"})
	changedObj := release[0].DeepCopy()
	changedObj.SetLabels(map[string]string{"v": "2"})
	for name, other := range map[string]string{
		"hook changed":   ReleaseDigest(release, []*unstructured.Unstructured{changedHook}),
		"object changed": ReleaseDigest([]*unstructured.Unstructured{changedObj}, hooks),
		"hook gone":      ReleaseDigest(release, nil),
	} {
		if other == d {
			t.Errorf("%s: same digest", name)
		}
	}
}

func TestRequestForRunsHooksOncePerRelease(t *testing.T) {
	objs := []*unstructured.Unstructured{
		annotated("ConfigMap", "a", nil),
		annotated("Job", "migrate", map[string]string{AnnotationHook: "pre-upgrade"}),
	}
	ds := &v1alpha1.DesiredState{}
	ds.Namespace, ds.Name = "apps", "web"
	req := RequestFor(ds, objs, false)
	if len(req.Objects) != 1 || len(req.Hooks) != 1 || !req.Install {
		t.Fatalf("first sync: %d objects, %d hooks, install %v; want 1, 1, true", len(req.Objects), len(req.Hooks), req.Install)
	}
	ds.Status.Sync.Digest = "synced-once"
	ds.Status.HooksDigest = ReleaseDigest(req.Objects, req.Hooks)
	if again := RequestFor(ds, objs, false); len(again.Hooks) != 0 || again.Install || len(again.Objects) != 1 {
		t.Errorf("same release again: %d hooks, install %v; want none, an upgrade", len(again.Hooks), again.Install)
	}
	changed := []*unstructured.Unstructured{annotated("ConfigMap", "a", map[string]string{"v": "2"}), objs[1]}
	if next := RequestFor(ds, changed, false); len(next.Hooks) != 1 || next.Install {
		t.Errorf("changed release: %d hooks, install %v; want 1, an upgrade", len(next.Hooks), next.Install)
	}
}

func TestHooksDigestAfterAFailedPostHook(t *testing.T) {
	objs := []*unstructured.Unstructured{
		annotated("ConfigMap", "a", nil),
		annotated("Job", "notify", map[string]string{AnnotationHook: "post-upgrade"}),
	}
	ds := &v1alpha1.DesiredState{}
	ds.Namespace, ds.Name, ds.Status.Sync.Digest = "apps", "web", "synced-once"
	req := RequestFor(ds, objs, false)
	for _, c := range []struct {
		name string
		res  Result
		want string
	}{
		{"all ran", Result{PreHooksDone: true}, ReleaseDigest(req.Objects, req.Hooks)},
		{"post failed", Result{PreHooksDone: true, Failed: 1}, preHooksRan + ReleaseDigest(req.Objects, req.Hooks)},
		{"pre or apply failed", Result{Failed: 1}, ""},
	} {
		if got := HooksDigest(req, &c.res); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	ds.Status.HooksDigest = HooksDigest(req, &Result{PreHooksDone: true, Failed: 1})
	if retry := RequestFor(ds, objs, false); len(retry.Hooks) != 1 || !retry.PreHooksRan {
		t.Errorf("retry after a failed post hook: %d hooks, pre ran %v; want the hooks, without the pre-* ones", len(retry.Hooks), retry.PreHooksRan)
	}
	changed := []*unstructured.Unstructured{annotated("ConfigMap", "a", map[string]string{"v": "2"}), objs[1]}
	if next := RequestFor(ds, changed, false); next.PreHooksRan {
		t.Error("a changed release skips its pre-* hooks")
	}
}

func TestHookState(t *testing.T) {
	job := func(conds string) *unstructured.Unstructured {
		return mustObject(`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"m"},"status":{"active":1,"conditions":[` + conds + `]}}`)
	}
	pod := func(phase string) *unstructured.Unstructured {
		return mustObject(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"` + phase + `","reason":"Evicted"}}`)
	}
	for _, c := range []struct {
		name     string
		u        *unstructured.Unstructured
		done     bool
		failWith string
	}{
		{"job running", job(""), false, ""},
		{"job complete", job(`{"type":"Complete","status":"True"}`), true, ""},
		{"job failed", job(`{"type":"Failed","status":"True","reason":"BackoffLimitExceeded","message":"Job has reached the specified backoff limit"}`), true, "BackoffLimitExceeded"},
		{"job failed false", job(`{"type":"Failed","status":"False"}`), false, ""},
		{"pod running", pod("Running"), false, ""},
		{"pod succeeded", pod("Succeeded"), true, ""},
		{"pod failed", pod("Failed"), true, "Evicted"},
	} {
		done, _, err := hookState(c.u.GroupVersionKind().GroupKind(), c.u)
		if done != c.done || (err == nil) != (c.failWith == "") || (err != nil && !strings.Contains(err.Error(), c.failWith)) {
			t.Errorf("%s: done %v, err %v; want %v, %q", c.name, done, err, c.done, c.failWith)
		}
	}
}

func TestRequestWaits(t *testing.T) {
	obj := func(kind, wave string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind(kind)
		u.SetName("x")
		if wave != "" {
			u.SetAnnotations(map[string]string{AnnotationSyncWave: wave})
		}
		return u
	}
	job := obj("Pod", "")
	job.SetAnnotations(map[string]string{AnnotationHook: "pre-upgrade"})
	for name, tt := range map[string]struct {
		req  Request
		want bool
	}{
		"one wave":                 {Request{Objects: []*unstructured.Unstructured{obj("ConfigMap", ""), obj("Secret", "0")}}, false},
		"two waves":                {Request{Objects: []*unstructured.Unstructured{obj("ConfigMap", ""), obj("Secret", "1")}}, true},
		"namespace in another one": {Request{Objects: []*unstructured.Unstructured{obj("Namespace", "-5"), obj("Secret", "1")}}, false},
		"hooks":                    {Request{Hooks: []*unstructured.Unstructured{job}}, true},
		"dry run":                  {Request{DryRun: true, Hooks: []*unstructured.Unstructured{job}}, false},
	} {
		if got := tt.req.Waits(); got != tt.want {
			t.Errorf("%s: Waits() = %v, want %v", name, got, tt.want)
		}
	}
}

// TestWaitsOfOneSyncShareTheirBound: every wait of one sync (a wave becoming Healthy, a hook
// completing) takes its deadline from waitFor. Each is bounded by the wait timeout, and all of
// one run's together by twice it (as --sync-wait-timeout's help says): a sync of many waves or
// hooks that each take almost the timeout cannot hold its worker for longer. The waits here never
// end early, as a wave that never becomes Healthy.
func TestWaitsOfOneSyncShareTheirBound(t *testing.T) {
	const timeout = 500 * time.Millisecond
	e, err := New(&rest.Config{Host: "https://127.0.0.1:1"}, Options{WaitTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.newRun(&Request{Owner: owner("waits")})
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	var took []time.Duration
	var bounds []string
	for range 5 {
		start := time.Now()
		ctx, cancel, bound := r.waitFor(context.Background())
		<-ctx.Done()
		cancel()
		took, bounds = append(took, time.Since(start).Round(time.Millisecond)), append(bounds, bound)
	}
	total := time.Since(begin)
	// The first wait has the whole timeout; the run ends 2 × timeout after it began, whatever
	// the number of waits (slack for a busy machine, well below a third wait's timeout).
	if took[0] < timeout-50*time.Millisecond || bounds[0] != timeout.String() {
		t.Errorf("the first wait took %s, bounded by %q, want the wait timeout %s", took[0], bounds[0], timeout)
	}
	if total < 2*timeout-50*time.Millisecond || total > 2*timeout+timeout/2 {
		t.Errorf("5 waits that never end early took %s together (each %v), want 2 × %s = %s", total.Round(time.Millisecond), took, timeout, 2*timeout)
	}
	if last := bounds[len(bounds)-1]; !strings.Contains(last, "the 1s all waits of one sync may take") {
		t.Errorf("the last wait is bounded by %q, want the bound of all waits of one sync named", last)
	}
}
