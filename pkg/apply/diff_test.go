package apply

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestNeedsWrite(t *testing.T) {
	const live = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: apps
  uid: u1
  resourceVersion: "10"
  creationTimestamp: "2026-01-01T00:00:00Z"
  managedFields:
  - {manager: kube-gitops, operation: Apply, apiVersion: v1, time: "2026-01-01T00:00:00Z", fieldsType: FieldsV1, fieldsV1: {"f:data": {"f:a": {}}}}
data: {a: b}`
	tests := []struct {
		name    string
		dryRun  string
		want    bool
		comment string
	}{
		{
			name: "same content, newer noise",
			dryRun: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: apps
  uid: u1
  resourceVersion: "11"
  generation: 3
  creationTimestamp: "2026-01-01T00:00:00Z"
  managedFields:
  - {manager: kube-gitops, operation: Apply, apiVersion: v1, time: "2026-02-02T00:00:00Z", fieldsType: FieldsV1, fieldsV1: {"f:data": {"f:a": {}}}}
data: {a: b}
status: {whatever: true}`,
			want: false,
		},
		{
			name: "value changed",
			dryRun: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: apps
  managedFields:
  - {manager: kube-gitops, operation: Apply, apiVersion: v1, fieldsType: FieldsV1, fieldsV1: {"f:data": {"f:a": {}}}}
data: {a: c}`,
			want: true,
		},
		{
			name: "same values, but kube-gitops would own another field set",
			dryRun: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: apps
  managedFields:
  - {manager: kube-gitops, operation: Apply, apiVersion: v1, fieldsType: FieldsV1, fieldsV1: {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {}}}}
data: {a: b}`,
			want: true,
		},
		{
			name: "the live object was never applied by kube-gitops",
			dryRun: `
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: apps
  managedFields:
  - {manager: kubectl, operation: Update, apiVersion: v1, fieldsType: FieldsV1, fieldsV1: {"f:data": {"f:a": {}}}}
data: {a: b}`,
			want: true, // the live side has kube-gitops' entry, the dry run none: ownership differs
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := needsWrite(mustObject(live), mustObject(tt.dryRun)); got != tt.want {
				t.Errorf("needsWrite = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNormalizeDropsNoiseOnly(t *testing.T) {
	u := mustObject(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  resourceVersion: "1"
  generation: 2
  uid: x
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}", keep: me}
spec: {replicas: 0}
status: {replicas: 0}`)
	n := normalize(u)
	if _, found, _ := unstructured.NestedFieldNoCopy(n.Object, "status"); found {
		t.Error("status kept")
	}
	if n.GetResourceVersion() != "" || n.GetGeneration() != 0 || n.GetUID() != "" {
		t.Errorf("server fields kept: %v", n.Object["metadata"])
	}
	if got := n.GetAnnotations(); len(got) != 1 || got["keep"] != "me" {
		t.Errorf("annotations %v, want only keep=me", got)
	}
	if r, _, _ := unstructured.NestedInt64(n.Object, "spec", "replicas"); r != 0 || u.GetResourceVersion() != "1" {
		t.Error("normalize changed the spec or its input")
	}
	if normalize(nil) != nil {
		t.Error("normalize(nil) != nil")
	}
}
