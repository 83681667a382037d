package apply

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	"github.com/kube-gitops/kube-gitops/pkg/apply/ignore"
)

// withoutDrift returns what the apply leaves once it has taken over the drift managers' fields:
// out (the apply's dry run) without the fields only they own, and whether a take-over is needed
// for that. It records in it.drift the managers whose changes the apply undoes. The apiserver
// is asked for the exact result with a dry-run update, as it defaults again some of what is
// removed (`kubectl create` owns the defaults it was given); if it cannot answer, the local
// prediction is used.
func (r *run) withoutDrift(ctx context.Context, ri dynamic.ResourceInterface, it *item, ign ignore.Fields, out *unstructured.Unstructured) (*unstructured.Unstructured, bool) {
	if !mayHaveDrift(it.live, r.e.drift) && !mayHaveDrift(out, r.e.drift) {
		it.drift = nil
		return out, false
	}
	o := ownershipOf(out, it.obj, r.e.drift, ign)
	removed := o.removed()
	it.drift = o.undone(removed, ownershipOf(it.live, it.obj, r.e.drift, ign))
	if len(it.drift) == 0 {
		it.drift = nil
	}
	if removed.Empty() {
		return out, false
	}
	// Removing a data key that Git sets in a Secret's stringData is not the end of it: the
	// apply's stringData puts it back (secret.go), and the prediction must say so.
	want := withStringData(withoutFields(out, removed, o.kept()), it.obj)
	check := want.DeepCopy()
	check.SetManagedFields(nil) // the update keeps the live ones
	checked, err := ri.Update(ctx, check, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: FieldManager})
	if err != nil {
		// The message may quote field values (of a Secret, too): only the reason is logged.
		klog.V(2).InfoS("Cannot dry-run the object without drift; using the local prediction", "object", it.ref.String(), "reason", apierrors.ReasonForError(err))
		return want, true
	}
	checked.SetManagedFields(out.GetManagedFields())
	return checked, true
}

// takeOver hands the drift managers' fields of it's live object to kube-gitops (see ownership),
// so that the apply that follows removes what Git does not set and reverts what it does. The
// patch only applies to the resourceVersion it was computed from; if the object changed in
// between, it is read again and the patch computed anew.
func (r *run) takeOver(ctx context.Context, ri dynamic.ResourceInterface, it *item, ign ignore.Fields) error {
	live := it.live
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if live == nil {
			var err error
			if live, err = ri.Get(ctx, it.ref.Name, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		entries, err := ownershipOf(live, it.obj, r.e.drift, ign).takeOver(it.obj.GetAPIVersion(), metav1.Now())
		if err != nil || entries == nil {
			return err
		}
		patch, err := json.Marshal([]map[string]any{
			// The resourceVersion is a precondition: a conflict if the object changed since.
			{"op": "replace", "path": "/metadata/resourceVersion", "value": live.GetResourceVersion()},
			{"op": "replace", "path": "/metadata/managedFields", "value": entries},
		})
		if err != nil {
			return fmt.Errorf("encode the managed fields patch: %w", err)
		}
		_, err = ri.Patch(ctx, it.ref.Name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
		live = nil // read again if the object changed
		return err
	})
}
