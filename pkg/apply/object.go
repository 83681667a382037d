package apply

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// ObjectRef names one object.
type ObjectRef struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String reads like "Deployment apps/web (apps/v1)".
func (r ObjectRef) String() string {
	name := r.Name
	if r.Namespace != "" {
		name = r.Namespace + "/" + r.Name
	}
	return fmt.Sprintf("%s %s (%s)", r.Kind, name, r.GroupVersion().String())
}

// GroupVersion returns the object's API group and version.
func (r ObjectRef) GroupVersion() schema.GroupVersion {
	return schema.GroupVersion{Group: r.Group, Version: r.Version}
}

// key identifies the object whatever API version names it.
func (r ObjectRef) key() string {
	return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}

func refOf(u *unstructured.Unstructured) ObjectRef {
	gvk := u.GroupVersionKind()
	return ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

func refOfStatus(s v1alpha1.ResourceStatus) ObjectRef {
	return ObjectRef{Group: s.Group, Version: s.Version, Kind: s.Kind, Namespace: s.Namespace, Name: s.Name}
}

func (r ObjectRef) status(sync v1alpha1.SyncStatusCode, health v1alpha1.HealthStatusCode, message string) v1alpha1.ResourceStatus {
	return v1alpha1.ResourceStatus{
		Group: r.Group, Version: r.Version, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name,
		Sync: sync, Health: health, Message: message,
	}
}

// Kinds applied before all others, in the first stage.
var (
	namespaceGK = schema.GroupKind{Kind: "Namespace"}
	crdGK       = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
)

// firstStage reports whether an object must exist before the others can be applied: Namespaces
// hold them and CRDs define their kinds.
func firstStage(gk schema.GroupKind) bool { return gk == namespaceGK || gk == crdGK }

// item is one desired object on its way through an apply or a diff.
type item struct {
	obj     *unstructured.Unstructured // the prepared copy sent to the apiserver
	ref     ObjectRef
	mapping *meta.RESTMapping
	err     error  // why the object cannot be applied; nil while all is well
	note    string // explains a dry run's verdict
	read    bool   // live was read (nil live then means it does not exist)

	action action
	live   *unstructured.Unstructured // before the apply; nil if it did not exist
	result *unstructured.Unstructured // after the apply (or as it would be, in a dry run)
	drift  []string                   // managers whose changes in the cluster the apply undoes
}

// action is what happened to one object.
type action int

const (
	actionNone       action = iota // not attempted
	actionCreated                  // created (or would be, in a dry run)
	actionConfigured               // changed (or would be)
	actionUnchanged                // already as desired: nothing written
	actionFailed
)

// prepare copies the desired objects, strips fields the server owns and marks them as ours. An
// object that cannot be applied at all gets an error.
func prepare(req *Request) []*item {
	owner := req.Owner.Namespace + "/" + req.Owner.Name
	items := make([]*item, 0, len(req.Objects))
	for i, o := range req.Objects {
		if o == nil {
			items = append(items, &item{ref: ObjectRef{Kind: "Unknown", Name: fmt.Sprintf("objects[%d]", i)}, err: fmt.Errorf("object %d is empty: fix the render", i)})
			continue
		}
		u := o.DeepCopy()
		for _, f := range []string{"resourceVersion", "uid", "generation", "managedFields", "selfLink", "creationTimestamp"} {
			unstructured.RemoveNestedField(u.Object, "metadata", f)
		}
		it := &item{obj: u, ref: refOf(u)}
		items = append(items, it)
		switch {
		case it.ref.Kind == "" || it.ref.Version == "":
			it.err = fmt.Errorf("object %d (%q) has no apiVersion or kind: fix the manifest", i, u.GetName())
			continue
		case u.GetName() == "":
			it.err = fmt.Errorf("%s %s has no metadata.name (generateName cannot be applied): set a name", u.GetAPIVersion(), it.ref.Kind)
			continue
		}
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelManagedBy] = FieldManager
		u.SetLabels(labels)
		ann := u.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[AnnotationOwner] = owner
		u.SetAnnotations(ann)
	}
	return items
}

// stages splits items into those applied first (Namespaces and CRDs) and the rest.
func stages(items []*item) (first, rest []*item) {
	for _, it := range items {
		if firstStage(it.ref.GroupVersion().WithKind(it.ref.Kind).GroupKind()) {
			first = append(first, it)
		} else {
			rest = append(rest, it)
		}
	}
	return first, rest
}

// resolve finds the resource of each item, defaults and checks its namespace, and refuses
// duplicates. A kind discovery does not know leads to one discovery refresh and a retry.
func (r *run) resolve(ctx context.Context, items []*item) {
	cache := map[schema.GroupVersionKind]*meta.RESTMapping{}
	errs := map[schema.GroupVersionKind]error{}
	for _, it := range items {
		if it.err != nil {
			continue
		}
		gvk := it.obj.GroupVersionKind()
		m, err := cache[gvk], errs[gvk]
		if m == nil && err == nil {
			m, err = r.e.mapping(ctx, gvk)
			cache[gvk], errs[gvk] = m, err
		}
		if err != nil {
			it.err = err
			if r.pendingKinds != nil {
				r.resolvePending(it)
			}
			continue
		}
		it.mapping = m
		r.placeNamespace(it)
	}
	for _, it := range items {
		if it.err != nil {
			continue
		}
		k := it.ref.key()
		if prev, dup := r.seen[k]; dup {
			it.err = fmt.Errorf("duplicate of object %s: the render produced it twice; remove one", prev.ref)
			continue
		}
		r.seen[k] = it
	}
}

// mapping returns the REST mapping of gvk, refreshing discovery once if the kind is unknown.
func (e *Engine) mapping(ctx context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := e.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) && e.resetMapper(ctx, false) {
		m, err = e.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, describeMappingError(gvk, err)
	}
	return m, nil
}

// placeNamespace defaults the namespace of a namespaced object to the owner's, clears it on a
// cluster-scoped one, and refuses other namespaces unless the request allows them.
func (r *run) placeNamespace(it *item) {
	if it.mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		it.obj.SetNamespace("")
		it.ref.Namespace = ""
		return
	}
	if it.obj.GetNamespace() == "" {
		it.obj.SetNamespace(r.req.Owner.Namespace)
	}
	it.ref.Namespace = it.obj.GetNamespace()
	it.err = r.checkNamespace(it.ref.Namespace)
}

// checkNamespace refuses a namespace other than the owner's unless the request allows them.
func (r *run) checkNamespace(ns string) error {
	if ns == r.req.Owner.Namespace || r.req.AllowOtherNamespaces {
		return nil
	}
	return fmt.Errorf("namespace %q is not the DesiredState's namespace %q: move the object to %q, or start the server with other namespaces allowed",
		ns, r.req.Owner.Namespace, r.req.Owner.Namespace)
}

// sortRefs orders references for stable output.
func sortRefs(refs []ObjectRef) {
	sort.Slice(refs, func(i, j int) bool { return refs[i].key() < refs[j].key() })
}
