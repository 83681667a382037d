package controller

import (
	"context"
	"sync"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
)

// Live watches the objects kube-gitops applied, one shared informer per kind (only objects
// labelled as managed by kube-gitops are cached), to heal drift and follow health without
// polling.
type Live struct {
	client dynamic.Interface
	mapper meta.RESTMapper

	mu        sync.Mutex
	ctx       context.Context
	informers map[schema.GroupVersionKind]cache.SharedIndexInformer
	onChange  func(owner types.NamespacedName, drift bool)
}

// NewLive returns a Live; the Controller starts it.
func NewLive(client dynamic.Interface, mapper meta.RESTMapper) *Live {
	return &Live{client: client, mapper: mapper, informers: map[schema.GroupVersionKind]cache.SharedIndexInformer{}}
}

// Run starts the informers created so far and those created later, until ctx ends.
func (l *Live) Run(ctx context.Context) {
	l.mu.Lock()
	l.ctx = ctx
	for _, inf := range l.informers {
		go inf.RunWithContext(ctx)
	}
	l.mu.Unlock()
}

// Track makes sure the kinds of resources are watched.
func (l *Live) Track(_ types.NamespacedName, resources []v1alpha1.ResourceStatus) {
	for _, r := range resources {
		gvk := schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
		l.mu.Lock()
		_, ok := l.informers[gvk]
		l.mu.Unlock()
		if !ok {
			l.watch(gvk)
		}
	}
}

// Forget is called when an application is gone. Informers are shared by kind, so nothing stops.
func (l *Live) Forget(types.NamespacedName) {}

// Get returns the live object of r from the cache; known is false while its kind's cache is not
// filled yet (health then stays as it was).
func (l *Live) Get(r v1alpha1.ResourceStatus) (obj *unstructured.Unstructured, known bool) {
	l.mu.Lock()
	inf, ok := l.informers[schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}]
	l.mu.Unlock()
	if !ok || !inf.HasSynced() {
		return nil, false
	}
	k := r.Name
	if r.Namespace != "" {
		k = r.Namespace + "/" + r.Name
	}
	item, exists, err := inf.GetStore().GetByKey(k)
	if err != nil || !exists {
		return nil, true
	}
	return item.(*unstructured.Unstructured), true
}

func (l *Live) watch(gvk schema.GroupVersionKind) {
	mapping, err := l.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		klog.V(2).InfoS("Cannot watch kind yet", "kind", gvk.String(), "err", err)
		return
	}
	inf := dynamicinformer.NewFilteredDynamicInformer(l.client, mapping.Resource, metav1.NamespaceAll, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = apply.LabelManagedBy + "=kube-gitops" }).Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(oldObj, newObj any) { l.changed(oldObj, newObj) },
		DeleteFunc: func(obj any) { l.changed(nil, obj) },
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.informers[gvk]; ok {
		return
	}
	l.informers[gvk] = inf
	if l.ctx != nil {
		go inf.RunWithContext(l.ctx)
	}
}

// changed routes an event to the object's owner; it is drift unless only status and server
// bookkeeping changed.
func (l *Live) changed(oldObj, newObj any) {
	if d, ok := newObj.(cache.DeletedFinalStateUnknown); ok {
		newObj = d.Obj
	}
	u, ok := newObj.(*unstructured.Unstructured)
	if !ok || l.onChange == nil {
		return
	}
	owner, ok := ownerOf(u)
	if !ok {
		return
	}
	drift := true
	if old, ok := oldObj.(*unstructured.Unstructured); ok {
		drift = !apiequality.Semantic.DeepEqual(comparable(old), comparable(u))
	}
	l.onChange(owner, drift)
}

func ownerOf(u *unstructured.Unstructured) (types.NamespacedName, bool) {
	ns, name, ok := cutOwner(u.GetAnnotations()[apply.AnnotationOwner])
	return types.NamespacedName{Namespace: ns, Name: name}, ok
}

func cutOwner(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], i > 0 && i < len(s)-1
		}
	}
	return "", "", false
}

// comparable is an object without status and server bookkeeping.
func comparable(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy()
	unstructured.RemoveNestedField(c.Object, "status")
	for _, f := range []string{"resourceVersion", "managedFields", "generation"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	return c.Object
}
