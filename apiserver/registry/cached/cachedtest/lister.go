// Package cachedtest tests REST storage built on package cached: a fake Lister in memory and the
// checks every such resource passes (get, list, watch, tables, 503, 404, namespaces).
package cachedtest

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kube-gitops/kube-gitops/apiserver/registry/cached"
)

// Lister is a cached.Lister over objects in memory. Like the host cluster, it scopes gets, lists
// and watches to a namespace; unlike the cache, it leaves label selection to the REST layer, so
// that tests see the REST layer select. Events sent with Send reach every open watch.
type Lister[T cached.Object] struct {
	Synced          bool
	Objects         []T
	ResourceVersion string

	mu       sync.Mutex
	watchers []*watch.FakeWatcher
}

var _ cached.Lister[*metav1.PartialObjectMetadata] = &Lister[*metav1.PartialObjectMetadata]{}

// HasSynced reports Synced.
func (l *Lister[T]) HasSynced() bool { return l.Synced }

// Get returns the object namespace/name.
func (l *Lister[T]) Get(namespace, name string) (T, bool) {
	for _, obj := range l.Objects {
		if obj.GetNamespace() == namespace && obj.GetName() == name {
			return obj, true
		}
	}
	var zero T
	return zero, false
}

// List returns the objects of namespace ("" for all), whatever the selector, and ResourceVersion.
func (l *Lister[T]) List(namespace string, _ labels.Selector) ([]T, string) {
	var out []T
	for _, obj := range l.Objects {
		if namespace == "" || obj.GetNamespace() == namespace {
			out = append(out, obj)
		}
	}
	return out, l.ResourceVersion
}

// Watch returns a watch of namespace ("" for all) fed by Send.
func (l *Lister[T]) Watch(_ context.Context, namespace string, _ metav1.ListOptions) (watch.Interface, error) {
	w := watch.NewFakeWithChanSize(16, false)
	l.mu.Lock()
	l.watchers = append(l.watchers, w)
	l.mu.Unlock()
	return watch.Filter(w, func(ev watch.Event) (watch.Event, bool) {
		obj, ok := ev.Object.(T)
		return ev, !ok || namespace == "" || obj.GetNamespace() == namespace
	}), nil
}

// Send delivers an event to every open watch; their buffers hold 16 events.
func (l *Lister[T]) Send(ev watch.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range l.watchers {
		w.Action(ev.Type, ev.Object)
	}
}
