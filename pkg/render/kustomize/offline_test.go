package kustomize

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// runBuildChild builds fsys's kustomization k in a child process (see TestMain), without
// Render's check, and returns what it printed.
func runBuildChild(t *testing.T, fsys fstest.MapFS, forbid bool) string {
	t.Helper()
	dir := t.TempDir()
	for p, f := range fsys {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	guard := "0"
	if forbid {
		guard = "1"
	}
	cmd.Env = append(os.Environ(), buildChildEnv+"="+dir, buildChildGuard+"="+guard)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child build: %v\n%s", err, out)
	}
	return string(out)
}

// TestForbidNetworkStopsEveryVectorWithoutTheCheck shows that the guarantee does not depend on
// Render's check: kustomize itself, given each remote vector, reaches nothing once
// ForbidNetwork ran.
func TestForbidNetworkStopsEveryVectorWithoutTheCheck(t *testing.T) {
	url, hits := tripwire(t)
	for _, tt := range remoteVectors() {
		t.Run(tt.name, func(t *testing.T) {
			before := hits.Load()
			out := runBuildChild(t, withURL(tt.fsys, url), true)
			if n := hits.Load() - before; n != 0 {
				t.Errorf("%d requests reached the server; the child said: %s", n, out)
			}
			if strings.Contains(out, "build succeeded") {
				t.Errorf("a build that needs the network must fail: %s", out)
			}
		})
	}
}

// TestForbidNetworkControl shows that the vectors are real: without ForbidNetwork, kustomize
// fetches.
func TestForbidNetworkControl(t *testing.T) {
	url, hits := countingServer(t, func(*http.Request) {})
	vector := fstest.MapFS{
		"k/kustomization.yaml": file("resources: [cm.yaml]\ntransformers: [t.yaml]\n"),
		"k/cm.yaml":            file(strings.ReplaceAll(cm, "%s", "c")),
		"k/t.yaml":             file("apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + url + "/p.yaml\n"),
	}
	_ = runBuildChild(t, vector, false)
	if hits.Load() == 0 {
		t.Error("without ForbidNetwork the child must reach the server, or the other test proves nothing")
	}
}

func TestForbidNetworkAgainstAHangingServer(t *testing.T) {
	url, accepted := hangingServer(t)
	vector := fstest.MapFS{
		"k/kustomization.yaml": file("resources: [" + url + "/cm.yaml]\n"),
	}
	start := time.Now()
	out := runBuildChild(t, vector, true)
	if !strings.Contains(out, "build failed") || accepted.Load() != 0 {
		t.Errorf("child: %s; %d connections accepted", out, accepted.Load())
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the build took %s: it waited on the URL", d)
	}
}
