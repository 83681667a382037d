package e2e

import (
	"strings"
	"testing"
)

// TestPluginCompletion: the completion scripts are generated, and application names complete
// from the cluster.
func TestPluginCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, errOut, code := e.plugin("completion", shell)
		if code != 0 || !strings.Contains(out, "kubectl-gitops") {
			t.Errorf("completion %s: exit %d: %s", shell, code, errOut)
		}
	}
	out, errOut, code := e.plugin("__complete", "status", "-n", "apps", "")
	if code != 0 || !strings.Contains(out, "guestbook") || !strings.Contains(out, "winterlight") {
		t.Errorf("completing NAME: exit %d\n%s%s", code, out, errOut)
	}
}
