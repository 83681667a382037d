package gitserver

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestGenerateApps(t *testing.T) {
	dir := t.TempDir()
	const n = 3
	if err := GenerateApps(dir, n, "bench"); err != nil {
		t.Fatalf("GenerateApps: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "clusters", "bench", "*.yaml"))
	if len(files) != n {
		t.Fatalf("DesiredState files = %d, want %d", len(files), n)
	}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("app-%04d", i)
		if BenchAppName(i) != name {
			t.Errorf("BenchAppName(%d) = %s, want %s", i, BenchAppName(i), name)
		}
		ds := readDesiredState(t, filepath.Join(dir, "clusters", "bench", name+".yaml"))
		if ds.Metadata.Name != name || ds.Metadata.Namespace != "apps" {
			t.Errorf("%s: metadata = %s/%s", name, ds.Metadata.Namespace, ds.Metadata.Name)
		}
		if ds.Spec.Source == nil || ds.Spec.Source.Path != "apps/bench/"+name || ds.Spec.Helm != nil {
			t.Fatalf("%s: source = %+v, want path apps/bench/%s", name, ds.Spec.Source, name)
		}
		if !ds.Spec.Sync.Automated || !ds.Spec.Sync.Prune {
			t.Errorf("%s: sync = %+v, want automated and prune", name, ds.Spec.Sync)
		}
		objs := readObjects(t, filepath.Join(dir, ds.Spec.Source.Path))
		var kinds []string
		for _, o := range objs {
			kinds = append(kinds, fmt.Sprint(o["kind"]))
			if lookup(o, "metadata.name") != name || lookup(o, "metadata.namespace") != "apps" {
				t.Errorf("%s: %s is %v/%v", name, o["kind"], lookup(o, "metadata.namespace"), lookup(o, "metadata.name"))
			}
			if o["kind"] == "Deployment" {
				if r, ok := lookup(o, "spec.replicas").(float64); !ok || r != 0 {
					t.Errorf("%s: Deployment replicas = %v, want an explicit 0", name, lookup(o, "spec.replicas"))
				}
			}
		}
		if got, want := fmt.Sprint(kinds), "[ServiceAccount Deployment Service Ingress]"; got != want || len(objs) != BenchObjectsPerApp {
			t.Errorf("%s: kinds = %s, want %s", name, got, want)
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
