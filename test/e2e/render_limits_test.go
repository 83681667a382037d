package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// doubling grows a string without end: 16 bytes, doubled 40 times.
const doubling = `{{ $x := "0123456789abcdef" }}{{ range until 40 }}{{ $x = printf "%s%s" $x $x }}{{ end }}{{ len $x }}`

// TestARunawayRenderIsStoppedAndTheRestGoesOn commits, beside a good application, a chart whose
// template grows a string without end. Its render worker is killed at its memory budget (the
// server's default, 512Mi), the application says so, the good one syncs and the API keeps
// serving; a preview of a branch with such a chart fails the same way, in seconds.
func TestARunawayRenderIsStoppedAndTheRestGoesOn(t *testing.T) {
	ctx := context.Background()
	const ns = "render-limits"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/runaway.yaml": fmt.Sprintf(`apiVersion: gitops.kube-gitops.dev/v1alpha1
kind: DesiredState
metadata: {name: runaway, namespace: %s}
spec:
  helm:
    chart: {path: charts/runaway}
`, ns),
		"charts/runaway/Chart.yaml":          "apiVersion: v2\nname: runaway\nversion: 1.0.0\n",
		"charts/runaway/templates/grow.yaml": doubling + "\n",
		"clusters/test/neighbour.yaml":       desiredStateFile("neighbour", ns, "apps/neighbour") + "  sync: {automated: true}\n",
		"apps/neighbour/config.yaml":         configMap("neighbour-settings", ns, "a"),
	}
	if _, err := e.commit(files, "a runaway chart beside a good application"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		var names []string
		for f := range files {
			names = append(names, f)
		}
		e.removeFiles(names...)
	}()

	waitStatus(t, ns, "neighbour", "Synced", "", 90*time.Second)
	want := "render of " + ns + "/runaway exceeded its memory budget of 512 MiB and was stopped"
	if err := eventually(90*time.Second, func() error {
		u, err := e.dyn.Resource(desiredStates).Namespace(ns).Get(ctx, "runaway", metav1.GetOptions{})
		if err != nil {
			return err
		}
		return stalledWith(u, want)
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.server.done:
		t.Fatalf("the server exited:\n%s", tailFile(e.server.logPath, 30))
	default:
	}
	if out, err := e.kubectl("get", "desiredstates", "-A"); err != nil || !strings.Contains(out, "neighbour") {
		t.Fatalf("the API after the runaway render: %v\n%s", err, out)
	}

	// A pull request's chart is previewed in a worker too: stopped, and said so, in seconds.
	if _, err := e.git.Commit(e.repo, "feature/runaway-repeat", map[string]string{
		"charts/runaway/templates/grow.yaml": `{{ repeat 2000000000 "x" }}` + "\n",
	}, "a chart that repeats a string two billion times"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := e.kubectl("get", "--raw", subresource(ns, "runaway", "manifests")+"?revision=feature/runaway-repeat")
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("preview of the runaway branch: %v\n%s", err, out)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the runaway preview took %s", took)
	}
	if out, err := e.kubectl("get", "--raw", subresource(ns, "neighbour", "manifests")); err != nil || !strings.Contains(out, "neighbour-settings") {
		t.Errorf("a preview after the runaway one: %v\n%s", err, out)
	}
}
