package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kube-gitops/kube-gitops/test/cluster"
)

// TestPluginInstallManifestsAreValid prints the install manifests with the plugin and has the
// real API server validate them with a server-side dry run.
func TestPluginInstallManifestsAreValid(t *testing.T) {
	out, errOut, code := e.plugin("install", "--repo", e.repoURL, "--path", "clusters/test", "--environment", "test",
		"--server-namespace", "gitops-dry-run", "--dry-run")
	if code != 0 {
		t.Fatalf("install --dry-run: exit %d: %s", code, errOut)
	}
	if err := containsAll(out, "kind: APIService", "kind: Deployment", "--environment=test", "kind: CustomResourceDefinition"); err != nil {
		t.Fatal(err)
	}
	if err := e.createNamespace(t.Context(), "gitops-dry-run"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(e.dir, "install.yaml")
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	applied, err := e.kubectl("apply", "--server-side", "--dry-run=server", "--force-conflicts", "-f", file)
	if err != nil {
		t.Fatalf("the API server refuses the install manifests: %v\n%s", err, applied)
	}
	if !strings.Contains(applied, "deployment.apps/gitops-apiserver serverside-applied (server dry run)") {
		t.Errorf("unexpected apply output:\n%s", applied)
	}
	if _, errOut, code := e.plugin("install", "--path", "clusters/test"); code == 0 || !strings.Contains(errOut, "--repo, --path and --environment are required") {
		t.Errorf("missing flags: exit %d: %s", code, errOut)
	}
}

// TestInstallDryRunServer has the suite's cluster check a whole install, over the suite's own
// installation, and change nothing: no Deployment appears, no Secret is stored, and the
// aggregated API still answers from the local server.
func TestInstallDryRunServer(t *testing.T) {
	before, err := e.dyn.Resource(apiServices).Get(t.Context(), "v1alpha1.gitops.kube-gitops.dev", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The suite's Service listens on the server's port: an install keeps the port it runs with.
	out, errOut, code := e.plugin("install", "--repo", e.repoURL, "--path", "clusters/test", "--environment", "test", "--dry-run=server",
		"--set", fmt.Sprintf("service.port=%d", e.server.port))
	if code != 0 {
		t.Fatalf("install --dry-run=server: exit %d: %s%s", code, out, errOut)
	}
	if err := containsAll(out, "deployment.apps/gitops-apiserver -n kube-gitops serverside-applied (server dry run)",
		"apiservice.apiregistration.k8s.io/v1alpha1.gitops.kube-gitops.dev serverside-applied (server dry run)",
		"customresourcedefinition.apiextensions.k8s.io/desiredstaterecords.internal.gitops.kube-gitops.dev serverside-applied (server dry run)",
		"secret/gitops-apiserver-tls -n kube-gitops created (server dry run)", "the cluster accepts every object"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.kube.AppsV1().Deployments("kube-gitops").Get(t.Context(), "gitops-apiserver", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a dry run left a Deployment (err %v)", err)
	}
	if _, err := e.kube.CoreV1().Secrets("kube-gitops").Get(t.Context(), "gitops-apiserver-tls", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a dry run stored the serving certificate (err %v)", err)
	}
	after, err := e.dyn.Resource(apiServices).Get(t.Context(), "v1alpha1.gitops.kube-gitops.dev", metav1.GetOptions{})
	if err != nil || after.GetResourceVersion() != before.GetResourceVersion() {
		t.Errorf("a dry run changed the APIService (err %v)", err)
	}
	if out, errOut, code := e.plugin("install", "--repo", e.repoURL, "--path", "p", "--environment", "e", "--dry-run=server", "--server-namespace", "no-such-ns"); code == 0 ||
		!strings.Contains(errOut, "namespace no-such-ns does not exist") {
		t.Errorf("a dry run into a missing namespace: exit %d: %s%s", code, out, errOut)
	}
}

var (
	crds = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	vaps = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"}
)

// installCluster is a cluster of its own for the tests that install and uninstall for real:
// the suite's cluster shares the APIService and CRDs with the suite's server.
type installCluster struct {
	*cluster.Cluster
	kube kubernetes.Interface
	dyn  dynamic.Interface
}

func startInstallCluster(t *testing.T) *installCluster {
	t.Helper()
	c, err := cluster.Start(t.Context(), cluster.Options{Dir: filepath.Join(e.dir, "install-cluster"), BinDir: filepath.Join(e.root, ".local/bin"), Log: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop the install cluster: %v", err)
		}
	})
	ic := &installCluster{Cluster: c}
	if ic.kube, err = kubernetes.NewForConfig(c.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	if ic.dyn, err = dynamic.NewForConfig(c.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	return ic
}

// plugin runs kubectl gitops against this cluster.
func (ic *installCluster) plugin(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := e.plugin(append(args, "--kubeconfig", ic.Kubeconfig)...)
	if code != 0 {
		t.Fatalf("kubectl gitops %s: exit %d: %s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// recordAsServer creates a DesiredStateRecord with the cleanup finalizer, as the server does
// (only the server's ServiceAccount may write records), and returns it.
func (ic *installCluster) recordAsServer(t *testing.T, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	path := filepath.Join(e.dir, "install-cluster-server.kubeconfig")
	if err := ic.ServiceAccountKubeconfig(t.Context(), "kube-gitops", "gitops-apiserver", path); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	server, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "internal.gitops.kube-gitops.dev/v1alpha1", "kind": "DesiredStateRecord",
		"metadata": map[string]any{"name": name, "namespace": namespace, "finalizers": []any{"gitops.kube-gitops.dev/cleanup"}},
		"spec":     map[string]any{"sync": map[string]any{"prune": true}},
	}}
	created, err := server.Resource(desiredStateRecords).Namespace(namespace).Create(t.Context(), rec, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create a record as the server's ServiceAccount: %v", err)
	}
	return created
}

// TestInstallUpgradeUninstall installs with the plugin into a cluster of its own, upgrades in
// place, uninstalls (records, their finalizer and the applications' objects kept) and purges
// (records gone, namespaces not stuck, the applications' objects still untouched).
func TestInstallUpgradeUninstall(t *testing.T) {
	ic := startInstallCluster(t)
	ctx := t.Context()
	base := []string{"install", "--repo", e.repoURL, "--path", "clusters/test", "--environment", "test"}

	// Install. No container runtime here (kwok fakes the pods), so the APIService cannot become
	// Available: --wait=false.
	out := ic.plugin(t, append(base, "--wait=false")...)
	if err := containsAll(out, "secret/gitops-apiserver-tls -n kube-gitops created", "kubectl gitops init-namespace NAMESPACE"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"desiredstaterecords", "sourcerecords", "promotionrecords"} {
		crd, err := ic.dyn.Resource(crds).Get(ctx, name+".internal.gitops.kube-gitops.dev", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !hasCondition(crd, "Established") {
			t.Errorf("CRD %s is not Established after install", crd.GetName())
		}
	}
	secret, err := ic.kube.CoreV1().Secrets("kube-gitops").Get(ctx, "gitops-apiserver-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	api, err := ic.dyn.Resource(apiServices).Get(ctx, "v1alpha1.gitops.kube-gitops.dev", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if caBundle, _, _ := unstructured.NestedString(api.Object, "spec", "caBundle"); caBundle != base64.StdEncoding.EncodeToString(secret.Data["ca.crt"]) {
		t.Error("the APIService's caBundle is not the serving certificate's CA")
	}
	deploy, err := ic.kube.AppsV1().Deployments("kube-gitops").Get(ctx, "gitops-apiserver", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *deploy.Spec.Replicas != 2 || !slices.Contains(deploy.Spec.Template.Spec.Containers[0].Args, "--repo="+e.repoURL) {
		t.Errorf("Deployment: %d replicas, args %v", *deploy.Spec.Replicas, deploy.Spec.Template.Spec.Containers[0].Args)
	}

	// History the server wrote, and an application's object.
	if _, err := ic.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	record := ic.recordAsServer(t, "team", "web")
	app := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web-settings", Namespace: "team"}, Data: map[string]string{"a": "b"}}
	if _, err := ic.kube.CoreV1().ConfigMaps("team").Create(ctx, app, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Upgrade in place: another poll interval and image; records and certificate kept.
	ic.plugin(t, append(base, "--wait=false", "--set", "git.pollInterval=7s", "--image", "registry.example/gitops-apiserver:v9")...)
	deploy, err = ic.kube.AppsV1().Deployments("kube-gitops").Get(ctx, "gitops-apiserver", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := deploy.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--poll-interval=7s") || c.Image != "registry.example/gitops-apiserver:v9" {
		t.Errorf("after the upgrade: image %s, args %v", c.Image, c.Args)
	}
	checkRecordKept(t, ic, record)
	if again, err := ic.kube.CoreV1().Secrets("kube-gitops").Get(ctx, "gitops-apiserver-tls", metav1.GetOptions{}); err != nil || again.UID != secret.UID {
		t.Errorf("the upgrade replaced the serving certificate (err %v)", err)
	}

	// Uninstall: the server goes; CRDs, records with their finalizer, the guard and the app stay.
	out = ic.plugin(t, "uninstall")
	if err := containsAll(out, "apiservice.apiregistration.k8s.io/v1alpha1.gitops.kube-gitops.dev deleted", "secret/gitops-apiserver-tls -n kube-gitops deleted"); err != nil {
		t.Fatal(err)
	}
	gone := []struct {
		what string
		get  func() error
	}{
		{"APIService", func() error {
			_, err := ic.dyn.Resource(apiServices).Get(ctx, "v1alpha1.gitops.kube-gitops.dev", metav1.GetOptions{})
			return err
		}},
		{"Deployment", func() error {
			_, err := ic.kube.AppsV1().Deployments("kube-gitops").Get(ctx, "gitops-apiserver", metav1.GetOptions{})
			return err
		}},
		{"ServiceAccount", func() error {
			_, err := ic.kube.CoreV1().ServiceAccounts("kube-gitops").Get(ctx, "gitops-apiserver", metav1.GetOptions{})
			return err
		}},
		{"ClusterRole", func() error {
			_, err := ic.kube.RbacV1().ClusterRoles().Get(ctx, "kube-gitops-server", metav1.GetOptions{})
			return err
		}},
		{"auth-reader RoleBinding", func() error {
			_, err := ic.kube.RbacV1().RoleBindings("kube-system").Get(ctx, "kube-gitops-server:auth-reader", metav1.GetOptions{})
			return err
		}},
	}
	for _, g := range gone {
		if err := g.get(); !apierrors.IsNotFound(err) {
			t.Errorf("%s is still there after uninstall (err %v)", g.what, err)
		}
	}
	checkRecordKept(t, ic, record)
	if _, err := ic.dyn.Resource(vaps).Get(ctx, "kube-gitops-internal-records", metav1.GetOptions{}); err != nil {
		t.Errorf("the policy guarding the records went with the server: %v", err)
	}
	checkAppKept(t, ic)

	// Purge: the finalizer goes, then the CRDs and records; the app's objects stay and its
	// namespace can be deleted.
	out = ic.plugin(t, "uninstall", "--purge")
	if err := containsAll(out, "finalizer gitops.kube-gitops.dev/cleanup removed from 1 desiredstaterecords.internal.gitops.kube-gitops.dev"); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.dyn.Resource(crds).Get(ctx, "desiredstaterecords.internal.gitops.kube-gitops.dev", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the records' CRD is still there after --purge (err %v)", err)
	}
	checkAppKept(t, ic)
	if err := ic.kube.CoreV1().Namespaces().Delete(ctx, "team", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := eventually(60*time.Second, func() error {
		if _, err := ic.kube.CoreV1().Namespaces().Get(ctx, "team", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace team is still there (err %v)", err)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

func checkRecordKept(t *testing.T, ic *installCluster, want *unstructured.Unstructured) {
	t.Helper()
	got, err := ic.dyn.Resource(desiredStateRecords).Namespace(want.GetNamespace()).Get(context.Background(), want.GetName(), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the record is gone: %v", err)
	}
	if got.GetUID() != want.GetUID() || !slices.Equal(got.GetFinalizers(), want.GetFinalizers()) {
		t.Errorf("record uid %s finalizers %v, want uid %s finalizers %v", got.GetUID(), got.GetFinalizers(), want.GetUID(), want.GetFinalizers())
	}
}

func checkAppKept(t *testing.T, ic *installCluster) {
	t.Helper()
	cm, err := ic.kube.CoreV1().ConfigMaps("team").Get(context.Background(), "web-settings", metav1.GetOptions{})
	if err != nil || cm.Data["a"] != "b" || cm.DeletionTimestamp != nil {
		t.Errorf("the application's ConfigMap was touched (err %v)", err)
	}
}

func hasCondition(u *unstructured.Unstructured, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == typ && m["status"] == "True" {
			return true
		}
	}
	return false
}
