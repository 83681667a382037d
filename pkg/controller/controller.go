// Package controller keeps each application's objects equal to its DesiredState: it renders the
// spec at the Git revision, applies it with server-side apply, prunes what Git dropped, heals
// drift, and writes sync, health and history into the DesiredState's status.
package controller

import (
	"context"
	"errors"
	"sync"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/appsource"
	"github.com/kube-gitops/kube-gitops/pkg/heartbeat"
	"github.com/kube-gitops/kube-gitops/pkg/live"
	"github.com/kube-gitops/kube-gitops/pkg/store"
	"github.com/kube-gitops/kube-gitops/pkg/tenancy"
)

// LiveObjects is what the loop needs of the watches of applied objects (pkg/live.Live).
type LiveObjects interface {
	// OnChange sets what is called for a change of an applied object.
	OnChange(fn func(owner types.NamespacedName, drift bool))
	// Run watches until ctx ends; it is called again for each term of leadership.
	Run(ctx context.Context)
	// Track watches the kinds of resources, as the application's ServiceAccount reads them.
	Track(owner types.NamespacedName, serviceAccount string, resources []v1alpha1.ResourceStatus)
	// Stop stops watching what is read as a ServiceAccount of namespace.
	Stop(namespace, serviceAccount string)
	// Get returns r's live object from the watches; known is false while they cannot tell.
	Get(owner types.NamespacedName, serviceAccount string, r v1alpha1.ResourceStatus) (obj *unstructured.Unstructured, known bool)
	// Drop stops watching for the applications drop matches, e.g. of a shard given up.
	Drop(drop func(owner types.NamespacedName) bool)
}

var _ LiveObjects = (*live.Live)(nil)

// Options configure a Controller.
type Options struct {
	Reader   *store.Reader
	Statuses *store.Statuses
	Sources  appsource.Sources
	Render   appsource.RenderFunc
	Engine   *apply.Engine
	Live     LiveObjects
	Events   record.EventRecorder
	// Tenancy decides whether an application's namespace may be managed; nothing is rendered,
	// applied or pruned for one it refuses.
	Tenancy tenancy.Checker
	// Workers is how many applications sync at once; the Engine bounds the requests.
	Workers int
	// Resync re-checks every application this often even without a change (drift the watches
	// missed, health).
	Resync time.Duration
	// HistoryLimit is how many past syncs the status keeps.
	HistoryLimit int
	// AllowOtherNamespaces lets applications create objects outside their own namespace.
	AllowOtherNamespaces bool
	// Replica names this replica in the log lines around each apply.
	Replica string
	// MayWrite, when set, is asked right before each apply or prune of an application (key
	// namespace/name) whether this replica may write it now: it still holds the Lease, or, once
	// sync work is sharded, the application's shard. An error skips the apply; it is retried.
	MayWrite func(app string) error
	// Heartbeat, when set, tells /livez whether the loop still turns (heartbeat.go).
	Heartbeat *heartbeat.Loop
	// Dependencies answers whether an app may wait on a DesiredState of another namespace
	// (gate.go); without it such a dependency holds the app as forbidden.
	Dependencies tenancy.DependencyChecker
	// Clock tells the time for sync windows; the real one when nil.
	Clock clock.PassiveClock
	// Shards, when set, splits the applications among the replicas (shards.go): this one syncs
	// only those of the shards it holds, each under its shard's term.
	Shards Shards
}

// Controller syncs applications. Only the replica holding the Lease runs it.
type Controller struct {
	Options
	qmu   sync.RWMutex // guards queue, which each term of leadership replaces
	queue *syncQueue
	waits *waitSlots // of the syncs that wait on health (waitslots.go)

	mu      sync.Mutex
	applied map[string]appliedState // what the last sync of each app applied
	written map[string]string       // resourceVersion of the last status this server wrote, by app
	held    map[string]bool         // automated sync held by the gate (gate.go), by app
	rootErr error                   // why the root repository cannot be read now, if so
}

// appliedState lets a re-check skip the apply when nothing can have changed.
type appliedState struct {
	revision string
	digest   string // of the rendered objects and the sync options
	at       time.Time
	drifted  bool // a watched object changed since
	differs  bool // the last compare found the cluster different: self-heal, once on, syncs
}

// New returns a Controller; call Run.
func New(opts Options) *Controller {
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Resync <= 0 {
		opts.Resync = 10 * time.Minute
	}
	if opts.HistoryLimit <= 0 {
		opts.HistoryLimit = 10
	}
	c := &Controller{
		Options: opts,
		queue:   newQueue(),
		waits:   newWaitSlots(opts.Workers),
		applied: map[string]appliedState{},
		written: map[string]string{},
	}
	opts.Live.OnChange(c.liveChanged)
	c.indexDependents()
	return c
}

// Run syncs until ctx ends.
//
// Run may be called again after ctx ended, when this replica leads again: each term starts with a
// new queue and forgets what the last term applied, since another replica may have synced since.
func (c *Controller) Run(ctx context.Context) {
	defer utilruntime.HandleCrash()
	queue := newQueue()
	c.qmu.Lock()
	c.queue.ShutDown()
	c.queue = queue
	c.qmu.Unlock()
	c.mu.Lock()
	c.applied = map[string]appliedState{}
	c.mu.Unlock()
	defer queue.ShutDown()
	reg, err := c.Reader.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.enqueue(obj) },
		UpdateFunc: func(oldObj, obj any) {
			if needsSync(oldObj, obj) {
				c.enqueue(obj)
			}
		},
		DeleteFunc: func(obj any) { c.enqueue(obj) },
	})
	if err != nil {
		klog.ErrorS(err, "Cannot watch DesiredStates")
		return
	}
	defer func() { _ = c.Reader.Informer().RemoveEventHandler(reg) }()
	stopDependencies := c.watchDependencies()
	defer stopDependencies()
	go c.Live.Run(ctx)
	go wait.UntilWithContext(ctx, func(context.Context) { c.EnqueueAll() }, c.Resync)
	go c.beatWhileIdle(ctx, queue)
	var wg sync.WaitGroup
	for i := 0; i < c.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.work(ctx, queue)
		}()
	}
	<-ctx.Done()
	queue.ShutDown()
	wg.Wait()
}

// EnqueueNamespace asks for a re-check of the applications of namespace, e.g. when its opt-in
// was given or revoked.
func (c *Controller) EnqueueNamespace(namespace string) {
	items, _ := c.Reader.List(namespace, nil)
	for _, ds := range items {
		c.add(key(ds.Namespace, ds.Name))
	}
}

// EnqueueAll asks for a re-check of every application, e.g. after a new commit of the root
// repository: files outside the DesiredState (a values file, a chart) may have changed.
func (c *Controller) EnqueueAll() {
	items, _ := c.Reader.List("", nil)
	for _, ds := range items {
		c.add(key(ds.Namespace, ds.Name))
	}
}

// SetRootError records the outcome of the last read of the root repository: while it fails,
// every application on it is marked Stale (and keeps its last synced state).
func (c *Controller) SetRootError(err error) {
	c.mu.Lock()
	changed := (c.rootErr == nil) != (err == nil) || err != nil && c.rootErr.Error() != err.Error()
	c.rootErr = err
	c.mu.Unlock()
	if changed {
		c.EnqueueAll()
	}
}

func (c *Controller) rootError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rootErr
}

func (c *Controller) enqueue(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if ds, ok := obj.(*v1alpha1.DesiredState); ok {
		c.add(key(ds.Namespace, ds.Name))
	}
}

// needsSync reports whether an update of a DesiredState can change what its sync does: its spec,
// labels or annotations, where it was read from, or a requested sync. The controller's own status
// writes (history, health, conditions) do not, so a failing sync does not retry in a tight loop.
func needsSync(oldObj, newObj any) bool {
	o, ok1 := oldObj.(*v1alpha1.DesiredState)
	n, ok2 := newObj.(*v1alpha1.DesiredState)
	if !ok1 || !ok2 {
		return true
	}
	return (o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil) ||
		!apiequality.Semantic.DeepEqual(o.Spec, n.Spec) ||
		!apiequality.Semantic.DeepEqual(o.Labels, n.Labels) ||
		!apiequality.Semantic.DeepEqual(o.Annotations, n.Annotations) ||
		o.Status.Source != n.Status.Source ||
		!apiequality.Semantic.DeepEqual(o.Status.Operation, n.Status.Operation) ||
		!apiequality.Semantic.DeepEqual(o.Status.Versions, n.Status.Versions)
}

// liveChanged is called by Live for a change of an applied object; drift says whether the
// change could be drift. Any other change (status, a controller's write) only refreshes health.
func (c *Controller) liveChanged(owner types.NamespacedName, drift bool) {
	k := owner.String()
	if drift {
		c.mu.Lock()
		if st, ok := c.applied[k]; ok {
			st.drifted = true
			c.applied[k] = st
		}
		c.mu.Unlock()
		c.add(k)
		return
	}
	if c.Shards == nil || c.Shards.Holds(k) {
		c.q().AddHealth(k)
	}
}

func (c *Controller) next(ctx context.Context, queue *syncQueue) bool {
	k, quit := queue.Get()
	if quit {
		return false
	}
	defer queue.Done(k)
	run := c.reconcile
	if queue.take(k) {
		run = c.refreshHealthOnly
	}
	if c.Shards != nil {
		term, done, held := c.Shards.Term(k)
		if !held { // the shard was given up since: its new holder syncs it
			queue.Forget(k)
			return true
		}
		defer done()
		ctx = term
	}
	if err := run(ctx, k); err != nil {
		if errors.Is(err, errRetry) {
			klog.V(2).InfoS("Sync failed; retrying with backoff", "desiredState", k, "reason", err)
		} else {
			klog.ErrorS(err, "Sync failed; retrying", "desiredState", k)
		}
		queue.AddRateLimited(k)
		return true
	}
	queue.Forget(k)
	return true
}

func key(namespace, name string) string { return namespace + "/" + name }

// q is the queue of the current term.
func (c *Controller) q() *syncQueue {
	c.qmu.RLock()
	defer c.qmu.RUnlock()
	return c.queue
}
