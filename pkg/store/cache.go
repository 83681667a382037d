package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// Cache serves objects of type T projected from records of one internal resource: gets and lists
// come from an informer's memory, watches go to the host cluster from the caller's
// resourceVersion, so resourceVersion semantics (including 410 Gone for versions that are too
// old) are exactly the host cluster's, on every replica and after every restart.
type Cache[T metav1.Object] struct {
	client   dynamic.Interface
	resource schema.GroupVersionResource
	convert  func(*unstructured.Unstructured) (T, error)
	informer cache.SharedIndexInformer
}

func newCache[T metav1.Object](client dynamic.Interface, resource schema.GroupVersionResource, convert func(*unstructured.Unstructured) (T, error)) *Cache[T] {
	factory := dynamicinformer.NewDynamicSharedInformerFactory(client, 10*time.Minute)
	informer := factory.ForResource(resource).Informer()
	// Keep typed objects in the cache so that list does no conversion.
	_ = informer.SetTransform(func(obj any) (any, error) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			return convert(u)
		}
		return obj, nil
	})
	return &Cache[T]{client: client, resource: resource, convert: convert, informer: informer}
}

// Run fills and keeps the cache until ctx ends.
func (c *Cache[T]) Run(ctx context.Context) { c.informer.RunWithContext(ctx) }

// HasSynced reports whether the cache holds the full list.
func (c *Cache[T]) HasSynced() bool { return c.informer.HasSynced() }

// Informer exposes the cache for consumers that react to changes.
func (c *Cache[T]) Informer() cache.SharedIndexInformer { return c.informer }

// Get returns one object from the cache.
func (c *Cache[T]) Get(namespace, name string) (T, bool) {
	var zero T
	obj, ok, err := c.informer.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return zero, false
	}
	return obj.(T), true
}

// List returns the cached objects of a namespace ("" for all) that match the selector, sorted by
// namespace and name, and the resourceVersion the cache has reached, from which a watch continues.
func (c *Cache[T]) List(namespace string, selector labels.Selector) ([]T, string) {
	rv := c.informer.LastSyncResourceVersion()
	var items []any
	if namespace == "" {
		items = c.informer.GetStore().List()
	} else {
		items, _ = c.informer.GetIndexer().ByIndex(cache.NamespaceIndex, namespace)
	}
	out := make([]T, 0, len(items))
	for _, obj := range items {
		o := obj.(T)
		if selector == nil || selector.Matches(labels.Set(o.GetLabels())) {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].GetNamespace() != out[j].GetNamespace() {
			return out[i].GetNamespace() < out[j].GetNamespace()
		}
		return out[i].GetName() < out[j].GetName()
	})
	return out, rv
}

// Watch streams changes from the host cluster, converted from records.
func (c *Cache[T]) Watch(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	w, err := c.client.Resource(c.resource).Namespace(namespace).Watch(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", c.resource.Resource, err)
	}
	return watch.Filter(w, c.convertEvent), nil
}

func (c *Cache[T]) convertEvent(in watch.Event) (watch.Event, bool) {
	u, ok := in.Object.(*unstructured.Unstructured)
	if !ok {
		return in, true
	}
	if in.Type == watch.Error {
		status := &metav1.Status{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, status); err == nil {
			return watch.Event{Type: watch.Error, Object: status}, true
		}
		return in, true
	}
	obj, err := c.convert(u)
	if err != nil {
		return watch.Event{Type: watch.Error, Object: &metav1.Status{Status: metav1.StatusFailure, Message: err.Error()}}, true
	}
	ro, ok := any(obj).(runtime.Object)
	if !ok {
		return watch.Event{Type: watch.Error, Object: &metav1.Status{Status: metav1.StatusFailure, Message: "not a runtime.Object"}}, true
	}
	return watch.Event{Type: in.Type, Object: ro}, true
}
