package live

import (
	"context"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/kube-gitops/kube-gitops/pkg/apply"
	"github.com/kube-gitops/kube-gitops/pkg/store"
)

// TestLiveChangedRoutesDrift: which application hears of a change to a watched object, and
// whether it counts as drift.
func TestLiveChangedRoutesDrift(t *testing.T) {
	app := types.NamespacedName{Namespace: "apps", Name: "web"}
	other := types.NamespacedName{Namespace: "apps", Name: "other"}
	base := func(mutate func(u *unstructured.Unstructured)) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "web", "namespace": "apps", "resourceVersion": "1",
				"annotations": map[string]any{apply.AnnotationOwner: "apps/web"}},
			"spec":   map[string]any{"replicas": int64(1)},
			"status": map[string]any{"replicas": int64(1)},
		}}
		if mutate != nil {
			mutate(u)
		}
		return u
	}
	managed := func(manager string, op metav1.ManagedFieldsOperationType, subresource, fields string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Subresource: subresource, APIVersion: "apps/v1",
			FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(fields)}
	}
	applied := func(u *unstructured.Unstructured) {
		u.SetManagedFields([]metav1.ManagedFieldsEntry{managed(apply.FieldManager, metav1.ManagedFieldsOperationApply, "",
			`{"f:metadata":{"f:annotations":{"f:gitops.kube-gitops.dev/owner":{}}},"f:spec":{"f:replicas":{}}}`)})
	}
	type heard struct {
		owner types.NamespacedName
		drift bool
	}
	cases := []struct {
		name     string
		old, new any
		want     []heard
	}{
		{"spec changed", base(nil), base(func(u *unstructured.Unstructured) { u.Object["spec"] = map[string]any{"replicas": int64(3)} }),
			[]heard{{app, true}}},
		{"only status", base(nil), base(func(u *unstructured.Unstructured) { u.Object["status"] = map[string]any{"replicas": int64(0)} }),
			[]heard{{app, false}}},
		{"only managed fields (a take-over)", base(nil), base(func(u *unstructured.Unstructured) {
			u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: apply.FieldManager}})
			u.SetResourceVersion("2")
		}), []heard{{app, false}}},
		{"owner annotation removed", base(nil), base(func(u *unstructured.Unstructured) { u.SetAnnotations(nil) }),
			[]heard{{app, true}}},
		{"owner changed", base(nil), base(func(u *unstructured.Unstructured) {
			u.SetAnnotations(map[string]string{apply.AnnotationOwner: "apps/other"})
		}), []heard{{other, true}}}, // not the former owner: two apps rendering it would fight
		{"the Deployment controller's revision annotation", base(applied), base(func(u *unstructured.Unstructured) {
			applied(u)
			u.SetAnnotations(map[string]string{apply.AnnotationOwner: "apps/web", "deployment.kubernetes.io/revision": "1"})
			u.SetManagedFields(append(u.GetManagedFields(), managed("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, "",
				`{"f:metadata":{"f:annotations":{"f:deployment.kubernetes.io/revision":{}}}}`)))
		}), []heard{{app, false}}},
		{"kubectl scale", base(applied), base(func(u *unstructured.Unstructured) {
			u.Object["spec"] = map[string]any{"replicas": int64(3)}
			u.SetManagedFields([]metav1.ManagedFieldsEntry{
				managed(apply.FieldManager, metav1.ManagedFieldsOperationApply, "", `{"f:metadata":{"f:annotations":{"f:gitops.kube-gitops.dev/owner":{}}}}`),
				managed("kubectl", metav1.ManagedFieldsOperationUpdate, "scale", `{"f:spec":{"f:replicas":{}}}`)})
		}), []heard{{app, true}}},
		{"deleted", nil, base(nil), []heard{{app, true}}},
		{"deleted, final state unknown", nil, cache.DeletedFinalStateUnknown{Key: "apps/web", Obj: base(nil)}, []heard{{app, true}}},
		{"never owned", base(func(u *unstructured.Unstructured) { u.SetAnnotations(nil) }), base(func(u *unstructured.Unstructured) { u.SetAnnotations(nil) }), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []heard
			l := &Live{onChange: func(owner types.NamespacedName, drift bool) { got = append(got, heard{owner, drift}) }}
			l.changed(tc.old, tc.new)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("heard %v, want %v", got, tc.want)
			}
		})
	}
}

// TestANewTermWatchesAfresh: an informer runs only once, so when this replica leads again, what
// the ended term watched is dropped (Track watches it again) rather than kept and never run:
// drift would go unseen.
func TestANewTermWatchesAfresh(t *testing.T) {
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{store.RecordsResource: "DesiredStateRecordList"})
	l := &Live{informers: map[watchKey]*watched{}}
	k := watchKey{namespace: "apps", identity: "apps/gitops"}
	l.informers[k] = &watched{informer: store.NewReader(client).Informer()}

	first, endFirst := context.WithCancel(context.Background())
	l.Run(first)
	l.mu.Lock()
	started := l.informers[k] != nil && l.informers[k].stop != nil
	l.mu.Unlock()
	if !started {
		t.Fatal("the first term does not run the informer")
	}
	endFirst()

	second, endSecond := context.WithCancel(context.Background())
	defer endSecond()
	l.Run(second)
	l.mu.Lock()
	_, kept := l.informers[k]
	l.mu.Unlock()
	if kept {
		t.Error("the second term keeps the first term's informer, which cannot run again: drift would go unseen")
	}
}
