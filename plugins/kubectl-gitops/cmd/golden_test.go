package cmd

import (
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view/viewtest"
)

// update rewrites testdata/*.golden from the current output: `go test ./plugins/kubectl-gitops/cmd -run Golden -update`.
var update = flag.Bool("update", false, "rewrite the golden files of testdata/ from the current output")

// TestGoldenOutput runs each verb as main does against a plain server over real HTTP and compares
// stdout, stderr and the exit code with testdata/<name>.golden, so a refactoring that changes
// what a user sees shows up as a diff of that file.
func TestGoldenOutput(t *testing.T) {
	t.Setenv("KUBECTL_EXTERNAL_DIFF", "")
	t.Setenv("NO_COLOR", "1")
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"status", []string{"status"}},
		{"status-all-wide", []string{"status", "-A", "-o", "wide"}},
		{"status-name", []string{"status", "-o", "name"}},
		{"status-tree", []string{"status", "web"}},
		{"status-graph", []string{"status", "--tree"}},
		{"status-watch", []string{"status", "web", "--watch", "--timeout", "30s"}},
		{"history", []string{"history", "web"}},
		{"diff", []string{"diff", "web"}},
		{"diff-error", []string{"diff", "web", "--revision", "feature/x"}},
		{"sync", []string{"sync", "web"}},
		{"sync-wait", []string{"sync", "web", "--wait", "--timeout", "30s"}},
		{"sync-revision", []string{"sync", "web", "--revision", "v1.4.0"}},
		{"rollback", []string{"rollback", "web", "1a2b3c4"}},
		{"rollback-force", []string{"rollback", "web", "1a2b3c4", "--force"}},
		{"promote", []string{"promote", "web", "--from", "test", "--yes"}},
		{"promote-nowait", []string{"promote", "web", "--from", "test", "--yes", "--wait=false"}},
		{"api-error", []string{"status", "broken"}},
		// Objects as the server sent them: timestamps are in the output, so the server's clock is fixed.
		{"status-yaml", []string{"status", "-o", "yaml"}},
		{"status-json", []string{"status", "-o", "json"}},
		{"status-web-json", []string{"status", "web", "-o", "json"}},
		{"status-web-yaml", []string{"status", "web", "-o", "yaml"}},
		{"history-json", []string{"history", "web", "-o", "json"}},
		{"history-yaml", []string{"history", "web", "-o", "yaml"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			now := time.Now()
			if strings.HasSuffix(tc.golden, "json") || strings.HasSuffix(tc.golden, "yaml") {
				now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
			}
			srv := httptest.NewServer(newFakeAPI(now, "", ""))
			t.Cleanup(srv.Close)
			out, errOut, code := runRoot(t, viewtest.Kubeconfig(t, srv.URL), tc.args...)
			checkGolden(t, tc.golden, render(code, out, errOut))
		})
	}
}

// TestGoldenHelp compares the help of the root and of every verb with testdata/help-<verb>.golden.
func TestGoldenHelp(t *testing.T) {
	root := NewRoot(genericiooptions.NewTestIOStreamsDiscard())
	verbs := append([]*cobra.Command{root}, root.Commands()...)
	for _, verb := range verbs {
		name := "help-" + verb.Name()
		t.Run(name, func(t *testing.T) {
			args := []string{"--help"}
			if verb != root {
				args = []string{verb.Name(), "--help"}
			}
			out, errOut, code := runRoot(t, "/nonexistent/kubeconfig", args...)
			checkGolden(t, name, render(code, out, errOut))
		})
	}
}

func render(code int, out, errOut string) string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out, errOut)
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s (create it with -update): %v", path, err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update if the change is meant):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
