package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// recordNewObjects adds the objects the inventory does not hold yet to the status before they are
// created. A sync cut short after creating one (the server killed, a crash) must leave it in the
// inventory, or a later revision that drops it would never prune it: the prune only deletes what
// the inventory names. An application whose objects are all known writes nothing here.
func (c *Controller) recordNewObjects(ctx context.Context, ds *v1alpha1.DesiredState, inventory []v1alpha1.ResourceStatus, objects []*unstructured.Unstructured) error {
	if len(newEntries(inventory, objects, ds.Namespace)) == 0 {
		return nil
	}
	return c.update(ctx, ds, func(st *v1alpha1.DesiredStateStatus) {
		st.Resources = append(st.Resources, newEntries(st.Resources, objects, ds.Namespace)...)
	})
}

// newEntries are inventory entries for the objects that inventory does not name, marked as not
// applied yet. An object without a namespace is entered in the application's (the apply puts a
// namespaced one there; a cluster-scoped one entered so is still found by name, and a prune
// leaves it alone while it is desired, as its uid is one the sync applied).
func newEntries(inventory []v1alpha1.ResourceStatus, objects []*unstructured.Unstructured, namespace string) []v1alpha1.ResourceStatus {
	known := map[string]bool{}
	for _, r := range inventory {
		known[inventoryKey(r)] = true
	}
	var added []v1alpha1.ResourceStatus
	for _, o := range objects {
		if o == nil || o.GetName() == "" || o.GetKind() == "" {
			continue // the apply refuses it, and creates nothing
		}
		gvk := o.GroupVersionKind()
		r := v1alpha1.ResourceStatus{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName(),
			Sync: v1alpha1.SyncStatusOutOfSync, Message: "not applied yet"}
		if r.Namespace == "" {
			// A cluster-scoped object is in the inventory without a namespace.
			if known[inventoryKey(r)] {
				continue
			}
			r.Namespace = namespace
		}
		if k := inventoryKey(r); !known[k] {
			known[k] = true
			added = append(added, r)
		}
	}
	return added
}

// inventoryKey identifies an inventory entry whatever API version names it, as the prune does.
func inventoryKey(r v1alpha1.ResourceStatus) string {
	return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}

// inventory is the inventory the last sync of ds left, as this server last wrote it (caughtUp):
// a stale one names objects the last sync already pruned, and the apply would count them as
// pruned again (a second history entry for one sync).
func (c *Controller) inventory(ctx context.Context, ds *v1alpha1.DesiredState) ([]v1alpha1.ResourceStatus, error) {
	current, err := c.caughtUp(ctx, ds)
	if err != nil {
		return nil, err
	}
	return current.Status.Resources, nil
}
