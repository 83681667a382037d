package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// retriedChart has a pre-upgrade migration Job and a post-upgrade Job that kwok fails when
// .Values.failNotify; both are replaced on each run (before-hook-creation).
var retriedChart = map[string]string{
	"charts/retried/Chart.yaml":               "apiVersion: v2\nname: retried\nversion: 1.0.0\n",
	"charts/retried/templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: retried}\ndata: {tag: {{ .Values.tag | quote }}}\n",
	"charts/retried/templates/hooks.yaml": `{{- range $name, $event := dict "retried-migrate" "pre-upgrade" "retried-notify" "post-upgrade" }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ $name }}
  annotations: {helm.sh/hook: {{ $event }}}
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        app: {{ $name }}
        {{- if and $.Values.failNotify (eq $name "retried-notify") }}
        gitops.kube-gitops.dev/test-fail: "true"
        {{- end }}
    spec:
      restartPolicy: Never
      containers: [{name: run, image: "registry.example/{{ $name }}:{{ $.Values.tag }}"}]
{{- end }}
`,
}

// TestHelmHooksRetryOnlyTheFailedPostHook: a post-upgrade hook that fails fails the sync, which
// is retried with backoff; the retries run the post-upgrade hook again but not the pre-upgrade
// migration, and the status keeps saying which hook failed.
func TestHelmHooksRetryOnlyTheFailedPostHook(t *testing.T) {
	ctx := context.Background()
	const ns, app = "hooks-retry", "retried"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/retried.yaml": fmt.Sprintf(`apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: %s, namespace: %s}
spec:
  helm:
    chart: {path: charts/retried}
    valuesFiles: [apps/retried/values.yaml]
  sync: {automated: true, prune: true}
`, app, ns),
		"apps/retried/values.yaml": "tag: \"1\"\nfailNotify: false\n",
	}
	for k, v := range retriedChart {
		files[k] = v
	}
	rev, err := e.commit(files, "a chart with pre- and post-upgrade hooks")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	waitSyncedAt(t, ns, app, rev, 90*time.Second)

	// Every Job created from here on, by name: a retry creates the migration (if it runs it)
	// before the post-upgrade Job.
	w, err := e.kube.BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := e.commit(map[string]string{"apps/retried/values.yaml": "tag: \"2\"\nfailNotify: true\n"}, "upgrade with a failing post-upgrade hook"); err != nil {
		t.Fatal(err)
	}
	created := map[string]map[types.UID]bool{"retried-migrate": {}, "retried-notify": {}}
	timeout := time.After(120 * time.Second)
	for len(created["retried-notify"]) < 3 { // the first try and two retries
		select {
		case ev, open := <-w.ResultChan():
			if !open {
				t.Fatal("the watch of Jobs ended")
			}
			if j, ok := ev.Object.(*batchv1.Job); ok && ev.Type == watch.Added && created[j.Name] != nil {
				created[j.Name][j.UID] = true
			}
		case <-timeout:
			t.Fatalf("the failed post-upgrade Job was not retried twice within 120s: %d runs", len(created["retried-notify"]))
		}
	}
	if n := len(created["retried-migrate"]); n != 1 {
		t.Errorf("the pre-upgrade migration ran %d times over 3 tries of the post-upgrade hook, want once", n)
	}
	want := "hook failed: post-upgrade hook Job " + ns + "/retried-notify"
	u := waitDesiredState(t, ns, app, 30*time.Second, func(u *unstructured.Unstructured) error {
		if msg := syncMessage(u); !strings.Contains(msg, want) {
			return fmt.Errorf("sync message %q does not keep %q", msg, want)
		}
		return nil
	})
	if d, _, _ := unstructured.NestedString(u.Object, "status", "hooksDigest"); !strings.HasPrefix(d, "pre-hooks-ran:") {
		t.Errorf("status.hooksDigest %q, want it to record that the pre-upgrade hooks ran", d)
	}
}
