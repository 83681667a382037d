package live

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic/dynamicinformer"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/cache"
)

// TestCachedAnswersOnlyWhatItCan: apply trusts Cached's "true" and GETs otherwise, so Cached
// answers only from a running, filled informer of the very kind, namespace and identity apply
// reads as; never for cluster-scoped kinds (watched as the server, not the ServiceAccount).
func TestCachedAnswersOnlyWhatItCan(t *testing.T) {
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvk := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	cm := &unstructured.Unstructured{}
	cm.SetGroupVersionKind(gvk)
	cm.SetNamespace("apps")
	cm.SetName("web")
	cm.SetResourceVersion("7")
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{gvr: "ConfigMapList"}, cm)
	informer := func() cache.SharedIndexInformer {
		return dynamicinformer.NewFilteredDynamicInformer(client, gvr, "apps", 0, cache.Indexers{}, nil).Informer()
	}
	key := watchKey{gvk: gvk, namespace: "apps", identity: "apps/gitops"}
	running := &Live{informers: map[watchKey]*watched{key: {informer: informer()}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	running.Run(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), running.informers[key].informer.HasSynced) {
		t.Fatal("the informer never filled")
	}
	notRun := &Live{informers: map[watchKey]*watched{key: {informer: informer()}}}

	namespaced := &meta.RESTMapping{Resource: gvr, GroupVersionKind: gvk, Scope: meta.RESTScopeNamespace}
	clusterScoped := &meta.RESTMapping{Resource: gvr, GroupVersionKind: gvk, Scope: meta.RESTScopeRoot}
	gitops := types.NamespacedName{Namespace: "apps", Name: "gitops"}
	cases := []struct {
		name    string
		live    *Live
		as      types.NamespacedName
		mapping *meta.RESTMapping
		object  string
		want    bool
	}{
		{"held by a filled informer", running, gitops, namespaced, "web", true},
		{"not held (not labelled, or not seen yet)", running, gitops, namespaced, "db", false},
		{"watched as another identity", running, types.NamespacedName{Namespace: "apps", Name: "other"}, namespaced, "web", false},
		{"cluster-scoped kind", running, gitops, clusterScoped, "web", false},
		{"informer not running (not leading, or before the first list)", notRun, gitops, namespaced, "web", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.live.Cached(tc.as, tc.mapping, "apps", tc.object)
			if ok != tc.want {
				t.Fatalf("Cached answered %v, want %v", ok, tc.want)
			}
			if !ok {
				return
			}
			if got.GetResourceVersion() != "7" {
				t.Errorf("Cached returned resourceVersion %q, want 7", got.GetResourceVersion())
			}
			got.SetLabels(map[string]string{"changed": "by apply"})
			again, _ := tc.live.Cached(tc.as, tc.mapping, "apps", tc.object)
			if len(again.GetLabels()) != 0 {
				t.Error("a change to what Cached returned changed the cache: it must return a copy")
			}
		})
	}
}
