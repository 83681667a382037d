package apply

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// RequestFor is what the sync policy of ds asks of the engine for objects; a sync sets
// DryRun and Prune of an operation on top. Helm hooks among objects go to Hooks, unless they
// ran already for this rendered release (status.hooksDigest); when only its pre-* hooks did,
// only the post-* ones run. Test hooks are dropped.
func RequestFor(ds *v1alpha1.DesiredState, objects []*unstructured.Unstructured, allowOtherNamespaces bool) Request {
	release, hooks := SplitHooks(objects)
	preRan := false
	if len(hooks) > 0 {
		switch d := ReleaseDigest(release, hooks); ds.Status.HooksDigest {
		case d:
			hooks = nil
		case preHooksRan + d:
			preRan = true
		}
	}
	return Request{
		Owner:                OwnerOf(ds),
		Objects:              release,
		Hooks:                hooks,
		PreHooksRan:          preRan,
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

// preHooksRan prefixes the release's digest in status.hooksDigest while only its pre-* hooks
// ran: its objects applied, a post-* hook failed.
const preHooksRan = "pre-hooks-ran:"

// HooksDigest is what status.hooksDigest records after an Apply of req that ran hooks: the
// release's digest once all of them ran, marked (preHooksRan) once its pre-* hooks and objects
// did but a post-* hook failed, so that a retry does not run the pre-* hooks (migrations) again;
// "" when there is nothing new to record.
func HooksDigest(req Request, res *Result) string {
	if len(req.Hooks) == 0 || req.DryRun || req.Removal || res == nil || !res.PreHooksDone {
		return ""
	}
	d := ReleaseDigest(req.Objects, req.Hooks)
	if res.Failed > 0 {
		return preHooksRan + d
	}
	return d
}
