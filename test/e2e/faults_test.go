package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var widgets = schema.GroupVersionResource{Group: "faults.kube-gitops.dev", Version: "v1", Resource: "widgets"}

// Each test here puts the server through one fault of the world around it. Each must end in a
// status that says what failed and what to do, and recover by itself once the fault is gone,
// with no object deleted and re-created (uids compared) and nothing pruned meanwhile.

// sameUIDs fails the test when an object of before is gone or was re-created.
func sameUIDs(t *testing.T, ns string, before map[string]types.UID) {
	t.Helper()
	after := configMapUIDs(t, ns)
	for name, uid := range before {
		if after[name] != uid {
			t.Errorf("ConfigMap %s/%s: uid %s before the fault, %q after: it was deleted", ns, name, uid, after[name])
		}
	}
}

// statusShows fails the test unless kubectl gitops status shows want in the MESSAGE of app.
func statusShows(t *testing.T, ns, app, want string) {
	t.Helper()
	out, errOut, code := e.plugin("status", "-n", ns)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, app+" ") && strings.Contains(line, want) {
			return
		}
	}
	t.Errorf("kubectl gitops status -n %s (exit %d) does not show %q for %s:\n%s%s", ns, code, want, app, out, errOut)
}

// TestFaultHistoryRewritten: a force push to the tracked branch (an amended commit, then an
// unrelated history) is followed, said in an Event, and synced; nothing is re-created.
func TestFaultHistoryRewritten(t *testing.T) {
	ctx := context.Background()
	const ns = "fault-rewrite"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	files := syncApp("rewriter", ns, "")
	first, err := e.commit(files, "add rewriter")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles("clusters/test/rewriter.yaml", "apps/rewriter/config.yaml")
	waitSyncedAt(t, ns, "rewriter", first, 60*time.Second)
	uids := configMapUIDs(t, ns)

	amended := forcePush(t, "amend", map[string]string{"apps/rewriter/config.yaml": configMap("one", ns, "amended") + "---\n" + configMap("two", ns, "b")})
	waitSyncedAt(t, ns, "rewriter", amended, 60*time.Second)
	if got := configMapValue(t, ns, "one"); got != "amended" {
		t.Errorf("ConfigMap one is %q after the amended commit, want amended", got)
	}
	rewritten := fmt.Sprintf("history of main was rewritten from %.7s to %.7s", first, amended)
	if err := eventually(30*time.Second, func() error { return eventsContain(ctx, "kube-gitops", rewritten) }); err != nil {
		t.Error(err)
	}

	unrelated := forcePush(t, "orphan", map[string]string{"apps/rewriter/config.yaml": configMap("one", ns, "unrelated") + "---\n" + configMap("two", ns, "b")})
	waitSyncedAt(t, ns, "rewriter", unrelated, 60*time.Second)
	if got := configMapValue(t, ns, "one"); got != "unrelated" {
		t.Errorf("ConfigMap one is %q after the unrelated history, want unrelated", got)
	}
	if err := eventually(30*time.Second, func() error {
		return eventsContain(ctx, "kube-gitops", fmt.Sprintf("history of main was rewritten from %.7s to %.7s", amended, unrelated))
	}); err != nil {
		t.Error(err)
	}
	// And an ordinary push on top of the new history.
	next, err := e.commit(map[string]string{"apps/rewriter/config.yaml": configMap("one", ns, "next") + "---\n" + configMap("two", ns, "b")}, "a push after the rewrite")
	if err != nil {
		t.Fatal(err)
	}
	waitSyncedAt(t, ns, "rewriter", next, 60*time.Second)
	sameUIDs(t, ns, uids)
}

// TestFaultAPIServerRestart stops kube-apiserver for a while and starts it again on the same port
// with the same etcd: the server keeps running, its watches resume (a push is synced, drift is
// healed), and reads through the APIService answer again.
func TestFaultAPIServerRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const ns = "fault-apiserver"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	files := syncApp("survivor", ns, "")
	for f, content := range versionApp("promoted-later", ns, "1.0.0", "{name: version, file: apps/promoted-later/version.yaml, path: data.value}") {
		files[f] = content
	}
	first, err := e.commit(files, "add survivor, and an app to promote after the restart")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	waitSyncedAt(t, ns, "survivor", first, 60*time.Second)
	uids := configMapUIDs(t, ns)

	offset := fileSize(e.server.logPath)
	if err := e.cluster.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			_ = e.cluster.StartAPIServer(context.Background())
		}
	}()
	// Down long enough for the server's watches to fail and its Lease to run out: it stops
	// syncing, and must start again once it holds the Lease again.
	if err := eventually(60*time.Second, func() error {
		if log := serverLogSince(offset); !strings.Contains(log, "No longer leading") {
			return fmt.Errorf("the server has not noticed that kube-apiserver is down and its Lease ran out")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The Git side goes on meanwhile.
	during, err := e.commit(map[string]string{"apps/survivor/config.yaml": configMap("one", ns, "during") + "---\n" + configMap("two", ns, "b")}, "a push while kube-apiserver is down")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cluster.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitSyncedAt(t, ns, "survivor", during, 90*time.Second)
	after, err := e.commit(map[string]string{"apps/survivor/config.yaml": configMap("one", ns, "after") + "---\n" + configMap("two", ns, "b")}, "a push after the restart")
	if err != nil {
		t.Fatal(err)
	}
	waitSyncedAt(t, ns, "survivor", after, 60*time.Second)
	// The watches of applied objects resumed too: drift is seen and healed.
	if _, err := e.kube.CoreV1().ConfigMaps(ns).Patch(ctx, "two", types.MergePatchType, []byte(`{"data":{"value":"drifted"}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	if err := eventually(30*time.Second, func() error {
		if got := configMapValue(t, ns, "two"); got != "b" {
			return fmt.Errorf("ConfigMap two is %q, want b", got)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	// Promotions are carried out again too.
	promotion := "after-restart-" + randomString()[:6] // Promotions stay: a name for each run
	if err := newPromotion(ctx, ns, promotion, "promoted-later", "", "version=1.0.1"); err != nil {
		t.Fatal(err)
	}
	promotionEnds(t, ns, promotion, "Succeeded", "version 1.0.0 → 1.0.1")
	select {
	case <-e.server.done:
		t.Fatalf("gitops-apiserver exited:\n%s", tailFile(e.server.logPath, 30))
	default:
	}
	sameUIDs(t, ns, uids)
}

const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.faults.kube-gitops.dev}
spec:
  group: faults.kube-gitops.dev
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

// TestFaultCRDRemoved: someone deletes the CRD of a kind an app uses. The app says which kind is
// missing; its other objects stay, other apps are untouched; when the CRD is back the app syncs
// again by itself, without a new commit.
func TestFaultCRDRemoved(t *testing.T) {
	ctx := context.Background()
	const ns, other = "fault-crd", "fault-crd-other"
	for _, n := range []string{ns, other} {
		if err := e.createSyncAccount(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	installCRD := func() {
		t.Helper()
		if err := e.kubectlApply(widgetCRD); err != nil {
			t.Fatal(err)
		}
		if out, err := e.kubectl("wait", "--for=condition=Established", "crd/widgets.faults.kube-gitops.dev", "--timeout=30s"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	installCRD()
	defer func() { _, _ = e.kubectl("delete", "crd", "widgets.faults.kube-gitops.dev", "--ignore-not-found") }()
	if err := e.kubectlApply(fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: widgets, namespace: %[1]s}
rules: [{apiGroups: [faults.kube-gitops.dev], resources: [widgets], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: widgets, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: widgets}
subjects: [{kind: ServiceAccount, name: gitops, namespace: %[1]s}]
`, ns)); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/widgets.yaml": desiredStateFile("widgets", ns, "apps/widgets") + "  sync: {automated: true, prune: true, selfHeal: true}\n",
		"apps/widgets/widget.yaml":   fmt.Sprintf("apiVersion: faults.kube-gitops.dev/v1\nkind: Widget\nmetadata: {name: gear, namespace: %s}\nspec: {teeth: 12}\n", ns),
		"apps/widgets/config.yaml":   configMap("keep", ns, "a"),
	}
	for f, content := range syncApp("bystander", other, "") {
		files[f] = content
	}
	rev, err := e.commit(files, "an app with a custom resource, and a bystander")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	waitSyncedAt(t, ns, "widgets", rev, 60*time.Second)
	waitSyncedAt(t, other, "bystander", rev, 60*time.Second)
	uids, bystanders := configMapUIDs(t, ns), configMapUIDs(t, other)

	if out, err := e.kubectl("delete", "crd", "widgets.faults.kube-gitops.dev", "--wait=true", "--timeout=60s"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	missing := "no kind Widget in group faults.kube-gitops.dev"
	waitDesiredState(t, ns, "widgets", 60*time.Second, func(u *unstructured.Unstructured) error {
		sync, _, _ := unstructured.NestedString(u.Object, "status", "sync", "status")
		msg, _, _ := unstructured.NestedString(u.Object, "status", "sync", "message")
		ready, _, readyMsg := condition(u, "Ready")
		if sync != "OutOfSync" || !strings.Contains(msg, missing) || ready != "False" || !strings.Contains(readyMsg, missing) {
			return fmt.Errorf("sync %s: %s; Ready %s: %s; want OutOfSync naming %q", sync, msg, ready, readyMsg, missing)
		}
		return nil
	})
	statusShows(t, ns, "widgets", missing)
	waitStatus(t, other, "bystander", "Synced", "", 10*time.Second)

	installCRD()
	if err := eventually(90*time.Second, func() error {
		u, err := e.dyn.Resource(desiredStates).Namespace(ns).Get(ctx, "widgets", metav1.GetOptions{})
		if err != nil {
			return err
		}
		sync, _, _ := unstructured.NestedString(u.Object, "status", "sync", "status")
		msg, _, _ := unstructured.NestedString(u.Object, "status", "sync", "message")
		if sync != "Synced" {
			return fmt.Errorf("widgets is %s: %s", sync, msg)
		}
		_, err = e.dyn.Resource(widgets).Namespace(ns).Get(ctx, "gear", metav1.GetOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sameUIDs(t, ns, uids)
	sameUIDs(t, other, bystanders)
}

// TestFaultWebhookDenies: a validating webhook denies one ConfigMap of an app. The others are
// applied, the denied one's status line and the app's condition show the webhook's message, and
// once the webhook is removed the app converges by itself.
func TestFaultWebhookDenies(t *testing.T) {
	ctx := context.Background()
	const ns = "fault-webhook"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	hook := startDenyingWebhook(t, "denied")
	const config = "faults-deny-configmap"
	if err := e.kubectlApply(fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: %s}
webhooks:
  - name: deny.faults.kube-gitops.dev
    clientConfig: {url: %q, caBundle: %s}
    rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}]
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %s}}
    failurePolicy: Fail
    sideEffects: None
    admissionReviewVersions: [v1]
    timeoutSeconds: 5
`, config, hook.url, base64.StdEncoding.EncodeToString(hook.caBundle), ns)); err != nil {
		t.Fatal(err)
	}
	removed := false
	defer func() {
		if !removed {
			_, _ = e.kubectl("delete", "validatingwebhookconfiguration", config, "--ignore-not-found")
		}
	}()
	files := map[string]string{
		"clusters/test/guarded.yaml": desiredStateFile("guarded", ns, "apps/guarded") + "  sync: {automated: true, prune: true, selfHeal: true}\n",
		"apps/guarded/config.yaml":   configMap("allowed-a", ns, "a") + "---\n" + configMap("denied", ns, "d") + "---\n" + configMap("allowed-b", ns, "b"),
	}
	rev, err := e.commit(files, "an app with one ConfigMap the webhook denies")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	waitDesiredState(t, ns, "guarded", 60*time.Second, func(u *unstructured.Unstructured) error {
		line := resourceStatus(u, "ConfigMap", "denied")
		_, _, readyMsg := condition(u, "Ready")
		if !strings.Contains(line.Message, hook.message) || !strings.Contains(readyMsg, hook.message) {
			return fmt.Errorf("ConfigMap denied: %s %q; Ready: %q; want both to hold %q", line.Sync, line.Message, readyMsg, hook.message)
		}
		return nil
	})
	statusShows(t, ns, "guarded", hook.message)
	for _, name := range []string{"allowed-a", "allowed-b"} {
		if !configMapExists(t, ns, name) {
			t.Errorf("ConfigMap %s was not applied: one denied object must not stop the others", name)
		}
	}
	if configMapExists(t, ns, "denied") {
		t.Fatal("the denied ConfigMap exists: the webhook was not called")
	}
	uids := configMapUIDs(t, ns)
	// Without a commit, the sync is tried again (with backoff): the webhook hears of it.
	seen := hook.denials.Load()
	if err := eventually(45*time.Second, func() error {
		if n := hook.denials.Load() - seen; n < 2 {
			return fmt.Errorf("%d more requests for the denied ConfigMap, want 2: a failed sync must be retried", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The retries are not history: one entry for the failure, whatever the number of retries.
	history, _, _ := unstructured.NestedSlice(desiredState(t, ns, "guarded").Object, "status", "history")
	failures := 0
	for _, h := range history {
		if m, _ := h.(map[string]any); m["revision"] == rev && m["result"] == "Failed" {
			failures++
		}
	}
	if failures != 1 {
		t.Errorf("%d Failed history entries for %.7s after the retries, want 1: %v", failures, rev, history)
	}

	if out, err := e.kubectl("delete", "validatingwebhookconfiguration", config); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	removed = true
	waitSyncedAt(t, ns, "guarded", rev, 90*time.Second)
	if !configMapExists(t, ns, "denied") {
		t.Error("ConfigMap denied was not applied once the webhook was removed")
	}
	sameUIDs(t, ns, uids)
}

// TestFaultRegistryDown: while the OCI registry of an app's chart is down, a new commit cannot be
// rendered: the app says which registry it cannot reach, and keeps (prunes nothing of) what it
// applied. Once the registry is back the commit is synced by itself.
func TestFaultRegistryDown(t *testing.T) {
	ctx := context.Background()
	const ns = "fault-registry"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t)
	for _, v := range []string{"1.4.2", "1.4.3"} {
		pushChart(t, reg.host, v)
	}
	values := func(replicas int) string { return fmt.Sprintf("replicaCount: %d\nimage: {tag: \"1.1.2\"}\n", replicas) }
	const app = `apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: charted-oci, namespace: %s}
spec:
  helm:
    chart: {repoURL: "oci://%s/charts", name: winterlight, version: %s}
    valuesFiles: [apps/charted-oci/values.yaml]
  sync: {automated: true, prune: true, selfHeal: true}
`
	files := map[string]string{
		"clusters/test/charted-oci.yaml": fmt.Sprintf(app, ns, reg.host, "1.4.2"),
		"apps/charted-oci/values.yaml":   values(1),
	}
	rev, err := e.commit(files, "an app with a chart from an OCI registry")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	waitSyncedAt(t, ns, "charted-oci", rev, 60*time.Second)
	before := deployment(t, ns, "charted-oci")

	// The chart version moves to one the server never pulled: it must reach the registry.
	reg.stop()
	changed, err := e.commit(map[string]string{
		"clusters/test/charted-oci.yaml": fmt.Sprintf(app, ns, reg.host, "1.4.3"),
		"apps/charted-oci/values.yaml":   values(2),
	}, "chart 1.4.3 and two replicas, while the registry is down")
	if err != nil {
		t.Fatal(err)
	}
	want := "cannot reach registry " + reg.host
	waitDesiredState(t, ns, "charted-oci", 60*time.Second, func(u *unstructured.Unstructured) error {
		if err := stalledWith(u, "render at "+changed[:7]); err != nil {
			return err
		}
		return stalledWith(u, want)
	})
	statusShows(t, ns, "charted-oci", want)
	after := deployment(t, ns, "charted-oci")
	if after.UID != before.UID || *after.Spec.Replicas != 1 {
		t.Errorf("Deployment uid %s, %d replicas; want %s, 1: nothing may change while the chart cannot be read", after.UID, *after.Spec.Replicas, before.UID)
	}

	reg.start(t)
	waitSyncedAt(t, ns, "charted-oci", changed, 90*time.Second)
	if d := deployment(t, ns, "charted-oci"); d.UID != before.UID || *d.Spec.Replicas != 2 {
		t.Errorf("Deployment uid %s, %d replicas; want %s, 2", d.UID, *d.Spec.Replicas, before.UID)
	}
}

// TestFaultStaleClears: while Git cannot be read, the root repository's apps are Stale (shown in
// kubectl get desiredstates); the condition clears by itself once Git answers again.
func TestFaultStaleClears(t *testing.T) {
	ctx := context.Background()
	const ns = "fault-stale"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	rev, err := e.commit(syncApp("stale", ns, ""), "add stale")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles("clusters/test/stale.yaml", "apps/stale/config.yaml")
	waitSyncedAt(t, ns, "stale", rev, 60*time.Second)
	uids := configMapUIDs(t, ns)

	if err := e.stopGit(); err != nil {
		t.Fatal(err)
	}
	started := false
	defer func() {
		if !started {
			_ = e.startGit()
		}
	}()
	waitDesiredState(t, ns, "stale", 60*time.Second, func(u *unstructured.Unstructured) error {
		if status, reason, msg := condition(u, "Stale"); status != "True" || !strings.Contains(msg, "cannot read Git") {
			return fmt.Errorf("Stale is %q (%s: %s), want True saying Git cannot be read", status, reason, msg)
		}
		return nil
	})
	statusShows(t, ns, "stale", "cannot read Git")
	if err := e.startGit(); err != nil {
		t.Fatal(err)
	}
	started = true
	waitDesiredState(t, ns, "stale", 60*time.Second, func(u *unstructured.Unstructured) error {
		if status, _, msg := condition(u, "Stale"); status == "True" {
			return fmt.Errorf("still Stale: %s", msg)
		}
		return nil
	})
	next, err := e.commit(map[string]string{"apps/stale/config.yaml": configMap("one", ns, "fresh") + "---\n" + configMap("two", ns, "b")}, "a push once Git is back")
	if err != nil {
		t.Fatal(err)
	}
	waitSyncedAt(t, ns, "stale", next, 60*time.Second)
	sameUIDs(t, ns, uids)
}

// TestFaultPromotionRetried: a Promotion that cannot reach Git for its write-back is retried with
// backoff, its message saying so, and succeeds once Git is back; it is never Failed meanwhile.
func TestFaultPromotionRetried(t *testing.T) {
	ctx := context.Background()
	const ns = "fault-promote"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	files := versionApp("promoted", ns, "1.0.0", "{name: version, file: apps/promoted/version.yaml, path: data.value}")
	if _, err := e.commit(files, "an app to promote"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	if err := eventually(30*time.Second, func() error { _, err := getDesiredState(ctx, ns, "promoted"); return err }); err != nil {
		t.Fatal(err)
	}

	if err := e.stopGit(); err != nil {
		t.Fatal(err)
	}
	started := false
	defer func() {
		if !started {
			_ = e.startGit()
		}
	}()
	promotion := "through-outage-" + randomString()[:6] // Promotions stay: a name for each run
	if err := newPromotion(ctx, ns, promotion, "promoted", "", "version=1.0.1"); err != nil {
		t.Fatal(err)
	}
	// Retried, and says so: at least two attempts while Git is down, never Failed.
	attempts := map[string]bool{}
	if err := eventually(60*time.Second, func() error {
		u, err := e.dyn.Resource(promotions).Namespace(ns).Get(ctx, promotion, metav1.GetOptions{})
		if err != nil {
			return err
		}
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		msg, _, _ := unstructured.NestedString(u.Object, "status", "message")
		if phase == "Failed" || phase == "Succeeded" {
			return fmt.Errorf("promotion is %s while Git is down: %s", phase, msg)
		}
		if strings.Contains(msg, "retrying") {
			attempts[msg] = true
		}
		if len(attempts) < 2 {
			return fmt.Errorf("promotion is %s: %q; want messages of two attempts that say it is retrying", phase, msg)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.startGit(); err != nil {
		t.Fatal(err)
	}
	started = true
	promotionEnds(t, ns, promotion, "Succeeded", "version 1.0.0 → 1.0.1")
	if got, err := e.git.ReadFile(e.repo, "main", "apps/promoted/version.yaml"); err != nil || !strings.Contains(got, "1.0.1") {
		t.Errorf("version.yaml after the promotion (%v):\n%s", err, got)
	}
}
