package installation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

// ReleaseFinalizer removes finalizer from every object of the CRD crd (in all namespaces), so
// deleting the CRD, or a namespace, does not wait for a server that is gone. Only the
// finalizer is removed: what it would have cleaned up (an application's objects) is left alone.
func (c *Cluster) ReleaseFinalizer(ctx context.Context, crd *unstructured.Unstructured, finalizer string) (int, error) {
	gvr, err := servedResource(crd)
	if err != nil {
		return 0, err
	}
	list, err := c.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil // the CRD is gone already
	}
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", gvr.Resource, err)
	}
	released := 0
	for i := range list.Items {
		done, err := c.releaseOne(ctx, gvr, &list.Items[i], finalizer)
		if err != nil {
			return released, err
		}
		if done {
			released++
		}
	}
	return released, nil
}

// releaseOne removes finalizer from item. A conflict reads the item again; a refusal is tried
// again until ctx ends, because a just-deleted admission policy still refuses for a moment.
func (c *Cluster) releaseOne(ctx context.Context, gvr schema.GroupVersionResource, item *unstructured.Unstructured, finalizer string) (bool, error) {
	res := c.Dynamic.Resource(gvr).Namespace(item.GetNamespace())
	var last error
	released := false
	err := wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
		finalizers := item.GetFinalizers()
		if !slices.Contains(finalizers, finalizer) {
			return true, nil
		}
		rest := slices.DeleteFunc(slices.Clone(finalizers), func(f string) bool { return f == finalizer })
		// resourceVersion makes the patch fail rather than drop a finalizer added meanwhile.
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": rest, "resourceVersion": item.GetResourceVersion()}})
		if err != nil {
			return false, err
		}
		opts := metav1.PatchOptions{FieldManager: FieldManager}
		if c.DryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		_, last = res.Patch(ctx, item.GetName(), types.MergePatchType, patch, opts)
		switch {
		case last == nil:
			released = true
			return true, nil
		case apierrors.IsNotFound(last):
			return true, nil
		case apierrors.IsConflict(last):
			fresh, err := res.Get(ctx, item.GetName(), metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			if err == nil {
				*item = *fresh
			}
			return false, nil
		case apierrors.IsForbidden(last), apierrors.IsInvalid(last):
			return false, nil
		}
		return false, last
	})
	if err != nil {
		if last == nil {
			last = err
		}
		return false, fmt.Errorf("remove finalizer %s from %s %s/%s: %w", finalizer, gvr.Resource, item.GetNamespace(), item.GetName(), last)
	}
	return released, nil
}

// WaitGone waits, bounded by ctx, until the CRD named name no longer exists (its objects are
// deleted with it).
func (c *Cluster) WaitGone(ctx context.Context, name string) error {
	err := wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
		_, err := c.Dynamic.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("CustomResourceDefinition %s is still being deleted: kubectl get crd %s -o yaml shows what it waits for", name, name)
	}
	return nil
}

// servedResource is the resource a CRD serves, at its storage version.
func servedResource(crd *unstructured.Unstructured) (schema.GroupVersionResource, error) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if storage, _ := m["storage"].(bool); storage {
			name, _ := m["name"].(string)
			return schema.GroupVersionResource{Group: group, Version: name, Resource: plural}, nil
		}
	}
	return schema.GroupVersionResource{}, fmt.Errorf("CustomResourceDefinition %s has no storage version", crd.GetName())
}
