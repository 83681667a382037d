package apply

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestDescribeAPIError(t *testing.T) {
	deploy := ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "apps", Name: "web"}
	role := ObjectRef{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: "reader"}
	gr := func(g, r string) schema.GroupResource { return schema.GroupResource{Group: g, Resource: r} }
	tests := []struct {
		name          string
		err           error
		ref           ObjectRef
		clusterScoped bool
		want          []string
	}{
		{
			name: "RBAC, namespaced",
			err: apierrors.NewForbidden(gr("apps", "deployments"), "web",
				errors.New(`User "system:serviceaccount:apps:gitops" cannot patch resource "deployments" in API group "apps" in the namespace "apps"`)),
			ref:  deploy,
			want: []string{`serviceaccount apps/gitops cannot patch deployments.apps "web"`, "Role and RoleBinding in namespace apps"},
		},
		{
			name: "RBAC, cluster-scoped",
			err: apierrors.NewForbidden(gr("rbac.authorization.k8s.io", "clusterroles"), "reader",
				errors.New(`User "system:serviceaccount:apps:gitops" cannot create resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope`)),
			ref: role, clusterScoped: true,
			want: []string{"cannot create clusterroles.rbac.authorization.k8s.io", "ClusterRole and ClusterRoleBinding"},
		},
		{
			name: "impersonation not allowed",
			err: apierrors.NewForbidden(gr("", "users"), "system:serviceaccount:apps:gitops",
				errors.New(`User "system:serviceaccount:kube-gitops:server" cannot impersonate resource "users" in API group "" at the cluster scope`)),
			ref:  deploy,
			want: []string{"may not impersonate serviceaccount apps/gitops"},
		},
		{
			name: "webhook denial",
			err:  apierrors.NewBadRequest(`admission webhook "policy.example.dev" denied the request: images must come from registry.example`),
			ref:  deploy,
			want: []string{"denied by admission", "images must come from registry.example", "satisfy the policy"},
		},
		{
			name: "quota",
			err:  apierrors.NewForbidden(gr("", "pods"), "web", errors.New("exceeded quota: compute")),
			ref:  deploy,
			want: []string{"denied by admission", "exceeded quota"},
		},
		{
			name: "immutable field",
			err: apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web",
				field.ErrorList{field.Invalid(field.NewPath("spec", "selector"), "x", "field is immutable")}),
			ref:  deploy,
			want: []string{"invalid:", "immutable", "delete the object"},
		},
		{
			name: "invalid",
			err: apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, "web",
				field.ErrorList{field.Required(field.NewPath("spec", "ports"), "")}),
			ref:  deploy,
			want: []string{"invalid:", "fix the manifest in Git"},
		},
		{
			name: "conflict",
			err:  apierrors.NewConflict(gr("apps", "deployments"), "web", errors.New("the object has been modified")),
			ref:  deploy,
			want: []string{"conflict:", "next sync retries"},
		},
		{
			name: "missing namespace",
			err:  apierrors.NewNotFound(gr("", "namespaces"), "apps"),
			ref:  deploy,
			want: []string{`namespace "apps" does not exist`, "add the Namespace to the manifests"},
		},
		{
			name: "missing kind",
			err:  &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "example.dev", Kind: "Widget"}, SearchedVersions: []string{"v1"}},
			ref:  ObjectRef{Group: "example.dev", Version: "v1", Kind: "Widget", Namespace: "apps", Name: "w"},
			want: []string{"no kind Widget in group example.dev (version v1): install its CRD first"},
		},
		{
			name: "kind no longer served (its CRD was deleted)",
			err:  &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: 404, Reason: metav1.StatusReasonNotFound, Message: "the server could not find the requested resource", Details: &metav1.StatusDetails{}}},
			ref:  ObjectRef{Group: "example.dev", Version: "v1", Kind: "Widget", Namespace: "apps", Name: "w"},
			want: []string{"no kind Widget in group example.dev (version v1) is served any more", "install it again"},
		},
		{
			name: "busy",
			err:  apierrors.NewTooManyRequests("slow down", 1),
			ref:  deploy,
			want: []string{"busy", "next sync retries"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describeAPIError(tt.err, "patch", tt.ref, "apps", "gitops", tt.clusterScoped)
			for _, w := range tt.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("message %q does not contain %q", got, w)
				}
			}
			if !errors.Is(got, tt.err) {
				t.Error("the cause is not kept for errors.Is")
			}
		})
	}
}
