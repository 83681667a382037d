package apply

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// Pruning deletes objects of the previous inventory that are no longer desired. It is careful:
//   - only when Request.Prune is set, and only after every object of the request applied;
//   - never when the render is empty, unless Request.AllowEmpty;
//   - never the DesiredState's own namespace;
//   - never an object annotated gitops.kube-gitops.dev/prune: disabled, nor one whose owner
//     annotation names another DesiredState (it moved to another app), nor one in another
//     namespace unless other namespaces are allowed: these are left in place and dropped from
//     the inventory (Result.Abandoned);
//   - never an object that is still desired under another API version or group (same uid);
//   - the decision is made on a fresh GET, and the delete carries that object's uid as a
//     precondition, so a recreated object is not deleted by mistake. Deletes propagate in the
//     background; an object already gone counts as pruned.
//
// Objects that should go but were not deleted stay in the inventory, OutOfSync, so a later sync
// prunes them.

// pruned is one object a prune deleted (or, in a dry run, would delete), or failed to: err
// then says why, and live is the object if it could be read.
type pruned struct {
	ref  ObjectRef
	live *unstructured.Unstructured
	err  error
}

// pruneBlocked says why nothing may be pruned in this request, or "" if pruning may go ahead.
func pruneBlocked(req *Request, failed int) string {
	switch {
	case failed > 0:
		return fmt.Sprintf("nothing was pruned because %d objects failed to apply: fix them, and the next sync prunes", failed)
	case len(req.Objects) == 0 && !req.AllowEmpty:
		return "nothing was pruned because the render produced no objects: set spec.sync.allowEmpty to delete everything"
	}
	return ""
}

// orphans returns the objects of previous that desired no longer names (compared by group,
// kind, namespace and name, whatever the version), and those of them never to be touched,
// with the reason.
func orphans(req *Request, desired map[string]bool) (candidates []ObjectRef, abandoned []v1alpha1.ResourceStatus) {
	seen := map[string]bool{}
	for _, p := range req.Previous {
		ref := refOfStatus(p)
		k := ref.key()
		if desired[k] || seen[k] {
			continue
		}
		seen[k] = true
		switch {
		case ref.Group == "" && ref.Kind == "Namespace" && ref.Name == req.Owner.Namespace:
			abandoned = append(abandoned, ref.status(v1alpha1.SyncStatusUnknown, "", "left in place: the DesiredState's own namespace is never pruned"))
		case ref.Namespace != "" && ref.Namespace != req.Owner.Namespace && !req.AllowOtherNamespaces:
			abandoned = append(abandoned, ref.status(v1alpha1.SyncStatusUnknown, "", fmt.Sprintf("left in place: namespace %s is outside the DesiredState's namespace and other namespaces are not allowed", ref.Namespace)))
		default:
			candidates = append(candidates, ref)
		}
	}
	sortRefs(candidates)
	return candidates, abandoned
}

// verdict is what to do with one orphan, decided on its live object.
type verdict int

const (
	verdictDelete  verdict = iota
	verdictGone            // already deleted or being deleted
	verdictAbandon         // leave it in place and forget it
)

// pruneVerdict decides about one orphan from its live object (nil if it does not exist).
// applied holds the uids of the objects this request applied.
func pruneVerdict(live *unstructured.Unstructured, owner types.NamespacedName, applied map[types.UID]bool) (verdict, string) {
	if live == nil || live.GetDeletionTimestamp() != nil {
		return verdictGone, ""
	}
	ann := live.GetAnnotations()
	if ann[AnnotationPrune] == PruneDisabled {
		return verdictAbandon, fmt.Sprintf("left in place: annotated %s: %s", AnnotationPrune, PruneDisabled)
	}
	if o := ann[AnnotationOwner]; o != "" && o != owner.String() {
		return verdictAbandon, fmt.Sprintf("left in place: now applied by DesiredState %s", o)
	}
	if applied[live.GetUID()] {
		return verdictAbandon, "still desired under another API version or group"
	}
	return verdictDelete, ""
}

// prune deletes the orphans of the request when it may, recording the outcome in res, and
// returns what it deleted (or would delete, in a dry run) and what it failed to delete, so that
// a diff shows a deletion even when its dry run failed.
func (r *run) prune(ctx context.Context, items []*item, res *Result) []pruned {
	desired := map[string]bool{}
	applied := map[types.UID]bool{}
	for _, it := range items {
		desired[it.ref.key()] = true
		for _, u := range []*unstructured.Unstructured{it.live, it.result} {
			if u != nil && u.GetUID() != "" {
				applied[u.GetUID()] = true
			}
		}
	}
	candidates, abandoned := orphans(r.req, desired)
	res.Abandoned = append(res.Abandoned, abandoned...)
	if len(candidates) == 0 {
		return nil
	}
	keep := func(ref ObjectRef, why string) {
		res.Resources = append(res.Resources, ref.status(v1alpha1.SyncStatusOutOfSync, "", why))
	}
	if !r.req.Prune {
		for _, ref := range candidates {
			keep(ref, "no longer rendered; pruning is off, so it stays until a sync with prune")
		}
		return nil
	}
	if why := pruneBlocked(r.req, res.Failed); why != "" {
		res.PruneSkipped = why
		for _, ref := range candidates {
			keep(ref, "no longer rendered; "+why)
		}
		return nil
	}

	// Everything else first, then Namespaces and CRDs, whose deletion takes their contents along.
	var last, firstPass []ObjectRef
	for _, ref := range candidates {
		if firstStage(ref.GroupVersion().WithKind(ref.Kind).GroupKind()) {
			last = append(last, ref)
		} else {
			firstPass = append(firstPass, ref)
		}
	}
	var (
		mu   sync.Mutex
		done []pruned
	)
	for _, batch := range [][]ObjectRef{firstPass, last} {
		var wg sync.WaitGroup
		for _, ref := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var (
					v    verdict
					live *unstructured.Unstructured
					why  string
					err  = r.e.acquire(ctx)
				)
				if err == nil {
					v, live, why, err = r.pruneOne(ctx, ref, applied)
					r.e.release()
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					res.Failed++
					r.failed(ref, err.Error())
					keep(ref, err.Error())
					done = append(done, pruned{ref: ref, live: live, err: err})
				case v == verdictAbandon:
					res.Abandoned = append(res.Abandoned, ref.status(v1alpha1.SyncStatusUnknown, "", why))
				default:
					res.Pruned++
					if v == verdictDelete {
						done = append(done, pruned{ref: ref, live: live})
					}
				}
			}()
		}
		wg.Wait()
	}
	return done
}

// pruneOne reads one orphan afresh and deletes it if pruneVerdict says so, with its uid as a
// precondition. A dry run asks the apiserver to dry-run the delete.
func (r *run) pruneOne(ctx context.Context, ref ObjectRef, applied map[types.UID]bool) (verdict, *unstructured.Unstructured, string, error) {
	m, err := r.e.mapper.RESTMappingWithContext(ctx, ref.GroupVersion().WithKind(ref.Kind).GroupKind(), ref.Version)
	if meta.IsNoMatchError(err) {
		// The version may no longer be served: use the kind's preferred version.
		m, err = r.e.mapper.RESTMappingWithContext(ctx, ref.GroupVersion().WithKind(ref.Kind).GroupKind())
	}
	if meta.IsNoMatchError(err) {
		return verdictGone, nil, "", nil // the kind is gone, and with it every object of it
	}
	if err != nil {
		return 0, nil, "", describeMappingError(ref.GroupVersion().WithKind(ref.Kind), err)
	}
	it := &item{ref: ref, mapping: m}
	ri := r.resource(m, ref.Namespace)
	live, err := ri.Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return verdictGone, nil, "", nil
	}
	if err != nil {
		return 0, nil, "", r.describe(it, "get", err)
	}
	v, why := pruneVerdict(live, r.req.Owner, applied)
	if v != verdictDelete {
		return v, live, why, nil
	}
	uid := live.GetUID()
	opts := metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
		Preconditions:     &metav1.Preconditions{UID: &uid},
	}
	if r.req.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	err = ri.Delete(ctx, ref.Name, opts)
	switch {
	case apierrors.IsNotFound(err):
		return verdictGone, live, "", nil
	case apierrors.IsConflict(err):
		return 0, nil, "", fmt.Errorf("not pruned: the object was replaced while pruning (uid changed); the next sync decides again")
	case err != nil:
		return 0, live, "", r.describe(it, "delete", err)
	}
	return verdictDelete, live, "", nil
}
