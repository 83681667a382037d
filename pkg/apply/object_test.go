package apply

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

func TestPrepareMarksCopiesAndStrips(t *testing.T) {
	in := mustObject(`
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  labels: {app: web, app.kubernetes.io/managed-by: Helm}
  resourceVersion: "42"
  uid: 0000-1111
  creationTimestamp: null
  managedFields: [{manager: someone}]
data: {a: b}`)
	req := &Request{Owner: types.NamespacedName{Namespace: "apps", Name: "web"}, Objects: []*unstructured.Unstructured{in}}
	items := prepare(req)
	if len(items) != 1 || items[0].err != nil {
		t.Fatalf("prepare: %+v", items)
	}
	u := items[0].obj
	if got := u.GetLabels(); got["app"] != "web" || got[LabelManagedBy] != FieldManager {
		t.Errorf("labels %v: want app=web kept and %s=%s", got, LabelManagedBy, FieldManager)
	}
	if got := u.GetAnnotations()[AnnotationOwner]; got != "apps/web" {
		t.Errorf("owner annotation %q, want apps/web", got)
	}
	for _, f := range []string{"resourceVersion", "uid", "managedFields", "creationTimestamp"} {
		if _, found, _ := unstructured.NestedFieldNoCopy(u.Object, "metadata", f); found {
			t.Errorf("metadata.%s was not stripped", f)
		}
	}
	if in.GetResourceVersion() != "42" || in.GetLabels()[LabelManagedBy] != "Helm" {
		t.Error("prepare changed the caller's object")
	}
}

func TestPrepareRefusesUnusableObjects(t *testing.T) {
	req := &Request{Owner: types.NamespacedName{Namespace: "apps", Name: "web"}, Objects: []*unstructured.Unstructured{
		nil,
		mustObject(`{apiVersion: v1, kind: ConfigMap, metadata: {generateName: c-}}`),
		{Object: map[string]any{"metadata": map[string]any{"name": "c"}}},
	}}
	items := prepare(req)
	for i, want := range []string{"is empty", "has no metadata.name", "has no apiVersion or kind"} {
		if items[i].err == nil || !strings.Contains(items[i].err.Error(), want) {
			t.Errorf("object %d: error %v, want one containing %q", i, items[i].err, want)
		}
	}
}

// TestStagesPutNamespacesAndCRDsFirst checks the apply order: Namespaces and CRDs before the
// rest, each group keeping the request's order.
func TestStagesPutNamespacesAndCRDsFirst(t *testing.T) {
	docs := []string{
		`{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}`,
		`{apiVersion: example.dev/v1, kind: Widget, metadata: {name: w}}`,
		`{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: widgets.example.dev}}`,
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}}`,
		`{apiVersion: v1, kind: Namespace, metadata: {name: extra}}`,
		`{apiVersion: example.dev/v1, kind: Namespace, metadata: {name: not-a-real-namespace}}`,
	}
	var objs []*unstructured.Unstructured
	for _, d := range docs {
		objs = append(objs, mustObject(d))
	}
	first, rest := stages(prepare(&Request{Owner: types.NamespacedName{Namespace: "apps", Name: "web"}, Objects: objs}))
	names := func(items []*item) string {
		var n []string
		for _, it := range items {
			n = append(n, it.ref.Name)
		}
		return strings.Join(n, ",")
	}
	if got, want := names(first), "widgets.example.dev,extra"; got != want {
		t.Errorf("first stage %s, want %s", got, want)
	}
	if got, want := names(rest), "a,w,d,not-a-real-namespace"; got != want {
		t.Errorf("second stage %s, want %s", got, want)
	}
}
