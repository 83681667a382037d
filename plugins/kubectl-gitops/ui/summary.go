package ui

import (
	"cmp"
	"time"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/view"
)

// appSummary is one row of the overview: the columns of kubectl get desiredstates.
type appSummary struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Sync      string `json:"sync"`
	Health    string `json:"health"`
	Revision  string `json:"revision"`
	Version   string `json:"version"`
	Message   string `json:"message"`
	LastSync  string `json:"lastSync,omitempty"`
	Automated bool   `json:"automated"`
}

func summarize(ds *v1alpha1.DesiredState) *appSummary {
	s := &appSummary{
		Namespace: ds.Namespace, Name: ds.Name,
		Sync: view.SyncStatus(ds), Health: view.HealthStatus(ds),
		Revision: view.Revision(ds), Version: view.Version(ds), Message: view.Message(ds),
		Automated: ds.Spec.Sync.Automated,
	}
	if t := ds.Status.LastSyncTime; t != nil {
		s.LastSync = t.UTC().Format(time.RFC3339)
	}
	return s
}

// promotionSummary is one row of the promotions list.
type promotionSummary struct {
	Namespace    string `json:"namespace"`
	Name         string `json:"name"`
	DesiredState string `json:"desiredState"`
	From         string `json:"from"`
	Phase        string `json:"phase"`
	Commit       string `json:"commit"`
	Branch       string `json:"branch"`
	Message      string `json:"message"`
	RequestedBy  string `json:"requestedBy"`
	Created      string `json:"created"`
}

func summarizePromotion(p *v1alpha1.Promotion) *promotionSummary {
	return &promotionSummary{
		Namespace: p.Namespace, Name: p.Name, DesiredState: p.Spec.DesiredState, From: p.Spec.From,
		Phase: cmp.Or(string(p.Status.Phase), string(v1alpha1.PromotionPending)), Commit: v1alpha1.ShortCommit(p.Status.Commit), Branch: p.Status.Branch,
		Message: p.Status.Message, RequestedBy: p.Status.RequestedBy, Created: p.CreationTimestamp.UTC().Format(time.RFC3339),
	}
}
