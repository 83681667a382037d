package apply

import (
	"context"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

func owner(ns string) types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: "app"} }

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustApply(t *testing.T, ctx context.Context, req Request) *Result {
	t.Helper()
	res, err := testEngine.Apply(ctx, req)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

// fourObjects is the shape of an app: ServiceAccount, Deployment scaled to 0, Service, ConfigMap.
// They carry no namespace: it defaults to the owner's.
func fourObjects(ns string) []*unstructured.Unstructured {
	docs := []string{`
apiVersion: v1
kind: ServiceAccount
metadata: {name: web}`, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: registry.example/web:1.0.0, ports: [{containerPort: 8080}]}]`, `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]`, `
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {colour: green}`}
	out := make([]*unstructured.Unstructured, len(docs))
	for i, d := range docs {
		out[i] = mustObject(d)
	}
	return out
}

func object(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u, err := parseObject(doc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustObject(doc string) *unstructured.Unstructured {
	u, err := parseObject(doc)
	if err != nil {
		panic(err)
	}
	return u
}

func parseObject(doc string) (*unstructured.Unstructured, error) {
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	return u, u.UnmarshalJSON(j)
}

// setupNamespace creates a namespace with the ServiceAccount gitops and a Role that lets it
// manage the four objects of an app (and Secrets) there. The namespace is deleted afterwards.
func setupNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ctx := context.Background()
	cs := adminClientset(t)
	nsObj, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	ns := nsObj.Name
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "gitops"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ServiceAccount: %v", err)
	}
	grantNamespace(t, ctx, ns,
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts", "services", "configmaps", "secrets"}, Verbs: []string{"*"}},
		rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"*"}},
	)
	return ns
}

// grantNamespace gives the namespace's gitops ServiceAccount a Role with rules.
func grantNamespace(t *testing.T, ctx context.Context, ns string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	cs := adminClientset(t)
	name := "gitops-" + strings.ToLower(rules[0].Resources[0])
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Role: %v", err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "gitops", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create RoleBinding: %v", err)
	}
	waitForAccess(t, ctx, ns, ns, rules[0])
}

// grantCluster gives the namespace's gitops ServiceAccount a ClusterRole with rules.
func grantCluster(t *testing.T, ctx context.Context, ns string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	cs := adminClientset(t)
	name := ns + "-gitops"
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ClusterRole: %v", err)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "gitops", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ClusterRoleBinding: %v", err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = cs.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	waitForAccess(t, ctx, ns, "", rules[0])
}

// waitForAccess waits until the RBAC authorizer's cache lets the gitops ServiceAccount of saNS
// create rule's first resource in ns ("" for cluster scope).
func waitForAccess(t *testing.T, ctx context.Context, saNS, ns string, rule rbacv1.PolicyRule) {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: "system:serviceaccount:" + saNS + ":gitops",
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: "create", Group: rule.APIGroups[0], Resource: rule.Resources[0],
		},
	}}
	cs := adminClientset(t)
	waitFor(t, ctx, "RBAC to allow "+sar.Spec.User+" to create "+rule.Resources[0], func() bool {
		review, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		return err == nil && review.Status.Allowed
	})
}

func waitFor(t *testing.T, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func adminClientset(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(adminConfig)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func adminDynamic(t *testing.T) dynamic.Interface {
	t.Helper()
	dc, err := dynamic.NewForConfig(adminConfig)
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

func getObject(t *testing.T, ctx context.Context, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := adminDynamic(t).Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return u
}

func exists(t *testing.T, ctx context.Context, gvr schema.GroupVersionResource, ns, name string) bool {
	t.Helper()
	u, err := adminDynamic(t).Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return u.GetDeletionTimestamp() == nil
}

func findStatus(list []v1alpha1.ResourceStatus, kind, name string) *v1alpha1.ResourceStatus {
	for i := range list {
		if list[i].Kind == kind && list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}
