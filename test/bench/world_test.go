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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kube-gitops/kube-gitops/pkg/apply"
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
	args := append([]string{"--poll-interval", "60s"}, strings.Fields(os.Getenv("BENCH_SERVER_ARGS"))...)
	if w.server, err = env.StartServer(ctx, w.repoURL, w.name, args...); err != nil {
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

// stopWorld stops the current world's server, deletes its DesiredStates from the store (the
// finalizer is removed first: the server that would honour it is gone) and the apps' objects, and waits until none of it is left: the next world's server would
// otherwise hold the records as removals or sync (and prune) them, and find its objects
// pre-applied. It ends the benchmark run when the cluster does not get clean.
func stopWorld() {
	w := current
	if w == nil {
		return
	}
	current = nil
	if w.server != nil {
		w.server.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := clean(ctx, w.ns); err != nil {
		progress("the world %s is not cleaned up: %v", w.name, err)
		os.Exit(1) // every later figure would be measured on its leftovers
	}
	progress("%s cleaned up: no DesiredStateRecords left in the cluster, none of its apps' objects left in %s", w.name, w.ns)
}

// clean deletes every DesiredStateRecord of the cluster (only one world runs at a time) and
// the apps' objects in ns, and waits until they are gone. Records are written as the server's
// ServiceAccount: an admission policy denies anyone else (the admin's writes failed unseen, so
// the records stayed for the next world's server).
func clean(ctx context.Context, ns string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", env.ServerKubeconfig)
	if err != nil {
		return err
	}
	// A patch and a delete per record: at client-go's default 5 requests/s, 1,000 records took
	// 7 minutes.
	cfg.QPS = -1
	asServer, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	records := asServer.Resource(store.RecordsResource)
	var last error
	err = wait.PollUntilContextTimeout(ctx, time.Second, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := records.Namespace(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			last = fmt.Errorf("list DesiredStateRecords: %w", err)
			return false, nil
		}
		for _, r := range list.Items {
			c := records.Namespace(r.GetNamespace())
			if len(r.GetFinalizers()) > 0 {
				if _, err := c.Patch(ctx, r.GetName(), types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
					last = fmt.Errorf("remove the finalizer of record %s/%s: %w", r.GetNamespace(), r.GetName(), err)
				}
			}
			if r.GetDeletionTimestamp() == nil {
				if err := c.Delete(ctx, r.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					last = fmt.Errorf("delete record %s/%s: %w", r.GetNamespace(), r.GetName(), err)
				}
			}
		}
		// The apps' objects go, not the namespace: while no server serves the aggregated API,
		// the namespace controller cannot finish deleting a namespace.
		left, err := deleteApps(ctx, ns)
		if err != nil {
			last = err
			return false, nil
		}
		if left > 0 {
			last = fmt.Errorf("%d of the apps' objects are left in %s", left, ns)
			return false, nil
		}
		if len(list.Items) > 0 {
			last = fmt.Errorf("%d record(s) were left, e.g. %s/%s", len(list.Items), list.Items[0].GetNamespace(), list.Items[0].GetName())
			return false, nil // a server still running would write them again: list once more
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("%v (last: %v)", err, last)
	}
	return nil
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

// deleteApps deletes the objects the generated apps are made of (test/gitserver: ServiceAccount,
// Deployment, Service, Ingress) from ns, and returns how many are still there.
func deleteApps(ctx context.Context, ns string) (int, error) {
	sel := metav1.ListOptions{LabelSelector: apply.LabelManagedBy + "=kube-gitops"}
	left := 0
	for _, gvr := range []schema.GroupVersionResource{
		{Version: "v1", Resource: "serviceaccounts"}, {Group: "apps", Version: "v1", Resource: "deployments"},
		{Version: "v1", Resource: "services"}, {Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
	} {
		c := env.Dyn.Resource(gvr).Namespace(ns)
		list, err := c.List(ctx, sel)
		if err != nil {
			return 0, fmt.Errorf("list %s in %s: %w", gvr.Resource, ns, err)
		}
		if len(list.Items) == 0 {
			continue
		}
		// One request per kind: one per object took over 10 minutes for 4,000 objects.
		if err := c.DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil && !apierrors.IsNotFound(err) {
			return 0, fmt.Errorf("delete the %s of %s: %w", gvr.Resource, ns, err)
		}
		left += len(list.Items)
	}
	return left, nil
}
