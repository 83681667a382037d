package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
)

// Helm hooks, with Helm's semantics: objects a chart marks with helm.sh/hook are not part of
// the release. The pre-install or pre-upgrade hooks run before the release's objects are
// applied and post-* after, ordered by helm.sh/hook-weight; each is applied and waited until it
// completes (a Job until Complete, a Pod until Succeeded, anything else once created). A hook
// that fails stops the sync: after a pre-* hook nothing else is applied or pruned.
// helm.sh/hook-delete-policy says when a hook object is deleted: before-hook-creation (the
// default, as in Helm) deletes the previous one before it is created again, hook-succeeded and
// hook-failed after it ran. Test hooks are never run by a sync. A live object of a hook's name
// is only replaced or deleted if this application applied it as a hook (AnnotationHookObject):
// a chart must not take over, then delete, another application's object or an editor's.
const (
	AnnotationHook             = "helm.sh/hook"
	AnnotationHookWeight       = "helm.sh/hook-weight"
	AnnotationHookDeletePolicy = "helm.sh/hook-delete-policy"
	// AnnotationHookObject marks, with "true", the objects kube-gitops applied as Helm hooks;
	// with the owner annotation it says which live objects a hook may replace and delete.
	AnnotationHookObject = "gitops.kube-gitops.dev/hook"

	hookBeforeCreation = "before-hook-creation"
	hookSucceeded      = "hook-succeeded"
	hookFailed         = "hook-failed"

	// hookPoll is how often a running hook (or a deleted one) is looked at.
	hookPoll = 500 * time.Millisecond
)

var (
	jobGK = schema.GroupKind{Group: "batch", Kind: "Job"}
	podGK = schema.GroupKind{Kind: "Pod"}
)

// SplitHooks separates the Helm hook objects of a render from the release's objects, keeping
// their order. Test hooks are dropped: a sync never runs them.
func SplitHooks(objects []*unstructured.Unstructured) (release, hooks []*unstructured.Unstructured) {
	for _, o := range objects {
		events := hookEvents(o)
		switch {
		case len(events) == 0:
			release = append(release, o)
		case slices.ContainsFunc(events, func(e string) bool { return strings.HasPrefix(e, "test") }):
			// "test", and Helm 2's "test-success" and "test-failure"
		default:
			hooks = append(hooks, o)
		}
	}
	return release, hooks
}

// ReleaseDigest identifies a rendered release, its objects and hooks: the hooks of a release
// run once, and again only when it differs.
func ReleaseDigest(release, hooks []*unstructured.Unstructured) string {
	h := sha256.New()
	for _, o := range slices.Concat(release, hooks) {
		if o != nil {
			data, _ := json.Marshal(o.Object)
			h.Write(data)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hookEvents are the events of helm.sh/hook ("pre-install,pre-upgrade"); none for an object
// that is not a hook.
func hookEvents(o *unstructured.Unstructured) []string {
	if o == nil {
		return nil
	}
	return splitList(o.GetAnnotations()[AnnotationHook])
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// hook is one hook object to run for an event.
type hook struct {
	it       *item
	weight   int
	policies []string
}

// runHooks runs, one after the other, the hooks of the request for phase ("pre" or "post"),
// and records each in res. It returns false when one failed (res.HookFailed says which), and
// then runs no further hook.
func (r *run) runHooks(ctx context.Context, phase string, res *Result) bool {
	if len(r.req.Hooks) == 0 || r.req.DryRun {
		return true
	}
	event := phase + "-upgrade"
	switch {
	case r.req.Removal:
		event = phase + "-delete"
	case r.req.Install:
		event = phase + "-install"
	}
	hooks := r.hooksFor(ctx, event)
	for _, h := range hooks {
		outcome, err := r.runHook(ctx, h)
		line := event + " " + h.it.ref.String() + ": " + outcome
		res.Hooks = append(res.Hooks, line)
		if err != nil {
			res.HookFailed = event + " hook " + h.it.ref.String() + ": " + err.Error()
			res.Failed++
			r.failed(h.it.ref, event+" hook: "+err.Error())
			return false
		}
	}
	return true
}

// hooksFor prepares the hooks of event in the order they run: by weight, then as rendered
// (Helm's order of kinds and names). A hook that cannot be applied is kept with its error, so
// that it fails the sync.
func (r *run) hooksFor(ctx context.Context, event string) []hook {
	var objs []*unstructured.Unstructured
	for _, o := range r.req.Hooks {
		if slices.Contains(hookEvents(o), event) {
			objs = append(objs, o)
		}
	}
	if len(objs) == 0 {
		return nil
	}
	items := prepare(&Request{Owner: r.req.Owner, Objects: objs})
	for _, it := range items {
		if it.err == nil {
			ann := it.obj.GetAnnotations()
			ann[AnnotationHookObject] = "true"
			it.obj.SetAnnotations(ann)
		}
	}
	// A hook is not one of the release's objects, and one may serve several events: it is
	// resolved on its own, so that it is not taken for a duplicate.
	(&run{e: r.e, req: r.req, client: r.client, seen: map[string]*item{}}).resolve(ctx, items)
	hooks := make([]hook, 0, len(items))
	for i, it := range items {
		ann := objs[i].GetAnnotations()
		h := hook{it: it, policies: splitList(ann[AnnotationHookDeletePolicy])}
		if len(h.policies) == 0 {
			h.policies = []string{hookBeforeCreation}
		}
		if w := strings.TrimSpace(ann[AnnotationHookWeight]); w != "" {
			n, err := strconv.Atoi(w)
			if err != nil && it.err == nil {
				it.err = fmt.Errorf("annotation %s %q is not an integer: fix the chart's template", AnnotationHookWeight, w)
			}
			h.weight = n
		}
		for _, p := range h.policies {
			if p != hookBeforeCreation && p != hookSucceeded && p != hookFailed && it.err == nil {
				it.err = fmt.Errorf("annotation %s: unknown policy %q: use %s, %s or %s", AnnotationHookDeletePolicy, p, hookBeforeCreation, hookSucceeded, hookFailed)
			}
		}
		hooks = append(hooks, h)
	}
	sort.SliceStable(hooks, func(i, j int) bool { return hooks[i].weight < hooks[j].weight })
	return hooks
}

// runHook applies one hook, waits until it completes and deletes it as its policies say. It
// returns what happened, and an error if the hook failed.
func (r *run) runHook(ctx context.Context, h hook) (string, error) {
	it := h.it
	if it.err != nil {
		return "not run", it.err
	}
	ri := r.resource(it.mapping, it.ref.Namespace)
	previous, err := r.previousHook(ctx, ri, it)
	if err != nil {
		return "not run", err
	}
	if previous != nil && slices.Contains(h.policies, hookBeforeCreation) {
		if err := r.deleteHook(ctx, ri, it, previous); err != nil {
			return "not run", err
		}
	}
	if err := r.e.acquire(ctx); err != nil {
		return "not run", err
	}
	var uid types.UID
	if previous != nil {
		uid = previous.GetUID() // kept when its policy does not delete it first
	}
	startWrite(uid)
	out, err := ri.Apply(ctx, it.ref.Name, it.obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	finishWrite(uid, out)
	r.e.release()
	if err != nil {
		return "not created", r.describe(it, "create", err)
	}
	runErr := r.waitHook(ctx, ri, it, out)
	outcome, policy := "succeeded", hookSucceeded
	if runErr != nil {
		outcome, policy = "failed", hookFailed
	}
	if slices.Contains(h.policies, policy) {
		if err := r.deleteHook(ctx, ri, it, out); err != nil {
			return outcome + ", not deleted: " + err.Error(), errors.Join(runErr, err)
		}
		outcome += ", deleted (" + policy + ")"
	}
	return outcome, runErr
}

// previousHook returns the live object of a hook's name, nil if there is none. It is refused
// unless this application applied it as a hook: one that another DesiredState owns, or that an
// editor made by hand, would otherwise be taken over by the forced apply and then deleted.
func (r *run) previousHook(ctx context.Context, ri dynamic.ResourceInterface, it *item) (*unstructured.Unstructured, error) {
	live, err := ri.Get(ctx, it.ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, r.describe(it, "get", err)
	}
	ann := live.GetAnnotations()
	owner := ann[AnnotationOwner]
	switch {
	case owner != r.req.Owner.String() && owner != "":
		return nil, fmt.Errorf("an object of that name belongs to DesiredState %q: rename the hook", owner)
	case owner == "":
		return nil, fmt.Errorf("an object of that name exists that kube-gitops did not create: rename the hook, or delete that object if it is not needed")
	case ann[AnnotationHookObject] != "true":
		return nil, fmt.Errorf("an object of that name is one of this application's objects, not a hook: rename the hook")
	}
	return live, nil
}

// waitHook waits, bounded by the Engine's wait timeout, until a hook completes: a Job until it
// is Complete, a Pod until it Succeeded. Other kinds are done once applied, as in Helm.
func (r *run) waitHook(ctx context.Context, ri dynamic.ResourceInterface, it *item, applied *unstructured.Unstructured) error {
	gk := it.ref.GroupVersion().WithKind(it.ref.Kind).GroupKind()
	if gk != jobGK && gk != podGK {
		return nil
	}
	ctx, cancel, bound := r.waitFor(ctx)
	defer cancel()
	state := "not started"
	var failure error
	err := wait.PollUntilContextCancel(ctx, hookPoll, true, func(ctx context.Context) (bool, error) {
		u := applied
		if u == nil {
			var err error
			if u, err = ri.Get(ctx, it.ref.Name, metav1.GetOptions{}); err != nil {
				return false, r.describe(it, "get", err)
			}
		}
		applied = nil
		var done bool
		done, state, failure = hookState(gk, u)
		return done, nil
	})
	switch {
	case failure != nil:
		return failure
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("did not complete within %s (%s): check its logs and events", bound, state)
	}
	return err
}

// hookState says whether a Job or Pod hook has completed, how it stands, and why it failed.
func hookState(gk schema.GroupKind, u *unstructured.Unstructured) (bool, string, error) {
	if gk == podGK {
		var pod corev1.Pod
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pod); err != nil {
			return false, "", fmt.Errorf("read its status: %w", err)
		}
		switch pod.Status.Phase {
		case corev1.PodSucceeded:
			return true, "Succeeded", nil
		case corev1.PodFailed:
			return true, "Failed", fmt.Errorf("pod failed: %s %s", pod.Status.Reason, pod.Status.Message)
		}
		return false, "phase " + string(pod.Status.Phase), nil
	}
	var job batchv1.Job
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &job); err != nil {
		return false, "", fmt.Errorf("read its status: %w", err)
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, "Complete", nil
		case batchv1.JobFailed:
			return true, "Failed", fmt.Errorf("job failed: %s: %s", c.Reason, c.Message)
		}
	}
	return false, fmt.Sprintf("%d active, %d succeeded, %d failed", job.Status.Active, job.Status.Succeeded, job.Status.Failed), nil
}

// deleteHook deletes obj, a hook object (its Pods with it, for a Job), and waits until it is
// gone. The delete is for that very object (its UID): not for one made since of that name.
func (r *run) deleteHook(ctx context.Context, ri dynamic.ResourceInterface, it *item, obj *unstructured.Unstructured) error {
	ctx, cancel := context.WithTimeout(ctx, r.e.waitOn)
	defer cancel()
	uid := obj.GetUID()
	background := metav1.DeletePropagationBackground
	err := ri.Delete(ctx, it.ref.Name, metav1.DeleteOptions{PropagationPolicy: &background, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return r.describe(it, "delete", err)
	}
	err = wait.PollUntilContextCancel(ctx, hookPoll, true, func(ctx context.Context) (bool, error) {
		u, err := ri.Get(ctx, it.ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return true, nil
		case err != nil:
			return false, r.describe(it, "get", err)
		}
		return u.GetUID() != uid, nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("the %s was not gone within %s: check its finalizers", it.ref.Kind, r.e.waitOn)
	}
	return err
}
