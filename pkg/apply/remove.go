package apply

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// LabelOrphaned marks the objects of an application that was removed from Git without prune:
// they are left in the cluster, no longer managed, and easy to find.
const LabelOrphaned = "gitops.kube-gitops.dev/orphaned"

// Remaining returns the objects of req.Previous that still exist and are still the owner's (the
// owner annotation names req.Owner), read as the request's ServiceAccount: after a prune of a
// removed application, what has not gone yet (finalizers still running).
func (e *Engine) Remaining(ctx context.Context, req Request) ([]ObjectRef, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	client, err := e.clientFor(req.Owner.Namespace, req.serviceAccount())
	if err != nil {
		return nil, err
	}
	var left []ObjectRef
	for _, p := range req.Previous {
		ref := refOfStatus(p)
		m, err := e.mapping(ctx, schema.GroupVersionKind{Group: ref.Group, Version: ref.Version, Kind: ref.Kind})
		if err != nil {
			continue // the kind is gone, so is the object
		}
		if err := e.acquire(ctx); err != nil {
			return nil, err
		}
		live, err := client.Resource(m.Resource).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		e.release()
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", ref, err)
		}
		if live.GetAnnotations()[AnnotationOwner] == req.Owner.String() {
			left = append(left, ref)
		}
	}
	return left, nil
}

// MarkOrphaned labels the objects of req.Previous that are still the owner's with
// LabelOrphaned, as the request's ServiceAccount. Objects that are gone are skipped.
func (e *Engine) MarkOrphaned(ctx context.Context, req Request) error {
	left, err := e.Remaining(ctx, req)
	if err != nil {
		return err
	}
	client, err := e.clientFor(req.Owner.Namespace, req.serviceAccount())
	if err != nil {
		return err
	}
	patch := []byte(fmt.Sprintf(`{"metadata":{"labels":{%q:"true"}}}`, LabelOrphaned))
	var failed []string
	for _, ref := range left {
		m, err := e.mapping(ctx, schema.GroupVersionKind{Group: ref.Group, Version: ref.Version, Kind: ref.Kind})
		if err != nil {
			continue
		}
		if err := e.acquire(ctx); err != nil {
			return err
		}
		_, err = client.Resource(m.Resource).Namespace(ref.Namespace).Patch(ctx, ref.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager + "-orphan"})
		e.release()
		if err != nil && !apierrors.IsNotFound(err) {
			failed = append(failed, fmt.Sprintf("%s: %v", ref, err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("label %d orphaned object(s): %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}
