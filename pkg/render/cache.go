package render

import (
	"container/list"
	"context"
	"encoding/json"
	"io/fs"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Hasher is an fs.FS that can tell cheaply whether a name holds what it held in another
// snapshot (source.Snapshot.FS: Git object ids).
type Hasher interface {
	fs.FS
	Hash(name string) string
}

// DefaultCacheBytes bounds the renders a Cached renderer keeps, counted as their objects' JSON.
const DefaultCacheBytes = 32 << 20

// Cached returns a Renderer that keeps the last render of each application and answers from it
// while its inputs are unchanged: the request (name, namespace, spec) and every file and
// directory the render read, compared by Git object id. So a commit that changes one
// application re-renders that one; the others cost a hash of the names they read. Renders of
// files that cannot tell their hash, and of published charts (a repository's index can change
// without a commit), are not cached. At most maxBytes of renders (their objects as JSON) are
// kept, the least recently used dropped first; maxBytes <= 0 means DefaultCacheBytes.
func Cached(r Renderer, maxBytes int64) Renderer {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return &cached{Renderer: r, max: maxBytes, byApp: map[string]*list.Element{}, lru: list.New()}
}

type cached struct {
	Renderer
	max int64

	mu    sync.Mutex
	size  int64
	byApp map[string]*list.Element // of *cachedRender
	lru   *list.List               // most recently used first
}

type cachedRender struct {
	app     string
	request []byte            // name, namespace and spec as JSON
	read    map[readOf]string // every name the render read, and how → what it held then
	objects [][]byte          // the rendered objects as JSON; decoded afresh for each caller
	size    int64
}

func (c *cached) Render(ctx context.Context, req Request) ([]*unstructured.Unstructured, error) {
	files, ok := req.Files.(Hasher)
	if !ok || req.Spec.Helm != nil && req.Spec.Helm.Chart.RepoURL != "" {
		return c.Renderer.Render(ctx, req)
	}
	request, err := json.Marshal(struct {
		Name, Namespace string
		Spec            any
	}{req.Name, req.Namespace, req.Spec})
	if err != nil {
		return c.Renderer.Render(ctx, req)
	}
	app := appName(req)
	if objs, ok := c.lookup(app, request, files); ok {
		return objs, nil
	}
	rec := &recordingFS{Hasher: files, read: map[readOf]string{}}
	req.Files = rec
	objs, err := c.Renderer.Render(ctx, req)
	if err != nil {
		return nil, err // a failure is rendered again next time: it may be the worker's, not the input's
	}
	c.store(app, request, rec.names(), objs)
	return objs, nil
}

func (c *cached) lookup(app string, request []byte, files Hasher) ([]*unstructured.Unstructured, bool) {
	c.mu.Lock()
	e, ok := c.byApp[app]
	if ok {
		c.lru.MoveToFront(e)
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	r := e.Value.(*cachedRender)
	if string(r.request) != string(request) {
		return nil, false
	}
	for what, held := range r.read {
		if what.in(files) != held {
			return nil, false
		}
	}
	out := make([]*unstructured.Unstructured, len(r.objects))
	for i, data := range r.objects {
		out[i] = &unstructured.Unstructured{}
		if err := out[i].UnmarshalJSON(data); err != nil {
			return nil, false
		}
	}
	return out, true
}

func (c *cached) store(app string, request []byte, read map[readOf]string, objs []*unstructured.Unstructured) {
	r := &cachedRender{app: app, request: request, read: read, size: int64(len(request))}
	for what, held := range read {
		r.size += int64(len(what.name) + len(held))
	}
	for _, o := range objs {
		data, err := o.MarshalJSON()
		if err != nil {
			return
		}
		r.objects = append(r.objects, data)
		r.size += int64(len(data))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.byApp[app]; ok {
		c.remove(old)
	}
	if r.size > c.max {
		return
	}
	c.byApp[app] = c.lru.PushFront(r)
	c.size += r.size
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
}

// remove drops an entry; called with c.mu held.
func (c *cached) remove(e *list.Element) {
	r := c.lru.Remove(e).(*cachedRender)
	delete(c.byApp, r.app)
	c.size -= r.size
}

// readOf is one read of a name: a Stat tells only what the name is (for a directory, not its
// listing: every application's render stats the directories above its own, which other
// applications change); any other read tells its Hash.
type readOf struct {
	name string
	stat bool
}

// in returns what the read gives in files.
func (r readOf) in(files Hasher) string {
	if !r.stat {
		return files.Hash(r.name)
	}
	info, err := fs.Stat(files, r.name)
	switch {
	case err != nil:
		return "error: " + err.Error()
	case info.IsDir():
		return "dir"
	}
	return files.Hash(r.name)
}

// recordingFS notes what every read of a render gave, as it reads.
type recordingFS struct {
	Hasher
	mu   sync.Mutex
	read map[readOf]string
}

var (
	_ fs.ReadDirFS  = (*recordingFS)(nil)
	_ fs.ReadFileFS = (*recordingFS)(nil)
	_ fs.StatFS     = (*recordingFS)(nil)
)

func (r *recordingFS) note(name string, stat bool) {
	what := readOf{name: name, stat: stat}
	held := what.in(r.Hasher)
	r.mu.Lock()
	r.read[what] = held
	r.mu.Unlock()
}

func (r *recordingFS) names() map[readOf]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.read
}

func (r *recordingFS) Open(name string) (fs.File, error) {
	r.note(name, false)
	return r.Hasher.Open(name)
}

func (r *recordingFS) ReadFile(name string) ([]byte, error) {
	r.note(name, false)
	return fs.ReadFile(r.Hasher, name)
}

func (r *recordingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	r.note(name, false)
	return fs.ReadDir(r.Hasher, name)
}

func (r *recordingFS) Stat(name string) (fs.FileInfo, error) {
	r.note(name, true)
	return fs.Stat(r.Hasher, name)
}
