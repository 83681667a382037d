package controller

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// TestNewEntries: the objects an apply may create that the inventory does not name yet are
// entered before the apply, so that a kill after their creation cannot leave them unrecorded
// (and never pruned). Known objects, whatever their version, add nothing: a resync writes nothing.
func TestNewEntries(t *testing.T) {
	obj := func(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		u.SetNamespace(namespace)
		u.SetName(name)
		return u
	}
	inventory := []v1alpha1.ResourceStatus{
		{Version: "v1", Kind: "ConfigMap", Namespace: "apps", Name: "known", Sync: v1alpha1.SyncStatusSynced},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: "reader", Sync: v1alpha1.SyncStatusSynced},
		{Group: "apps", Version: "v1beta2", Kind: "Deployment", Namespace: "apps", Name: "web"},
	}
	cases := []struct {
		name    string
		objects []*unstructured.Unstructured
		want    []string
	}{
		{"all known", []*unstructured.Unstructured{obj("v1", "ConfigMap", "apps", "known"), obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "reader")}, nil},
		{"known under another version", []*unstructured.Unstructured{obj("apps/v1", "Deployment", "apps", "web")}, nil},
		{"known, no namespace in the manifest", []*unstructured.Unstructured{obj("v1", "ConfigMap", "", "known")}, nil},
		{"new, in the app's namespace", []*unstructured.Unstructured{obj("v1", "ConfigMap", "", "new"), obj("v1", "ConfigMap", "apps", "known")},
			[]string{"/v1/ConfigMap/apps/new OutOfSync"}},
		{"new, twice in the render", []*unstructured.Unstructured{obj("v1", "Secret", "apps", "s"), obj("v1", "Secret", "apps", "s")},
			[]string{"/v1/Secret/apps/s OutOfSync"}},
		{"refused by the apply: nothing to enter", []*unstructured.Unstructured{nil, obj("v1", "ConfigMap", "apps", "")}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, r := range newEntries(inventory, tc.objects, "apps") {
				got = append(got, fmt.Sprintf("%s/%s/%s/%s/%s %s", r.Group, r.Version, r.Kind, r.Namespace, r.Name, r.Sync))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("newEntries = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestInventoryIsTheLastWritten: the inventory an apply prunes from is the one this server last
// wrote, read from the host cluster while the cache still shows an older one (which names
// objects already pruned: counted again, they made a second history entry for one sync).
func TestInventoryIsTheLastWritten(t *testing.T) {
	record := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": store.RecordsResource.GroupVersion().String(), "kind": "DesiredStateRecord",
		"metadata": map[string]any{"name": "app", "namespace": "apps", "resourceVersion": "7"},
		"status":   map[string]any{"resources": []any{map[string]any{"version": "v1", "kind": "ConfigMap", "namespace": "apps", "name": "kept"}}},
	}}
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"}, record)
	stale := []v1alpha1.ResourceStatus{{Version: "v1", Kind: "ConfigMap", Namespace: "apps", Name: "kept"}, {Version: "v1", Kind: "ConfigMap", Namespace: "apps", Name: "pruned"}}
	cases := []struct {
		name    string
		written string // the resourceVersion of this server's last status write
		cached  string // the cache's
		want    int
	}{
		{"nothing written yet (a restart): the cache", "", "6", 2},
		{"the cache shows the last write", "6", "6", 2},
		{"the cache is behind the last write: the host cluster's", "7", "6", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Controller{Options: Options{Statuses: store.NewStatuses(client)}, written: map[string]string{}}
			if tc.written != "" {
				c.written["apps/app"] = tc.written
			}
			ds := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "apps", ResourceVersion: tc.cached},
				Status: v1alpha1.DesiredStateStatus{Resources: stale}}
			got, err := c.inventory(context.Background(), ds)
			if err != nil || len(got) != tc.want {
				t.Errorf("inventory = %v (%v), want %d entries", got, err, tc.want)
			}
		})
	}
}

// TestARetryReadsTheLastWrittenStatus: a sync retried before the cache shows this server's
// last status write reads that write (a finished operation, which hooks ran) from the host
// cluster; a cache that is merely newer (another writer) costs one read, then none.
func TestARetryReadsTheLastWrittenStatus(t *testing.T) {
	record := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": store.RecordsResource.GroupVersion().String(), "kind": "DesiredStateRecord",
		"metadata": map[string]any{"name": "app", "namespace": "apps", "resourceVersion": "7"},
		"status":   map[string]any{"hooksDigest": "pre-hooks-ran:abc"},
	}}
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"}, record)
	c := &Controller{Options: Options{Statuses: store.NewStatuses(client)}, written: map[string]string{"apps/app": "7"}}
	stale := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "apps", ResourceVersion: "6"},
		Status: v1alpha1.DesiredStateStatus{Operation: &v1alpha1.SyncOperation{RequestedBy: "alice"}}}
	got, err := c.caughtUp(context.Background(), stale)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.HooksDigest != "pre-hooks-ran:abc" || got.Status.Operation != nil {
		t.Errorf("caughtUp = hooksDigest %q, operation %v; want the stored status (pre hooks ran, no operation)", got.Status.HooksDigest, got.Status.Operation)
	}

	// Another writer after this server: the cache (7) is current, the record says so.
	c.written["apps/app"] = "5"
	current := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "apps", ResourceVersion: "7"}}
	if _, err := c.caughtUp(context.Background(), current); err != nil {
		t.Fatal(err)
	}
	client.ClearActions()
	if _, err := c.caughtUp(context.Background(), current); err != nil || len(client.Actions()) != 0 {
		t.Errorf("a current cache was read past again: %d requests (%v)", len(client.Actions()), err)
	}
}
