// Package apply makes rendered objects live with server-side apply, prunes what is no longer rendered, and diffs live against desired.
package apply

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

const (
	// FieldManager is the server-side-apply field manager of every write.
	FieldManager = "kube-gitops"
	// LabelManagedBy marks every applied object; its value is FieldManager.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// AnnotationOwner names the DesiredState ("<namespace>/<name>") that last applied an object.
	// It routes drift events and stops an app from pruning an object another app took over;
	// the inventory (Request.Previous) stays the authority on what an app owns.
	AnnotationOwner = "gitops.kube-gitops.dev/owner"
	// AnnotationPrune set to PruneDisabled on a live object keeps it from ever being pruned: when
	// it stops being rendered it is left in the cluster and dropped from the inventory.
	AnnotationPrune = "gitops.kube-gitops.dev/prune"
	// PruneDisabled is the value of AnnotationPrune that disables pruning.
	PruneDisabled = "disabled"

	// DefaultServiceAccount is the ServiceAccount objects are applied as when a Request names none.
	DefaultServiceAccount = "gitops"
	// DefaultWorkers bounds the requests an Engine has in flight at once.
	DefaultWorkers = 8
	// DefaultEstablishTimeout bounds the wait for applied CRDs to become Established.
	DefaultEstablishTimeout = 30 * time.Second
	// DefaultWaitTimeout bounds the wait for each sync wave to become Healthy and for each Helm
	// hook to complete (Helm's own default for hooks).
	DefaultWaitTimeout = 5 * time.Minute
	// waitTotal bounds all the waits of one Apply, in multiples of the per-wave WaitTimeout.
	waitTotal = 2
	// mapperResetInterval spaces out discovery refreshes caused by unknown kinds, so many apps
	// naming a kind whose CRD is missing do not flood the apiserver with discovery requests.
	mapperResetInterval = 5 * time.Second
)

// Options tune an Engine. The zero value is usable.
type Options struct {
	// Workers bounds the apiserver requests in flight across all concurrent Apply, Diff and prune
	// calls of the Engine. Default DefaultWorkers.
	Workers int
	// EstablishTimeout bounds the wait for applied CRDs to become Established. Default
	// DefaultEstablishTimeout.
	EstablishTimeout time.Duration
	// WaitTimeout bounds the wait for each sync wave but the last to become Healthy, and for
	// each Helm hook to complete. All the waits of one Apply together are bounded by twice
	// WaitTimeout: a sync with many waves or hooks must not hold its worker for their sum, and
	// one bound that scales with this flag keeps a single knob. Default DefaultWaitTimeout.
	WaitTimeout time.Duration
	// Mapper maps kinds to resources. Default: deferred discovery with the Engine's config,
	// reset when a kind is not found and after CRDs are applied.
	Mapper meta.ResettableRESTMapperWithContext
	// Live answers reads of live objects from a cache (pkg/live's informers) where it can; where
	// it cannot, and for the re-reads that follow a dry run which found the object newer, the
	// Engine GETs as the applying ServiceAccount. Default: every read is a GET.
	Live LiveCache
	// DriftManagers are patterns (as in path.Match) of the field managers whose changes a sync
	// removes or reverts, and a diff shows. nil means DefaultDriftManagers; empty, none.
	DriftManagers []string
}

// LiveCache reads live objects from a cache that may lag the cluster. The Engine trusts a hit
// only as far as a dry run confirms it: the dry run answers with the object's current
// resourceVersion, and if that is not the cached one the Engine reads the object again. A cache
// never answers "does not exist" (it may not hold every object), and prunes never ask it.
type LiveCache interface {
	// Cached returns the object as ServiceAccount as (namespace/name) may read it, managedFields
	// included, and true; or false when the cache cannot tell: the kind or namespace is not
	// watched as that identity, the cache is not filled yet, or it does not hold the object.
	// The object is the caller's to change.
	Cached(as types.NamespacedName, mapping *meta.RESTMapping, namespace, name string) (*unstructured.Unstructured, bool)
}

// Engine applies, prunes and diffs sets of objects. It is safe for concurrent use; one Engine
// serves every application of a server.
type Engine struct {
	config *rest.Config
	mapper meta.ResettableRESTMapperWithContext
	live   LiveCache
	slots  chan struct{} // one per request in flight
	wait   time.Duration
	waitOn time.Duration // per wave and per hook; all of one Apply's waits: waitTotal × it
	mask   *masker
	drift  []string // field-manager patterns whose changes a sync undoes

	mu      sync.Mutex
	clients map[string]dynamic.Interface // by "<namespace>/<serviceaccount>"

	resetMu   sync.Mutex
	lastReset time.Time
}

// New returns an Engine that talks to the cluster of config (the server's own identity, which
// must be allowed to impersonate the ServiceAccounts objects are applied as).
func New(config *rest.Config, opts Options) (*Engine, error) {
	if config == nil {
		return nil, errors.New("apply: a rest.Config is required")
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.EstablishTimeout <= 0 {
		opts.EstablishTimeout = DefaultEstablishTimeout
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = DefaultWaitTimeout
	}
	mapper := opts.Mapper
	if mapper == nil {
		dc, err := discovery.NewDiscoveryClientForConfig(config)
		if err != nil {
			return nil, fmt.Errorf("apply: create discovery client: %w", err)
		}
		mapper = restmapper.NewDeferredDiscoveryRESTMapperWithContext(memory.NewMemCacheClientWithContext(discovery.ToDiscoveryInterfaceWithContext(dc)))
	}
	if opts.DriftManagers == nil {
		opts.DriftManagers = DefaultDriftManagers
	}
	for _, p := range opts.DriftManagers {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return nil, fmt.Errorf("apply: drift field manager pattern %q is not a valid pattern (use e.g. kubectl*)", p)
		}
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("apply: create the Secret masking key: %w", err)
	}
	return &Engine{
		config:  rest.CopyConfig(config),
		mapper:  mapper,
		live:    opts.Live,
		slots:   make(chan struct{}, opts.Workers),
		wait:    opts.EstablishTimeout,
		waitOn:  opts.WaitTimeout,
		mask:    &masker{key: key},
		drift:   opts.DriftManagers,
		clients: map[string]dynamic.Interface{},
	}, nil
}

// Request is one application's desired objects and how to apply them.
type Request struct {
	// Owner is the DesiredState the objects belong to.
	Owner types.NamespacedName
	// Objects are the rendered, desired objects.
	Objects []*unstructured.Unstructured
	// Previous is the inventory of the last successful apply; objects in it that are no longer
	// desired are pruned when Prune is set.
	Previous []v1alpha1.ResourceStatus
	// ServiceAccount in Owner.Namespace that objects are applied as (by impersonation). Default
	// DefaultServiceAccount.
	ServiceAccount string
	// Prune deletes objects of Previous that are no longer desired.
	Prune bool
	// AllowEmpty lets an empty Objects prune everything in Previous.
	AllowEmpty bool
	// DryRun checks everything with the apiserver and writes nothing.
	DryRun bool
	// AllowOtherNamespaces lets objects target namespaces other than Owner.Namespace.
	AllowOtherNamespaces bool
	// Ignore names live fields the sync leaves as they are (spec.sync.ignore).
	Ignore []v1alpha1.IgnoreRule
	// Hooks are Helm hook objects (SplitHooks) that Apply runs around the objects: pre-*
	// before, post-* after, by weight, each waited to completion. They are not in the
	// inventory. Nil runs none (their release's hooks ran already). A dry run runs none.
	Hooks []*unstructured.Unstructured
	// Install runs the install hooks (the application never synced), else the upgrade hooks.
	Install bool
	// Removal runs the delete hooks: the application is being removed, and Objects is empty.
	Removal bool
	// PreHooksRan skips the pre-* hooks: they ran for this release, with its objects, and a
	// post-* hook failed after them (status.hooksDigest, HooksDigest). Only post-* ones run.
	PreHooksRan bool
}

// Result is what an Apply did.
type Result struct {
	// Resources is the new inventory: one entry per desired object, in the order of
	// Request.Objects, then the objects that should have been pruned but were not (they stay in
	// the inventory so a later sync prunes them).
	Resources []v1alpha1.ResourceStatus
	// Abandoned are objects no longer desired that were left in the cluster on purpose and
	// dropped from the inventory; each Message says why.
	Abandoned []v1alpha1.ResourceStatus
	// PruneSkipped says why nothing was pruned, if pruning was wanted and did not run.
	PruneSkipped string
	// Undone says whose changes in the cluster were undone (or, with DryRun, would be), one
	// entry per object, e.g. "Deployment apps/web (apps/v1): kubectl-edit, kubectl-set".
	Undone []string
	// Hooks says what each Helm hook that ran did, in order, e.g. "pre-upgrade Job apps/migrate
	// (batch/v1): succeeded, deleted (hook-succeeded)".
	Hooks []string
	// HookFailed says which hook failed and why, if one did; after a pre-* hook failed nothing
	// else was applied or pruned.
	HookFailed string
	// PreHooksDone says the pre-* hooks ran (or had, Request.PreHooksRan) and every object
	// applied: a retry of the release need only run its post-* hooks.
	PreHooksDone bool
	// Counts of objects. With DryRun, Changed and Pruned count what would change.
	Changed, Unchanged, Pruned, Failed int
}

// serviceAccount returns the ServiceAccount a request applies as.
func (r *Request) serviceAccount() string {
	if r.ServiceAccount == "" {
		return DefaultServiceAccount
	}
	return r.ServiceAccount
}

func (r *Request) validate() error {
	if r.Owner.Namespace == "" || r.Owner.Name == "" {
		return errors.New("apply: Request.Owner needs a namespace and a name")
	}
	return nil
}

// clientFor returns a dynamic client that impersonates the ServiceAccount sa in namespace ns.
// Clients share the Engine's connection pool (client-go caches TLS transports by TLS settings).
func (e *Engine) clientFor(ns, sa string) (dynamic.Interface, error) {
	k := ns + "/" + sa
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.clients[k]; ok {
		return c, nil
	}
	cfg := rest.CopyConfig(e.config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + sa}
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("apply: create a client for serviceaccount %s: %w", k, err)
	}
	e.clients[k] = c
	return c, nil
}

// acquire takes one of the Engine's request slots, or fails when ctx ends first.
func (e *Engine) acquire(ctx context.Context) error {
	select {
	case e.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) release() { <-e.slots }

// resetMapper drops cached discovery so that newly installed kinds are found. Unless force is
// set, it does nothing if the last reset was less than mapperResetInterval ago.
func (e *Engine) resetMapper(ctx context.Context, force bool) bool {
	e.resetMu.Lock()
	defer e.resetMu.Unlock()
	if !force && time.Since(e.lastReset) < mapperResetInterval {
		return false
	}
	e.mapper.ResetWithContext(ctx)
	e.lastReset = time.Now()
	return true
}
