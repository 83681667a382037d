package appsource

import (
	"errors"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// ErrNotInCache is returned by Current while this replica's cache does not yet hold the
// DesiredState records of the root revision whose files it would sync from: the sync waits (it is
// woken when the cache catches up), so that a spec of one commit never meets the files of another.
var ErrNotInCache = errors.New("the DesiredState records of the root repository's revision are not in this replica's cache yet")

// Published pairs the root repository's published revisions with the records written for them.
// The refresh loop (or, on a replica that does not read Git, the SourceRecord) says which
// revision is published and the latest resourceVersion of the record writes up to it; the sync
// loop's cache of records says how far it has got. A sync uses the files of the newest published
// revision the cache has reached, and never those of a revision older than its DesiredState's
// own (status.source.revision): it waits instead. Two snapshots are kept at most.
type Published struct {
	wake func()

	mu      sync.Mutex
	cur     *publication    // the newest published revision
	prev    *publication    // the one before, used while the cache has not reached cur
	pending map[string]bool // revisions whose records were being written since the last Publish
	seen    uint64          // the latest record resourceVersion the cache has taken in
	waiting bool            // a sync found no revision it could use: wake the sync loop when one opens
	badRV   bool            // resourceVersions are not numbers: every published revision is open
}

type publication struct {
	snap    *source.Snapshot
	records uint64
}

// NewPublished returns a Published that calls wake (asynchronously, to re-check every
// application) when a sync had to wait and the cache has caught up.
func NewPublished(wake func()) *Published {
	return &Published{wake: wake}
}

// Watch follows the resourceVersions the records cache takes in. The informer has synced: its
// list's resourceVersion counts as seen, for a record written at the threshold and gone since.
func (p *Published) Watch(informer cache.SharedIndexInformer) error {
	p.observe(informer.LastSyncResourceVersion())
	// A handler runs after the informer's store holds the event: what it sees, Get returns.
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.observeObject,
		UpdateFunc: func(_, obj any) { p.observeObject(obj) },
		DeleteFunc: p.observeObject,
	})
	return err
}

func (p *Published) observeObject(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if o, ok := obj.(metav1.Object); ok {
		p.observe(o.GetResourceVersion())
	}
}

func (p *Published) observe(rv string) {
	n, err := store.ParseResourceVersion(rv)
	p.mu.Lock()
	if err != nil {
		p.noteBadResourceVersion(err)
	} else if n > p.seen {
		p.seen = n
	}
	wake := p.opened()
	p.mu.Unlock()
	if wake {
		p.wake()
	}
}

// Publishing says that the records of revision are being written: a DesiredState the cache
// already shows at revision waits for its files, even if that write fails and a later revision
// is published instead.
func (p *Published) Publishing(revision string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil && p.cur.snap.Revision == revision {
		return
	}
	if p.pending == nil || len(p.pending) >= maxPending {
		p.pending = map[string]bool{}
	}
	p.pending[revision] = true
}

// maxPending bounds the revisions remembered between two publications (each failed publish of
// a new commit adds one).
const maxPending = 64

// Publish says that every record of snap's revision is written, the latest at resourceVersion
// records (or earlier, for a revision that changed none).
func (p *Published) Publish(snap *source.Snapshot, records string) {
	n, err := store.ParseResourceVersion(records)
	p.mu.Lock()
	if err != nil {
		p.noteBadResourceVersion(err)
	}
	next := &publication{snap: snap, records: n}
	switch {
	case p.cur == nil:
		p.cur = next
	case p.cur.snap.Revision == snap.Revision:
		p.cur.records = max(p.cur.records, n) // a read of the same commit that wrote more
	default:
		p.prev, p.cur = p.cur, next
	}
	// Every record now has the content of snap's revision, also those written for a revision
	// whose publication failed: none of them waits any more.
	p.pending = nil
	wake := p.opened()
	p.mu.Unlock()
	if wake {
		p.wake()
	}
}

// Revision returns the newest published revision, "" before the first.
func (p *Published) Revision() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return ""
	}
	return p.cur.snap.Revision
}

// Snapshot returns the files ds is synced from, or ErrNotInCache.
func (p *Published) Snapshot(ds *v1alpha1.DesiredState) (*source.Snapshot, error) {
	own := ds.Status.Source.Revision // the commit that last changed ds in Git, "" if unknown
	p.mu.Lock()
	defer p.mu.Unlock()
	if own != "" && p.pending[own] {
		p.waiting = true // its spec is newer than any published files
		return nil, ErrNotInCache
	}
	for _, pub := range []*publication{p.cur, p.prev} {
		if pub == nil {
			continue
		}
		if p.open(pub) {
			return pub.snap, nil
		}
		if own == pub.snap.Revision {
			break // its spec is of this revision: older files would not do
		}
	}
	p.waiting = true
	return nil, ErrNotInCache
}

func (p *Published) open(pub *publication) bool { return p.badRV || p.seen >= pub.records }

// opened reports, under mu, whether a sync waits and the newest revision is now open, and forgets
// the wait if so. While a revision is being written nobody is woken: each of its writes would
// otherwise re-check every application; its Publish wakes them.
func (p *Published) opened() bool {
	if !p.waiting || p.cur == nil || !p.open(p.cur) || len(p.pending) > 0 {
		return false
	}
	p.waiting = false
	return true
}

func (p *Published) noteBadResourceVersion(err error) {
	if !p.badRV {
		klog.ErrorS(err, "Cannot compare the records' resourceVersions; syncs use the newest fetched revision without waiting for the records cache")
	}
	p.badRV = true
}
