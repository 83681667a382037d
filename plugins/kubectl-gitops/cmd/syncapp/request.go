package syncapp

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/generated/clientset/versioned"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// Request is a sync to ask the server for: the tracked ref, or Revision (a rollback).
type Request struct {
	Namespace, Name string
	Revision        string
	// Prune overrides spec.sync.prune when set.
	Prune           *bool
	DryRun          bool
	PauseAutomation bool
}

// Body is the DesiredStateSync that asks for r.
func (r Request) Body() *v1alpha1.DesiredStateSync {
	return &v1alpha1.DesiredStateSync{
		TypeMeta:        metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "DesiredStateSync"},
		ObjectMeta:      metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace},
		Revision:        r.Revision,
		Prune:           r.Prune,
		DryRun:          r.DryRun,
		PauseAutomation: r.PauseAutomation,
	}
}

// Send creates r on desiredstates/sync and returns the server's answer, whose Message says what
// happens next.
func Send(ctx context.Context, client versioned.Interface, r Request) (*v1alpha1.DesiredStateSync, error) {
	answer, err := client.GitopsV1alpha1().DesiredStates(r.Namespace).Sync(ctx, r.Name, r.Body(), metav1.CreateOptions{})
	if err != nil {
		return nil, options.Explain(err, "create", "desiredstates/sync", r.Namespace, r.Name)
	}
	return answer, nil
}
