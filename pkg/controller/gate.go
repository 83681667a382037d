package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/syncwindow"
	"github.com/kube-gitops/kube-gitops/pkg/tenancy"
)

// The gate holds automated sync (and with it self-heal and automated prune) while a dependency
// (spec.dependsOn) is not Ready or a sync window (spec.sync.windows) is closed, and says so in
// condition Waiting. A held application is still compared, so drift is reported. It never polls:
// a dependency's change enqueues its dependents (the dependsOn index), and a window's next
// opening or closing is a delayed enqueue.

// indexDependsOn indexes DesiredStates by the namespace/name of each of their dependencies.
const indexDependsOn = "dependsOn"

// recheckForbidden is when a dependency refused by RBAC, or whose check failed, is asked again.
const recheckForbidden = tenancy.DefaultRecheck

func dependsOnIndex(obj any) ([]string, error) {
	ds, ok := obj.(*v1alpha1.DesiredState)
	if !ok {
		return nil, nil
	}
	keys := make([]string, 0, len(ds.Spec.DependsOn))
	for _, d := range ds.Spec.DependsOn {
		keys = append(keys, ds.DependencyKey(d))
	}
	return keys, nil
}

// indexDependents adds the dependsOn index to the DesiredState cache once.
func (c *Controller) indexDependents() {
	informer := c.Reader.Informer()
	if _, ok := informer.GetIndexer().GetIndexers()[indexDependsOn]; ok {
		return
	}
	if err := informer.AddIndexers(cache.Indexers{indexDependsOn: dependsOnIndex}); err != nil {
		klog.ErrorS(err, "Cannot index DesiredStates by their dependencies")
	}
}

// watchDependencies enqueues the dependents of a DesiredState whose readiness for them changed;
// the returned func stops it.
func (c *Controller) watchDependencies() func() {
	reg, err := c.Reader.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueDependents,
		UpdateFunc: func(oldObj, obj any) {
			o, ok1 := oldObj.(*v1alpha1.DesiredState)
			n, ok2 := obj.(*v1alpha1.DesiredState)
			if !ok1 || !ok2 || v1alpha1.WaitingOn(o, "") != v1alpha1.WaitingOn(n, "") || o.Status.Sync.Revision != n.Status.Sync.Revision {
				c.enqueueDependents(obj)
			}
		},
		DeleteFunc: c.enqueueDependents,
	})
	if err != nil {
		klog.ErrorS(err, "Cannot watch the dependencies of DesiredStates")
		return func() {}
	}
	return func() { _ = c.Reader.Informer().RemoveEventHandler(reg) }
}

func (c *Controller) enqueueDependents(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	ds, ok := obj.(*v1alpha1.DesiredState)
	if !ok {
		return
	}
	dependents, _ := c.Reader.Informer().GetIndexer().ByIndex(indexDependsOn, key(ds.Namespace, ds.Name))
	for _, d := range dependents {
		c.enqueue(d)
	}
}

// holdReason is what holds an application, as condition Waiting says it.
type holdReason struct {
	reason, message string
	after           time.Duration // enqueue again then (0: only on a change of a dependency)
}

// gate decides whether automated sync may run for ds now and keeps condition Waiting current.
// A requested sync that a window with manualSync: false holds is refused here (refused true:
// the status says why, nothing else is to be done).
func (c *Controller) gate(ctx context.Context, ds *v1alpha1.DesiredState, op *v1alpha1.SyncOperation) (hold, refused bool, err error) {
	k := key(ds.Namespace, ds.Name)
	now := c.now()
	window := syncwindow.Check(ds.Spec.Sync.Windows, now)
	if !window.Recheck.IsZero() {
		c.q().AddAfter(k, window.Recheck.Sub(now)+time.Second/10) // the window opens or closes
	}
	if op != nil && !window.Manual {
		msg := "sync refused: " + window.Message + ", and the window says manualSync: false; nothing was applied"
		c.warn(ds, v1alpha1.ReasonSyncWindow, msg)
		return false, true, c.update(ctx, ds, func(st *v1alpha1.DesiredStateStatus) {
			finishOperation(st, op, "", v1alpha1.SyncResultFailed, msg, c.HistoryLimit)
		})
	}
	w := c.dependencies(ctx, ds)
	if !window.Automated {
		if w.reason == "" {
			w.reason, w.message = v1alpha1.ReasonSyncWindow, window.Message
		} else {
			w.message += "; " + window.Message
		}
	}
	if w.after > 0 {
		c.q().AddAfter(k, w.after)
	}
	hold = w.reason != ""
	c.mu.Lock()
	if c.held == nil {
		c.held = map[string]bool{}
	}
	if !hold && c.held[k] {
		delete(c.applied, k) // what was only compared while held is applied now
	}
	c.held[k] = hold
	c.mu.Unlock()
	if hold {
		w.message = "Waiting: " + w.message
		klog.V(2).InfoS("Automated sync held", "desiredState", k, "reason", w.reason, "message", w.message)
	}
	if current := meta.FindStatusCondition(ds.Status.Conditions, v1alpha1.ConditionWaiting); hold == (current != nil) &&
		(!hold || current.Reason == w.reason && current.Message == w.message) {
		return hold, false, nil // as the status says already
	}
	return hold, false, c.update(ctx, ds, func(st *v1alpha1.DesiredStateStatus) {
		if hold {
			meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionWaiting, Status: metav1.ConditionTrue, Reason: w.reason, Message: w.message})
		} else {
			meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionWaiting)
		}
	})
}

// dependencies says which dependencies of ds are not Ready. One in another namespace is read
// only if ds's ServiceAccount may get it; otherwise its state (even whether it exists) is not
// shown.
func (c *Controller) dependencies(ctx context.Context, ds *v1alpha1.DesiredState) holdReason {
	if cycle := c.cycle(ctx, ds); cycle != "" {
		return holdReason{reason: v1alpha1.ReasonDependencyCycle, after: recheckForbidden, // a grant of the cycle may be revoked
			message: "dependency cycle " + cycle + ": remove one of these dependsOn entries"}
	}
	var forbidden, waiting []string
	after := time.Duration(0)
	account := apply.ServiceAccountOf(ds)
	for _, d := range ds.Spec.DependsOn {
		k := ds.DependencyKey(d)
		namespace, name, _ := strings.Cut(k, "/")
		if namespace != ds.Namespace {
			allowed, err := c.honoured(ctx, ds, k)
			switch {
			case err != nil:
				forbidden = append(forbidden, fmt.Sprintf("cannot check whether ServiceAccount %s/%s may get DesiredState %s (%v)", ds.Namespace, account, k, err))
				after = recheckForbidden
				continue
			case !allowed:
				forbidden = append(forbidden, fmt.Sprintf("ServiceAccount %s/%s may not get DesiredState %s, so its state is not read: grant it get on desiredstates in namespace %s",
					ds.Namespace, account, k, namespace))
				after = recheckForbidden
				continue
			}
		}
		dep, ok := c.Reader.Get(namespace, name)
		if !ok {
			waiting = append(waiting, k+" does not exist yet")
			continue
		}
		current := ""
		if dep.Status.Sync.Revision != dep.Status.Source.Revision {
			// Synced at a later commit (one that changed only its values files, say)?
			if _, rev, err := c.Sources.Current(ctx, dep); err == nil {
				current = rev
			}
		}
		if why := v1alpha1.WaitingOn(dep, current); why != "" {
			if namespace != ds.Namespace {
				// Its reason, message or commits are another tenant's: viewers of ds's
				// namespace learn only that it is not Ready.
				why = "not Ready"
			}
			waiting = append(waiting, k+" is "+why)
		}
	}
	switch {
	case len(forbidden) > 0:
		return holdReason{reason: v1alpha1.ReasonDependencyForbidden, message: strings.Join(append(forbidden, waiting...), "; "), after: after}
	case len(waiting) > 0:
		return holdReason{reason: v1alpha1.ReasonDependencyNotReady, message: strings.Join(waiting, ", "), after: after}
	}
	return holdReason{}
}

// honoured says whether from's dependency k (namespace/name) counts: one in from's namespace
// always, one in another only if from's ServiceAccount may get it.
func (c *Controller) honoured(ctx context.Context, from *v1alpha1.DesiredState, k string) (bool, error) {
	namespace, name, _ := strings.Cut(k, "/")
	if namespace == from.Namespace {
		return true, nil
	}
	if c.Dependencies == nil {
		return false, nil
	}
	return c.Dependencies.MayGetDesiredState(ctx, from.Namespace, apply.ServiceAccountOf(from), namespace, name)
}

// maxCycleWalk bounds the DesiredStates one cycle walk visits: it runs on every sync.
const maxCycleWalk = 256

// cycle returns the shortest cycle of honoured dependencies from ds back to ds, as
// "ns/a → ns2/b → ns/a", or "". A cycle within one namespace is refused with its files
// (pkg/desired), so what is found here crosses namespaces, over edges RBAC allows: an edge
// another tenant may not honour cannot hold anyone. Members that ds's ServiceAccount may not get
// are not named, so the message tells ds's viewers nothing of a namespace they cannot read.
func (c *Controller) cycle(ctx context.Context, ds *v1alpha1.DesiredState) string {
	if len(ds.Spec.DependsOn) == 0 {
		return ""
	}
	start := key(ds.Namespace, ds.Name)
	parent := map[string]string{start: ""} // the walk's visited set: each member once
	queue := []*v1alpha1.DesiredState{ds}
	for len(queue) > 0 && len(parent) < maxCycleWalk {
		from := queue[0]
		queue = queue[1:]
		fk := key(from.Namespace, from.Name)
		for _, d := range from.Spec.DependsOn {
			t := from.DependencyKey(d)
			if ok, err := c.honoured(ctx, from, t); err != nil || !ok {
				continue
			}
			if t == start {
				path := []string{start}
				for p := fk; p != start; p = parent[p] {
					path = append(path, p)
				}
				path = append(path, start)
				slices.Reverse(path[1 : len(path)-1])
				for i, k := range path {
					if ok, err := c.honoured(ctx, ds, k); k != start && (err != nil || !ok) {
						path[i] = "(a DesiredState of another namespace)"
					}
				}
				return strings.Join(path, " → ")
			}
			if _, seen := parent[t]; seen {
				continue
			}
			namespace, name, _ := strings.Cut(t, "/")
			if dep, ok := c.Reader.Get(namespace, name); ok {
				parent[t] = fk
				queue = append(queue, dep)
			}
		}
	}
	return ""
}

// isHeld reports whether the gate holds automated sync of the application k.
func (c *Controller) isHeld(k string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held[k]
}

func (c *Controller) now() time.Time {
	if c.Clock == nil {
		return time.Now()
	}
	return c.Clock.Now()
}
