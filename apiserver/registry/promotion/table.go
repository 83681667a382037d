package promotion

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kube-gitops/kube-gitops/apiserver/registry/cached"
	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// promotionTable renders promotions for `kubectl get`.
var promotionTable = cached.Table[*v1alpha1.Promotion]{Columns: []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name"},
	{Name: "DesiredState", Type: "string", Description: "The application promoted."},
	{Name: "From", Type: "string", Description: "The source environment."},
	{Name: "Phase", Type: "string", Description: "Pending, Running, Succeeded or Failed."},
	{Name: "Commit", Type: "string", Description: "The commit carrying the promotion, short."},
	{Name: "Age", Type: "string"},
	{Name: "Branch", Type: "string", Priority: 1},
	{Name: "Message", Type: "string", Priority: 1},
}, Cells: cells}

// cells are the cells of one Promotion's row: plain strings, as a Table's cells must be JSON
// values (a typed string such as PromotionPhase makes the row's DeepCopy panic).
func cells(p *v1alpha1.Promotion, now time.Time) []any {
	commit := v1alpha1.ShortCommit(p.Status.Commit)
	from := p.Spec.From
	if from == "" {
		from = "<default>"
	}
	return []any{p.Name, p.Spec.DesiredState, from, string(p.Status.Phase), v1alpha1.OrNone(commit), duration.HumanDuration(now.Sub(p.CreationTimestamp.Time)), v1alpha1.OrNone(p.Status.Branch), p.Status.Message}
}
