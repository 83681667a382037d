package desiredstate

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// tableConvertor renders desiredstates for `kubectl get`.
type tableConvertor struct{}

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the application."},
	{Name: "Revision", Type: "string", Description: "Git commit, short (the last synced one, or the one read)."},
	{Name: "Version", Type: "string", Description: "Value of the first version pin."},
	{Name: "Sync", Type: "string", Description: "Synced, OutOfSync or Unknown."},
	{Name: "Health", Type: "string", Description: "Healthy, Progressing, Degraded, Missing or Unknown."},
	{Name: "Age", Type: "string", Description: "Time since the DesiredState appeared in Git."},
	{Name: "Source", Type: "string", Priority: 1, Description: "Where the manifests come from."},
	{Name: "Last Sync", Type: "string", Priority: 1, Description: "Time since the last sync."},
	{Name: "Message", Type: "string", Description: "What the application waits on or what failed; empty when all is well."},
}

// maxMessage bounds the MESSAGE cell; `kubectl describe` and the conditions have it all.
const maxMessage = 200

// ConvertToTable renders one DesiredState or a list of them.
func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{ColumnDefinitions: columns}
	if m, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion, table.Continue, table.RemainingItemCount = m.GetResourceVersion(), m.GetContinue(), m.GetRemainingItemCount()
	} else if m, err := meta.CommonAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
	}
	var items []*v1alpha1.DesiredState
	switch t := obj.(type) {
	case *v1alpha1.DesiredState:
		items = []*v1alpha1.DesiredState{t}
	case *v1alpha1.DesiredStateList:
		for i := range t.Items {
			items = append(items, &t.Items[i])
		}
	}
	now := time.Now()
	for _, s := range items {
		table.Rows = append(table.Rows, metav1.TableRow{
			Cells: []any{s.Name, s.ShortRevision(), s.MainVersion(), v1alpha1.OrUnknown(s.Status.Sync.Status), v1alpha1.OrUnknown(s.Status.Health.Status), v1alpha1.Age(s.CreationTimestamp, now), s.ManifestSource(), v1alpha1.Age(ptrTime(s.Status.LastSyncTime), now),
				v1alpha1.OneLine(s.Message(), maxMessage)},
			Object: runtime.RawExtension{Object: s},
		})
	}
	return table, nil
}

func ptrTime(t *metav1.Time) metav1.Time {
	if t == nil {
		return metav1.Time{}
	}
	return *t
}
