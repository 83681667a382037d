package syncapp

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
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
func (r Request) Body() (*unstructured.Unstructured, error) {
	s := &v1alpha1.DesiredStateSync{
		TypeMeta:        metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "DesiredStateSync"},
		ObjectMeta:      metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace},
		Revision:        r.Revision,
		Prune:           r.Prune,
		DryRun:          r.DryRun,
		PauseAutomation: r.PauseAutomation,
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(s)
	if err != nil {
		return nil, fmt.Errorf("encode the sync request: %w", err)
	}
	u := &unstructured.Unstructured{Object: obj}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, nil
}

// Send creates r on desiredstates/sync and returns the server's answer, whose Message says what
// happens next.
func Send(ctx context.Context, client dynamic.Interface, r Request) (*v1alpha1.DesiredStateSync, error) {
	body, err := r.Body()
	if err != nil {
		return nil, err
	}
	u, err := client.Resource(options.DesiredStates).Namespace(r.Namespace).Create(ctx, body, metav1.CreateOptions{}, "sync")
	if err != nil {
		return nil, options.Explain(err, "create", "desiredstates/sync", r.Namespace, r.Name)
	}
	answer := &v1alpha1.DesiredStateSync{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, answer); err != nil {
		return nil, fmt.Errorf("read the answer to the sync of %s/%s: %w", r.Namespace, r.Name, err)
	}
	return answer, nil
}
