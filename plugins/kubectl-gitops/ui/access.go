package ui

import (
	"context"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// permissions are the actions the page enables: the same verbs the API checks (DESIGN: get
// desiredstates/diff to diff, create desiredstates/sync to sync or roll back, create promotions
// to promote). Enabling is a courtesy; the cluster decides each request again.
type permissions struct {
	Sync    bool `json:"sync"`
	Diff    bool `json:"diff"`
	Promote bool `json:"promote"`
}

func (s *Server) permissions(ctx context.Context, ns, name string) permissions {
	return permissions{
		Sync:    s.may(ctx, authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Resource: "desiredstates", Subresource: "sync", Name: name}),
		Diff:    s.may(ctx, authorizationv1.ResourceAttributes{Namespace: ns, Verb: "get", Resource: "desiredstates", Subresource: "diff", Name: name}),
		Promote: s.may(ctx, authorizationv1.ResourceAttributes{Namespace: ns, Verb: "create", Resource: "promotions"}),
	}
}

// may asks the cluster with a SelfSubjectAccessReview; an error counts as no.
func (s *Server) may(ctx context.Context, attrs authorizationv1.ResourceAttributes) bool {
	attrs.Group = v1alpha1.SchemeGroupVersion.Group
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs}}
	got, err := s.cfg.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	return err == nil && got.Status.Allowed
}
