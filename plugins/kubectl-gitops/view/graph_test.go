package view

import (
	"bytes"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func app(name string, sync v1alpha1.SyncStatusCode, health v1alpha1.HealthStatusCode, waiting string, deps ...v1alpha1.Dependency) *v1alpha1.DesiredState {
	ds := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "apps"}, Spec: v1alpha1.DesiredStateSpec{DependsOn: deps}}
	ds.Status.Sync.Status, ds.Status.Health.Status = sync, health
	if waiting != "" {
		ds.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionWaiting, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonDependencyNotReady, Message: waiting}}
	}
	return ds
}

func TestGraph(t *testing.T) {
	apps := []*v1alpha1.DesiredState{
		app("db", v1alpha1.SyncStatusSynced, v1alpha1.HealthProgressing, ""),
		app("web", v1alpha1.SyncStatusOutOfSync, v1alpha1.HealthMissing, "Waiting: apps/api is OutOfSync", v1alpha1.Dependency{Name: "api"}),
		app("api", v1alpha1.SyncStatusOutOfSync, v1alpha1.HealthMissing, "Waiting: apps/db is Progressing\x1b[31m",
			v1alpha1.Dependency{Name: "db"}, v1alpha1.Dependency{Name: "queue", Namespace: "infra"}),
		app("batch", v1alpha1.SyncStatusSynced, v1alpha1.HealthHealthy, "", v1alpha1.Dependency{Name: "db"}),
	}
	for _, tc := range []struct {
		name  string
		roots []string
		want  string
	}{
		{"every root", nil, `apps/batch           Synced     Healthy
└── apps/db          Synced     Progressing
apps/web             OutOfSync  Missing      Waiting: apps/api is OutOfSync
└── apps/api         OutOfSync  Missing      Waiting: apps/db is Progressing
    ├── apps/db      Synced     Progressing
    └── infra/queue  -          -            not listed (another namespace, or not readable)
`},
		{"one", []string{"apps/api"}, `apps/api         OutOfSync  Missing      Waiting: apps/db is Progressing
├── apps/db      Synced     Progressing
└── infra/queue  -          -            not listed (another namespace, or not readable)
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := (Terminal{Width: 80}).Graph(&out, apps, tc.roots); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", out.String(), tc.want)
			}
		})
	}
}
