package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/kube-gitops/kube-gitops/pkg/store"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
	"github.com/kube-gitops/kube-gitops/test/harness"
)

var desiredStates = schema.GroupVersionResource{Group: "gitops.kube-gitops.dev", Version: "v1alpha1", Resource: "desiredstates"}

// world is one scenario's clean state: its own environment (clusters/<name>), config repository,
// namespace and server. Only one world runs at a time (the APIService routes to one server);
// stopping one deletes its DesiredStates from the store, so that the next server neither holds
// them as removals nor syncs them.
type world struct {
	name, ns, repoURL string
	n                 int
	files             map[string]string // the N apps' files, by path in the repository
	server            *harness.Server
}

var current *world

// newWorld stops the current world, then creates repository and namespace for n apps (the apps
// are not pushed yet) and starts a server on them.
func newWorld(ctx context.Context, name string, n int) (*world, error) {
	stopWorld()
	w := &world{name: name, ns: "bench-" + name, n: n}
	work, err := os.MkdirTemp(env.Dir, name+"-")
	if err != nil {
		return nil, err
	}
	if err := gitserver.GenerateAppsIn(work, n, name, w.ns); err != nil {
		return nil, err
	}
	if w.files, err = readTree(work); err != nil {
		return nil, err
	}
	// The environment's directory exists from the start: a missing --path is an error.
	empty := filepath.Join(env.Dir, name+"-empty")
	if err := os.MkdirAll(filepath.Join(empty, "clusters", name), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(empty, "clusters", name, "README.md"), []byte("bench apps\n"), 0o644); err != nil {
		return nil, err
	}
	if w.repoURL, err = env.Git.CreateRepo("bench-"+name, empty); err != nil {
		return nil, err
	}
	if err := env.OptIn(ctx, w.ns); err != nil {
		return nil, err
	}
	if err := w.start(ctx); err != nil {
		return nil, err
	}
	current = w
	return w, nil
}

// start starts the world's server and waits until desiredstates are served through it.
func (w *world) start(ctx context.Context) error {
	var err error
	// A long poll interval: pushes reach the server by the webhook, as measured.
	if w.server, err = env.StartServer(ctx, w.repoURL, w.name, "--poll-interval", "60s"); err != nil {
		return err
	}
	return w.waitServing(ctx)
}

func (w *world) waitServing(ctx context.Context) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, last = env.Dyn.Resource(desiredStates).Namespace(w.ns).List(ctx, metav1.ListOptions{})
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("desiredstates not served: %v (last: %v)\n%s", err, last, harness.Tail(w.server.LogPath, 20))
	}
	return nil
}

// stopWorld stops the current world's server and deletes its DesiredStates from the store (the
// finalizer is removed first: the server that would honour it is gone, and the apps' objects
// stay where they are).
func stopWorld() {
	w := current
	if w == nil {
		return
	}
	current = nil
	w.server.Stop()
	ctx := context.Background()
	records := env.Dyn.Resource(store.RecordsResource).Namespace(w.ns)
	list, err := records.List(ctx, metav1.ListOptions{})
	if err != nil {
		progress("list the records of %s: %v", w.ns, err)
		return
	}
	for _, r := range list.Items {
		_, _ = records.Patch(ctx, r.GetName(), types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		_ = records.Delete(ctx, r.GetName(), metav1.DeleteOptions{})
	}
}

// pushAll pushes every app in one commit and returns the commit and how long the push took.
func (w *world) pushAll() (string, time.Duration, error) {
	start := time.Now()
	sha, err := env.Git.Commit("bench-"+w.name, "main", w.files, fmt.Sprintf("%d apps", w.n))
	return sha, time.Since(start), err
}

// syncAll pushes every app and waits until all are Synced and Healthy at that commit.
func (w *world) syncAll(ctx context.Context) error {
	watch, err := watchApps(ctx, w.ns)
	if err != nil {
		return err
	}
	defer watch.stop()
	head, _, err := w.pushAll()
	if err != nil {
		return err
	}
	if err := env.Webhook(ctx, w.server, w.repoURL); err != nil {
		return err
	}
	return watch.waitFor(ctx, 30*time.Minute, "Synced and Healthy", func(s appCounts) bool { return s.healthy(head) >= w.n })
}

func readTree(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	return files, err
}

// appState is what the watch saw of one DesiredState's status.
type appState struct{ sync, health, revision string }

type appCounts map[string]appState

// at reports whether a status revision (full or abbreviated) is the commit head.
func at(revision, head string) bool {
	return len(revision) >= 7 && strings.HasPrefix(head, revision)
}

func (c appCounts) synced(revision string) int {
	n := 0
	for _, s := range c {
		if s.sync == "Synced" && at(s.revision, revision) {
			n++
		}
	}
	return n
}

func (c appCounts) healthy(revision string) int {
	n := 0
	for _, s := range c {
		if s.sync == "Synced" && at(s.revision, revision) && s.health == "Healthy" {
			n++
		}
	}
	return n
}

// appWatch follows the DesiredStates of a namespace through the aggregated API with an informer
// (one list, then watch events), not a poll per app.
type appWatch struct {
	mu      sync.Mutex
	apps    appCounts
	changed chan struct{} // gets a value after each event
	stopCh  chan struct{}
}

func watchApps(ctx context.Context, ns string) (*appWatch, error) {
	aw := &appWatch{apps: appCounts{}, changed: make(chan struct{}, 1), stopCh: make(chan struct{})}
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(env.Dyn, 0, ns, nil)
	inf := factory.ForResource(desiredStates).Informer()
	put := func(obj any) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		s := appState{}
		s.sync, _, _ = unstructured.NestedString(u.Object, "status", "sync", "status")
		s.revision, _, _ = unstructured.NestedString(u.Object, "status", "sync", "revision")
		s.health, _, _ = unstructured.NestedString(u.Object, "status", "health", "status")
		aw.mu.Lock()
		aw.apps[u.GetName()] = s
		aw.mu.Unlock()
		select {
		case aw.changed <- struct{}{}:
		default:
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: put, UpdateFunc: func(_, obj any) { put(obj) }}); err != nil {
		return nil, err
	}
	factory.Start(aw.stopCh)
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		aw.stop()
		return nil, fmt.Errorf("the watch of desiredstates in %s did not sync", ns)
	}
	return aw, nil
}

func (aw *appWatch) stop() { close(aw.stopCh) }

func (aw *appWatch) snapshot() appCounts {
	aw.mu.Lock()
	defer aw.mu.Unlock()
	out := make(appCounts, len(aw.apps))
	for k, v := range aw.apps {
		out[k] = v
	}
	return out
}

// waitFor returns when done holds for what the watch saw, printing progress every 15 s.
func (aw *appWatch) waitFor(ctx context.Context, timeout time.Duration, what string, done func(appCounts) bool) error {
	deadline := time.After(timeout)
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		s := aw.snapshot()
		if done(s) {
			return nil
		}
		select {
		case <-aw.changed:
		case <-tick.C:
			progress("waiting for %s: %s", what, summary(s))
		case <-deadline:
			return fmt.Errorf("not %s after %s: %s", what, timeout, summary(s))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// summary counts apps by sync and health status.
func summary(s appCounts) string {
	counts := map[string]int{}
	for _, a := range s {
		counts[a.sync+"/"+a.health]++
	}
	var parts []string
	for k, v := range counts {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	return fmt.Sprintf("%d apps seen: %s", len(s), strings.Join(parts, " "))
}

// must ends the benchmark on an error.
func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
