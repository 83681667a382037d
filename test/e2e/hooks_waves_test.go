package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// hookedChart is a chart whose Deployment runs image tag .Values.tag, with a pre-upgrade
// migration Job (deleted once it succeeded) whose pod kwok fails when .Values.failMigration.
var hookedChart = map[string]string{
	"charts/hooked/Chart.yaml": "apiVersion: v2\nname: hooked\nversion: 1.0.0\n",
	"charts/hooked/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: hooked}
spec:
  replicas: 1
  selector: {matchLabels: {app: hooked}}
  template:
    metadata: {labels: {app: hooked}}
    spec:
      containers: [{name: app, image: "registry.example/hooked:{{ .Values.tag }}"}]
`,
	"charts/hooked/templates/migrate.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: hooked-migrate
  annotations:
    helm.sh/hook: pre-upgrade
    helm.sh/hook-weight: "-1"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        app: hooked-migrate
        {{- if .Values.failMigration }}
        gitops.kube-gitops.dev/test-fail: "true"
        {{- end }}
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: "registry.example/hooked-migrate:{{ .Values.tag }}"}]
`,
}

func hookedValues(tag string, fail bool) string {
	return fmt.Sprintf("tag: %q\nfailMigration: %v\n", tag, fail)
}

// rvOf reads a resourceVersion as a number: with the cluster's one etcd a later write has a
// larger one, whatever the kind.
func rvOf(t *testing.T, rv string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", rv, err)
	}
	return n
}

var jobsResource = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}

// firstEvent watches a resource of ns from now and records the resourceVersion of the first
// event that match accepts; the returned func reads it (0 until then). With the cluster's one
// etcd, a smaller resourceVersion is an earlier write, whatever the kind.
func firstEvent(t *testing.T, ctx context.Context, gvr schema.GroupVersionResource, ns string, match func(watch.EventType, *unstructured.Unstructured) bool) func() int64 {
	t.Helper()
	w, err := e.dyn.Resource(gvr).Namespace(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	var mu sync.Mutex
	var rv int64
	go func() {
		for ev := range w.ResultChan() {
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok || !match(ev.Type, u) {
				continue
			}
			mu.Lock()
			if rv == 0 {
				rv, _ = strconv.ParseInt(u.GetResourceVersion(), 10, 64)
			}
			mu.Unlock()
		}
	}()
	return func() int64 {
		mu.Lock()
		defer mu.Unlock()
		return rv
	}
}

// jobCompleted matches the first event of the Job name that says it is Complete.
func jobCompleted(name string) func(watch.EventType, *unstructured.Unstructured) bool {
	return func(_ watch.EventType, u *unstructured.Unstructured) bool {
		var job batchv1.Job
		return u.GetName() == name && runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &job) == nil && complete(&job)
	}
}

func complete(job *batchv1.Job) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func syncMessage(u *unstructured.Unstructured) string {
	msg, _, _ := unstructured.NestedString(u.Object, "status", "sync", "message")
	return msg
}

// TestHelmHooksMigrateBeforeTheUpgrade: a chart's pre-upgrade migration Job does not run on
// install; on an upgrade it runs, and completes, before the Deployment changes, and is deleted
// as its policy says (hook-succeeded); the sync's message says what ran. A migration that fails
// fails the sync and leaves the previous release running.
func TestHelmHooksMigrateBeforeTheUpgrade(t *testing.T) {
	ctx := context.Background()
	const ns, app = "hooks", "hooked"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/hooked.yaml": fmt.Sprintf(`apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: %s, namespace: %s}
spec:
  helm:
    chart: {path: charts/hooked}
    valuesFiles: [apps/hooked/values.yaml]
  sync: {automated: true, prune: true, selfHeal: true}
`, app, ns),
		"apps/hooked/values.yaml": hookedValues("1.0.0", false),
	}
	for k, v := range hookedChart {
		files[k] = v
	}
	rev, err := e.commit(files, "a chart with a pre-upgrade migration")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	waitSyncedAt(t, ns, app, rev, 90*time.Second)
	if _, err := e.kube.BatchV1().Jobs(ns).Get(ctx, "hooked-migrate", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the pre-upgrade Job ran on install (get: %v)", err)
	}
	before := deployment(t, ns, app)

	migrated := firstEvent(t, ctx, jobsResource, ns, jobCompleted("hooked-migrate"))
	upgraded := firstEvent(t, ctx, deploymentsResource, ns, func(_ watch.EventType, u *unstructured.Unstructured) bool {
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		return u.GetName() == app && len(containers) > 0 && containers[0].(map[string]any)["image"] == "registry.example/hooked:2.0.0"
	})
	upgrade, err := e.commit(map[string]string{"apps/hooked/values.yaml": hookedValues("2.0.0", false)}, "upgrade to 2.0.0")
	if err != nil {
		t.Fatal(err)
	}
	waitSyncedAt(t, ns, app, upgrade, 120*time.Second)
	d := deployment(t, ns, app)
	if d.UID != before.UID || d.Spec.Template.Spec.Containers[0].Image != "registry.example/hooked:2.0.0" {
		t.Fatalf("Deployment uid %s image %s, want %s at 2.0.0", d.UID, d.Spec.Template.Spec.Containers[0].Image, before.UID)
	}
	if jobDone, deployImg := migrated(), upgraded(); jobDone == 0 || deployImg == 0 || jobDone >= deployImg {
		t.Errorf("migration completed at resourceVersion %d, Deployment changed at %d: the migration must complete first", jobDone, deployImg)
	}
	if _, err := e.kube.BatchV1().Jobs(ns).Get(ctx, "hooked-migrate", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the migration Job is still there after it succeeded (hook-succeeded); get: %v", err)
	}
	u := waitStatus(t, ns, app, "Synced", "", 10*time.Second)
	want := "pre-upgrade Job " + ns + "/hooked-migrate (batch/v1): succeeded, deleted (hook-succeeded)"
	if !strings.Contains(syncMessage(u), want) {
		t.Errorf("sync message %q does not say %q", syncMessage(u), want)
	}

	failing, err := e.commit(map[string]string{"apps/hooked/values.yaml": hookedValues("3.0.0", true)}, "upgrade to 3.0.0 with a failing migration")
	if err != nil {
		t.Fatal(err)
	}
	waitDesiredState(t, ns, app, 120*time.Second, func(u *unstructured.Unstructured) error {
		msg := syncMessage(u)
		if !strings.Contains(msg, "hook failed: pre-upgrade hook Job "+ns+"/hooked-migrate") || !strings.Contains(msg, "job failed") {
			return fmt.Errorf("sync message %q does not say the migration failed (at %.7s)", msg, failing)
		}
		return nil
	})
	statusShows(t, ns, app, "hook failed")
	if d := deployment(t, ns, app); d.UID != before.UID || d.Spec.Template.Spec.Containers[0].Image != "registry.example/hooked:2.0.0" {
		t.Errorf("after the failed migration the Deployment runs %s (uid %s), want 2.0.0 still (uid %s)", d.Spec.Template.Spec.Containers[0].Image, d.UID, before.UID)
	}
}

// TestSyncWavesApplyInOrder: an app's Deployment in wave -1 (Argo CD's annotation) is Available
// before its ConfigMap of wave 1 is created.
func TestSyncWavesApplyInOrder(t *testing.T) {
	ctx := context.Background()
	const ns, app = "waves", "waved"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/waved.yaml": desiredStateFile(app, ns, "apps/waved") + "  sync: {automated: true, prune: true}\n",
		"apps/waved/db.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: waved-db, namespace: %s, annotations: {argocd.argoproj.io/sync-wave: "-1"}}
spec:
  replicas: 1
  selector: {matchLabels: {app: waved-db}}
  template:
    metadata: {labels: {app: waved-db}}
    spec:
      containers: [{name: db, image: registry.example/db:1}]
`, ns),
		"apps/waved/config.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: waved-config, namespace: %s, annotations: {gitops.kube-gitops.dev/sync-wave: \"1\"}}\ndata: {v: a}\n", ns),
	}
	rev, err := e.commit(files, "an app in two waves")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	waitSyncedAt(t, ns, app, rev, 120*time.Second)
	db := deployment(t, ns, "waved-db")
	cm, err := e.kube.CoreV1().ConfigMaps(ns).Get(ctx, "waved-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if db.Status.AvailableReplicas != 1 || rvOf(t, cm.ResourceVersion) < rvOf(t, db.ResourceVersion) {
		t.Errorf("ConfigMap of wave 1 written at %s, Deployment of wave -1 last written at %s with %d available: wave 1 must wait for it",
			cm.ResourceVersion, db.ResourceVersion, db.Status.AvailableReplicas)
	}
}
