package app

import (
	"context"
	"errors"
	"io/fs"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/appsource"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
	"github.com/kube-gitops/kube-gitops/pkg/shard"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// shardManager returns the shards' Leases with --sync-shards above 1, or nil: then the main
// Lease holder syncs every application.
func (o *Options) shardManager(kube kubernetes.Interface, replica string) (*shard.Manager, error) {
	if !o.LeaderElect || o.SyncShards <= 1 {
		return nil, nil
	}
	return shard.New(shard.Config{Client: kube.CoordinationV1(), Namespace: o.Namespace, Name: o.LeaseName, Identity: replica,
		Shards: o.SyncShards, LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod})
}

// syncShards runs, on every replica, the sync loop for the shards this replica holds, until ctx
// ends and the shards are given up. The main Lease holder reads Git and publishes the records;
// the other replicas follow the revision it read through the SourceRecord.
func (s *Server) syncShards(ctx context.Context) {
	c := s.c
	if !waitSynced(ctx, c.reader) || !waitSynced(ctx, c.tenancy) {
		return
	}
	s.beats.sync.Expect(true)
	defer s.beats.sync.Expect(false)
	done := make(chan struct{})
	go func() { defer close(done); c.controller.Run(ctx) }()
	go s.followRoot(ctx, c.requests.Client)
	c.shards.Run(ctx,
		func(i int) { c.controller.Gained(func(app string) bool { return c.shards.Shard(app) == i }) },
		func(i int) { c.controller.Lost(func(app string) bool { return c.shards.Shard(app) == i }) })
	<-done
}

// followRoot keeps, on a replica that does not hold the main Lease, the root repository at the
// revision the holder last read, and the root's read error, from the SourceRecord: its syncs
// render the same commit, and say Stale when Git cannot be read. The holder's own refresh loop
// does both for it.
func (s *Server) followRoot(ctx context.Context, dyn dynamic.Interface) {
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, s.opts.Namespace, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", s.opts.Environment).String()
	})
	informer := factory.ForResource(store.SourcesResource).Informer()
	seen := "" // the read (revision@records resourceVersion) last followed; the handler runs in one goroutine
	follow := func(obj any) {
		if s.c.leading() {
			return
		}
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		var st store.SourceState
		status, _, _ := unstructured.NestedMap(u.Object, "status")
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(status, &st); err != nil {
			return
		}
		if ready := meta.FindStatusCondition(st.Conditions, store.SourceReady); ready != nil && ready.Status == metav1.ConditionFalse {
			s.c.controller.SetRootError(errors.New(ready.Message))
		} else {
			s.c.controller.SetRootError(nil)
		}
		// A read of the same commit may have written records too (a namespace created since).
		read := st.Revision + "@" + st.RecordsResourceVersion
		if st.Revision == "" || read == seen {
			return
		}
		snap, err := s.rootAt(ctx, st.Revision)
		if err != nil {
			klog.ErrorS(err, "Cannot read the revision the Lease holder published; retrying at its next write", "revision", st.Revision)
			return
		}
		seen = read
		s.c.published.Publish(snap, st.RecordsResourceVersion)
		s.c.controller.EnqueueAll() // files a DesiredState refers to may have changed
	}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    follow,
		UpdateFunc: func(_, obj any) { follow(obj) },
	}); err != nil {
		klog.ErrorS(err, "Cannot follow the SourceRecord; this replica's shards sync at the revision it read last")
		return
	}
	informer.RunWithContext(ctx)
}

// rootAt returns the snapshot of revision of the root repository: the last fetched, the tip, or,
// when the tip has moved on since the holder read it, that commit of the tracked history.
func (s *Server) rootAt(ctx context.Context, revision string) (*source.Snapshot, error) {
	if last := s.c.root.Last(); last != nil && last.Revision == revision { // a sync may have fetched it already
		return last, nil
	}
	snap, err := s.c.root.Fetch(ctx)
	if err != nil || snap.Revision == revision {
		return snap, err
	}
	return s.c.root.FetchTracked(ctx, revision)
}

// followingSources are the sources of a replica's sync loop with sharding: a replica that does
// not read Git (the main Lease holder does) may see a DesiredState record, published at a new
// commit, before the SourceRecord that names the commit: Current then fetches the root first,
// once per commit a record names, and when that commit is the tip, it waits for the SourceRecord
// (Published.Publishing), so that the record is never rendered at an older commit than its own.
type followingSources struct {
	appsource.GitSources
	root    *source.Fetcher
	leading func() bool

	mu      sync.Mutex
	fetched map[string]bool // revisions of records the root was fetched for since
}

func (f *followingSources) Current(ctx context.Context, ds *v1alpha1.DesiredState) (fs.FS, string, error) {
	if rev := ds.Status.Source.Revision; f.Root(ds) && rev != "" && !f.leading() {
		// One fetch at a time: the others wait for it rather than render the older commit.
		f.mu.Lock()
		if rev != f.Published.Revision() && !f.fetched[rev] {
			tip, err := f.root.Fetch(ctx)
			if err != nil {
				f.mu.Unlock()
				return nil, "", redact.Error(err)
			}
			if tip.Revision == rev { // else rev is an older commit, or one published over since
				f.Published.Publishing(rev)
			}
			if len(f.fetched) > 4096 {
				f.fetched = map[string]bool{}
			}
			f.fetched[rev] = true
		}
		f.mu.Unlock()
	}
	return f.GitSources.Current(ctx, ds)
}
