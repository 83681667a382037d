package desiredstate

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-gitops/kube-gitops/apiserver/registry/cached"
	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// stateTable renders desiredstates for `kubectl get`.
var stateTable = cached.Table[*v1alpha1.DesiredState]{Columns: columns, Cells: cells}

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

// cells are the cells of one DesiredState's row.
func cells(s *v1alpha1.DesiredState, now time.Time) []any {
	return []any{s.Name, s.ShortRevision(), s.MainVersion(), v1alpha1.OrUnknown(s.Status.Sync.Status), v1alpha1.OrUnknown(s.Status.Health.Status), v1alpha1.Age(s.CreationTimestamp, now), s.ManifestSource(), v1alpha1.Age(ptrTime(s.Status.LastSyncTime), now),
		v1alpha1.OneLine(s.Message(), maxMessage)}
}

func ptrTime(t *metav1.Time) metav1.Time {
	if t == nil {
		return metav1.Time{}
	}
	return *t
}
