package cached

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
)

// Resource says what the read side needs to know of one resource.
type Resource[T Object] struct {
	// Name names the resource in errors (404, 503).
	Name schema.GroupResource
	// NewList returns an empty list of the resource.
	NewList func() runtime.Object
	// Table renders it for kubectl get.
	Table Table[T]
	// Show is what the API shows of a stored object (a copy when it differs); nil shows it all.
	Show func(T) T
}

// REST serves get, list, watch and tables of one resource from a Lister. A resource's storage
// embeds it and adds what else it serves (New, names, create, refusals).
type REST[T Object] struct {
	lister   Lister[T]
	resource Resource[T]
}

// NewREST returns the read side of resource r, served from lister.
func NewREST[T Object](lister Lister[T], r Resource[T]) *REST[T] {
	if r.Show == nil {
		r.Show = func(obj T) T { return obj }
	}
	return &REST[T]{lister: lister, resource: r}
}

var (
	_ rest.Getter         = &REST[*metav1.PartialObjectMetadata]{}
	_ rest.Lister         = &REST[*metav1.PartialObjectMetadata]{}
	_ rest.Watcher        = &REST[*metav1.PartialObjectMetadata]{}
	_ rest.TableConvertor = &REST[*metav1.PartialObjectMetadata]{}
)

// NewList returns an empty list of the resource.
func (r *REST[T]) NewList() runtime.Object { return r.resource.NewList() }

// ConvertToTable renders one object or a list of them for kubectl get.
func (r *REST[T]) ConvertToTable(ctx context.Context, obj runtime.Object, opts runtime.Object) (*metav1.Table, error) {
	return r.resource.Table.ConvertToTable(ctx, obj, opts)
}

// Get returns one object of the request's namespace, as the API shows it.
func (r *REST[T]) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	obj, err := r.Find(ctx, name)
	if err != nil {
		return nil, err
	}
	return r.resource.Show(obj), nil
}

// Find returns one object of the request's namespace as stored, for the server's own use (such
// as subresources): 503 while the cache loads, 404 when there is none.
func (r *REST[T]) Find(ctx context.Context, name string) (T, error) {
	var zero T
	if err := r.ready(); err != nil {
		return zero, err
	}
	obj, ok := r.lister.Get(request.NamespaceValue(ctx), name)
	if !ok {
		return zero, apierrors.NewNotFound(r.resource.Name, name)
	}
	return obj, nil
}

// List returns the objects of the request's namespace ("" for all) that match its label and field
// selectors, with the resourceVersion a watch continues from.
func (r *REST[T]) List(ctx context.Context, opts *metainternalversion.ListOptions) (runtime.Object, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	selected := predicate(opts)
	items, rv := r.lister.List(request.NamespaceValue(ctx), selected.Label)
	shown := make([]runtime.Object, 0, len(items))
	for _, obj := range items {
		ok, err := selected.Matches(obj)
		if err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("select %s: %w", r.resource.Name, err))
		}
		if ok {
			shown = append(shown, r.resource.Show(obj))
		}
	}
	list := r.resource.NewList()
	if err := meta.SetList(list, shown); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("list %s: %w", r.resource.Name, err))
	}
	listMeta, err := meta.ListAccessor(list)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("list %s: %w", r.resource.Name, err))
	}
	listMeta.SetResourceVersion(rv)
	return list, nil
}

// Watch streams the changes of the request's namespace from the caller's resourceVersion, as the
// API shows them.
func (r *REST[T]) Watch(ctx context.Context, opts *metainternalversion.ListOptions) (watch.Interface, error) {
	out, err := watchOptions(opts)
	if err != nil {
		return nil, err
	}
	w, err := r.lister.Watch(ctx, request.NamespaceValue(ctx), out)
	if err != nil {
		return nil, err
	}
	return watch.Filter(w, func(ev watch.Event) (watch.Event, bool) {
		if obj, ok := ev.Object.(T); ok {
			ev.Object = r.resource.Show(obj)
		}
		return ev, true
	}), nil
}

// ready is a 503 until the cache holds the full list: an empty answer then would be a lie.
func (r *REST[T]) ready() error {
	if !r.lister.HasSynced() {
		return apierrors.NewServiceUnavailable(fmt.Sprintf("%s are still loading from the internal store; retry in a few seconds", r.resource.Name.Resource))
	}
	return nil
}
