package controller

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/kube-gitops/kube-gitops/pkg/apply"
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
