package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestWaitingSyncsDoNotStallOtherTenants: one namespace commits as many apps as the server has
// sync workers (8), each with a wave-0 Deployment that never becomes Healthy (its pod cannot be
// scheduled) and a wave-1 ConfigMap. Their syncs wait on health, one at a time for that
// namespace; a plain app of another namespace is still Synced within 30 s, while the first
// namespace's apps are still waiting (no wave-1 ConfigMap yet, one Deployment applied).
func TestWaitingSyncsDoNotStallOtherTenants(t *testing.T) {
	ctx := context.Background()
	const nsA, nsB, workers = "waits-a", "waits-b", 8
	for _, ns := range []string{nsA, nsB} {
		if err := e.createSyncAccount(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{}
	for i := range workers {
		name := fmt.Sprintf("stuck-%d", i)
		files["clusters/test/"+name+".yaml"] = desiredStateFile(name, nsA, "apps/"+name) + "  sync: {automated: true, prune: true}\n"
		files["apps/"+name+"/deploy.yaml"] = fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      nodeSelector: {kube-gitops.dev/no-such-node: "true"}
      containers: [{name: app, image: registry.example/stuck:1}]
`, name, nsA)
		files["apps/"+name+"/config.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: %s, annotations: {gitops.kube-gitops.dev/sync-wave: \"1\"}}\ndata: {v: a}\n", name, nsA)
	}
	if _, err := e.commit(files, "apps that wait on a Deployment that never becomes Healthy"); err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	// Wait until a waiting sync of nsA holds its worker: its Deployment is applied.
	if err := eventually(60*time.Second, func() error {
		l, err := e.kube.AppsV1().Deployments(nsA).List(ctx, metav1.ListOptions{})
		if err != nil || len(l.Items) == 0 {
			return fmt.Errorf("no Deployment applied in %s yet (%v)", nsA, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	plain := map[string]string{
		"clusters/test/plain.yaml": desiredStateFile("plain", nsB, "apps/plain") + "  sync: {automated: true, prune: true}\n",
		"apps/plain/config.yaml":   fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain, namespace: %s}\ndata: {v: a}\n", nsB),
	}
	rev, err := e.commit(plain, "a plain app of another team")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(plain)...)
	start := time.Now()
	waitSyncedAt(t, nsB, "plain", rev, 30*time.Second)
	t.Logf("the plain app synced %s after its commit", time.Since(start).Round(time.Millisecond))
	cm, err := e.kube.CoreV1().ConfigMaps(nsB).Get(ctx, "plain", metav1.GetOptions{})
	if err != nil || cm.UID == "" {
		t.Fatalf("the plain app's ConfigMap: %v", err)
	}

	// nsA's apps are still waiting: none reached wave 1, and only one of them (the one holding
	// the namespace's waiting slot) applied its wave 0.
	for i := range workers {
		name := fmt.Sprintf("stuck-%d", i)
		if _, err := e.kube.CoreV1().ConfigMaps(nsA).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("ConfigMap %s/%s of wave 1 exists or cannot be read (%v): its wave 0 never becomes Healthy", nsA, name, err)
		}
	}
	l, err := e.kube.AppsV1().Deployments(nsA).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 {
		t.Errorf("%d Deployments applied in %s; want 1: one waiting sync per namespace at a time", len(l.Items), nsA)
	}
}

// TestSyncWaveUsesACRDOfAnEarlierWave: an app's wave 0 is a CRD, its wave 1 a custom resource of
// that CRD's kind. The sync finds the new kind and creates the resource; the app is Synced.
func TestSyncWaveUsesACRDOfAnEarlierWave(t *testing.T) {
	ctx := context.Background()
	const ns, app = "waits-crd", "gadgets"
	if err := e.createSyncAccount(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// The app's ServiceAccount may install this one CRD and write its kind: a namespace admin
	// may do neither by default.
	if err := e.kubectlApply(fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: waits-crd-gadgets}
rules: [{apiGroups: [apiextensions.k8s.io], resources: [customresourcedefinitions], verbs: [get, list, watch, create, update, patch], resourceNames: [gadgets.waits.kube-gitops.dev]},
        {apiGroups: [apiextensions.k8s.io], resources: [customresourcedefinitions], verbs: [create]},
        {apiGroups: [waits.kube-gitops.dev], resources: [gadgets], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: waits-crd-gadgets}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: waits-crd-gadgets}
subjects: [{kind: ServiceAccount, name: gitops, namespace: %s}]
`, ns)); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"clusters/test/gadgets.yaml": desiredStateFile(app, ns, "apps/gadgets") + "  sync: {automated: true}\n",
		"apps/gadgets/crd.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.waits.kube-gitops.dev, annotations: {gitops.kube-gitops.dev/sync-wave: "0"}}
spec:
  group: waits.kube-gitops.dev
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`,
		"apps/gadgets/gadget.yaml": fmt.Sprintf("apiVersion: waits.kube-gitops.dev/v1\nkind: Gadget\nmetadata: {name: first, namespace: %s, annotations: {gitops.kube-gitops.dev/sync-wave: \"1\"}}\nspec: {size: 1}\n", ns),
	}
	rev, err := e.commit(files, "a CRD in wave 0 and its custom resource in wave 1")
	if err != nil {
		t.Fatal(err)
	}
	defer e.removeFiles(fileNames(files)...)
	waitSyncedAt(t, ns, app, rev, 90*time.Second)
	gadgets := schema.GroupVersionResource{Group: "waits.kube-gitops.dev", Version: "v1", Resource: "gadgets"}
	u, err := e.dyn.Resource(gadgets).Namespace(ns).Get(ctx, "first", metav1.GetOptions{})
	if err != nil || u.GetUID() == "" {
		t.Fatalf("Gadget %s/first of wave 1: %v", ns, err)
	}
}
