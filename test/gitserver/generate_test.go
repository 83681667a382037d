package gitserver

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kube-gitops/kube-gitops/pkg/desired"
)

var kindLine = regexp.MustCompile(`(?m)^kind: (\w+)$`)

func TestGenerateApps(t *testing.T) {
	dir := t.TempDir()
	const n = 3
	if err := GenerateApps(dir, n, "bench"); err != nil {
		t.Fatalf("GenerateApps: %v", err)
	}
	res, err := desired.Load(desired.DirFiles(dir), "clusters/bench", desired.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.States) != n || len(res.Errors) != 0 {
		t.Fatalf("%d DesiredStates, errors %v; want %d and none", len(res.States), res.Errors, n)
	}
	for i, ds := range res.States {
		name := fmt.Sprintf("app-%04d", i+1)
		if BenchAppName(i+1) != name || ds.Name != name || ds.Namespace != "apps" {
			t.Errorf("app %d: %s/%s, BenchAppName %s", i+1, ds.Namespace, ds.Name, BenchAppName(i+1))
		}
		if ds.Spec.Source.Path != "apps/bench/"+name || !ds.Spec.Sync.Automated || !ds.Spec.Sync.Prune {
			t.Errorf("%s: spec = %+v", name, ds.Spec)
		}
		manifest, err := os.ReadFile(filepath.Join(dir, ds.Spec.Source.Path, "app.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		kinds := kindLine.FindAllStringSubmatch(string(manifest), -1)
		var got []string
		for _, k := range kinds {
			got = append(got, k[1])
		}
		if fmt.Sprint(got) != "[ServiceAccount Deployment Service Ingress]" || len(got) != BenchObjectsPerApp {
			t.Errorf("%s: kinds %v", name, got)
		}
		if !strings.Contains(string(manifest), "replicas: 0") {
			t.Errorf("%s: the Deployment must be scaled to 0 explicitly", name)
		}
	}

	// Deterministic: a second run writes the same bytes.
	again := t.TempDir()
	if err := GenerateApps(again, n, "bench"); err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"clusters/bench/app-0002.yaml", "apps/bench/app-0002/app.yaml"} {
		a, _ := os.ReadFile(filepath.Join(dir, rel))
		b, _ := os.ReadFile(filepath.Join(again, rel))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between runs", rel)
		}
	}

	for _, tc := range []struct {
		n   int
		env string
	}{{-1, "test"}, {1, ""}, {1, "a/b"}, {1, ".."}} {
		if err := GenerateApps(t.TempDir(), tc.n, tc.env); err == nil {
			t.Errorf("GenerateApps(n=%d, env=%q): want an error", tc.n, tc.env)
		}
	}
}

// The generated repo is served and cloned like any other.
func TestGenerateAppsServed(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateApps(dir, 50, "test"); err != nil {
		t.Fatal(err)
	}
	s := startServer(t)
	url, err := s.CreateRepo("bench", dir)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "clone")
	gitT(t, "", "clone", "--quiet", withCreds(url, testUser, testPassword), dst)
	if _, err := os.Stat(filepath.Join(dst, "apps/bench/app-0050/app.yaml")); err != nil {
		t.Errorf("clone lacks app-0050: %v", err)
	}
}
