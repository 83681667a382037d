package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
)

// uninstalledChart is a chart whose Deployment has a pre-delete and a post-delete Job (kept
// after they ran: Helm's default policy, before-hook-creation) and a test Pod, which a sync
// never runs.
var uninstalledChart = map[string]string{
	"charts/uninstalled/Chart.yaml": "apiVersion: v2\nname: uninstalled\nversion: 1.0.0\n",
	"charts/uninstalled/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: uninstalled}
spec:
  replicas: 1
  selector: {matchLabels: {app: uninstalled}}
  template:
    metadata: {labels: {app: uninstalled}}
    spec:
      containers: [{name: app, image: registry.example/uninstalled:1}]
`,
	"charts/uninstalled/templates/hooks.yaml": `{{- range $event := list "pre-delete" "post-delete" }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: uninstalled-{{ $event }}
  annotations: {helm.sh/hook: {{ $event }}}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: hook, image: registry.example/uninstalled-hook:1}]
{{- end }}
`,
	"charts/uninstalled/templates/tests/smoke.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: uninstalled-smoke
  annotations: {helm.sh/hook: test}
spec:
  restartPolicy: Never
  containers: [{name: smoke, image: registry.example/uninstalled-smoke:1}]
`,
}

// TestRemovalRunsDeleteHooksAroundThePrune: a chart's pre-delete and post-delete hooks do not
// run on install; when the app leaves Git with prune, the pre-delete Job completes before the
// Deployment is deleted, and the post-delete Job is created after. Its test hook never runs.
func TestRemovalRunsDeleteHooksAroundThePrune(t *testing.T) {
	ctx := context.Background()
	const ns, app = "removal-hooks", "uninstalled"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/uninstalled.yaml": fmt.Sprintf(`apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: %s, namespace: %s}
spec:
  helm:
    chart: {path: charts/uninstalled}
  sync: {automated: true, prune: true}
`, app, ns),
	}
	for k, v := range uninstalledChart {
		files[k] = v
	}
	rev, err := e.commit(files, "a chart with delete hooks and a test")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	t.Cleanup(func() {
		background := metav1.DeletePropagationBackground
		for _, job := range []string{"uninstalled-pre-delete", "uninstalled-post-delete"} {
			_ = e.kube.BatchV1().Jobs(ns).Delete(context.Background(), job, metav1.DeleteOptions{PropagationPolicy: &background})
		}
	})
	waitSyncedAt(t, ns, app, rev, 90*time.Second)
	deployment(t, ns, app)
	noneRan := func(when string) {
		t.Helper()
		if _, err := e.kube.CoreV1().Pods(ns).Get(ctx, "uninstalled-smoke", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: the test hook Pod was created (get: %v)", when, err)
		}
	}
	noneRan("after the install")
	for _, job := range []string{"uninstalled-pre-delete", "uninstalled-post-delete"} {
		if _, err := e.kube.BatchV1().Jobs(ns).Get(ctx, job, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the delete hook %s ran on install (get: %v)", job, err)
		}
	}

	named := func(name string) func(watch.EventType, *unstructured.Unstructured) bool {
		return func(_ watch.EventType, u *unstructured.Unstructured) bool { return u.GetName() == name }
	}
	preDone := firstEvent(t, ctx, jobsResource, ns, jobCompleted("uninstalled-pre-delete"))
	postCreated := firstEvent(t, ctx, jobsResource, ns, named("uninstalled-post-delete"))
	deleted := firstEvent(t, ctx, deploymentsResource, ns, func(ev watch.EventType, u *unstructured.Unstructured) bool {
		return u.GetName() == app && (ev == watch.Deleted || u.GetDeletionTimestamp() != nil)
	})
	if _, err := e.commit(nil, "remove "+app, "clusters/test/uninstalled.yaml"); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ns, app)
	if err := eventually(10*time.Second, func() error {
		if preDone() == 0 || deleted() == 0 || postCreated() == 0 {
			return fmt.Errorf("watched: pre-delete Job complete at resourceVersion %d, Deployment deleted at %d, post-delete Job created at %d",
				preDone(), deleted(), postCreated())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("resourceVersions: pre-delete Job complete %d, Deployment deleted %d, post-delete Job created %d", preDone(), deleted(), postCreated())
	if preDone() >= deleted() {
		t.Errorf("the pre-delete Job completed at resourceVersion %d, the Deployment was deleted at %d: the hook must complete first", preDone(), deleted())
	}
	if postCreated() <= deleted() {
		t.Errorf("the post-delete Job was created at resourceVersion %d, the Deployment deleted at %d: the hook must run after", postCreated(), deleted())
	}
	post, err := e.kube.BatchV1().Jobs(ns).Get(ctx, "uninstalled-post-delete", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !complete(post) {
		t.Errorf("the post-delete Job is not Complete before the app's record went: %v", post.Status.Conditions)
	}
	if err := eventually(10*time.Second, func() error {
		return eventsContain(ctx, ns, "removed from Git: hooks: pre-delete Job "+ns+"/uninstalled-pre-delete (batch/v1): succeeded; post-delete Job "+ns+"/uninstalled-post-delete (batch/v1): succeeded")
	}); err != nil {
		t.Error(err)
	}
	noneRan("after the removal")
}
