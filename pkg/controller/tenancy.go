package controller

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/tenancy"
)

// refusalReasons are the Stalled reasons of a refused namespace.
var refusalReasons = []string{v1alpha1.ReasonNamespaceNotOptedIn, v1alpha1.ReasonNamespaceProtected, v1alpha1.ReasonPathNotAllowed, v1alpha1.ReasonOptInUnchecked}

// admit asks Tenancy whether ds may be synced; without a Tenancy everything is.
func (c *Controller) admit(ctx context.Context, ds *v1alpha1.DesiredState) tenancy.Decision {
	if c.Tenancy == nil {
		return tenancy.Decision{Allowed: true}
	}
	return c.Tenancy.Check(ctx, ds.Namespace, apply.ServiceAccountOf(ds), ds.Status.Source.File)
}

// refuse leaves a refused application's objects as they are (nothing applied, nothing deleted),
// stops watching them and says why in the status and, once per change, in an Event.
func (c *Controller) refuse(ctx context.Context, ds *v1alpha1.DesiredState, op *v1alpha1.SyncOperation, d tenancy.Decision) error {
	k := key(ds.Namespace, ds.Name)
	c.mu.Lock()
	delete(c.applied, k) // re-checked from scratch once admitted again
	c.mu.Unlock()
	if d.Reason != v1alpha1.ReasonPathNotAllowed && d.Reason != v1alpha1.ReasonOptInUnchecked {
		c.Live.Stop(ds.Namespace, apply.ServiceAccountOf(ds))
	}
	if cond := meta.FindStatusCondition(ds.Status.Conditions, v1alpha1.ConditionStalled); cond == nil || cond.Reason != d.Reason || cond.Message != d.Message {
		c.warn(ds, d.Reason, d.Message)
	}
	return c.updateStatus(ctx, ds, false, func(st *v1alpha1.DesiredStateStatus) {
		setCondition(st, v1alpha1.ConditionStalled, true, d.Reason, d.Message)
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: d.Reason, Message: d.Message})
		finishOperation(st, op, "", v1alpha1.SyncResultFailed, d.Message, c.HistoryLimit)
	})
}

// clearRefusal removes a Stalled condition that a refusal set.
func clearRefusal(st *v1alpha1.DesiredStateStatus) {
	if cond := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionStalled); cond != nil && slices.Contains(refusalReasons, cond.Reason) {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionStalled)
	}
}
