// Package live watches the objects kube-gitops applied (an informer per kind, namespace and
// identity), tells the sync loop of drift, and answers reads of them from its caches.
package live

import (
	"cmp"
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
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
)

// Live watches the objects kube-gitops applied, to heal drift and follow health without polling:
// one informer per kind and namespace, listing only objects labelled as managed by kube-gitops.
// A namespace's objects are read as the application's ServiceAccount (the namespace's opt-in lets
// the server impersonate it), so the server itself reads nothing in namespaces that did not opt
// in; cluster-scoped kinds are read with the server's own identity, which the install grants for
// the kinds it manages.
type Live struct {
	config *rest.Config
	server dynamic.Interface
	mapper meta.RESTMapper

	mu        sync.Mutex
	ctx       context.Context
	informers map[watchKey]*watched
	onChange  func(owner types.NamespacedName, drift bool)
	// driftManagers are the apply engine's (apply.Options.DriftManagers): their writes are drift.
	driftManagers []string
}

// watchKey is one informer: a kind in a namespace ("" for cluster-scoped kinds) read as an
// identity ("" for the server's own, else a ServiceAccount "<namespace>/<name>").
type watchKey struct {
	gvk       schema.GroupVersionKind
	namespace string
	identity  string
}

type watched struct {
	informer cache.SharedIndexInformer
	owners   map[types.NamespacedName]bool // the applications it is watched for
	stop     context.CancelFunc            // nil until started
	term     context.Context               // what it was started under
}

// ended reports whether w was started in a term of leadership that is over: an informer runs
// only once, so a new term watches afresh.
func (w *watched) ended() bool { return w.term != nil && w.term.Err() != nil }

// New returns a Live; the sync loop starts it. config is the server's own identity.
func New(config *rest.Config, mapper meta.RESTMapper) (*Live, error) {
	server, err := dynamic.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	return &Live{config: rest.CopyConfig(config), server: server, mapper: mapper, informers: map[watchKey]*watched{},
		driftManagers: apply.DefaultDriftManagers}, nil
}

// SetDriftManagers sets the field managers whose writes are drift, as the apply engine was given
// them (apply.Options.DriftManagers). Call it before Run.
func (l *Live) SetDriftManagers(patterns []string) {
	l.driftManagers = patterns
}

// OnChange sets what is called for a change of an applied object: with the application that
// owns it, and whether the change could be drift (not only a status update). Call it before Run.
func (l *Live) OnChange(fn func(owner types.NamespacedName, drift bool)) {
	l.onChange = fn
}

// Run starts the informers created so far and those created later, until ctx ends. It may be
// called again when this replica leads again: what the last term watched is then watched afresh.
func (l *Live) Run(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ctx = ctx
	for k, w := range l.informers {
		if w.ended() {
			delete(l.informers, k) // Track watches it again as its applications are synced
			continue
		}
		l.start(w)
	}
}

// start runs w's informer under its own context, so that a namespace can stop being watched.
// Called with l.mu held.
func (l *Live) start(w *watched) {
	if l.ctx == nil || w.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(l.ctx)
	w.stop, w.term = cancel, l.ctx
	go w.informer.RunWithContext(ctx)
}

// Track makes sure the kinds of resources are watched, for the application owner applied as
// ServiceAccount serviceAccount of its namespace.
func (l *Live) Track(owner types.NamespacedName, serviceAccount string, resources []v1alpha1.ResourceStatus) {
	for _, r := range resources {
		gvk := schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
		mapping, err := l.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			klog.V(2).InfoS("Cannot watch kind yet", "kind", gvk.String(), "err", err)
			continue
		}
		k := l.keyFor(owner, serviceAccount, r, mapping)
		l.mu.Lock()
		_, ok := l.informers[k]
		l.mu.Unlock()
		if !ok {
			l.watch(k, mapping)
		}
		l.mu.Lock()
		if w, ok := l.informers[k]; ok {
			w.owners[owner] = true
		}
		l.mu.Unlock()
	}
}

// keyFor picks the informer that reads r for owner.
func (l *Live) keyFor(owner types.NamespacedName, serviceAccount string, r v1alpha1.ResourceStatus, mapping *meta.RESTMapping) watchKey {
	gvk := schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return watchKey{gvk: gvk}
	}
	return watchKey{gvk: gvk, namespace: r.Namespace, identity: owner.Namespace + "/" + cmp.Or(serviceAccount, apply.DefaultServiceAccount)}
}

// Stop stops watching what is read as ServiceAccount serviceAccount of namespace, e.g. when the
// namespace's opt-in is revoked.
func (l *Live) Stop(namespace, serviceAccount string) {
	identity := namespace + "/" + cmp.Or(serviceAccount, apply.DefaultServiceAccount)
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, w := range l.informers {
		if k.identity == identity {
			if w.stop != nil {
				w.stop()
			}
			delete(l.informers, k)
		}
	}
}

// Drop stops watching for the applications drop matches (another replica syncs them now): an
// informer that no other application needs stops.
func (l *Live) Drop(drop func(owner types.NamespacedName) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, w := range l.informers {
		for owner := range w.owners {
			if drop(owner) {
				delete(w.owners, owner)
			}
		}
		if len(w.owners) == 0 {
			if w.stop != nil {
				w.stop()
			}
			delete(l.informers, k)
		}
	}
}

// Get returns the live object of r as owner sees it, from the cache. known is false while the
// cache is not filled yet and does not hold r (health then stays as it was). An object that
// another application applied last is reported as missing: an application's status never tells
// about objects that are not its own.
func (l *Live) Get(owner types.NamespacedName, serviceAccount string, r v1alpha1.ResourceStatus) (obj *unstructured.Unstructured, known bool) {
	gvk := schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
	mapping, err := l.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, false
	}
	l.mu.Lock()
	w, ok := l.informers[l.keyFor(owner, serviceAccount, r, mapping)]
	l.mu.Unlock()
	if !ok {
		return nil, false
	}
	k := r.Name
	if r.Namespace != "" {
		k = r.Namespace + "/" + r.Name
	}
	// An object in the store is as fresh as its last event, even before the first list is
	// done: the refresh its Add event asks for must see it.
	item, exists, err := w.informer.GetStore().GetByKey(k)
	if err != nil || !exists {
		return nil, w.informer.HasSynced()
	}
	u := item.(*unstructured.Unstructured)
	if o, ok := ownerOf(u); !ok || o != owner {
		return nil, true
	}
	return u, true
}

// Cached returns the live object the informer of its kind and namespace, read as ServiceAccount
// as (namespace/name), holds: what apply reads instead of a GET (apply.LiveCache). It cannot
// answer (false) for cluster-scoped kinds (watched as the server, not as the ServiceAccount a
// GET would be made as), for a kind or namespace not watched as that identity, before the
// informer's first list, or for an object it does not hold (it lists only labelled objects, and
// may lag a create). A hit may lag too; apply checks it against its dry run.
func (l *Live) Cached(as types.NamespacedName, mapping *meta.RESTMapping, namespace, name string) (*unstructured.Unstructured, bool) {
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return nil, false
	}
	l.mu.Lock()
	w, ok := l.informers[watchKey{gvk: mapping.GroupVersionKind, namespace: namespace, identity: as.String()}]
	running := ok && w.stop != nil && !w.ended() // start writes them under l.mu
	l.mu.Unlock()
	if !running || !w.informer.HasSynced() {
		return nil, false
	}
	item, exists, err := w.informer.GetStore().GetByKey(namespace + "/" + name)
	if err != nil || !exists {
		return nil, false
	}
	return item.(*unstructured.Unstructured).DeepCopy(), true
}

func (l *Live) watch(k watchKey, mapping *meta.RESTMapping) {
	client := l.server
	if k.identity != "" {
		cfg := rest.CopyConfig(l.config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + identityNamespace(k.identity) + ":" + identityName(k.identity)}
		c, err := dynamic.NewForConfig(cfg)
		if err != nil {
			klog.ErrorS(err, "Cannot create a client to watch", "kind", k.gvk.String(), "as", k.identity)
			return
		}
		client = c
	}
	inf := dynamicinformer.NewFilteredDynamicInformer(client, mapping.Resource, k.namespace, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = apply.LabelManagedBy + "=kube-gitops" }).Informer()
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		klog.V(2).InfoS("Watch of applied objects failed; retrying", "kind", k.gvk.String(), "namespace", k.namespace, "as", k.identity, "err", err)
	})
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		// An object first seen (the informer's first list, a create, a relist) may already be in
		// its final state, so no update follows: its health must be refreshed on this event.
		AddFunc:    func(obj any) { l.added(obj) },
		UpdateFunc: func(oldObj, newObj any) { l.changed(oldObj, newObj) },
		DeleteFunc: func(obj any) { l.deleted(obj) },
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.informers[k]; ok {
		return
	}
	w := &watched{informer: inf, owners: map[types.NamespacedName]bool{}}
	l.informers[k] = w
	l.start(w)
}

// changed routes an event to the object's owner; it is drift as apply.Drifted tells from the
// managed fields, so that a controller's writes (the Deployment controller's revision
// annotation, status) only refresh health. Without managed fields to tell by, it is drift unless
// only status and server bookkeeping (managedFields too: a take-over before an apply changes
// nothing else) changed. An
// object whose owner annotation was removed (e.g. with kubectl annotate) goes to the owner it
// had, which puts the annotation back. One that another application took over does not: if
// both render it, waking the first on each apply of the second would make them fight at once.
func (l *Live) changed(oldObj, newObj any) {
	if d, ok := newObj.(cache.DeletedFinalStateUnknown); ok {
		newObj = d.Obj
	}
	u, ok := newObj.(*unstructured.Unstructured)
	if !ok || l.onChange == nil {
		return
	}
	old, _ := oldObj.(*unstructured.Unstructured)
	drift := old == nil
	if old != nil {
		var known bool
		if drift, known = apply.Drifted(old, u, l.driftManagers); !known {
			drift = !apiequality.Semantic.DeepEqual(comparable(old), comparable(u))
		}
	}
	owner, ok := ownerOf(u)
	if ok {
		l.onChange(owner, drift)
	}
	if old == nil {
		return
	}
	if before, wasOwned := ownerOf(old); wasOwned && !ok {
		l.onChange(before, drift)
	}
}

// deleted routes a deleted object to its owner as drift, and forgets kube-gitops' last write
// of it, which no later event can match.
func (l *Live) deleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if u, ok := obj.(*unstructured.Unstructured); ok {
		apply.ForgetWrites(u.GetUID())
	}
	l.changed(nil, obj)
}

// added routes an object the informer sees for the first time to its owner as a health change:
// a Deployment that turned Available before the informer started (or before its create reached
// the cache) sends no later event. Not drift: an apply creates the objects it renders, and a
// missing object is seen at the apply or its deletion.
func (l *Live) added(obj any) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || l.onChange == nil {
		return
	}
	if owner, ok := ownerOf(u); ok {
		l.onChange(owner, false)
	}
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

func identityNamespace(identity string) string { ns, _, _ := cutOwner(identity); return ns }
func identityName(identity string) string      { _, name, _ := cutOwner(identity); return name }

// comparable is an object without status and server bookkeeping.
func comparable(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy()
	unstructured.RemoveNestedField(c.Object, "status")
	for _, f := range []string{"resourceVersion", "managedFields", "generation"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	return c.Object
}

var _ apply.LiveCache = (*Live)(nil)
