package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPluginInstallManifestsAreValid prints the install manifests with the plugin and has the
// real API server validate them with a server-side dry run.
func TestPluginInstallManifestsAreValid(t *testing.T) {
	out, errOut, code := e.plugin("install", "--repo", e.repoURL, "--path", "clusters/test", "--environment", "test",
		"--server-namespace", "gitops-dry-run", "--dry-run")
	if code != 0 {
		t.Fatalf("install --dry-run: exit %d: %s", code, errOut)
	}
	if err := containsAll(out, "kind: APIService", "kind: Deployment", "--environment=test", "caBundle:"); err != nil {
		t.Fatal(err)
	}
	if err := e.createNamespace(t.Context(), "gitops-dry-run"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(e.dir, "install.yaml")
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	applied, err := e.kubectl("apply", "--server-side", "--dry-run=server", "--force-conflicts", "-f", file)
	if err != nil {
		t.Fatalf("the API server refuses the install manifests: %v\n%s", err, applied)
	}
	if !strings.Contains(applied, "deployment.apps/gitops-apiserver serverside-applied (server dry run)") {
		t.Errorf("unexpected apply output:\n%s", applied)
	}
	if _, errOut, code := e.plugin("install", "--path", "clusters/test"); code == 0 || !strings.Contains(errOut, "--repo, --path and --environment are required") {
		t.Errorf("missing flags: exit %d: %s", code, errOut)
	}
}
