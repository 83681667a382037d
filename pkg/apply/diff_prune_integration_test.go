package apply

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A deletion whose dry run fails is still in the diff, with the reason: a reviewer of a change
// that removes an object must see it (the dry-run delete of a replica that does not hold the
// Lease used to fail, and the diff then hid the deletion).
func TestDiffShowsAPruneWhoseDryRunFailed(t *testing.T) {
	ctx := testContext(t)
	cs := adminClientset(t)
	nsObj, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "diff-prune-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	ns := nsObj.Name
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "gitops"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ServiceAccount: %v", err)
	}
	// Everything but delete: the dry-run prune is refused by the apiserver.
	grantNamespace(t, ctx, ns, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"},
		Verbs: []string{"get", "list", "watch", "create", "patch", "update"}})
	kept := object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept}\ndata: {a: b}")
	removed := object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: removed}\ndata: {a: b}")
	res := mustApply(t, ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{kept, removed}})

	diffs, err := testEngine.Diff(ctx, Request{Owner: owner(ns), Objects: []*unstructured.Unstructured{kept}, Previous: res.Resources, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	var prune *ObjectDiff
	for i, d := range diffs {
		if d.Action == ActionPrune {
			prune = &diffs[i]
		}
	}
	switch {
	case prune == nil:
		t.Fatalf("the diff lists no prune, want the failed deletion of ConfigMap removed: %+v", diffs)
	case prune.Ref.Name != "removed" || prune.Live == nil:
		t.Errorf("prune of %s (live %v), want of ConfigMap removed with its live object", prune.Ref.Name, prune.Live != nil)
	case !strings.Contains(prune.Error, "cannot delete"):
		t.Errorf("prune error %q, want the apiserver's refusal of the delete", prune.Error)
	}
	if !exists(t, ctx, schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, ns, "removed") {
		t.Error("Diff deleted the ConfigMap")
	}
}
