package uninstall

import (
	"slices"
	"testing"

	"github.com/kube-gitops/kube-gitops/charts"
)

func TestPlan(t *testing.T) {
	objs, err := charts.Render("kube-gitops", map[string]any{"git": map[string]any{"repo": "r", "path": "p", "environment": "e"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		purge          bool
		wantPolicyGone bool
	}{{purge: false}, {purge: true, wantPolicyGone: true}}
	for _, tt := range tests {
		removed, crds := Plan(objs, tt.purge)
		if removed[0].GetKind() != "APIService" {
			t.Errorf("purge=%v: %s is removed first; the APIService must go first", tt.purge, removed[0].GetKind())
		}
		var kinds []string
		for _, u := range removed {
			kinds = append(kinds, u.GetKind())
		}
		if slices.Contains(kinds, "CustomResourceDefinition") {
			t.Errorf("purge=%v: CRDs among the objects removed with the server: %v", tt.purge, kinds)
		}
		if got := slices.Contains(kinds, "ValidatingAdmissionPolicy"); got != tt.wantPolicyGone {
			t.Errorf("purge=%v: admission policy removed %v, want %v", tt.purge, got, tt.wantPolicyGone)
		}
		for _, want := range []string{"Deployment", "Service", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "RoleBinding", "PodDisruptionBudget"} {
			if !slices.Contains(kinds, want) {
				t.Errorf("purge=%v: %s is not removed", tt.purge, want)
			}
		}
		if len(crds) != 3 {
			t.Errorf("purge=%v: %d CRDs, want the 3 internal ones", tt.purge, len(crds))
		}
		if i, j := slices.Index(kinds, "Deployment"), slices.Index(kinds, "ServiceAccount"); i > j {
			t.Errorf("purge=%v: the ServiceAccount goes before the Deployment that runs as it", tt.purge)
		}
	}
}
