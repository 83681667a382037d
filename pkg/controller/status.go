package controller

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/health"
)

// withHealth fills in each object's health from the live objects ds's application watches.
func (c *Controller) withHealth(ds *v1alpha1.DesiredState, resources []v1alpha1.ResourceStatus) []v1alpha1.ResourceStatus {
	out := make([]v1alpha1.ResourceStatus, len(resources))
	for i, r := range resources {
		out[i] = r
		if obj, known := c.Live.Get(apply.OwnerOf(ds), ds.Spec.Sync.ServiceAccountName, r); known {
			h, message := health.Object(obj)
			out[i].Health = h
			// A synced object's message is its health; kept current so it never goes stale.
			if r.Sync == v1alpha1.SyncStatusSynced {
				out[i].Message = ""
				if h != v1alpha1.HealthHealthy {
					out[i].Message = message
				}
			}
		}
	}
	return out
}

// setHealth rolls the objects' health up into the application's.
func setHealth(st *v1alpha1.DesiredStateStatus) {
	status, message := health.Rollup(st.Resources)
	st.Health = v1alpha1.HealthStatus{Status: status, Message: message}
	setCondition(st, v1alpha1.ConditionReconciling, status == v1alpha1.HealthProgressing, v1alpha1.ReasonProgressing, message)
}

// setReady sets the Ready condition by the API's one rule (v1alpha1.ReadyCondition).
func setReady(st *v1alpha1.DesiredStateStatus) {
	meta.SetStatusCondition(&st.Conditions, v1alpha1.ReadyCondition(st))
}

// finishOperation ends a requested sync: it is recorded in the history and removed.
func finishOperation(st *v1alpha1.DesiredStateStatus, op *v1alpha1.SyncOperation, revision string, result v1alpha1.SyncResult, message string, limit int) {
	if op == nil || st.Operation == nil || !st.Operation.RequestedAt.Equal(&op.RequestedAt) {
		return // no operation, or a newer one arrived meanwhile: leave it for the next round
	}
	addHistory(st, v1alpha1.SyncRecord{Revision: revision, Time: metav1.Now(), Result: result, Trigger: cmp.Or(op.RequestedBy, "sync request"), Message: message}, limit)
	st.Operation = nil
}

// addHistory puts a record first and keeps at most limit.
func addHistory(st *v1alpha1.DesiredStateStatus, rec v1alpha1.SyncRecord, limit int) {
	st.History = append([]v1alpha1.SyncRecord{rec}, st.History...)
	if len(st.History) > limit {
		st.History = st.History[:limit]
	}
}

// refreshHealthOnly is the sync of an application whose watched objects changed without drift:
// health is recomputed from the watches and written, with no fetch, render or dry run. One this
// term has not synced yet (or is removing, or has a sync request for) gets a full sync instead.
func (c *Controller) refreshHealthOnly(ctx context.Context, k string) error {
	namespace, name, _ := strings.Cut(k, "/")
	ds, ok := c.Reader.Get(namespace, name)
	c.mu.Lock()
	_, synced := c.applied[k]
	c.mu.Unlock()
	// A held app may have had a delayed full sync (its window opening, a dependency's recheck)
	// folded into this refresh: the workqueue keeps one entry per app.
	if !ok || !synced || ds.DeletionTimestamp != nil || ds.Status.Operation != nil || c.isHeld(k) {
		return c.reconcile(ctx, k)
	}
	return c.refreshHealth(ctx, ds, "", "")
}

// changesNothing reports whether change would leave the status of ds as this server last wrote
// it, so that no request is needed: the cache holds the last status written here (no other
// writer since), and change leaves it equal.
func (c *Controller) changesNothing(ds *v1alpha1.DesiredState, change func(*v1alpha1.DesiredStateStatus)) bool {
	cached, ok := c.Reader.Get(ds.Namespace, ds.Name)
	if !ok {
		return false
	}
	c.mu.Lock()
	written := c.written[key(ds.Namespace, ds.Name)]
	c.mu.Unlock()
	if written == "" || cached.ResourceVersion != written {
		return false
	}
	st := cached.Status.DeepCopy()
	change(st)
	return apiequality.Semantic.DeepEqual(*st, cached.Status)
}

// caughtUp returns ds, read from the cache, or the stored DesiredState when the cache may not
// show this server's last status write yet: a retry that came before the watch did would
// otherwise run a finished operation, or a release's pre-* hooks, again. Only an app this
// server wrote and whose cached version differs from that write costs a read.
func (c *Controller) caughtUp(ctx context.Context, ds *v1alpha1.DesiredState) (*v1alpha1.DesiredState, error) {
	k := key(ds.Namespace, ds.Name)
	c.mu.Lock()
	written := c.written[k]
	c.mu.Unlock()
	if written == "" || ds.ResourceVersion == written {
		return ds, nil
	}
	stored, err := c.Statuses.Get(ctx, ds.Namespace, ds.Name)
	if err != nil {
		return nil, fmt.Errorf("read the status of %s: %w", k, err)
	}
	if stored.ResourceVersion == ds.ResourceVersion {
		// The cache is current (another writer came after this server's write): no read next time.
		c.mu.Lock()
		c.written[k] = stored.ResourceVersion
		c.mu.Unlock()
	}
	return stored, nil
}

// writeStatus writes the status of ds as change makes it, from the cached DesiredState when the
// cache holds it (no read before the write unless the cache lags).
func (c *Controller) writeStatus(ctx context.Context, ds *v1alpha1.DesiredState, change func(*v1alpha1.DesiredStateStatus)) (*v1alpha1.DesiredState, error) {
	if cached, ok := c.Reader.Get(ds.Namespace, ds.Name); ok {
		return c.Statuses.UpdateFrom(ctx, cached, change)
	}
	return c.Statuses.Update(ctx, ds.Namespace, ds.Name, change)
}
