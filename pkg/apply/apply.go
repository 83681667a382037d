package apply

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply/ignore"
	"github.com/kube-gitops/kube-gitops/pkg/health"
)

// run is the state of one Apply or Diff call.
type run struct {
	e      *Engine
	req    *Request
	client dynamic.Interface
	seen   map[string]*item // resolved items by key, to refuse duplicates
	waitBy time.Time        // when all of this run's waits for health must end (Options.WaitTimeout)

	rediscovered bool // a settled wave refreshed discovery for the later waves' kinds (waves.go)

	mu       sync.Mutex
	failures []string // "<object>: <why>", in the order found

	// In dry runs, what the first stage would create: objects that depend on it are reported
	// as "would be created" instead of failing because their namespace or kind is missing.
	pendingNamespaces map[string]bool
	pendingKinds      map[schema.GroupKind]meta.RESTScopeName
}

func (e *Engine) newRun(req *Request) (*run, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	c, err := e.clientFor(req.Owner.Namespace, req.serviceAccount())
	if err != nil {
		return nil, err
	}
	return &run{e: e, req: req, client: c, seen: map[string]*item{}, waitBy: time.Now().Add(waitTotal * e.waitOn)}, nil
}

// Apply makes req.Objects live with server-side apply as the request's ServiceAccount and, if
// req.Prune is set and every object applied, deletes the objects of req.Previous that are no
// longer desired. Namespaces and CRDs go first (then the CRDs must become Established), the rest
// in parallel, or wave by wave when their sync-wave annotations name several (waves.go). An
// object that would not change is not written, so a resync of an unchanged app writes nothing.
// req.Hooks run before and after (hooks.go); when a pre-* hook fails nothing else is applied or
// pruned, and the Result's inventory is req.Previous. Per-object failures are in the Result;
// the error then summarises them. The Result is nil only if the request itself is unusable.
func (e *Engine) Apply(ctx context.Context, req Request) (*Result, error) {
	r, err := e.newRun(&req)
	if err != nil {
		return nil, err
	}
	var pre Result
	if !req.PreHooksRan && !r.runHooks(ctx, "pre", &pre) {
		pre.Resources = append([]v1alpha1.ResourceStatus(nil), req.Previous...)
		pre.PruneSkipped = "nothing was applied or pruned because a hook failed"
		return &pre, r.summary(&pre)
	}
	items := r.sync(ctx)
	res := r.result(items)
	res.Hooks = pre.Hooks
	r.prune(ctx, items, res)
	if res.Failed == 0 {
		res.PreHooksDone = true
		r.runHooks(ctx, "post", res)
	}
	return res, r.summary(res)
}

// sync applies items stage by stage: Namespaces and CRDs, then everything else, wave by wave.
func (r *run) sync(ctx context.Context) []*item {
	items := prepare(r.req)
	first, rest := stages(items)
	r.resolve(ctx, first)
	r.each(ctx, first, r.applyOne)
	if r.req.DryRun {
		r.notePending(first)
	} else {
		r.settleCRDs(ctx, first)
	}
	r.resolve(ctx, rest)
	r.applyWaves(ctx, rest)
	return items
}

// each runs fn on every item without an error, in parallel within the Engine's worker bound.
func (r *run) each(ctx context.Context, items []*item, fn func(context.Context, *item)) {
	var wg sync.WaitGroup
	for _, it := range items {
		if it.err != nil || it.action != actionNone {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.e.acquire(ctx); err != nil {
				it.fail(fmt.Errorf("not applied: %w", err))
				return
			}
			defer r.e.release()
			fn(ctx, it)
		}()
	}
	wg.Wait()
}

// resource returns the client for an item's resource and namespace.
func (r *run) resource(m *meta.RESTMapping, namespace string) dynamic.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return r.client.Resource(m.Resource).Namespace(namespace)
	}
	return r.client.Resource(m.Resource)
}

// getLive reads an item's live object, from the Engine's cache if it holds it; nil if it does
// not exist. A cached object may be stale: applyOne checks it against its dry run.
func (r *run) getLive(ctx context.Context, it *item) (*unstructured.Unstructured, error) {
	if r.e.live != nil {
		as := types.NamespacedName{Namespace: r.req.Owner.Namespace, Name: r.req.serviceAccount()}
		if u, ok := r.e.live.Cached(as, it.mapping, it.ref.Namespace, it.ref.Name); ok {
			return u, nil
		}
	}
	return r.readLive(ctx, it)
}

// readLive GETs an item's live object; nil if it does not exist.
func (r *run) readLive(ctx context.Context, it *item) (*unstructured.Unstructured, error) {
	u, err := r.resource(it.mapping, it.ref.Namespace).Get(ctx, it.ref.Name, metav1.GetOptions{})
	if notServed(err) {
		r.e.resetMapper(ctx, false) // the kind is gone: the next sync looks it up again
		return nil, err
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return u, err
}

// applyOne reads the live object, asks the apiserver what an apply would make of it (a
// dry run), and writes only if that differs from what is live. A new object is created without
// the dry run, as there is nothing to compare with. Fields the ignore rules name keep their live
// values; changes made by drift managers (kubectl) count as differences, and are undone by
// taking their fields over before the apply (see ownership).
func (r *run) applyOne(ctx context.Context, it *item) {
	live, err := r.getLive(ctx, it)
	if err != nil {
		it.fail(r.describe(it, "get", err))
		return
	}
	it.live, it.read = live, true
	ri := r.resource(it.mapping, it.ref.Namespace)
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if live == nil && !r.req.DryRun {
		r.create(ctx, ri, it, opts)
		return
	}
	ign := ignore.For(r.req.Ignore, it.ref.Group, it.ref.Kind, it.ref.Namespace, it.ref.Name)
	desired := it.obj // before keepLive, which a re-read redoes from the fresh object
	if live != nil {
		it.obj = keptLive(desired, live, ign)
	}
	dry := opts
	dry.DryRun = []string{metav1.DryRunAll}
	out, err := ri.Apply(ctx, it.ref.Name, it.obj, dry)
	// The dry run starts from the object as it is now. If that is newer than what was read
	// (a controller wrote in between, or the read came from a cache that lags), compare with a
	// fresh read, so that another writer's change is not mistaken for a difference and ignored
	// fields keep their current values; after a few tries, write anyway. An object gone since
	// the read is created.
	for try := 0; err == nil && live != nil && out.GetResourceVersion() != live.GetResourceVersion() && try < 3; try++ {
		live, err = r.readLive(ctx, it)
		if err != nil {
			it.fail(r.describe(it, "get", err))
			return
		}
		it.live, it.obj = live, desired
		if live == nil {
			if !r.req.DryRun {
				r.create(ctx, ri, it, opts)
				return
			}
			out, err = ri.Apply(ctx, it.ref.Name, it.obj, dry)
			break
		}
		it.obj = keptLive(desired, live, ign)
		if live.GetResourceVersion() != out.GetResourceVersion() {
			out, err = ri.Apply(ctx, it.ref.Name, it.obj, dry)
		}
	}
	switch {
	case err != nil && live == nil && apierrors.IsNotFound(err) && r.pendingNamespaces[it.ref.Namespace]:
		it.result, it.action = it.obj, actionCreated
		it.note = fmt.Sprintf("would be created once namespace %s is", it.ref.Namespace)
		return
	case err != nil:
		it.fail(r.describe(it, verbFor(live), err))
		return
	}
	takeOver := false
	if live != nil {
		out, takeOver = r.withoutDrift(ctx, ri, it, ign, out)
	}
	switch {
	case live != nil && !needsWrite(live, out):
		it.result, it.action, it.drift = live, actionUnchanged, nil
		return
	case r.req.DryRun:
		it.result, it.action = out, actionFor(live)
		return
	}
	if len(it.drift) > 0 {
		klog.InfoS("Undoing changes made in the cluster", "object", it.ref.String(), "owner", r.req.Owner.String(), "managers", it.drift)
	}
	startWrite(live.GetUID())
	if takeOver {
		if err := r.takeOver(ctx, ri, it, ign); err != nil {
			finishWrite(live.GetUID(), nil)
			it.fail(r.describe(it, "patch", err))
			return
		}
	}
	out, err = ri.Apply(ctx, it.ref.Name, it.obj, opts)
	finishWrite(live.GetUID(), out)
	if err != nil {
		it.fail(r.describe(it, "patch", err))
		return
	}
	it.result, it.action = out, actionConfigured
}

// create applies an item that does not exist yet.
func (r *run) create(ctx context.Context, ri dynamic.ResourceInterface, it *item, opts metav1.ApplyOptions) {
	out, err := ri.Apply(ctx, it.ref.Name, it.obj, opts)
	finishWrite("", out)
	if err != nil {
		it.fail(r.describe(it, "create", err))
		return
	}
	it.result, it.action = out, actionCreated
}

func verbFor(live *unstructured.Unstructured) string {
	if live == nil {
		return "create"
	}
	return "patch"
}

func actionFor(live *unstructured.Unstructured) action {
	if live == nil {
		return actionCreated
	}
	return actionConfigured
}

func (it *item) fail(err error) {
	it.err = err
	it.action = actionFailed
}

// notePending records what the first stage of a dry run would create, and lets the objects of
// kinds it would install through, as "would be created".
func (r *run) notePending(first []*item) {
	r.pendingNamespaces = map[string]bool{}
	r.pendingKinds = map[schema.GroupKind]meta.RESTScopeName{}
	for _, it := range first {
		if it.action != actionCreated && it.action != actionConfigured {
			continue
		}
		switch it.ref.GroupVersion().WithKind(it.ref.Kind).GroupKind() {
		case namespaceGK:
			if it.action == actionCreated {
				r.pendingNamespaces[it.ref.Name] = true
			}
		case crdGK:
			group, _, _ := unstructured.NestedString(it.obj.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(it.obj.Object, "spec", "names", "kind")
			scope, _, _ := unstructured.NestedString(it.obj.Object, "spec", "scope")
			name := meta.RESTScopeNameRoot
			if scope == "Namespaced" {
				name = meta.RESTScopeNameNamespace
			}
			r.pendingKinds[schema.GroupKind{Group: group, Kind: kind}] = name
		}
	}
}

// resolvePending turns a missing-kind failure of a dry run into "would be created" when this
// request would install the kind.
func (r *run) resolvePending(it *item) bool {
	scope, ok := r.pendingKinds[it.obj.GroupVersionKind().GroupKind()]
	if !ok || !meta.IsNoMatchError(it.err) {
		return false
	}
	it.err = nil
	if scope == meta.RESTScopeNameNamespace {
		if it.obj.GetNamespace() == "" {
			it.obj.SetNamespace(r.req.Owner.Namespace)
		}
	} else {
		it.obj.SetNamespace("")
	}
	it.ref.Namespace = it.obj.GetNamespace()
	if scope == meta.RESTScopeNameNamespace {
		if err := r.checkNamespace(it.ref.Namespace); err != nil {
			it.fail(err)
			return true
		}
	}
	it.result, it.action, it.read = it.obj, actionCreated, true
	it.note = "would be created once its CustomResourceDefinition is installed"
	return true
}

// result turns the items into the Result's inventory and counts.
func (r *run) result(items []*item) *Result {
	res := &Result{Resources: make([]v1alpha1.ResourceStatus, 0, len(items))}
	for _, it := range items {
		if it.err != nil && it.action == actionNone {
			it.action = actionFailed
		}
		var st v1alpha1.ResourceStatus
		switch it.action {
		case actionFailed:
			res.Failed++
			r.failed(it.ref, it.err.Error())
			h, _ := r.liveHealth(it)
			st = it.ref.status(v1alpha1.SyncStatusOutOfSync, h, it.err.Error())
		case actionUnchanged:
			res.Unchanged++
			h, msg := health.Object(it.live)
			st = it.ref.status(v1alpha1.SyncStatusSynced, h, healthMessage(h, msg))
		default: // created or configured
			res.Changed++
			if len(it.drift) > 0 {
				res.Undone = append(res.Undone, it.ref.String()+": "+strings.Join(it.drift, ", "))
			}
			if r.req.DryRun {
				h, _ := r.liveHealth(it)
				msg := it.note
				if msg == "" {
					msg = map[action]string{actionCreated: "would be created", actionConfigured: "would be updated"}[it.action]
				}
				st = it.ref.status(v1alpha1.SyncStatusOutOfSync, h, msg)
				break
			}
			h, msg := health.Object(it.result)
			st = it.ref.status(v1alpha1.SyncStatusSynced, h, healthMessage(h, msg))
		}
		if prev := previousOwner(it.live); prev != "" && prev != r.req.Owner.String() && st.Message == "" && it.action != actionFailed {
			st.Message = fmt.Sprintf("taken over from DesiredState %s; if both render this object, remove it from one", prev)
		}
		res.Resources = append(res.Resources, st)
	}
	return res
}

// previousOwner returns the owner annotation of a live object, or "".
func previousOwner(live *unstructured.Unstructured) string {
	if live == nil {
		return ""
	}
	return live.GetAnnotations()[AnnotationOwner]
}

// liveHealth is the health of what is live before the apply: Missing if nothing is, Unknown if
// the object could not be read.
func (r *run) liveHealth(it *item) (v1alpha1.HealthStatusCode, string) {
	if !it.read {
		return v1alpha1.HealthUnknown, ""
	}
	return health.Object(it.live)
}

// healthMessage keeps kstatus' message only when it explains a problem.
func healthMessage(h v1alpha1.HealthStatusCode, msg string) string {
	if h == v1alpha1.HealthHealthy {
		return ""
	}
	return msg
}

// failed records a failure for the summary.
func (r *run) failed(ref ObjectRef, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, ref.String()+": "+why)
}

// summary returns an error naming the first failure, or nil if nothing failed.
func (r *run) summary(res *Result) error {
	if len(r.failures) == 0 {
		return nil
	}
	verb := "apply"
	if r.req.DryRun {
		verb = "dry-run apply"
	}
	return fmt.Errorf("%s %s: %d objects failed; the first: %s", verb, r.req.Owner, len(r.failures), r.failures[0])
}
