package controller

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/store"
	"github.com/kube-gitops/kube-gitops/pkg/syncwindow"
)

// cleanupRecheck is how often the objects of a removed application are looked at again while
// their own finalizers run.
const cleanupRecheck = 2 * time.Second

// cleanup handles a DesiredState removed from Git (its record is being deleted): with
// spec.sync.prune its objects are deleted, and the record goes once they are gone; without, they
// are left in place, labelled as orphans. An Event says which. Objects in a namespace that is no
// longer opted in are left alone.
func (c *Controller) cleanup(ctx context.Context, ds *v1alpha1.DesiredState) error {
	k := key(ds.Namespace, ds.Name)
	if !slices.Contains(ds.Finalizers, store.FinalizerCleanup) {
		return nil
	}
	req := apply.RequestFor(ds, nil, c.AllowOtherNamespaces)
	req.AllowEmpty = true
	switch d := c.admit(ctx, ds); {
	case d.Reason == v1alpha1.ReasonOptInUnchecked:
		// No answer is not a refusal: keep the record (its inventory) until the opt-in can be
		// checked, or its objects would be neither pruned nor labelled, ever.
		return retryLater(nil, "clean up "+k+": "+d.Message)
	case !d.Allowed:
		c.warn(ds, "RemovedNotCleanedUp", "removed from Git; its objects were left in place: "+d.Message)
	case ds.Spec.Sync.Prune:
		if held, err := c.holdRemoval(ctx, ds); held || err != nil {
			return err
		}
		req.Hooks, req.Removal = c.removalHooks(ctx, ds), true
		release, ok := c.waitTurn(k, req)
		if !ok {
			return nil
		}
		defer release()
		res, err := c.fencedApply(ctx, k, req) // nothing desired: prunes the inventory, carefully
		if res == nil {
			return fmt.Errorf("prune the objects of %s, removed from Git: %w", k, err)
		}
		if err := c.afterRemovalHooks(ctx, ds, req, res); err != nil {
			return err
		}
		left, err := c.Engine.Remaining(ctx, req)
		if err != nil {
			return fmt.Errorf("check the objects of %s, removed from Git: %w", k, err)
		}
		if len(left) > 0 {
			// Deleted, but finalizers still run (or a delete failed): look again shortly.
			c.q().AddAfter(k, cleanupRecheck)
			return nil
		}
		c.Events.Event(ref(ds), corev1.EventTypeNormal, "Pruned",
			fmt.Sprintf("removed from Git: its %d object(s) were deleted", res.Pruned))
	default:
		if err := c.Engine.MarkOrphaned(ctx, req); err != nil {
			return fmt.Errorf("label the objects of %s, removed from Git: %w", k, err)
		}
		c.Events.Event(ref(ds), corev1.EventTypeNormal, "Orphaned", fmt.Sprintf(
			"removed from Git without spec.sync.prune: its %d object(s) were left in place, labelled %s=true", len(ds.Status.Resources), apply.LabelOrphaned))
	}
	if err := c.Statuses.ReleaseFinalizer(ctx, ds.Namespace, ds.Name, ds.UID); err != nil {
		return fmt.Errorf("release %s, removed from Git: %w", k, err)
	}
	c.forget(k)
	return nil
}

// holdRemoval holds the prune of an app removed from Git while its sync windows hold automated
// sync, as they hold any other automated prune (gate.go), and looks again when they may let it.
func (c *Controller) holdRemoval(ctx context.Context, ds *v1alpha1.DesiredState) (bool, error) {
	now := c.now()
	window := syncwindow.Check(ds.Spec.Sync.Windows, now)
	if window.Automated {
		return false, nil
	}
	recheck := time.Minute // no window change is due: look again now and then all the same
	if !window.Recheck.IsZero() {
		recheck = window.Recheck.Sub(now) + time.Second/10
	}
	c.q().AddAfter(key(ds.Namespace, ds.Name), recheck)
	msg := "Waiting: removed from Git; its objects are pruned once the windows allow: " + window.Message
	return true, c.update(ctx, ds, func(st *v1alpha1.DesiredStateStatus) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionWaiting, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonSyncWindow, Message: msg})
	})
}
