package app

import (
	"context"
	"io/fs"
	"os"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/record"

	"github.com/kube-gitops/kube-gitops/apiserver"
	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/appsource"
	"github.com/kube-gitops/kube-gitops/pkg/automation"
	"github.com/kube-gitops/kube-gitops/pkg/controller"
	"github.com/kube-gitops/kube-gitops/pkg/leader"
	"github.com/kube-gitops/kube-gitops/pkg/live"
	"github.com/kube-gitops/kube-gitops/pkg/metrics"
	"github.com/kube-gitops/kube-gitops/pkg/preview"
	"github.com/kube-gitops/kube-gitops/pkg/promote"
	"github.com/kube-gitops/kube-gitops/pkg/refresh"
	"github.com/kube-gitops/kube-gitops/pkg/render"
	"github.com/kube-gitops/kube-gitops/pkg/shard"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/pkg/store"
	"github.com/kube-gitops/kube-gitops/pkg/tenancy"
	"github.com/kube-gitops/kube-gitops/pkg/versions"
	"github.com/kube-gitops/kube-gitops/pkg/writeback"
)

// components are the parts of the server, wired once: data flows Git → source → desired →
// store → API, and store → controller → cluster.
type components struct {
	replica    string          // this replica's identity: in the Lease and around each apply
	elector    *leader.Elector // nil without --leader-elect
	shards     *shard.Manager  // nil unless --sync-shards is above 1
	root       *source.Fetcher // the root repository
	requests   *refresh.Requests
	kube       kubernetes.Interface
	reader     *store.Reader
	statuses   *store.Statuses
	sources    *store.SourceRecords
	preview    *preview.Preview
	revisions  appsource.GitSources // checks a sync's revision at request time
	published  *appsource.Published // the root revisions the sync loop may use, with their records
	controller *controller.Controller
	loop       *refresh.Loop
	refreshNow chan struct{} // a verified push webhook asks the loop to read Git now
	tenancy    *tenancy.Gate

	promotions       *store.Promotions
	promotionRecords *store.PromotionRecords
	promoter         *promote.Promoter
	automation       *automation.Automation
}

func (o *Options) components(ctx context.Context, clientConfig *rest.Config, beats heartbeats) (*components, error) {
	hostConfig := rest.CopyConfig(clientConfig)
	// No client-side rate limit: writers are bounded by their worker pools, and the host
	// cluster's API Priority and Fairness protects it. client-go's default 5 QPS would make
	// publishing 1,000 DesiredStates take minutes.
	hostConfig.QPS = -1
	kube, err := kubernetes.NewForConfig(hostConfig)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(hostConfig)
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(hostConfig)
	if err != nil {
		return nil, err
	}
	if err := store.WaitForCRDs(ctx, disco, time.Minute); err != nil {
		return nil, err
	}
	user, groups, err := tenancy.WhoAmI(ctx, kube)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	replica := replicaIdentity()
	var elector *leader.Elector
	if o.LeaderElect {
		elector, err = leader.New(leader.Config{Client: kube.CoordinationV1(), Namespace: o.Namespace, Name: o.LeaseName, Identity: replica,
			LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod})
		if err != nil {
			return nil, err
		}
	}
	shards, err := o.shardManager(kube, replica)
	if err != nil {
		return nil, err
	}
	// The apply engine's requests of the leader's work are sent only while this replica surely
	// holds the Lease; previews use it on every replica, with contexts of their own, and pass.
	fenced := fencedConfig(hostConfig, elector)
	// Apply reads live objects from the sync loop's watches where they can answer.
	watches, err := live.New(hostConfig, mapper)
	if err != nil {
		return nil, err
	}
	watches.SetDriftManagers(o.DriftManagers)
	engine, err := apply.New(fenced, apply.Options{Workers: o.ApplyWorkers, WaitTimeout: o.SyncWaitTimeout, Mapper: mapper, DriftManagers: o.DriftManagers, Live: watches})
	if err != nil {
		return nil, err
	}
	// The store's writes go through the fence too: the Lease holder's (DesiredState records,
	// statuses and inventories, the SourceRecord, Promotion statuses) are refused once it no
	// longer surely holds the Lease, so that a paused ex-leader cannot overwrite what the new
	// one wrote. The same writers serve the API on every replica (a user's sync request or
	// Promotion): those requests' contexts are not the leader's work, and pass.
	storeDyn, err := dynamic.NewForConfig(fenced)
	if err != nil {
		return nil, err
	}

	rootAuth := o.gitAuth(kube.CoreV1())
	root := source.NewFetcher(source.Repo{URL: o.Repo, Ref: o.Ref, Auth: rootAuth}, o.GitTimeout)
	pool := source.NewPool(o.GitTimeout, source.OnlyFor(o.Repo, rootAuth)) // not to other repositories on its host
	pool.Add(root)
	sources := appsource.GitSources{Pool: pool, RootURL: o.Repo, RootRef: o.Ref}
	// Helm's .Capabilities.KubeVersion is the host cluster's, so charts that check it render.
	kubeVersion := ""
	if v, err := disco.ServerVersion(); err == nil {
		kubeVersion = v.GitVersion
	}
	renderer := render.New(render.Options{Timeout: o.RenderTimeout, KubeVersion: kubeVersion, Egress: o.egress(),
		Workers: o.RenderWorkers, WorkerMemoryLimit: o.RenderMemoryLimit.Value(), IndexTTL: o.RegistryCacheTTL})
	renderFn := func(ctx context.Context, ds *v1alpha1.DesiredState, files fs.FS) ([]*unstructured.Unstructured, error) {
		return renderer.Render(ctx, render.Request{Name: ds.Name, Namespace: ds.Namespace, Spec: ds.Spec, Files: files})
	}
	// The sync loop re-renders only applications whose inputs changed; previews, at any
	// revision, render afresh and leave its cache alone.
	syncRenderer := render.Cached(renderer, 0)
	syncRenderFn := func(ctx context.Context, ds *v1alpha1.DesiredState, files fs.FS) ([]*unstructured.Unstructured, error) {
		return syncRenderer.Render(ctx, render.Request{Name: ds.Name, Namespace: ds.Namespace, Spec: ds.Spec, Files: files})
	}

	c := &components{kube: kube, reader: store.NewReader(dyn), statuses: store.NewStatuses(storeDyn), sources: store.NewSourceRecords(storeDyn, o.Namespace)}
	c.replica, c.elector, c.shards, c.root = replica, elector, shards, root
	// A replica that does not lead asks the leader to read Git with a write of its own: never
	// fenced.
	c.requests = &refresh.Requests{Client: dyn, Namespace: o.Namespace, Environment: o.Environment, Replica: c.replica}
	c.revisions = sources
	// Opt-ins given or revoked re-check the namespace's applications at once; the gate is
	// created before the controller it notifies, so the callback reads c.controller late.
	c.tenancy = tenancy.New(tenancy.Options{
		Kube: kube, ServerNamespace: o.Namespace, ServerUser: user, ServerGroups: groups,
		AllowProtected: o.ManageProtectedNamespaces,
		OnChange: func(ns string) {
			if c.controller != nil {
				c.controller.EnqueueNamespace(ns)
			}
		},
	})
	// Previews of other revisions leave a render worker to the sync loop.
	c.preview = preview.New(preview.Options{Sources: sources, Render: renderFn, Engine: engine,
		AllowOtherNamespaces: o.AllowOtherNamespaces, MaxRevisionPreviews: max(1, o.RenderWorkers-1), Tenancy: c.tenancy})
	events := o.eventRecorder(ctx, kube)
	var split controller.Shards // a nil *shard.Manager would be a non-nil interface
	// A sync renders a DesiredState's spec only with the files of the commit it came from: those
	// of the newest revision whose records this replica's cache holds.
	c.published = appsource.NewPublished(func() {
		if c.controller != nil {
			c.controller.EnqueueAll()
		}
	})
	gated := sources
	gated.Published = c.published
	var syncSources appsource.Sources = gated
	if shards != nil {
		split = shards
		syncSources = &followingSources{GitSources: gated, root: root, leading: c.leading, fetched: map[string]bool{}}
	}
	c.controller = controller.New(controller.Options{
		Reader: c.reader, Statuses: c.statuses, Sources: syncSources, Render: syncRenderFn, Engine: engine,
		Live: watches, Events: events, Workers: o.SyncWorkers, Tenancy: c.tenancy, Dependencies: c.tenancy,
		AllowOtherNamespaces: o.AllowOtherNamespaces,
		Replica:              c.replica, MayWrite: c.mayWrite, Heartbeat: beats.sync, Shards: split,
	})
	c.refreshNow = make(chan struct{}, 1)
	records := store.NewWriter(storeDyn, c.reader, 16)
	records.Guard = store.RemovalGuard{Share: float64(o.RemovalGuardPercent) / 100, Min: o.RemovalGuardMin}
	c.loop = &refresh.Loop{
		Trigger:     c.refreshNow,
		Fetcher:     root,
		Path:        o.Path,
		Environment: o.Environment,
		Namespace:   o.Namespace,
		Reader:      c.reader,
		Writer:      records,
		Sources:     c.sources,
		Events:      events,
		Interval:    o.PollInterval,
		OnRevision:  c.controller.EnqueueAll,
		Publishing:  c.published.Publishing,
		Published:   c.published.Publish,
		OnFetch:     c.controller.SetRootError,
		Heartbeat:   beats.refresh,
	}
	writer, err := writeback.NewWriter(o.Repo, o.Ref, rootAuth, writeback.Options{
		Committer: writeback.Signature{Name: o.GitAuthorName, Email: o.GitAuthorEmail},
		// Write-backs run on the Lease holder only; a push is refused once that is not sure.
		MayPush: c.holdsLease})
	if err != nil {
		return nil, err
	}
	c.promotions = store.NewPromotions(storeDyn)
	c.promotionRecords = store.NewPromotionRecords(storeDyn)
	c.promoter = promote.New(promote.Options{
		Promotions: c.promotions, Records: c.promotionRecords, Reader: c.reader, Root: root, Tenancy: c.tenancy,
		Path: o.Path, Environment: o.Environment, Writer: writer, OnCommit: c.refreshSoon,
		Heartbeat: beats.promotions,
	})
	imageOptions := versions.ImageOptions{Egress: o.egress(), CacheTTL: o.RegistryCacheTTL}
	c.automation = automation.New(automation.Options{
		Reader: c.reader, Statuses: c.statuses, Writer: writer, Tenancy: c.tenancy,
		Images: versions.NewImages(imageOptions), ImageOptions: imageOptions,
		Charts: versions.NewCharts(versions.ChartOptions{ImageOptions: imageOptions}),
		// Pull secrets are read as each DesiredState's ServiceAccount, never as the server.
		SecretsAs:   automation.ImpersonatingSecrets(hostConfig),
		Environment: o.Environment, DefaultInterval: o.VersionInterval,
		OnCommit:  c.refreshSoon,
		Heartbeat: beats.automation,
	})
	metrics.Register()
	// The per-app status gauges read the status the controller wrote, from every replica's cache.
	metrics.RegisterDesiredStates(func() []*v1alpha1.DesiredState {
		all, _ := c.reader.List("", nil)
		return all
	})
	return c, nil
}

// replicaIdentity names this process: host name (the Pod's) and a random part, new at each start.
func replicaIdentity() string {
	host, _ := os.Hostname()
	return host + "_" + uuid.NewString()
}

func (o *Options) gitAuth(secrets typedcorev1.SecretsGetter) func(context.Context) (transport.AuthMethod, error) {
	if o.GitCredentialsSecret != "" {
		return source.SecretAuth(o.Repo, secrets, o.Namespace, o.GitCredentialsSecret)
	}
	return source.FileAuth(o.Repo, o.GitUsername, o.GitPasswordFile, o.GitSSHKeyFile, o.GitKnownHostsFile)
}

func (o *Options) eventRecorder(ctx context.Context, kube kubernetes.Interface) record.EventRecorder {
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	return broadcaster.NewRecorder(apiserver.Scheme, corev1.EventSource{Component: "gitops-apiserver"})
}
