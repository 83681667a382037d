package controller

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
)

// hooksRemoved in status.hooksDigest says that the delete hooks of an application being removed
// ran: a later look at its remaining objects does not run them again.
const hooksRemoved = "removed"

// removalHooks are the pre-delete and post-delete Helm hooks of an application removed from Git
// with prune, rendered at the revision it last synced (as Helm uses the release it installed).
// When that render fails the removal goes on without them, and an Event says so.
func (c *Controller) removalHooks(ctx context.Context, ds *v1alpha1.DesiredState) []*unstructured.Unstructured {
	if ds.Spec.Helm == nil || ds.Status.Sync.Revision == "" || ds.Status.HooksDigest == hooksRemoved {
		return nil
	}
	files, _, err := c.Sources.Reviewed(ctx, ds, ds.Status.Sync.Revision)
	if err == nil {
		var objects []*unstructured.Unstructured
		if objects, err = c.Render(ctx, ds, files); err == nil {
			_, hooks := apply.SplitHooks(objects)
			return slices.DeleteFunc(hooks, func(h *unstructured.Unstructured) bool {
				ev := h.GetAnnotations()[apply.AnnotationHook]
				return !strings.Contains(ev, "pre-delete") && !strings.Contains(ev, "post-delete")
			})
		}
	}
	c.warn(ds, "RemovalHooksSkipped", "removed from Git: its delete hooks could not be rendered at "+v1alpha1.ShortCommit(ds.Status.Sync.Revision)+
		" and do not run: "+err.Error())
	return nil
}

// afterRemovalHooks records that the delete hooks ran, or, when one failed, says so and tries
// the removal again with backoff (as `helm uninstall` fails on a failed hook).
func (c *Controller) afterRemovalHooks(ctx context.Context, ds *v1alpha1.DesiredState, req apply.Request, res *apply.Result) error {
	if res.HookFailed != "" {
		c.warn(ds, "RemovalHookFailed", "removed from Git: hook failed: "+res.HookFailed+"; the removal is tried again")
		return retryLater(nil, "delete hook of "+key(ds.Namespace, ds.Name)+" failed")
	}
	if len(req.Hooks) == 0 {
		return nil
	}
	if len(res.Hooks) > 0 {
		c.Events.Event(ref(ds), corev1.EventTypeNormal, "RemovalHooks", "removed from Git: hooks: "+strings.Join(res.Hooks, "; "))
	}
	return c.update(ctx, ds, func(st *v1alpha1.DesiredStateStatus) { st.HooksDigest = hooksRemoved })
}
