package apply

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// RequestFor is what the sync policy of ds asks of the engine for objects; a sync sets
// DryRun and Prune of an operation on top. Helm hooks among objects go to Hooks, unless they
// ran already for this rendered release (status.hooksDigest); test hooks are dropped.
func RequestFor(ds *v1alpha1.DesiredState, objects []*unstructured.Unstructured, allowOtherNamespaces bool) Request {
	release, hooks := SplitHooks(objects)
	if len(hooks) > 0 && ds.Status.HooksDigest == ReleaseDigest(release, hooks) {
		hooks = nil
	}
	return Request{
		Owner:                OwnerOf(ds),
		Objects:              release,
		Hooks:                hooks,
		Install:              ds.Status.Sync.Digest == "",
		Previous:             ds.Status.Resources,
		ServiceAccount:       ds.Spec.Sync.ServiceAccountName,
		Prune:                ds.Spec.Sync.Prune,
		AllowEmpty:           ds.Spec.Sync.AllowEmpty,
		AllowOtherNamespaces: allowOtherNamespaces,
		Ignore:               ds.Spec.Sync.Ignore,
	}
}

// OwnerOf names the application of ds, as the owner annotation of its objects does.
func OwnerOf(ds *v1alpha1.DesiredState) types.NamespacedName {
	return types.NamespacedName{Namespace: ds.Namespace, Name: ds.Name}
}
