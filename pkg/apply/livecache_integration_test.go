package apply

import (
	"cmp"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

var configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// snapshotCache is a LiveCache that answers from objects copied at one moment, as an informer
// that lags the cluster does.
type snapshotCache struct {
	as      types.NamespacedName
	objects map[string]*unstructured.Unstructured // by resource/namespace/name
	synced  bool
}

func (c *snapshotCache) Cached(as types.NamespacedName, m *meta.RESTMapping, namespace, name string) (*unstructured.Unstructured, bool) {
	o, ok := c.objects[m.Resource.Resource+"/"+namespace+"/"+name]
	if !c.synced || as != c.as || !ok {
		return nil, false
	}
	return o.DeepCopy(), true
}

// getCount counts the GETs of single objects an Engine sends.
type getCount struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    int
}

func (g *getCount) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/namespaces/") {
		g.mu.Lock()
		g.n++
		g.mu.Unlock()
	}
	return g.next.RoundTrip(req)
}

func (g *getCount) take() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.n
	g.n = 0
	return n
}

// editColour changes the ConfigMap web-config as kubectl edit does.
func editColour(t *testing.T, ctx context.Context, ns string) {
	t.Helper()
	if _, err := adminDynamic(t).Resource(configMapsGVR).Namespace(ns).Patch(ctx, "web-config", types.MergePatchType,
		[]byte(`{"data":{"colour":"red"}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
}

// settled are the objects of fourObjects that no controller writes after they are applied (the
// Deployment's status is), so that a snapshot of them stays current unless a test changes them.
func settled(ns string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range fourObjects(ns) {
		if o.GetKind() != "Deployment" {
			out = append(out, o)
		}
	}
	return out
}

// TestApplyReadsLiveObjectsFromTheCache: a re-apply of an unchanged app reads its objects from
// the cache and GETs none; where the cache cannot answer (not filled yet, another identity, an
// object it does not hold) apply GETs; a cache that lags a change (kubectl drift, a deletion)
// costs a GET but never keeps the drift: it is undone, the deleted object created again, and an
// ignored field keeps its current value, not the cached one.
func TestApplyReadsLiveObjectsFromTheCache(t *testing.T) {
	ctx := testContext(t)
	ignoreColour := []v1alpha1.IgnoreRule{{Kind: "ConfigMap", JSONPointers: []string{"/data/colour"}}}
	cases := []struct {
		name string
		// cache makes the cache from the objects as applied; then change runs.
		cache      func(ns string, objs map[string]*unstructured.Unstructured) *snapshotCache
		change     func(t *testing.T, ns string)
		wantGETs   int
		wantChange int
		ignore     []v1alpha1.IgnoreRule
		wantColour string // "" for green, what Git says
	}{
		{"fresh cache: no GETs", func(ns string, objs map[string]*unstructured.Unstructured) *snapshotCache {
			return &snapshotCache{as: types.NamespacedName{Namespace: ns, Name: DefaultServiceAccount}, objects: objs, synced: true}
		}, nil, 0, 0, nil, ""},
		{"cache not filled yet: a GET each", func(ns string, objs map[string]*unstructured.Unstructured) *snapshotCache {
			return &snapshotCache{as: types.NamespacedName{Namespace: ns, Name: DefaultServiceAccount}, objects: objs}
		}, nil, 3, 0, nil, ""},
		{"cache of another identity: a GET each", func(ns string, objs map[string]*unstructured.Unstructured) *snapshotCache {
			return &snapshotCache{as: types.NamespacedName{Namespace: ns, Name: "other"}, objects: objs, synced: true}
		}, nil, 3, 0, nil, ""},
		{"object not in the cache: a GET for it", func(ns string, objs map[string]*unstructured.Unstructured) *snapshotCache {
			delete(objs, "configmaps/"+ns+"/web-config")
			return &snapshotCache{as: types.NamespacedName{Namespace: ns, Name: DefaultServiceAccount}, objects: objs, synced: true}
		}, nil, 1, 0, nil, ""},
		{"cache lags kubectl drift: a GET, drift undone", func(ns string, objs map[string]*unstructured.Unstructured) *snapshotCache {
			return &snapshotCache{as: types.NamespacedName{Namespace: ns, Name: DefaultServiceAccount}, objects: objs, synced: true}
		}, func(t *testing.T, ns string) { editColour(t, ctx, ns) }, 1, 1, nil, ""},
		{"cache lags a change of an ignored field: a GET, the change kept", func(ns string, objs map[string]*unstructured.Unstructured) *snapshotCache {
			return &snapshotCache{as: types.NamespacedName{Namespace: ns, Name: DefaultServiceAccount}, objects: objs, synced: true}
		}, func(t *testing.T, ns string) { editColour(t, ctx, ns) }, 1, 1, ignoreColour, "red"},
		{"no cache, a change of an ignored field: the same as with a lagging cache", func(ns string, objs map[string]*unstructured.Unstructured) *snapshotCache {
			return &snapshotCache{as: types.NamespacedName{Namespace: ns, Name: DefaultServiceAccount}, objects: objs}
		}, func(t *testing.T, ns string) { editColour(t, ctx, ns) }, 3, 1, ignoreColour, "red"},
		{"cache lags a deletion: a GET, created again", func(ns string, objs map[string]*unstructured.Unstructured) *snapshotCache {
			return &snapshotCache{as: types.NamespacedName{Namespace: ns, Name: DefaultServiceAccount}, objects: objs, synced: true}
		}, func(t *testing.T, ns string) {
			if err := adminDynamic(t).Resource(configMapsGVR).Namespace(ns).Delete(ctx, "web-config", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}, 1, 1, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := setupNamespace(t, "livecache")
			mustApply(t, ctx, Request{Owner: owner(ns), Objects: settled(ns), Ignore: tc.ignore})
			objs := map[string]*unstructured.Unstructured{}
			for _, o := range []struct{ resource, name string }{{"serviceaccounts", "web"}, {"services", "web"}, {"configmaps", "web-config"}} {
				objs[o.resource+"/"+ns+"/"+o.name] = getObject(t, ctx, schema.GroupVersionResource{Version: "v1", Resource: o.resource}, ns, o.name)
			}
			cache := tc.cache(ns, objs)
			if tc.change != nil {
				tc.change(t, ns)
			}
			gets := &getCount{}
			cfg := rest.CopyConfig(adminConfig)
			cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { gets.next = rt; return gets })
			e, err := New(cfg, Options{Live: cache, Mapper: testEngine.mapper})
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Apply(ctx, Request{Owner: owner(ns), Objects: settled(ns), Ignore: tc.ignore})
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := gets.take(); got != tc.wantGETs {
				t.Errorf("apply sent %d GETs, want %d", got, tc.wantGETs)
			}
			if res.Changed != tc.wantChange || res.Unchanged != 3-tc.wantChange {
				t.Errorf("changed %d, unchanged %d; want %d changed", res.Changed, res.Unchanged, tc.wantChange)
			}
			live := getObject(t, ctx, configMapsGVR, ns, "web-config")
			want := cmp.Or(tc.wantColour, "green")
			if colour, _, _ := unstructured.NestedString(live.Object, "data", "colour"); colour != want {
				t.Errorf("the ConfigMap's colour is %q after the apply, want %s", colour, want)
			}
		})
	}
}
