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
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// Reader serves DesiredStates from an informer on the records: gets and lists come from memory,
// watches go to the host cluster from the caller's resourceVersion, so resourceVersion semantics
// (including 410 Gone for versions that are too old) are exactly the host cluster's.
type Reader struct {
	client   dynamic.Interface
	informer cache.SharedIndexInformer
}

// NewReader returns a Reader; call Run to fill its cache.
func NewReader(client dynamic.Interface) *Reader {
	factory := dynamicinformer.NewDynamicSharedInformerFactory(client, 10*time.Minute)
	informer := factory.ForResource(RecordsResource).Informer()
	// Keep typed DesiredStates in the cache so that list does no conversion.
	_ = informer.SetTransform(func(obj any) (any, error) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			return FromRecord(u)
		}
		return obj, nil
	})
	return &Reader{client: client, informer: informer}
}

// Run fills and keeps the cache until ctx ends.
func (r *Reader) Run(ctx context.Context) { r.informer.RunWithContext(ctx) }

// HasSynced reports whether the cache holds the full list.
func (r *Reader) HasSynced() bool { return r.informer.HasSynced() }

// Informer exposes the cache for consumers that react to changes (the writer, the sync loop).
func (r *Reader) Informer() cache.SharedIndexInformer { return r.informer }

// Get returns one DesiredState from the cache.
func (r *Reader) Get(namespace, name string) (*v1alpha1.DesiredState, bool) {
	obj, ok, err := r.informer.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return nil, false
	}
	return obj.(*v1alpha1.DesiredState), true
}

// List returns the cached DesiredStates of a namespace ("" for all) that match the selector, and
// the resourceVersion the cache has reached, from which a watch continues.
func (r *Reader) List(namespace string, selector labels.Selector) ([]*v1alpha1.DesiredState, string) {
	rv := r.informer.LastSyncResourceVersion()
	var items []any
	if namespace == "" {
		items = r.informer.GetStore().List()
	} else {
		items, _ = r.informer.GetIndexer().ByIndex(cache.NamespaceIndex, namespace)
	}
	out := make([]*v1alpha1.DesiredState, 0, len(items))
	for _, obj := range items {
		s := obj.(*v1alpha1.DesiredState)
		if selector == nil || selector.Matches(labels.Set(s.Labels)) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out, rv
}

// Watch streams changes of DesiredStates from the host cluster, converted from records.
func (r *Reader) Watch(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	w, err := r.client.Resource(RecordsResource).Namespace(namespace).Watch(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("watch DesiredStateRecords: %w", err)
	}
	return watch.Filter(w, convertEvent), nil
}

func convertEvent(in watch.Event) (watch.Event, bool) {
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
	s, err := FromRecord(u)
	if err != nil {
		return watch.Event{Type: watch.Error, Object: &metav1.Status{Status: metav1.StatusFailure, Message: err.Error()}}, true
	}
	return watch.Event{Type: in.Type, Object: s}, true
}
