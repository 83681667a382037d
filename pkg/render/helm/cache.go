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

// memCache is a least-recently-used cache bounded in bytes.
type memCache struct {
	max int64

	mu    sync.Mutex
	size  int64
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type memItem struct {
	key  string
	data []byte
}

func newMemCache(max int64) *memCache {
	return &memCache{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *memCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*memItem).data, true
}

func (c *memCache) put(key string, data []byte) {
	if int64(len(data)) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&memItem{key: key, data: data})
	c.size += int64(len(data))
	for c.size > c.max {
		last := c.order.Back()
		it := last.Value.(*memItem)
		c.order.Remove(last)
		delete(c.items, it.key)
		c.size -= int64(len(it.data))
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
