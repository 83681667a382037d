// Package cached is the read side of the REST storage of resources served from a cache of the
// internal store (desiredstates, promotions): get, list, watch, tables, and 503 while it loads.
package cached

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// Object is a stored API object: a pointer to a type with ObjectMeta.
type Object interface {
	runtime.Object
	metav1.Object
}

// Lister is all the REST layer reads from the store (store.Cache satisfies it), so that storage
// is tested against a fake and never reaches into the store's internals.
type Lister[T Object] interface {
	// HasSynced reports whether the cache holds the full list yet.
	HasSynced() bool
	// Get returns the object namespace/name, shared with the cache: never change it.
	Get(namespace, name string) (T, bool)
	// List returns the objects of a namespace ("" for all) that match selector, and the
	// resourceVersion a watch continues from.
	List(namespace string, selector labels.Selector) ([]T, string)
	// Watch streams the changes of a namespace ("" for all) from opts.ResourceVersion.
	Watch(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error)
}
