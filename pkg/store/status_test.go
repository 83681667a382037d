package store

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// TestUpdateFromTheCache: a status write from a current cache needs no read; from a cache that
// lags the record it conflicts, reads afresh and keeps the other writer's change.
func TestUpdateFromTheCache(t *testing.T) {
	ctx := context.Background()
	ds := &v1alpha1.DesiredState{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps", ResourceVersion: "5"}}
	ds.Status.Sync.Message = "first"
	for _, tc := range []struct {
		name          string
		lagging       bool
		gets, updates int
		revision      string
	}{
		{"current cache", false, 0, 1, ""},
		{"lagging cache", true, 1, 2, "abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := toRecord(ds)
			if err != nil {
				t.Fatal(err)
			}
			client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
				map[schema.GroupVersionResource]string{RecordsResource: "DesiredStateRecordList"}, rec)
			stored := "5"
			if tc.lagging { // another writer set the revision after the cache was filled
				other := ds.DeepCopy()
				other.Status.Sync.Revision, other.ResourceVersion = "abc", "6"
				r, _ := toRecord(other)
				if err := client.Tracker().Update(RecordsResource, r, "apps"); err != nil {
					t.Fatal(err)
				}
				stored = "6"
			}
			gets, updates := 0, 0
			client.PrependReactor("get", RecordsResource.Resource, func(clienttesting.Action) (bool, runtime.Object, error) {
				gets++
				return false, nil, nil
			})
			client.PrependReactor("update", RecordsResource.Resource, func(a clienttesting.Action) (bool, runtime.Object, error) {
				updates++
				obj := a.(clienttesting.UpdateAction).GetObject().(metav1.Object)
				if obj.GetResourceVersion() != stored { // the apiserver's optimistic concurrency
					return true, nil, apierrors.NewConflict(RecordsResource.GroupResource(), "web", nil)
				}
				obj.SetResourceVersion("7")
				stored = "7"
				return false, nil, nil
			})
			out, err := NewStatuses(client).UpdateFrom(ctx, ds, func(st *v1alpha1.DesiredStateStatus) { st.Sync.Message = "second" })
			if err != nil {
				t.Fatal(err)
			}
			if gets != tc.gets || updates != tc.updates {
				t.Errorf("%d reads and %d writes, want %d and %d", gets, updates, tc.gets, tc.updates)
			}
			if out.Status.Sync.Message != "second" || out.Status.Sync.Revision != tc.revision {
				t.Errorf("stored message %q revision %q, want %q and %q", out.Status.Sync.Message, out.Status.Sync.Revision, "second", tc.revision)
			}
		})
	}
}
