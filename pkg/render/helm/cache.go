package helm

import (
	"container/list"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// archiveCache holds chart archives by content digest ("archive/sha256:…") or by OCI manifest
// digest ("oci/sha256:…"): both name immutable content, so entries never go stale.
type archiveCache interface {
	get(key string) ([]byte, bool)
	put(key string, data []byte)
}

// lru is a least-recently-used cache bounded by the sum of its entries' sizes. Every cache a
// renderer fills from what Git names (archives, indexes, OCI tags) is one: a Git author can name
// any number of repositories and versions.
type lru[V any] struct {
	max int64

	mu    sync.Mutex
	size  int64
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type lruItem[V any] struct {
	key   string
	value V
	size  int64
}

func newLRU[V any](max int64) *lru[V] {
	return &lru[V]{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lru[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruItem[V]).value, true
}

// add stores value under key (replacing what was there), then evicts the least recently used
// entries until the sizes fit max. A value larger than max is not kept.
func (c *lru[V]) add(key string, value V, size int64) {
	if size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.size -= e.Value.(*lruItem[V]).size
		c.order.Remove(e)
	}
	c.items[key] = c.order.PushFront(&lruItem[V]{key: key, value: value, size: size})
	c.size += size
	for c.size > c.max {
		last := c.order.Back()
		it := last.Value.(*lruItem[V])
		c.order.Remove(last)
		delete(c.items, it.key)
		c.size -= it.size
	}
}

// memCache keeps archives in memory, bounded in bytes.
type memCache struct{ *lru[[]byte] }

func newMemCache(max int64) memCache { return memCache{newLRU[[]byte](max)} }

// put keeps the first copy: archives are immutable content, named by digest.
func (c memCache) put(key string, data []byte) {
	if _, ok := c.get(key); !ok {
		c.add(key, data, int64(len(data)))
	}
}

// dirCache keeps archives as files in a directory; it is not pruned (archives are small and
// there are as many as distinct chart versions used).
type dirCache struct{ dir string }

func (c dirCache) file(key string) string {
	return filepath.Join(c.dir, strings.NewReplacer("/", "-", ":", "-").Replace(key)+".tgz")
}

func (c dirCache) get(key string) ([]byte, bool) {
	data, err := os.ReadFile(c.file(key))
	return data, err == nil
}

func (c dirCache) put(key string, data []byte) {
	// A failed write only costs a download next time.
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), c.file(key)) != nil {
		_ = os.Remove(tmp.Name())
	}
}
