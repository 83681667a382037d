package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/klog/v2"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/appsource"
	"github.com/kube-gitops/kube-gitops/pkg/metrics"
	"github.com/kube-gitops/kube-gitops/pkg/source"
)

// reconcile syncs one application. It never prunes after a failed fetch or render: both return
// before the engine is called.
func (c *Controller) reconcile(ctx context.Context, k string) error {
	namespace, name, _ := strings.Cut(k, "/")
	ds, ok := c.Reader.Get(namespace, name)
	if !ok {
		c.forget(k)
		return nil
	}
	ds, err := c.caughtUp(ctx, ds)
	if err != nil {
		return err
	}
	if ds.DeletionTimestamp != nil {
		return c.cleanup(ctx, ds)
	}
	op := ds.Status.Operation
	if d := c.admit(ctx, ds); !d.Allowed {
		return c.refuse(ctx, ds, op, d)
	}
	hold, refused, err := c.gate(ctx, ds, op)
	if refused || err != nil {
		return err
	}
	files, revision, err := c.source(ctx, ds, op)
	if errors.Is(err, appsource.ErrNotInCache) {
		// Not a failure: the records of the commit are on their way to this replica's cache,
		// which wakes the sync loop once they are in. Nothing is applied or pruned meanwhile.
		klog.V(4).InfoS("Waiting for the records of the root revision", "desiredState", klog.KObj(ds))
		return nil
	}
	if err != nil && source.Refused(err) {
		// Not a failure to read Git: the request named a revision that sync may not apply.
		metrics.SyncFailures.WithLabelValues("RevisionRefused").Inc()
		c.warn(ds, "RevisionRefused", err.Error())
		return c.update(ctx, ds, func(st *v1alpha1.DesiredStateStatus) {
			finishOperation(st, op, "", v1alpha1.SyncResultFailed, err.Error()+"; nothing was applied", c.HistoryLimit)
		})
	}
	if err != nil {
		metrics.SyncFailures.WithLabelValues(v1alpha1.ReasonFetchFailed).Inc()
		c.warn(ds, v1alpha1.ReasonFetchFailed, err.Error())
		return retryLater(c.update(ctx, ds, func(st *v1alpha1.DesiredStateStatus) {
			setCondition(st, v1alpha1.ConditionStale, true, v1alpha1.ReasonFetchFailed, err.Error()+"; the last synced state stays in effect")
			finishOperation(st, op, revision, v1alpha1.SyncResultFailed, err.Error(), c.HistoryLimit)
		}), "fetch failed")
	}
	objects, renderErr := c.Render(ctx, ds, files)
	if renderErr != nil {
		metrics.SyncFailures.WithLabelValues(v1alpha1.ReasonRenderFailed).Inc()
		msg := fmt.Sprintf("render at %s: %v; nothing was applied or pruned", v1alpha1.ShortCommit(revision), renderErr)
		c.warn(ds, v1alpha1.ReasonRenderFailed, msg)
		err := c.update(ctx, ds, func(st *v1alpha1.DesiredStateStatus) {
			setCondition(st, v1alpha1.ConditionStale, false, "", "")
			setCondition(st, v1alpha1.ConditionStalled, true, v1alpha1.ReasonRenderFailed, msg)
			st.Sync.Message = msg
			finishOperation(st, op, revision, v1alpha1.SyncResultFailed, msg, c.HistoryLimit)
			setReady(st)
		})
		return afterRenderFailure(renderErr, err)
	}

	req := apply.RequestFor(ds, objects, c.AllowOtherNamespaces)
	if op != nil {
		req.DryRun = op.DryRun
		if op.Prune != nil {
			req.Prune = *op.Prune
		}
	}
	digest := digestOf(objects, req)
	policy := ds.Spec.Sync
	if ds.Status.AutomationPaused != nil {
		policy.Automated = false // paused by a forced rollback: only report drift
	}
	if hold {
		policy.Automated = false // held by a dependency or a sync window (gate.go): only report drift
	}
	act := c.decide(k, digest, policy, op)
	metrics.Reconciles.WithLabelValues(actionNames[act]).Inc()
	switch act {
	case actApply:
		return c.withWaitTurn(k, req, func() error {
			if req.Previous, err = c.inventory(ctx, ds); err != nil {
				return err
			}
			return c.apply(ctx, ds, req, revision, digest, op)
		})
	case actCompare:
		return c.compare(ctx, ds, req, revision, digest)
	default:
		return c.refreshHealth(ctx, ds, revision, digest)
	}
}

type action int

const (
	actHealth  action = iota // only recompute health from the watched objects
	actCompare               // dry-run to find out whether the cluster differs; change nothing
	actApply                 // sync
)

// actionNames are the label values of gitops_reconciles_total.
var actionNames = map[action]string{actHealth: "health", actCompare: "compare", actApply: "apply"}

// decide picks the least work that keeps the promise of the sync policy: a requested sync
// applies; automated sync applies new content; self-heal also reapplies after drift and at each
// resync; otherwise drift and resyncs only update the sync status.
func (c *Controller) decide(k, digest string, policy v1alpha1.SyncPolicy, op *v1alpha1.SyncOperation) action {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, known := c.applied[k]
	newContent := !known || st.digest != digest
	recheck := st.drifted || time.Since(st.at) > c.Resync
	switch {
	case op != nil:
		return actApply
	case policy.Automated && newContent:
		return actApply
	case policy.Automated && policy.SelfHeal && (recheck || st.differs):
		return actApply
	case newContent || recheck:
		c.applied[k] = appliedState{digest: digest, at: time.Now()} // compared at this content
		return actCompare
	}
	return actHealth
}

// apply syncs and records the result.
func (c *Controller) apply(ctx context.Context, ds *v1alpha1.DesiredState, req apply.Request, revision, digest string, op *v1alpha1.SyncOperation) error {
	start := time.Now()
	if !req.DryRun {
		if err := c.recordNewObjects(ctx, ds, req.Previous, req.Objects); err != nil {
			return err // nothing was written to the cluster yet
		}
	}
	res, err := c.fencedApply(ctx, key(ds.Namespace, ds.Name), req)
	if res == nil {
		return fmt.Errorf("apply %s/%s at %s: %w", ds.Namespace, ds.Name, v1alpha1.ShortCommit(revision), err)
	}
	// Per-object failures are in res (err only summarises them): they go into the status.
	k := key(ds.Namespace, ds.Name)
	ok := res.Failed == 0 && (res.PruneSkipped == "" || !req.Prune)
	if !req.DryRun {
		c.mu.Lock()
		if ok {
			c.applied[k] = appliedState{revision: revision, digest: digest, at: time.Now()}
		} else {
			delete(c.applied, k)
		}
		c.mu.Unlock()
		c.Live.Track(req.Owner, req.ServiceAccount, res.Resources)
	}
	metrics.SyncDuration.WithLabelValues(string(resultOf(ok))).Observe(metrics.Since(start))
	if !ok {
		metrics.SyncFailures.WithLabelValues("ApplyFailed").Inc()
	}
	if !req.DryRun {
		for action, n := range map[string]int{"changed": res.Changed, "unchanged": res.Unchanged, "pruned": res.Pruned, "failed": res.Failed} {
			metrics.ObjectsApplied.WithLabelValues(action).Add(float64(n))
		}
	}
	message := summary(res, req.DryRun)
	trigger := "git"
	if op != nil {
		trigger = op.RequestedBy
	}
	klog.InfoS("Synced", "desiredState", k, "revision", v1alpha1.ShortCommit(revision), "changed", res.Changed, "unchanged", res.Unchanged,
		"pruned", res.Pruned, "failed", res.Failed, "dryRun", req.DryRun, "trigger", trigger, "duration", time.Since(start).Round(time.Millisecond), "replica", c.Replica)
	if res.Failed > 0 {
		c.warn(ds, "SyncFailed", message)
	} else if res.Changed+res.Pruned > 0 && !req.DryRun {
		c.Events.Event(ref(ds), corev1.EventTypeNormal, "Synced", message)
	}
	if len(res.Undone) > 0 && !req.DryRun {
		// Say whose kubectl changes vanished, and how to keep such a change.
		c.Events.Event(ref(ds), corev1.EventTypeNormal, "DriftUndone", "undid changes made in the cluster to "+strings.Join(res.Undone, "; ")+
			"; to keep such a change, commit it to Git or name it in spec.sync.ignore")
	}
	err = c.update(ctx, ds, func(st *v1alpha1.DesiredStateStatus) {
		setCondition(st, v1alpha1.ConditionStale, false, "", "")
		setCondition(st, v1alpha1.ConditionStalled, false, v1alpha1.ReasonRenderFailed, "")
		if req.DryRun {
			finishOperation(st, op, revision, resultOf(ok)+" (dry run)", message, c.HistoryLimit)
			return
		}
		st.Resources = c.withHealth(ds, res.Resources)
		recordSync(st, appliedSync{revision: revision, digest: digest, ok: ok, changes: res.Changed + res.Pruned, failed: res.Failed,
			trigger: trigger, message: message, op: op}, metav1.Now(), c.HistoryLimit)
		if d := apply.HooksDigest(req, res); d != "" {
			st.HooksDigest = d // what ran: not again for this release
		}
		setHealth(st)
		setReady(st)
	})
	if res.Failed > 0 && !req.DryRun {
		// A missing CRD, a webhook's denial, a busy apiserver: the world may change without a
		// commit, so the sync is tried again with backoff.
		return retryLater(err, fmt.Sprintf("%d object(s) failed", res.Failed))
	}
	return err
}

// compare works out the sync status of an application that is not synced automatically.
func (c *Controller) compare(ctx context.Context, ds *v1alpha1.DesiredState, req apply.Request, revision, digest string) error {
	diffs, err := c.Engine.Diff(ctx, req)
	if err != nil {
		return fmt.Errorf("diff %s/%s at %s: %w", ds.Namespace, ds.Name, v1alpha1.ShortCommit(revision), err)
	}
	var resources []v1alpha1.ResourceStatus
	outOfSync := 0
	for _, d := range diffs {
		r := v1alpha1.ResourceStatus{Group: d.Ref.Group, Version: d.Ref.Version, Kind: d.Ref.Kind, Namespace: d.Ref.Namespace, Name: d.Ref.Name,
			Sync: v1alpha1.SyncStatusSynced}
		if d.Action != apply.ActionNone {
			r.Sync, r.Message = v1alpha1.SyncStatusOutOfSync, pendingMessage(d)
			outOfSync++
		}
		if d.Error != "" {
			r.Sync, r.Message = v1alpha1.SyncStatusUnknown, d.Error
		}
		resources = append(resources, r)
	}
	c.Live.Track(req.Owner, req.ServiceAccount, resources)
	c.mu.Lock()
	if st, ok := c.applied[key(ds.Namespace, ds.Name)]; ok {
		st.differs = outOfSync > 0 // e.g. drift seen with self-heal off: heal when it is turned on
		c.applied[key(ds.Namespace, ds.Name)] = st
	}
	c.mu.Unlock()
	return c.update(ctx, ds, func(st *v1alpha1.DesiredStateStatus) {
		setCondition(st, v1alpha1.ConditionStale, false, "", "")
		setCondition(st, v1alpha1.ConditionStalled, false, v1alpha1.ReasonRenderFailed, "")
		st.Resources = c.withHealth(ds, resources)
		catchUp(st, revision, digest)
		st.Sync.Status = v1alpha1.SyncStatusSynced
		st.Sync.Message = "the cluster equals " + v1alpha1.ShortCommit(revision)
		if outOfSync > 0 {
			off := "automated sync is off"
			if ds.Spec.Sync.Automated && ds.Status.AutomationPaused == nil {
				off = "self-heal is off (spec.sync.selfHeal)"
			}
			if c.isHeld(key(ds.Namespace, ds.Name)) {
				off = "automated sync is held (condition Waiting)"
			}
			st.Sync.Status = v1alpha1.SyncStatusOutOfSync
			st.Sync.Message = fmt.Sprintf("%d object(s) differ from %s; %s: sync with kubectl gitops sync %s -n %s", outOfSync, v1alpha1.ShortCommit(revision), off, ds.Name, ds.Namespace)
		}
		setHealth(st)
		setReady(st)
	})
}

// pendingMessage says what a sync would do to an object, and who changed it in the cluster.
func pendingMessage(d apply.ObjectDiff) string {
	msg := strings.ToLower(string(d.Action)) + " pending"
	if len(d.Drift) > 0 {
		msg += "; changed in the cluster by " + strings.Join(d.Drift, ", ") + ", which a sync undoes (keep such a change with spec.sync.ignore)"
	}
	return msg
}

// refreshHealth recomputes health from the watched objects only; revision and digest (when known)
// are what the source renders now.
func (c *Controller) refreshHealth(ctx context.Context, ds *v1alpha1.DesiredState, revision, digest string) error {
	c.Live.Track(apply.OwnerOf(ds), ds.Spec.Sync.ServiceAccountName, ds.Status.Resources)
	return c.update(ctx, ds, func(st *v1alpha1.DesiredStateStatus) {
		catchUp(st, revision, digest)
		st.Resources = c.withHealth(ds, st.Resources)
		setHealth(st)
		setReady(st)
	})
}

func (c *Controller) source(ctx context.Context, ds *v1alpha1.DesiredState, op *v1alpha1.SyncOperation) (fs.FS, string, error) {
	if op != nil && op.Revision != "" {
		return c.Sources.Reviewed(ctx, ds, op.Revision) // only reviewed commits are applied
	}
	return c.Sources.Current(ctx, ds)
}

func (c *Controller) forget(k string) {
	c.mu.Lock()
	delete(c.applied, k)
	delete(c.written, k)
	delete(c.held, k)
	c.mu.Unlock()
}

func (c *Controller) update(ctx context.Context, ds *v1alpha1.DesiredState, mutate func(*v1alpha1.DesiredStateStatus)) error {
	return c.updateStatus(ctx, ds, true, mutate)
}

// updateStatus writes the status of ds as mutate changes it, with the Stale condition of the root
// repository; admitted clears a Stalled condition of an earlier refusal (a refusal keeps its own,
// so that its lastTransitionTime, and thus the record, stays as it was).
func (c *Controller) updateStatus(ctx context.Context, ds *v1alpha1.DesiredState, admitted bool, mutate func(*v1alpha1.DesiredStateStatus)) error {
	rootErr := c.rootError()
	root := c.Sources.Root(ds)
	change := func(st *v1alpha1.DesiredStateStatus) {
		mutate(st)
		if admitted {
			clearRefusal(st)
		}
		if root {
			if rootErr != nil {
				setCondition(st, v1alpha1.ConditionStale, true, v1alpha1.ReasonFetchFailed, "cannot read Git: "+rootErr.Error()+"; the last synced state stays in effect")
			} else {
				setCondition(st, v1alpha1.ConditionStale, false, v1alpha1.ReasonFetchFailed, "")
			}
		}
	}
	if c.changesNothing(ds, change) {
		return nil
	}
	stored, err := c.writeStatus(ctx, ds, change)
	if err != nil {
		return fmt.Errorf("write status of %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	c.mu.Lock()
	c.written[key(ds.Namespace, ds.Name)] = stored.ResourceVersion
	c.mu.Unlock()
	return nil
}

func (c *Controller) warn(ds *v1alpha1.DesiredState, reason, message string) {
	klog.InfoS("Sync problem", "desiredState", key(ds.Namespace, ds.Name), "reason", reason, "message", message)
	c.Events.Event(ref(ds), corev1.EventTypeWarning, reason, message)
}

func ref(ds *v1alpha1.DesiredState) *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "DesiredState",
		Namespace: ds.Namespace, Name: ds.Name, UID: ds.UID, ResourceVersion: ds.ResourceVersion}
}

// digestOf identifies what an apply would do: the rendered objects and the options.
func digestOf(objects []*unstructured.Unstructured, req apply.Request) string {
	h := sha256.New()
	for _, o := range objects {
		data, _ := json.Marshal(o.Object)
		h.Write(data)
		h.Write([]byte{0})
	}
	fmt.Fprintf(h, "%v|%v|%v|%s|", req.Prune, req.AllowEmpty, req.AllowOtherNamespaces, req.ServiceAccount)
	ignore, _ := json.Marshal(req.Ignore) // new ignore rules change what an apply leaves alone
	h.Write(ignore)
	return hex.EncodeToString(h.Sum(nil))
}

func summary(res *apply.Result, dryRun bool) string {
	verb := "applied"
	if dryRun {
		verb = "would apply"
	}
	msg := fmt.Sprintf("%s %d object(s): %d changed, %d unchanged, %d pruned, %d failed", verb, len(res.Resources), res.Changed, res.Unchanged, res.Pruned, res.Failed)
	if res.PruneSkipped != "" {
		msg += "; prune skipped: " + res.PruneSkipped
	}
	if res.HookFailed != "" {
		return "hook failed: " + res.HookFailed + "; " + msg
	}
	msg += hooksSummary(res)
	for _, r := range res.Resources {
		if r.Sync != v1alpha1.SyncStatusSynced && r.Message != "" {
			return msg + "; first problem: " + r.Kind + " " + r.Name + ": " + r.Message
		}
	}
	return msg
}

func resultOf(ok bool) v1alpha1.SyncResult {
	if ok {
		return v1alpha1.SyncResultSucceeded
	}
	return v1alpha1.SyncResultFailed
}

// setCondition sets a condition, or removes it when status is false and the condition's reason is
// reason (so that one writer's condition is not removed by another's).
func setCondition(st *v1alpha1.DesiredStateStatus, typ string, status bool, reason, message string) {
	if !status {
		if c := meta.FindStatusCondition(st.Conditions, typ); c != nil && (reason == "" || c.Reason == reason) {
			meta.RemoveStatusCondition(&st.Conditions, typ)
		}
		return
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason, Message: message})
}
