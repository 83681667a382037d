package apply

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

var jobsGVR = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}

// revision is an object's resourceVersion as a number: with one etcd, a later write has a
// larger one, whatever the kind, which tells the order of writes the tests check.
func revision(t *testing.T, u *unstructured.Unstructured) int64 {
	t.Helper()
	n, err := strconv.ParseInt(u.GetResourceVersion(), 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q of %s: %v", u.GetResourceVersion(), u.GetName(), err)
	}
	return n
}

func waveConfigMap(name, key, wave, value string) *unstructured.Unstructured {
	ann := ""
	if wave != "" {
		ann = fmt.Sprintf(", annotations: {%q: %q}", key, wave)
	}
	return mustObject(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s%s}\ndata: {v: %q}\n", name, ann, value))
}

// waveDeployment is a one-replica Deployment; stuck ones select no node, so never become Available.
func waveDeployment(name, wave string, stuck bool) *unstructured.Unstructured {
	selector := ""
	if stuck {
		selector = "\n      nodeSelector: {no-such-node: \"true\"}"
	}
	return mustObject(fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, annotations: {%[2]q: %[3]q}}
spec:
  replicas: 1
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:%[4]s
      containers: [{name: app, image: registry.example/%[1]s:1}]`, name, AnnotationSyncWave, wave, selector))
}

// TestWavesApplyInOrder: a Deployment in wave -1 becomes Available before the ConfigMap of wave
// 1 (Argo CD's annotation) is created: the Deployment's last write comes before the ConfigMap's
// creation. Applied together, the Deployment controller's status writes would come after it.
func TestWavesApplyInOrder(t *testing.T) {
	ctx := testContext(t)
	ns := setupNamespace(t, "waves")
	res := mustApply(t, ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{
		waveConfigMap("after", AnnotationArgoSyncWave, "1", "a"),
		waveDeployment("db", "-1", false),
	}})
	if res.Failed != 0 || len(res.Resources) != 2 {
		t.Fatalf("result %+v", res)
	}
	db := getObject(t, ctx, deploymentsGVR, ns, "db")
	after := getObject(t, ctx, configMapsGVR, ns, "after")
	if revision(t, after) < revision(t, db) {
		t.Errorf("ConfigMap after (wave 1) written at %d, before the Deployment of wave -1 settled (last written at %d)", revision(t, after), revision(t, db))
	}
	if ready, _, _ := unstructured.NestedInt64(db.Object, "status", "availableReplicas"); ready != 1 {
		t.Errorf("Deployment db has %d available replicas, want 1 before wave 1", ready)
	}
}

// TestWaveThatNeverBecomesHealthyStopsTheSync: the Deployment of wave 0 never becomes
// Available; after the wave timeout the sync fails naming it, the later wave is not applied and
// nothing is pruned.
func TestWaveThatNeverBecomesHealthyStopsTheSync(t *testing.T) {
	ctx := testContext(t)
	ns := setupNamespace(t, "waves-stuck")
	first := mustApply(t, ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{waveConfigMap("old", "", "", "1")}})
	engine, err := New(adminConfig, Options{WaitTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res, err := engine.Apply(ctx, Request{Owner: owner(ns), Prune: true, Previous: first.Resources, Objects: []*unstructured.Unstructured{
		waveDeployment("stuck", "0", true),
		waveConfigMap("later", AnnotationSyncWave, "5", "b"),
	}})
	if err == nil || !strings.Contains(err.Error(), "Deployment "+ns+"/stuck") {
		t.Fatalf("error %v, want one naming Deployment %s/stuck", err, ns)
	}
	st := findStatus(res.Resources, "Deployment", "stuck")
	if st == nil || !strings.Contains(st.Message, "not Healthy within 3s") {
		t.Errorf("Deployment status %+v, want it to say it was not Healthy within 3s", st)
	}
	later := findStatus(res.Resources, "ConfigMap", "later")
	if later == nil || !strings.Contains(later.Message, "not applied (sync wave 5)") || !strings.Contains(later.Message, "stuck") {
		t.Errorf("ConfigMap later status %+v, want not applied, naming the Deployment it waited on", later)
	}
	if exists(t, ctx, configMapsGVR, ns, "later") {
		t.Error("ConfigMap later of wave 5 was applied after wave 0 failed")
	}
	if !exists(t, ctx, configMapsGVR, ns, "old") || res.Pruned != 0 {
		t.Errorf("ConfigMap old was pruned (%d pruned) after a failed wave", res.Pruned)
	}
}

// TestOneWaveAppliesWithoutWaiting: objects all in one wave are applied as before, with no
// wait for health, even when one never becomes healthy.
func TestOneWaveAppliesWithoutWaiting(t *testing.T) {
	ctx := testContext(t)
	ns := setupNamespace(t, "waves-one")
	start := time.Now()
	res := mustApply(t, ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{
		waveDeployment("stuck", "3", true),
		waveConfigMap("same", AnnotationSyncWave, "3", "c"),
	}})
	if took := time.Since(start); took > 20*time.Second || res.Failed != 0 || res.Changed != 2 {
		t.Errorf("one wave: %d changed, %d failed in %s; want 2 changed at once", res.Changed, res.Failed, took)
	}
}

func hookJob(name, events, weight, policy string, fail bool) *unstructured.Unstructured {
	label := ""
	if fail {
		label = `, gitops.kube-gitops.dev/test-fail: "true"`
	}
	return mustObject(fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  annotations: {helm.sh/hook: %q, helm.sh/hook-weight: %q, helm.sh/hook-delete-policy: %q}
spec:
  backoffLimit: 0
  template:
    metadata: {labels: {app: migrate%s}}
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: registry.example/migrate:1}]`, name, events, weight, policy, label))
}

func hookConfigMap(name, events, weight string) *unstructured.Unstructured {
	return mustObject(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, annotations: {helm.sh/hook: %q, helm.sh/hook-weight: %q}}\n", name, events, weight))
}

func grantJobs(t *testing.T, ctx context.Context, ns string) {
	grantNamespace(t, ctx, ns, rbacv1.PolicyRule{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"*"}})
}

// jobCompletions watches the Jobs of ns and returns the resourceVersions at which they became
// Complete, by name, once stop is called.
func jobCompletions(t *testing.T, ctx context.Context, ns string) (stop func() map[string]int64) {
	w, err := adminDynamic(t).Resource(jobsGVR).Namespace(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	done := map[string]int64{}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for ev := range w.ResultChan() {
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			if ok, _, _ := hookState(jobGK, u); ok {
				mu.Lock()
				if _, seen := done[u.GetName()]; !seen {
					done[u.GetName()] = revision(t, u)
				}
				mu.Unlock()
			}
		}
	}()
	return func() map[string]int64 {
		w.Stop()
		<-finished
		return done
	}
}

// TestHooksRunAroundTheRelease: an upgrade runs its pre-upgrade hooks by weight, each to
// completion, before the release's objects, and its post-upgrade hooks after; the Job with
// hook-succeeded is deleted once done; install hooks do not run; hooks are not inventoried.
func TestHooksRunAroundTheRelease(t *testing.T) {
	ctx := testContext(t)
	ns := setupNamespace(t, "hooks")
	grantJobs(t, ctx, ns)
	first := mustApply(t, ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{waveConfigMap("settings", "", "", "1")}})

	stop := jobCompletions(t, ctx, ns)
	res := mustApply(t, ctx, Request{Owner: owner(ns), Previous: first.Resources,
		Objects: []*unstructured.Unstructured{waveConfigMap("settings", "", "", "2")},
		Hooks: []*unstructured.Unstructured{
			hookConfigMap("post-marker", "post-upgrade", "0"),
			hookJob("migrate", "pre-upgrade", "0", "before-hook-creation,hook-succeeded", false),
			hookConfigMap("pre-marker", "pre-upgrade", "-5"),
			hookJob("install-only", "pre-install", "0", "", false),
		}})
	completed := stop()

	var got []string
	for _, h := range res.Hooks {
		got = append(got, strings.SplitN(h, " (", 2)[0])
	}
	want := []string{"pre-upgrade ConfigMap " + ns + "/pre-marker", "pre-upgrade Job " + ns + "/migrate", "post-upgrade ConfigMap " + ns + "/post-marker"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("hooks ran %q, want %q", res.Hooks, want)
	}
	if !strings.Contains(res.Hooks[1], "succeeded, deleted (hook-succeeded)") {
		t.Errorf("migrate: %q, want succeeded and deleted", res.Hooks[1])
	}
	if exists(t, ctx, jobsGVR, ns, "migrate") || exists(t, ctx, jobsGVR, ns, "install-only") {
		t.Error("Job migrate (hook-succeeded) is still there, or the pre-install hook ran on an upgrade")
	}
	settings := getObject(t, ctx, configMapsGVR, ns, "settings")
	post := getObject(t, ctx, configMapsGVR, ns, "post-marker")
	pre := getObject(t, ctx, configMapsGVR, ns, "pre-marker")
	switch done, ok := completed["migrate"]; {
	case !ok:
		t.Errorf("Job migrate was never seen Complete")
	case !(revision(t, pre) < done && done < revision(t, settings) && revision(t, settings) < revision(t, post)):
		t.Errorf("writes out of order: pre-marker %d, migrate complete %d, settings %d, post-marker %d", revision(t, pre), done, revision(t, settings), revision(t, post))
	}
	if len(res.Resources) != 1 || res.Resources[0].Name != "settings" {
		t.Errorf("inventory %+v, want the release's ConfigMap only", res.Resources)
	}
}

// TestFailingHookAppliesNothing: a pre-upgrade Job that fails fails the sync; the release's
// objects keep their previous state, nothing is pruned, and the inventory stays. The next try
// replaces the failed Job (before-hook-creation).
func TestFailingHookAppliesNothing(t *testing.T) {
	ctx := testContext(t)
	ns := setupNamespace(t, "hooks-fail")
	grantJobs(t, ctx, ns)
	first := mustApply(t, ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{
		waveConfigMap("settings", "", "", "1"), waveConfigMap("old", "", "", "1"),
	}})
	upgrade := Request{Owner: owner(ns), Previous: first.Resources, Prune: true,
		Objects: []*unstructured.Unstructured{waveConfigMap("settings", "", "", "2")},
		Hooks:   []*unstructured.Unstructured{hookJob("migrate", "pre-upgrade", "0", "", true)}}
	res, err := testEngine.Apply(ctx, upgrade)
	if err == nil || !strings.Contains(err.Error(), "pre-upgrade hook") || !strings.Contains(err.Error(), "Job "+ns+"/migrate") {
		t.Fatalf("error %v, want the failed pre-upgrade hook named", err)
	}
	if !strings.Contains(res.HookFailed, "job failed") || res.Failed != 1 {
		t.Errorf("HookFailed %q, %d failed; want the Job's failure", res.HookFailed, res.Failed)
	}
	if v, _, _ := unstructured.NestedString(getObject(t, ctx, configMapsGVR, ns, "settings").Object, "data", "v"); v != "1" {
		t.Errorf("settings is %q after a failed pre-upgrade hook, want the previous 1", v)
	}
	if !exists(t, ctx, configMapsGVR, ns, "old") {
		t.Error("old was pruned after a failed hook")
	}
	if len(res.Resources) != len(first.Resources) {
		t.Errorf("inventory %+v, want the previous one", res.Resources)
	}
	failed := getObject(t, ctx, jobsGVR, ns, "migrate")
	if _, err := testEngine.Apply(ctx, upgrade); err == nil {
		t.Fatal("the failing hook succeeded on the second try")
	}
	if again := getObject(t, ctx, jobsGVR, ns, "migrate"); again.GetUID() == failed.GetUID() {
		t.Error("the second try did not replace the failed Job (before-hook-creation)")
	}
}

// TestRemovalRunsDeleteHooks: removing an application with prune runs its pre-delete hooks
// before its objects are deleted and its post-delete hooks after; upgrade hooks do not run.
func TestRemovalRunsDeleteHooks(t *testing.T) {
	ctx := testContext(t)
	ns := setupNamespace(t, "hooks-delete")
	grantJobs(t, ctx, ns)
	first := mustApply(t, ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{waveConfigMap("settings", "", "", "1")}})
	res := mustApply(t, ctx, Request{Owner: owner(ns), Previous: first.Resources, Prune: true, AllowEmpty: true, Removal: true,
		Hooks: []*unstructured.Unstructured{
			hookConfigMap("after-delete", "post-delete", "0"),
			hookJob("before-delete", "pre-delete", "0", "hook-succeeded", false),
			hookConfigMap("on-upgrade", "pre-upgrade", "0"),
		}})
	if len(res.Hooks) != 2 || !strings.HasPrefix(res.Hooks[0], "pre-delete Job "+ns+"/before-delete") || !strings.HasPrefix(res.Hooks[1], "post-delete ConfigMap "+ns+"/after-delete") {
		t.Fatalf("hooks %q, want the pre-delete Job, then the post-delete ConfigMap", res.Hooks)
	}
	if res.Pruned != 1 || exists(t, ctx, configMapsGVR, ns, "settings") {
		t.Errorf("%d pruned; settings still there: %v", res.Pruned, exists(t, ctx, configMapsGVR, ns, "settings"))
	}
	if exists(t, ctx, configMapsGVR, ns, "on-upgrade") || !exists(t, ctx, configMapsGVR, ns, "after-delete") {
		t.Error("an upgrade hook ran on removal, or the post-delete hook did not")
	}
}

// TestHookLeavesObjectsItDidNotCreate: a hook named after another application's object, an
// editor's hand-made one, or one of its own application's objects fails, naming the object, and
// leaves it as it was (same UID, same data): neither taken over by the forced apply nor deleted
// by hook-succeeded or before-hook-creation.
func TestHookLeavesObjectsItDidNotCreate(t *testing.T) {
	ctx := testContext(t)
	ns := setupNamespace(t, "hooks-others")
	other := owner(ns)
	other.Name = "other"
	mustApply(t, ctx, Request{Owner: other, Objects: []*unstructured.Unstructured{waveConfigMap("theirs", "", "", "other app")}})
	mustApply(t, ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{waveConfigMap("settings", "", "", "release")}})
	handmade := waveConfigMap("handmade", "", "", "editor")
	handmade.SetNamespace(ns)
	if _, err := adminDynamic(t).Resource(configMapsGVR).Namespace(ns).Create(ctx, handmade, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, policy, value, why string }{
		{"theirs", "hook-succeeded", "other app", `belongs to DesiredState "` + ns + `/other"`},
		{"handmade", "before-hook-creation", "editor", "kube-gitops did not create"},
		{"settings", "before-hook-creation,hook-succeeded", "release", "not a hook"},
	} {
		before := getObject(t, ctx, configMapsGVR, ns, c.name)
		hook := mustObject(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, annotations: {helm.sh/hook: pre-upgrade, helm.sh/hook-delete-policy: %q}}\ndata: {v: hook}\n", c.name, c.policy))
		res, err := testEngine.Apply(ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{waveConfigMap("settings", "", "", "release")},
			Hooks: []*unstructured.Unstructured{hook}})
		if err == nil || !strings.Contains(res.HookFailed, "ConfigMap "+ns+"/"+c.name) || !strings.Contains(res.HookFailed, c.why) {
			t.Errorf("%s: error %v, HookFailed %q; want the hook refused, naming the object and saying %q", c.name, err, res.HookFailed, c.why)
		}
		if !exists(t, ctx, configMapsGVR, ns, c.name) {
			t.Errorf("%s: deleted by a hook of that name", c.name)
			continue
		}
		after := getObject(t, ctx, configMapsGVR, ns, c.name)
		v, _, _ := unstructured.NestedString(after.Object, "data", "v")
		if after.GetUID() != before.GetUID() || v != c.value || after.GetAnnotations()[AnnotationOwner] != before.GetAnnotations()[AnnotationOwner] {
			t.Errorf("%s: uid %s data %q owner %q, want it untouched: uid %s data %q owner %q", c.name, after.GetUID(), v, after.GetAnnotations()[AnnotationOwner],
				before.GetUID(), c.value, before.GetAnnotations()[AnnotationOwner])
		}
	}
}

// TestRetryAfterFailedPostHookRunsOnlyIt: a post-upgrade hook fails after the pre-upgrade
// migration and the objects succeeded. What status.hooksDigest then records makes the retry
// (RequestFor the same release) run the post-upgrade hook only: the migration Job is the same
// one (before-hook-creation would have replaced it), and the failure is reported again.
func TestRetryAfterFailedPostHookRunsOnlyIt(t *testing.T) {
	ctx := testContext(t)
	ns := setupNamespace(t, "hooks-retry")
	grantJobs(t, ctx, ns)
	ds := &v1alpha1.DesiredState{}
	ds.Namespace, ds.Name = ns, owner(ns).Name
	ds.Status.Sync.Digest = "installed"
	rendered := []*unstructured.Unstructured{
		waveConfigMap("settings", "", "", "2"),
		hookJob("migrate", "pre-upgrade", "0", "before-hook-creation", false),
		hookJob("notify", "post-upgrade", "0", "before-hook-creation", true),
	}
	var migrated *unstructured.Unstructured
	for try := 1; try <= 2; try++ {
		req := RequestFor(ds, rendered, false)
		res, err := testEngine.Apply(ctx, req)
		if err == nil || !strings.HasPrefix(res.HookFailed, "post-upgrade hook Job "+ns+"/notify") {
			t.Fatalf("try %d: error %v, HookFailed %q; want the post-upgrade Job notify failed", try, err, res.HookFailed)
		}
		if ran := strings.Join(res.Hooks, "; "); strings.Contains(ran, "migrate") != (try == 1) {
			t.Errorf("try %d: hooks %q; the migration must run on the first try only", try, ran)
		}
		if try == 1 {
			migrated = getObject(t, ctx, jobsGVR, ns, "migrate")
			ds.Status.Resources, ds.Status.HooksDigest = res.Resources, HooksDigest(req, res)
		}
	}
	if again := getObject(t, ctx, jobsGVR, ns, "migrate"); again.GetUID() != migrated.GetUID() {
		t.Errorf("the retry replaced the migration Job (uid %s, was %s): it ran again", again.GetUID(), migrated.GetUID())
	}
	if v, _, _ := unstructured.NestedString(getObject(t, ctx, configMapsGVR, ns, "settings").Object, "data", "v"); v != "2" {
		t.Errorf("settings is %q, want 2", v)
	}
}
