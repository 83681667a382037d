package desiredstate

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func TestTableColumns(t *testing.T) {
	synced := metav1.NewTime(time.Now().Add(-90 * time.Second))
	helm := v1alpha1.DesiredState{}
	helm.Name = "winterlight"
	helm.CreationTimestamp = metav1.NewTime(time.Now().Add(-2 * time.Hour))
	helm.Spec.Helm = &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{RepoURL: "https://charts.example/", Name: "winterlight", Version: "1.4.2"}}
	helm.Status = v1alpha1.DesiredStateStatus{
		Source:       v1alpha1.SourceStatus{Revision: "0123456789abcdef"},
		Sync:         v1alpha1.SyncStatus{Status: v1alpha1.SyncStatusSynced, Revision: "fedcba9876543210"},
		Health:       v1alpha1.HealthStatus{Status: v1alpha1.HealthHealthy},
		Versions:     []v1alpha1.PinStatus{{Name: "image", Value: "1.1.2"}},
		LastSyncTime: &synced,
	}
	plain := v1alpha1.DesiredState{}
	plain.Name = "guestbook"
	plain.Spec.Source.Path = "apps/guestbook"
	// A message from Git may hold a terminal's escape sequences and more lines: the cell shows
	// the first line, without them.
	plain.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue,
		Message: "clusters/test/guestbook.yaml:3: bad\x1b[2J value\u202e\nsecond line"}}

	table, err := stateTable.ConvertToTable(context.Background(), &v1alpha1.DesiredStateList{
		ListMeta: metav1.ListMeta{ResourceVersion: "42"}, Items: []v1alpha1.DesiredState{helm, plain}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if table.ResourceVersion != "42" || len(table.Rows) != 2 {
		t.Fatalf("rv %q, %d rows", table.ResourceVersion, len(table.Rows))
	}
	want := [][]any{
		{"winterlight", "fedcba9", "1.1.2", "Synced", "Healthy", "120m", "helm:https://charts.example/winterlight@1.4.2", "90s", ""},
		{"guestbook", "<none>", "<none>", "Unknown", "Unknown", "<none>", "apps/guestbook", "<none>", "clusters/test/guestbook.yaml:3: bad[2J value …"},
	}
	for i, row := range table.Rows {
		for j, cell := range row.Cells {
			if cell != want[i][j] {
				t.Errorf("row %d column %s = %v, want %v", i, table.ColumnDefinitions[j].Name, cell, want[i][j])
			}
		}
	}
	for _, c := range table.ColumnDefinitions {
		if wide := c.Name == "Source" || c.Name == "Last Sync"; wide != (c.Priority == 1) {
			t.Errorf("column %s priority %d", c.Name, c.Priority)
		}
	}
}
