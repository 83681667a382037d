package controller

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
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
