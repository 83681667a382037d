package controller

import (
	"fmt"
	"testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// TestChangedAppsAreQueuedFirst: after a commit, the apps whose directory, chart or values files
// it changed come out of the queue before every other app, which is still re-checked.
func TestChangedAppsAreQueuedFirst(t *testing.T) {
	var apps []*v1alpha1.DesiredState
	for i := range 50 {
		ds := desiredState("apps", fmt.Sprintf("app-%02d", i))
		ds.Spec.Source.Path = fmt.Sprintf("apps/app-%02d", i)
		apps = append(apps, ds)
	}
	charted := desiredState("apps", "charted")
	charted.Spec.Helm = &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "charts/web"}, ValuesFiles: []string{"./values/charted.yaml"}}
	prefix := desiredState("apps", "prefix") // apps/app-1 is a prefix of apps/app-17's directory, not its parent
	prefix.Spec.Source.Path = "apps/app-1"
	apps = append(apps, charted, prefix)
	c := newGateController(t, apps...)
	for _, tc := range []struct {
		name    string
		changed []string
		first   []string
	}{
		{"a file in an app's directory", []string{"apps", "apps/app-17", "apps/app-17/deployment.yaml"}, []string{"apps/app-17"}},
		{"a values file", []string{"values", "values/charted.yaml"}, []string{"apps/charted"}},
		{"the chart", []string{"charts/web/templates/a.yaml"}, []string{"apps/charted"}},
		{"two apps", []string{"apps/app-03/x.yaml", "apps/app-41/y.yaml"}, []string{"apps/app-03", "apps/app-41"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.EnqueueChangedFirst(tc.changed, true)
			want := map[string]bool{}
			for _, k := range tc.first {
				want[k] = true
			}
			for i := 0; i < len(apps); i++ {
				k, _ := c.q().Get()
				c.q().Done(k)
				if i < len(tc.first) && !want[k] {
					t.Errorf("item %d out of the queue is %s, want one of %v first", i, k, tc.first)
				}
				if i >= len(tc.first) && want[k] {
					t.Errorf("%s came out as item %d, not among the first %d", k, i, len(tc.first))
				}
			}
			if n := c.q().Len(); n != 0 {
				t.Errorf("%d apps left in the queue, want every app re-checked once", n)
			}
		})
	}
}
