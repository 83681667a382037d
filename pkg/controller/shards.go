package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
)

// Shards is what the loop needs of the split of the sync work among replicas (pkg/shard.Manager).
type Shards interface {
	// Holds reports whether this replica holds app's shard now.
	Holds(app string) bool
	// Term returns the context of the term in which this replica holds app's shard (fenced by
	// the shard's Lease), and done, to call once the work on app under it has ended.
	Term(app string) (ctx context.Context, done func(), ok bool)
}

// add queues app if this replica syncs it.
func (c *Controller) add(app string) {
	if c.Shards != nil && !c.Shards.Holds(app) {
		return
	}
	c.q().Add(app)
}

// Gained re-checks the applications of a shard this replica just took: what it applied in an
// earlier term is forgotten, since another replica may have synced them since.
func (c *Controller) Gained(inShard func(app string) bool) {
	items, _ := c.Reader.List("", nil)
	for _, ds := range items {
		k := key(ds.Namespace, ds.Name)
		if !inShard(k) {
			continue
		}
		c.mu.Lock()
		delete(c.applied, k)
		c.mu.Unlock()
		c.add(k)
	}
}

// Lost stops watching the objects of the applications of a shard this replica gave up or lost;
// those queued are dropped as they come up (Shards.Term).
func (c *Controller) Lost(inShard func(app string) bool) {
	c.Live.Drop(func(owner types.NamespacedName) bool { return inShard(owner.String()) })
}
