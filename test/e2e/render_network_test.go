package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// waitStalled waits until the DesiredState's Stalled condition says message.
func waitStalled(t *testing.T, ns, name, message string) {
	t.Helper()
	if err := eventually(60*time.Second, func() error {
		cur, err := e.dyn.Resource(desiredStates).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return stalledWith(cur, message)
	}); err != nil {
		t.Fatal(err)
	}
}

// TestKustomizeNeverReachesTheNetwork commits kustomizations that would make kustomize fetch
// from a server this test runs, on the tracked branch and on a branch previewed with
// ?revision=. No request reaches it, and the app says which file and field is remote.
func TestKustomizeNeverReachesTheNetwork(t *testing.T) {
	ctx := context.Background()
	const ns = "render-net"
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\ndata: {leak: from-the-network}\n"))
	}))
	defer srv.Close()
	defer func() {
		if n := hits.Load(); n != 0 {
			t.Errorf("%d requests reached the server", n)
		}
	}()
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// The tracked branch: the URL sits in a transformer configuration file.
	files := map[string]string{
		"clusters/test/fetcher.yaml":      desiredStateFile("fetcher", ns, "apps/fetcher"),
		"apps/fetcher/kustomization.yaml": "resources: [cm.yaml]\ntransformers: [t.yaml]\n",
		"apps/fetcher/cm.yaml":            configMap("settings", ns, "a"),
		"apps/fetcher/t.yaml":             "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + srv.URL + "/p.yaml\n",
	}
	if _, err := e.commit(files, "a transformer that fetches"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = e.commit(nil, "remove fetcher", "clusters/test/fetcher.yaml", "apps/fetcher/kustomization.yaml", "apps/fetcher/cm.yaml", "apps/fetcher/t.yaml")
	}()

	if err := eventually(30*time.Second, func() error {
		_, err := e.dyn.Resource(desiredStates).Namespace(ns).Get(ctx, "fetcher", metav1.GetOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// A pull request's branch, previewed: an inline generator reads a URL.
	pr := map[string]string{
		"apps/fetcher/kustomization.yaml": "generators:\n- |\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata: {name: meta}\n  files: [" + srv.URL + "/latest/meta-data]\n",
	}
	if _, err := e.git.Commit(e.repo, "render-net-pr", pr, "an inline generator that fetches"); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"manifests", "diff"} {
		out, err := e.kubectl("get", "--raw", subresource(ns, "fetcher", sub)+"?revision=render-net-pr")
		if err == nil || strings.Contains(out, "from-the-network") ||
			!strings.Contains(out, `apps/fetcher/kustomization.yaml: generators (inline) ConfigMapGenerator "meta" files entry "`+srv.URL+`/latest/meta-data" is remote`) {
			t.Errorf("%s of the branch: %v\n%s", sub, err, out)
		}
	}
	waitStalled(t, ns, "fetcher", `apps/fetcher/kustomization.yaml: transformers entry "t.yaml": PatchTransformer "p" path entry "`+srv.URL+`/p.yaml" is remote`)
}

// TestRenderErrorsHideSecretsAndRefuseBadNames: a kustomize error that quotes a secretGenerator
// literal shows "***" in status, Events and the server's log; a rendered object named ".." is
// refused, naming its file.
func TestRenderErrorsHideSecretsAndRefuseBadNames(t *testing.T) {
	ctx := context.Background()
	const ns, canary = "render-errors", "canary-7d1e0b-do-not-leak"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/leaky.yaml":      desiredStateFile("leaky", ns, "apps/leaky"),
		"apps/leaky/kustomization.yaml": "secretGenerator: [{name: creds, literals: [" + canary + "]}]\n",
		"clusters/test/badname.yaml":    desiredStateFile("badname", ns, "apps/badname"),
		"apps/badname/cm.yaml":          fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '..', namespace: %s}\n", ns),
	}
	if _, err := e.commit(files, "a leaky kustomization and a bad name"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		var names []string
		for f := range files {
			names = append(names, f)
		}
		e.removeFiles(names...)
	}()
	waitStalled(t, ns, "leaky", "kustomize build apps/leaky")

	status, err := e.kubectl("get", "desiredstate", "leaky", "-n", ns, "-o", "yaml")
	if err != nil || !strings.Contains(status, "***") {
		t.Errorf("the status should show where the value was masked: %v\n%s", err, status)
	}
	events, err := e.kubectl("get", "events", "-n", ns, "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	logData, _ := os.ReadFile(e.server.logPath)
	for what, out := range map[string]string{"status": status, "events": events, "server log": string(logData)} {
		if strings.Contains(out, canary) {
			t.Errorf("the %s holds the Secret value", what)
		}
	}
	waitStalled(t, ns, "badname", `apps/badname/cm.yaml: document 1: ConfigMap: metadata.name ".." may not be '..'`)
}
