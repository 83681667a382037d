package tenancy

import (
	"context"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	serviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// DependencyChecker answers whether an application's ServiceAccount may get a DesiredState of
// another namespace, so that a dependency there is honoured only for an app that could read it
// anyway; Gate is the one the server uses.
type DependencyChecker interface {
	MayGetDesiredState(ctx context.Context, namespace, serviceAccount, targetNamespace, targetName string) (bool, error)
}

var _ DependencyChecker = (*Gate)(nil)

// read is a question of MayGetDesiredState.
type read struct{ account, target account }

// MayGetDesiredState asks the cluster (a SubjectAccessReview, as RBAC would answer the
// ServiceAccount itself) whether ServiceAccount namespace/serviceAccount may get DesiredState
// targetNamespace/targetName. Answers are reused for Recheck; errors are not.
func (g *Gate) MayGetDesiredState(ctx context.Context, namespace, serviceAccount, targetNamespace, targetName string) (bool, error) {
	q := read{account{namespace, serviceAccount}, account{targetNamespace, targetName}}
	g.mu.Lock()
	v, ok := g.reads[q]
	g.mu.Unlock()
	if ok && time.Since(v.at) < g.opts.Recheck {
		return v.allowed, nil
	}
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   serviceaccount.MakeUsername(namespace, serviceAccount),
		Groups: append(serviceaccount.MakeGroupNames(namespace), "system:authenticated"),
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: targetNamespace, Verb: "get",
			Group: v1alpha1.GroupName, Resource: "desiredstates", Name: targetName},
	}}
	res, err := g.opts.Kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	now := time.Now()
	g.mu.Lock()
	if g.reads == nil {
		g.reads = map[read]verdict{}
	}
	// Targets come from Git: drop the expired answers, or the map grows with every name ever
	// written. One scan per Recheck at most.
	if now.Sub(g.readsSwept) >= g.opts.Recheck {
		for r, v := range g.reads {
			if now.Sub(v.at) >= g.opts.Recheck {
				delete(g.reads, r)
			}
		}
		g.readsSwept = now
	}
	g.reads[q] = verdict{allowed: res.Status.Allowed, at: now}
	g.mu.Unlock()
	return res.Status.Allowed, nil
}
