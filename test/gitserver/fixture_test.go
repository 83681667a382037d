package gitserver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kube-gitops/kube-gitops/pkg/desired"
)

// TestWinterlightFixture checks that the example config repo loads cleanly for both environments
// with the real loader: two DesiredStates each, every pin readable, every path present.
func TestWinterlightFixture(t *testing.T) {
	files := desired.DirFiles(fixtureDir)
	for _, env := range []string{"test", "prod"} {
		res, err := desired.Load(files, "clusters/"+env, desired.Origin{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Errors) > 0 || len(res.States) != 2 {
			t.Fatalf("%s: %d DesiredStates, errors %v; want 2 and none", env, len(res.States), res.Errors)
		}
		for _, s := range res.States {
			for _, pin := range s.Status.Versions {
				if pin.Value == "" {
					t.Errorf("%s/%s pin %s: %s", env, s.Name, pin.Name, pin.Message)
				}
			}
			var paths []string
			if s.Spec.Helm != nil {
				paths = append(append(paths, filepath.Join(s.Spec.Helm.Chart.Path, "Chart.yaml")), s.Spec.Helm.ValuesFiles...)
			} else {
				paths = append(paths, s.Spec.Source.Path)
			}
			for _, p := range paths {
				if _, err := os.Stat(filepath.Join(fixtureDir, p)); err != nil {
					t.Errorf("%s/%s: %v", env, s.Name, err)
				}
			}
		}
	}
}
