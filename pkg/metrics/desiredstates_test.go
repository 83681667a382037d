package metrics

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/testutil"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func app(namespace, name string, sync v1alpha1.SyncStatusCode, health v1alpha1.HealthStatusCode, stale metav1.ConditionStatus) *v1alpha1.DesiredState {
	ds := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	ds.Status.Sync.Status, ds.Status.Health.Status = sync, health
	if stale != "" {
		ds.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionStale, Status: stale, Reason: "FetchFailed"}}
	}
	return ds
}

const header = `
# HELP gitops_desiredstate_degraded [ALPHA] 1 while the application's health is Degraded, else 0.
# TYPE gitops_desiredstate_degraded gauge
# HELP gitops_desiredstate_out_of_sync [ALPHA] 1 while the application's cluster objects differ from Git (sync status OutOfSync), else 0.
# TYPE gitops_desiredstate_out_of_sync gauge
# HELP gitops_desiredstate_stale [ALPHA] 1 while the application's condition Stale is True (Git cannot be read; the last synced state stays), else 0.
# TYPE gitops_desiredstate_stale gauge
`

func TestDesiredStateGauges(t *testing.T) {
	tests := []struct {
		name string
		apps []*v1alpha1.DesiredState
		want string // the series, in the exposition format, sorted by name then labels
	}{
		{
			name: "synced and healthy",
			apps: []*v1alpha1.DesiredState{app("apps", "web", v1alpha1.SyncStatusSynced, v1alpha1.HealthHealthy, metav1.ConditionFalse)},
			want: `gitops_desiredstate_degraded{app="web",app_namespace="apps"} 0
gitops_desiredstate_out_of_sync{app="web",app_namespace="apps"} 0
gitops_desiredstate_stale{app="web",app_namespace="apps"} 0
`,
		},
		{
			name: "out of sync, degraded and stale, each app its own series",
			apps: []*v1alpha1.DesiredState{
				app("apps", "web", v1alpha1.SyncStatusOutOfSync, v1alpha1.HealthHealthy, ""),
				app("team", "api", v1alpha1.SyncStatusSynced, v1alpha1.HealthDegraded, metav1.ConditionTrue),
			},
			want: `gitops_desiredstate_degraded{app="api",app_namespace="team"} 1
gitops_desiredstate_degraded{app="web",app_namespace="apps"} 0
gitops_desiredstate_out_of_sync{app="api",app_namespace="team"} 0
gitops_desiredstate_out_of_sync{app="web",app_namespace="apps"} 1
gitops_desiredstate_stale{app="api",app_namespace="team"} 1
gitops_desiredstate_stale{app="web",app_namespace="apps"} 0
`,
		},
		{
			name: "unknown sync and progressing health are neither out of sync nor degraded",
			apps: []*v1alpha1.DesiredState{app("apps", "new", v1alpha1.SyncStatusUnknown, v1alpha1.HealthProgressing, "")},
			want: `gitops_desiredstate_degraded{app="new",app_namespace="apps"} 0
gitops_desiredstate_out_of_sync{app="new",app_namespace="apps"} 0
gitops_desiredstate_stale{app="new",app_namespace="apps"} 0
`,
		},
		{name: "no applications, no series", apps: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := metrics.NewKubeRegistry()
			reg.CustomMustRegister(NewDesiredStateCollector(func() []*v1alpha1.DesiredState { return tt.apps }))
			want := ""
			if tt.want != "" {
				want = header + tt.want
			}
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gitops_desiredstate_out_of_sync", "gitops_desiredstate_degraded", "gitops_desiredstate_stale"); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestDesiredStateGaugesFollowTheStatus scrapes twice: a status change shows at the next scrape,
// and an application removed from the list leaves no series behind.
func TestDesiredStateGaugesFollowTheStatus(t *testing.T) {
	web := app("apps", "web", v1alpha1.SyncStatusOutOfSync, v1alpha1.HealthHealthy, "")
	apps := []*v1alpha1.DesiredState{web, app("apps", "gone", v1alpha1.SyncStatusSynced, v1alpha1.HealthDegraded, "")}
	reg := metrics.NewKubeRegistry()
	reg.CustomMustRegister(NewDesiredStateCollector(func() []*v1alpha1.DesiredState { return apps }))
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	healed := web.DeepCopy()
	healed.Status.Sync.Status = v1alpha1.SyncStatusSynced
	apps = []*v1alpha1.DesiredState{healed}
	want := header + `gitops_desiredstate_degraded{app="web",app_namespace="apps"} 0
gitops_desiredstate_out_of_sync{app="web",app_namespace="apps"} 0
gitops_desiredstate_stale{app="web",app_namespace="apps"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gitops_desiredstate_out_of_sync", "gitops_desiredstate_degraded", "gitops_desiredstate_stale"); err != nil {
		t.Error(err)
	}
}
