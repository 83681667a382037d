package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestServerHoldsOnlyTheShippedLeastPrivilege asks the API server, with the very credentials the
// e2e server runs with (the install's ServiceAccount and RBAC), what the server may do: no
// cluster-wide impersonation, no read of Secrets or any other namespaced object, no change to
// CRDs; impersonation only of the ServiceAccount a namespace opted in; its own records
// (promotionrecords included, so a real install can promote) and the cluster-scoped kinds the
// chart lists, read-only.
func TestServerHoldsOnlyTheShippedLeastPrivilege(t *testing.T) {
	ctx := context.Background()
	optedIn, other := "least-"+randomString()[:6], "least-"+randomString()[:6]
	if err := e.createSyncAccount(ctx, optedIn); err != nil {
		t.Fatal(err)
	}
	if err := e.createNamespace(ctx, other); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, ns := range []string{optedIn, other} {
			_ = e.kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
	})
	// The opt-in is read by the API server's RBAC cache, which may lag its write by a moment.
	if err := eventually(30*time.Second, func() error {
		if got := serverCanI(t, "impersonate", "serviceaccount/gitops", "-n", optedIn); got != "yes" {
			return fmt.Errorf("impersonate serviceaccount/gitops in the opted-in %s: %s, want yes", optedIn, got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		args []string
		want string
	}{
		// Impersonation: only the opted-in namespace's ServiceAccount.
		{[]string{"impersonate", "serviceaccount/gitops", "-n", other}, "no"},
		{[]string{"impersonate", "serviceaccount/default", "-n", optedIn}, "no"},
		{[]string{"impersonate", "serviceaccounts", "-A"}, "no"},
		{[]string{"impersonate", "serviceaccount/generic-garbage-collector", "-n", "kube-system"}, "no"},
		{[]string{"impersonate", "users"}, "no"},
		{[]string{"impersonate", "groups"}, "no"},
		// No namespaced reads of its own, Secrets least of all, opted in or not.
		{[]string{"get", "secrets", "-n", optedIn}, "no"},
		{[]string{"list", "secrets", "-A"}, "no"},
		{[]string{"list", "configmaps", "-n", optedIn}, "no"},
		{[]string{"list", "deployments.apps", "-A"}, "no"},
		{[]string{"get", "secrets", "-n", "kube-system"}, "no"},
		// Writes happen as the app's ServiceAccount only.
		{[]string{"create", "configmaps", "-n", optedIn}, "no"},
		{[]string{"create", "clusterroles"}, "no"},
		{[]string{"create", "clusterrolebindings"}, "no"},
		{[]string{"bind", "clusterroles"}, "no"},
		{[]string{"escalate", "clusterroles"}, "no"},
		{[]string{"create", "rolebindings", "-n", optedIn}, "no"},
		// The install ships the CRDs: the server changes none.
		{[]string{"create", "customresourcedefinitions.apiextensions.k8s.io"}, "no"},
		{[]string{"update", "customresourcedefinitions.apiextensions.k8s.io"}, "no"},
		{[]string{"delete", "customresourcedefinitions.apiextensions.k8s.io"}, "no"},
		// The cluster-scoped kinds of rbac.clusterReadRules: read, never written.
		{[]string{"list", "customresourcedefinitions.apiextensions.k8s.io"}, "yes"},
		{[]string{"watch", "clusterroles"}, "yes"},
		{[]string{"get", "namespaces"}, "yes"},
		{[]string{"delete", "namespaces"}, "no"},
		// Its own records, promotions' included.
		{[]string{"create", "promotionrecords.internal.gitops.kube-gitops.dev", "-n", optedIn}, "yes"},
		{[]string{"update", "desiredstaterecords.internal.gitops.kube-gitops.dev", "-n", optedIn}, "yes"},
		// The opt-ins: read, never written.
		{[]string{"list", "rolebindings", "-A"}, "yes"},
		{[]string{"patch", "rolebindings", "-n", optedIn}, "no"},
	}
	for _, c := range checks {
		if got := serverCanI(t, c.args...); got != c.want {
			t.Errorf("can the server %s? %s, want %s", strings.Join(c.args, " "), got, c.want)
		}
	}
}

// serverCanI is `kubectl auth can-i` with the kubeconfig the e2e server runs with.
func serverCanI(t *testing.T, args ...string) string {
	t.Helper()
	full := append([]string{"--kubeconfig", e.serverKubeconfig, "--cache-dir", filepath.Join(e.dir, "kube-cache-server"), "auth", "can-i"}, args...)
	out, err := exec.Command(e.kubectlBinary(), full...).Output() // exit 1 means "no"
	answer := strings.TrimSpace(string(out))
	if answer != "yes" && answer != "no" {
		t.Fatalf("kubectl auth can-i %s: %v: %q", strings.Join(args, " "), err, answer)
	}
	return answer
}

// TestClusterScopedObjectsNeedTheAppsOwnBinding: an application's cluster-scoped object is
// refused while its ServiceAccount may not write that kind, and applied once a cluster admin
// binds that ServiceAccount (and only it) to a ClusterRole that allows it: the server lends none
// of its own power.
func TestClusterScopedObjectsNeedTheAppsOwnBinding(t *testing.T) {
	ctx := context.Background()
	ns := "scoped-" + randomString()[:6]
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	role := "issue8-" + ns // a ClusterRole with no rules: creating it escalates nothing
	appFile, objects := "clusters/test/"+ns+".yaml", "apps/"+ns+"/objects.yaml"
	files := map[string]string{
		appFile: desiredStateFile("scoped", ns, "apps/"+ns) + "  sync: {automated: true, prune: true}\n",
		objects: configMap("plain", ns, "x") + "---\n" +
			fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: %s}\nrules: []\n", role),
	}
	if _, err := e.commit(files, "an app with a cluster-scoped object"); err != nil {
		t.Fatal(err)
	}
	writer := role + "-writer"
	t.Cleanup(func() {
		e.removeFiles(appFile, objects)
		bg := context.Background()
		_ = e.kube.RbacV1().ClusterRoleBindings().Delete(bg, writer, metav1.DeleteOptions{})
		_ = e.kube.RbacV1().ClusterRoles().Delete(bg, writer, metav1.DeleteOptions{})
		_ = e.kube.RbacV1().ClusterRoles().Delete(bg, role, metav1.DeleteOptions{})
		_ = e.kube.CoreV1().Namespaces().Delete(bg, ns, metav1.DeleteOptions{})
	})
	u := waitStatus(t, ns, "scoped", "OutOfSync", "", 60*time.Second)
	if !configMapExists(t, ns, "plain") {
		t.Fatal("the namespaced object was not applied")
	}
	if _, err := e.kube.RbacV1().ClusterRoles().Get(ctx, role, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("ClusterRole %s before its ServiceAccount may write ClusterRoles: %v, want not found", role, err)
	}
	if msg := resourceMessage(u, "ClusterRole", role); !strings.Contains(msg, "serviceaccount "+ns+"/gitops cannot") || !strings.Contains(msg, "ClusterRoleBinding") {
		t.Errorf("ClusterRole %s: message %q, want it refused for the app's ServiceAccount, saying what to grant", role, msg)
	}

	// A cluster admin lets this app's ServiceAccount write ClusterRoles.
	if err := e.kubectlApply(fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: %[1]s}
rules: [{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [get, list, watch, create, update, patch, delete]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %[1]s}
subjects: [{kind: ServiceAccount, name: gitops, namespace: %[2]s}]
`, writer, ns)); err != nil {
		t.Fatal(err)
	}
	var uid types.UID
	if err := eventually(60*time.Second, func() error {
		if out, err := postSync(ns, "scoped", ""); err != nil {
			return fmt.Errorf("sync: %v: %s", err, out)
		}
		cr, err := e.kube.RbacV1().ClusterRoles().Get(ctx, role, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("ClusterRole %s after the binding: %v", role, err)
		}
		uid = cr.UID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ns, "scoped", "Synced", "", 60*time.Second)
	if cr, err := e.kube.RbacV1().ClusterRoles().Get(ctx, role, metav1.GetOptions{}); err != nil || cr.UID != uid {
		t.Errorf("ClusterRole %s after the sync: %v, want the one applied (uid %s)", role, err, uid)
	}
}

// resourceMessage is the message of kind/name in a DesiredState's status.resources.
func resourceMessage(u interface{ UnstructuredContent() map[string]any }, kind, name string) string {
	status, _ := u.UnstructuredContent()["status"].(map[string]any)
	resources, _ := status["resources"].([]any)
	for _, r := range resources {
		m, _ := r.(map[string]any)
		if m["kind"] == kind && m["name"] == name {
			return fmt.Sprint(m["message"])
		}
	}
	return ""
}

// TestAnotherServiceAccountIsNotLent: in a namespace that opted in for its gitops
// ServiceAccount, a DesiredState naming another ServiceAccount of that namespace (here one a
// cluster admin made cluster-admin, as a controller's often is) is not applied: the opt-in lends
// the server that one ServiceAccount, and the refusal says how to opt the other one in.
func TestAnotherServiceAccountIsNotLent(t *testing.T) {
	ctx := context.Background()
	ns := "lent-" + randomString()[:6]
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	powerful := "issue8-" + ns + "-controller"
	if err := e.kubectlApply(fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata: {name: controller, namespace: %[2]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: controller, namespace: %[2]s}]
`, powerful, ns)); err != nil {
		t.Fatal(err)
	}
	role := "issue8-" + ns + "-escalated"
	appFile, objects := "clusters/test/"+ns+".yaml", "apps/"+ns+"/objects.yaml"
	files := map[string]string{
		appFile: desiredStateFile("borrower", ns, "apps/"+ns) + "  sync: {automated: true, serviceAccountName: controller}\n",
		objects: configMap("borrowed", ns, "x") + "---\n" +
			fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: %s}\nrules: []\n", role),
	}
	if _, err := e.commit(files, "an app that names a powerful ServiceAccount of its namespace"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.removeFiles(appFile, objects)
		bg := context.Background()
		_ = e.kube.RbacV1().ClusterRoleBindings().Delete(bg, powerful, metav1.DeleteOptions{})
		_ = e.kube.RbacV1().ClusterRoles().Delete(bg, role, metav1.DeleteOptions{})
		_ = e.kube.CoreV1().Namespaces().Delete(bg, ns, metav1.DeleteOptions{})
	})
	waitRefused(t, ns, "borrower", "NamespaceNotOptedIn", "kubectl gitops init-namespace "+ns+" --service-account controller")
	// The refusal is the gate's, not a failed apply: once the server has read Git again (so a
	// sync, had there been one, has run) nothing exists.
	if err := e.waitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	if configMapExists(t, ns, "borrowed") {
		t.Error("an object was applied as a ServiceAccount the namespace did not opt in")
	}
	if _, err := e.kube.RbacV1().ClusterRoles().Get(ctx, role, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRole %s: %v, want not found", role, err)
	}
}
