package e2e

import (
	"context"
	"reflect"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPluginInitNamespace runs `kubectl gitops init-namespace` as a namespace admin (alice, in a
// group bound to ClusterRole admin in a fresh namespace, nothing else) against the real API
// server, whose RBAC escalation check lets her create the opt-in only because admin holds
// impersonate on serviceaccounts. The opt-in then lets the server's ServiceAccount impersonate
// the apps' ServiceAccount there, and no other.
func TestPluginInitNamespace(t *testing.T) {
	ctx := context.Background()
	ns := "optin-" + randomString()[:8]
	if err := e.createNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	if out, err := e.kubectl("create", "rolebinding", "team-admins", "-n", ns, "--clusterrole", "admin", "--group", "team-admins"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	admin := []string{"--as", "alice", "--as-group", "team-admins"}
	server := "system:serviceaccount:kube-gitops:gitops-apiserver"
	canImpersonate := func(sa string) string {
		out, _ := e.kubectl("auth", "can-i", "impersonate", "serviceaccount/"+sa, "-n", ns, "--as", server)
		return strings.TrimSpace(out)
	}
	if got := canImpersonate("gitops"); got != "no" {
		t.Fatalf("before the opt-in the server may impersonate gitops in %s: %q", ns, got)
	}
	if out, errOut, code := e.plugin("__complete", "init-namespace", "optin-"); code != 0 || !strings.Contains(out, ns+"\n") {
		t.Errorf("completing NS: exit %d\n%s%s", code, out, errOut)
	}

	// Someone who may only view the namespace is refused, and told why.
	if out, err := e.kubectl("create", "rolebinding", "bob-view", "-n", ns, "--clusterrole", "view", "--user", "bob"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	_, errOut, code := e.plugin("init-namespace", ns, "--as", "bob")
	if want := "error: you may not apply serviceaccount/gitops in " + ns + ": you need admin there\n"; code != 1 || errOut != want {
		t.Errorf("as a viewer: exit %d, stderr %q, want %q", code, errOut, want)
	}
	// The admin of the namespace may not hand out more than she holds.
	_, errOut, code = e.plugin(append([]string{"init-namespace", ns, "--clusterrole", "cluster-admin"}, admin...)...)
	if want := "error: you may not bind cluster-admin in " + ns + ": you must hold all it allows\n"; code != 1 || errOut != want {
		t.Errorf("binding cluster-admin: exit %d, stderr %q, want %q", code, errOut, want)
	}

	out, errOut, code := e.plugin(append([]string{"init-namespace", ns, "--paths", "clusters/*/" + ns + "/*"}, admin...)...)
	if code != 0 {
		t.Fatalf("init-namespace as the namespace admin: exit %d: %s%s", code, out, errOut)
	}
	if err := containsAll(out, "rolebinding/kube-gitops applied", "Namespace "+ns+" is opted in.",
		"kubectl auth can-i impersonate serviceaccount/gitops -n "+ns); err != nil {
		t.Error(err)
	}

	partOf := map[string]string{"app.kubernetes.io/part-of": "kube-gitops"}
	if sa, err := e.kube.CoreV1().ServiceAccounts(ns).Get(ctx, "gitops", metav1.GetOptions{}); err != nil || !reflect.DeepEqual(sa.Labels, partOf) {
		t.Errorf("serviceaccount gitops: %v %v", err, sa.GetLabels())
	}
	apps, err := e.kube.RbacV1().RoleBindings(ns).Get(ctx, "gitops", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"}); apps.RoleRef != want ||
		!reflect.DeepEqual(apps.Subjects, []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "gitops"}}) {
		t.Errorf("rolebinding gitops: %+v %+v", apps.RoleRef, apps.Subjects)
	}
	role, err := e.kube.RbacV1().Roles(ns).Get(ctx, "kube-gitops", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantRules := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"impersonate"}, ResourceNames: []string{"gitops"}}}
	if !reflect.DeepEqual(role.Rules, wantRules) {
		t.Errorf("role kube-gitops: %+v", role.Rules)
	}
	optIn, err := e.kube.RbacV1().RoleBindings(ns).Get(ctx, "kube-gitops", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "kube-gitops"}); optIn.RoleRef != want ||
		!reflect.DeepEqual(optIn.Subjects, []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "kube-gitops", Name: "gitops-apiserver"}}) ||
		optIn.Labels["gitops.kube-gitops.dev/opt-in"] != "true" ||
		optIn.Annotations["gitops.kube-gitops.dev/service-account"] != "gitops" ||
		optIn.Annotations["gitops.kube-gitops.dev/paths"] != "clusters/*/"+ns+"/*" {
		t.Errorf("rolebinding kube-gitops: %+v %+v %v %v", optIn.RoleRef, optIn.Subjects, optIn.Labels, optIn.Annotations)
	}
	for _, mf := range optIn.ManagedFields {
		if mf.Manager != "kubectl-gitops" || mf.Operation != metav1.ManagedFieldsOperationApply {
			t.Errorf("rolebinding kube-gitops written by %s (%s), want a server-side apply by kubectl-gitops", mf.Manager, mf.Operation)
		}
	}

	if got := canImpersonate("gitops"); got != "yes" {
		t.Errorf("after the opt-in, may the server impersonate gitops in %s? %q, want yes", ns, got)
	}
	if got := canImpersonate("default"); got != "no" {
		t.Errorf("after the opt-in, may the server impersonate default in %s? %q, want no", ns, got)
	}
}
