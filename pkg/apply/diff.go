package apply

import (
	"context"
	"encoding/json"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Action is what a sync would do to one object.
type Action string

// Actions of an ObjectDiff.
const (
	ActionCreate Action = "Create"
	ActionUpdate Action = "Update"
	ActionNone   Action = "None"
	ActionPrune  Action = "Prune"
)

// ObjectDiff is one object live and as a sync would leave it. Both sides have server-managed
// noise removed (managedFields, resourceVersion, generation, uid, creationTimestamp, status) and
// Secret values masked.
type ObjectDiff struct {
	Ref    ObjectRef `json:"ref"`
	Action Action    `json:"action"`
	// Live is the object in the cluster; nil if it does not exist.
	Live *unstructured.Unstructured `json:"live,omitempty"`
	// Desired is the object after the apply, as the apiserver's dry run returns it (defaults
	// and other managers' fields included); nil for Prune.
	Desired *unstructured.Unstructured `json:"desired,omitempty"`
	// Error says why the object could not be dry-run; Desired then is the rendered object (for
	// Prune, nil, and Live is nil if the object could not be read).
	Error string `json:"error,omitempty"`
	// Drift names the field managers (e.g. kubectl-edit) whose changes in the cluster a sync
	// removes or reverts.
	Drift []string `json:"drift,omitempty"`
}

// Diff compares each desired object with the cluster using a server-side-apply dry run as the
// request's ServiceAccount, and lists the objects a sync with req.Prune would delete. Nothing is
// written. Per-object problems are in ObjectDiff.Error; the error is for unusable requests.
func (e *Engine) Diff(ctx context.Context, req Request) ([]ObjectDiff, error) {
	req.DryRun = true
	r, err := e.newRun(&req)
	if err != nil {
		return nil, err
	}
	items := r.sync(ctx)
	out := make([]ObjectDiff, 0, len(items))
	for _, it := range items {
		d := ObjectDiff{Ref: it.ref, Live: e.mask.secret(normalize(it.live))}
		switch {
		case it.err != nil:
			d.Error = it.err.Error()
			d.Desired = e.mask.secret(normalize(it.obj))
			d.Action = ActionUpdate
			if it.read && it.live == nil {
				d.Action = ActionCreate
			}
		case it.live == nil:
			d.Action, d.Desired = ActionCreate, e.mask.secret(normalize(it.result))
		default:
			d.Desired = e.mask.secret(normalize(it.result))
			d.Action = ActionUpdate
			if equality.Semantic.DeepEqual(d.Live, d.Desired) {
				d.Action = ActionNone
			} else {
				d.Drift = it.drift
			}
		}
		out = append(out, d)
	}
	res := r.result(items)
	for _, p := range r.prune(ctx, items, res) {
		d := ObjectDiff{Ref: p.ref, Action: ActionPrune, Live: e.mask.secret(normalize(p.live))}
		if p.err != nil {
			// Still listed: a reviewer must see the deletion a sync would try, and why its dry
			// run failed.
			d.Error = p.err.Error()
		}
		out = append(out, d)
	}
	return out, nil
}

// serverNoise are metadata fields the apiserver maintains; they never count as a change.
var serverNoise = []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"}

// normalize returns a copy of u without server-maintained fields and status. nil stays nil.
func normalize(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	u = u.DeepCopy()
	for _, f := range serverNoise {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	if ann := u.GetAnnotations(); ann != nil {
		delete(ann, lastAppliedAnnotation)
		if len(ann) == 0 {
			ann = nil
		}
		u.SetAnnotations(ann)
	}
	delete(u.Object, "status")
	return u
}

// needsWrite reports whether applying for real would change the live object: its content
// differs from the dry run's, or the fields kube-gitops owns would change (the first apply to an
// object someone else created adopts its fields even if their values are already right).
func needsWrite(live, dryRun *unstructured.Unstructured) bool {
	if !equality.Semantic.DeepEqual(normalize(live).Object, normalize(dryRun).Object) {
		return true
	}
	return !equalJSON(ownedFields(live), ownedFields(dryRun))
}

// ownedFields returns the fields kube-gitops owns by apply in u, or nil.
func ownedFields(u *unstructured.Unstructured) []byte {
	for _, mf := range u.GetManagedFields() {
		if mf.Manager == FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.Subresource == "" && mf.FieldsV1 != nil {
			return mf.FieldsV1.GetRawBytes()
		}
	}
	return nil
}

// equalJSON compares two JSON documents by value; nil equals only nil.
func equalJSON(a, b []byte) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return equality.Semantic.DeepEqual(x, y)
}
