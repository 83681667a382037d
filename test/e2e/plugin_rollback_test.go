package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestPluginRollbackForceAndUnavailable: `kubectl gitops rollback --force` rolls an automated
// application back and pauses automation until `kubectl gitops sync` resumes it; with the server
// down every verb says the APIService is not available and how to check.
func TestPluginRollbackForceAndUnavailable(t *testing.T) {
	const ns = "plugin-rollback"
	if err := e.createSyncAccount(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	files := syncApp("prb", ns, "")
	first, err := e.commit(files, "prb v1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = e.commit(nil, "remove prb", "clusters/test/prb.yaml", "apps/prb/config.yaml") }()
	second, err := e.commit(map[string]string{"apps/prb/config.yaml": configMap("one", ns, "v2") + "---\n" + configMap("two", ns, "b")}, "prb v2")
	if err != nil {
		t.Fatal(err)
	}
	waitSyncedAt(t, ns, "prb", second, 60*time.Second)

	out, errOut, code := e.plugin("rollback", "prb", first, "--force", "--wait", "-n", ns)
	if code != 0 || !strings.Contains(out+errOut, "paused") {
		t.Fatalf("rollback --force: exit %d\n%s%s", code, out, errOut)
	}
	if v := configMapValue(t, ns, "one"); v != "a" {
		t.Fatalf("after the rollback: value %q, want a", v)
	}
	changedWhilePaused(t, ns, "prb", map[string]string{"apps/prb/config.yaml": configMap("one", ns, "v2") + "---\n" + configMap("two", ns, "c")})
	if v := configMapValue(t, ns, "one"); v != "a" {
		t.Fatalf("automation undid the rollback: value %q", v)
	}
	if out, errOut, code := e.plugin("sync", "prb", "--wait", "-n", ns); code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
	}
	if v := configMapValue(t, ns, "one"); v != "v2" {
		t.Fatalf("after sync: value %q, want v2", v)
	}

	e.server.stop()
	defer func() {
		if err := e.restartServer(t.Context()); err != nil {
			t.Fatal(err)
		}
	}()
	_, errOut, code = e.plugin("status", "-n", "apps")
	if code != 1 || !strings.Contains(errOut, "kubectl get apiservice v1alpha1.gitops.kube-gitops.dev") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("server down: exit %d, want 1 and one line naming the APIService check:\n%s", code, errOut)
	}
}
