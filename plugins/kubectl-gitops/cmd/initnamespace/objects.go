package initnamespace

import (
	"context"
	"encoding/json"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// The names and marks of the opt-in, which gitops-apiserver reads: a RoleBinding labelled
// optInLabel=true in the namespace, binding the server's ServiceAccount to a Role that may only
// impersonate the ServiceAccount named by serviceAccountAnnotation, optionally limited to the
// repository files matching the comma-separated globs of pathsAnnotation.
const (
	fieldManager             = "kubectl-gitops"
	partOfLabel              = "app.kubernetes.io/part-of"
	partOf                   = "kube-gitops"
	optInLabel               = v1alpha1.LabelOptIn
	serviceAccountAnnotation = v1alpha1.AnnotationOptInServiceAccount
	pathsAnnotation          = v1alpha1.AnnotationOptInPaths
	optInName                = v1alpha1.OptInName // the Role and the RoleBinding of the opt-in
	appsBindingName          = "gitops"           // the RoleBinding of the apps' ServiceAccount
)

// object is one object init-namespace applies: what the report and errors call it, and either
// the apply configuration to send or, once applied, what the server returned.
type object struct {
	apiVersion, kind, name string
	obj                    any
	send                   func(context.Context, kubernetes.Interface, metav1.ApplyOptions) (any, error)
}

// apply sends the object and returns it as the server answered.
func (o object) apply(ctx context.Context, client kubernetes.Interface, opts metav1.ApplyOptions) (object, error) {
	got, err := o.send(ctx, client, opts)
	if err != nil {
		return o, err
	}
	o.obj, o.send = got, nil
	return o, nil
}

// document is the object as a map with apiVersion and kind (a typed client leaves them out of
// what it returns) and without managedFields, as kubectl prints objects.
func (o object) document() (map[string]any, error) {
	data, err := json.Marshal(o.obj)
	if err != nil {
		return nil, err
	}
	doc := map[string]any{}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	doc["apiVersion"], doc["kind"] = o.apiVersion, o.kind
	if meta, ok := doc["metadata"].(map[string]any); ok {
		delete(meta, "managedFields")
	}
	return doc, nil
}

// objects are the ServiceAccount of the apps, its RoleBinding, and the opt-in (Role and
// RoleBinding), in the order they are applied: the opt-in last, so a failure leaves none.
func (o *InitNamespaceOptions) objects() []object {
	ns, sa := o.Namespace, o.ServiceAccount
	labels := map[string]string{partOfLabel: partOf}
	serviceAccount := corev1ac.ServiceAccount(sa, ns).WithLabels(labels)
	appsBinding := rbacv1ac.RoleBinding(appsBindingName, ns).WithLabels(labels).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(o.ClusterRole)).
		WithSubjects(rbacv1ac.Subject().WithKind(rbacv1.ServiceAccountKind).WithNamespace(ns).WithName(sa))
	optInRole := rbacv1ac.Role(optInName, ns).WithLabels(labels).
		WithRules(rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("serviceaccounts").WithVerbs("impersonate").WithResourceNames(sa))
	annotations := map[string]string{serviceAccountAnnotation: sa}
	if len(o.Paths) > 0 {
		annotations[pathsAnnotation] = strings.Join(o.Paths, ",")
	}
	optIn := rbacv1ac.RoleBinding(optInName, ns).WithLabels(labels).WithLabels(map[string]string{optInLabel: "true"}).
		WithAnnotations(annotations).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("Role").WithName(optInName)).
		WithSubjects(rbacv1ac.Subject().WithKind(rbacv1.ServiceAccountKind).WithNamespace(o.ServerNamespace).WithName(o.ServerServiceAccount))
	rbac := rbacv1.SchemeGroupVersion.String()
	return []object{
		{apiVersion: "v1", kind: "ServiceAccount", name: sa, obj: serviceAccount,
			send: func(ctx context.Context, c kubernetes.Interface, opts metav1.ApplyOptions) (any, error) {
				return c.CoreV1().ServiceAccounts(ns).Apply(ctx, serviceAccount, opts)
			}},
		{apiVersion: rbac, kind: "RoleBinding", name: appsBindingName, obj: appsBinding,
			send: func(ctx context.Context, c kubernetes.Interface, opts metav1.ApplyOptions) (any, error) {
				return c.RbacV1().RoleBindings(ns).Apply(ctx, appsBinding, opts)
			}},
		{apiVersion: rbac, kind: "Role", name: optInName, obj: optInRole,
			send: func(ctx context.Context, c kubernetes.Interface, opts metav1.ApplyOptions) (any, error) {
				return c.RbacV1().Roles(ns).Apply(ctx, optInRole, opts)
			}},
		{apiVersion: rbac, kind: "RoleBinding", name: optInName, obj: optIn,
			send: func(ctx context.Context, c kubernetes.Interface, opts metav1.ApplyOptions) (any, error) {
				return c.RbacV1().RoleBindings(ns).Apply(ctx, optIn, opts)
			}},
	}
}
