package apply

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// explained is an error whose message says what failed and what to do; Unwrap keeps the cause
// for errors.Is and the apierrors predicates.
type explained struct {
	msg   string
	cause error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.cause }

func explain(cause error, format string, args ...any) error {
	return &explained{msg: fmt.Sprintf(format, args...), cause: cause}
}

// describeMappingError explains a kind the cluster does not serve.
func describeMappingError(gvk schema.GroupVersionKind, err error) error {
	if !meta.IsNoMatchError(err) {
		return explain(err, "cannot look up kind %s in %s: %v: check that the apiserver's discovery answers", gvk.Kind, gvk.GroupVersion(), err)
	}
	group := "group " + gvk.Group
	if gvk.Group == "" {
		group = "the core group"
	}
	return explain(err, "no kind %s in %s (version %s): install its CRD first, or use an API version the cluster serves", gvk.Kind, group, gvk.Version)
}

// notServed reports whether err is the apiserver's 404 for a resource it does not serve (e.g. a
// custom resource whose CRD was deleted), as opposed to a 404 for an object or its namespace,
// which names what is missing.
func notServed(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d == nil || d.Name == "" && d.Kind == ""
}

// rbacDenied matches the authorizer's message, e.g. `User "system:serviceaccount:apps:gitops"
// cannot create resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope`.
var rbacDenied = regexp.MustCompile(`cannot (\S+) resource "([^"]+)"(?: in API group "([^"]*)")?`)

// describe explains an apiserver error about one object, saying what to do about it. verb is
// what was attempted (get, create, patch, delete), used when the server's message does not say.
func (r *run) describe(it *item, verb string, err error) error {
	return describeAPIError(err, verb, it.ref, r.req.Owner.Namespace, r.req.serviceAccount(),
		it.mapping != nil && it.mapping.Scope.Name() != meta.RESTScopeNameNamespace)
}

// describeAPIError explains err; sa in namespace ns is the identity the request ran as.
func describeAPIError(err error, verb string, ref ObjectRef, ns, sa string, clusterScoped bool) error {
	msg := apierrors.ReasonForError(err)
	text := err.Error()
	if s, ok := err.(apierrors.APIStatus); ok && s.Status().Message != "" {
		text = s.Status().Message
	}
	switch {
	case meta.IsNoMatchError(err):
		return describeMappingError(ref.GroupVersion().WithKind(ref.Kind), err)
	case apierrors.IsForbidden(err):
		if m := rbacDenied.FindStringSubmatch(text); m != nil {
			what := m[2]
			if m[3] != "" {
				what += "." + m[3]
			}
			if m[1] == "impersonate" {
				return explain(err, "the kube-gitops server may not impersonate serviceaccount %s/%s: grant the server's ServiceAccount the verb impersonate on serviceaccounts", ns, sa)
			}
			with := fmt.Sprintf("a Role and RoleBinding in namespace %s", ref.Namespace)
			if clusterScoped || ref.Namespace == "" {
				with = "a ClusterRole and ClusterRoleBinding"
			}
			return explain(err, "serviceaccount %s/%s cannot %s %s %q: grant it get, create and patch on %s (and delete, to prune) with %s",
				ns, sa, m[1], what, ref.Name, what, with)
		}
		return explain(err, "denied by admission: %s: change the manifest to satisfy the policy", text)
	case strings.Contains(text, "denied the request") || strings.Contains(text, "denied request"):
		return explain(err, "denied by admission: %s: change the manifest to satisfy the policy", text)
	case apierrors.IsInvalid(err):
		if strings.Contains(text, "immutable") {
			return explain(err, "invalid: %s: an immutable field changed; revert it, or delete the object so that the next sync recreates it", text)
		}
		return explain(err, "invalid: %s: fix the manifest in Git", text)
	case apierrors.IsConflict(err):
		return explain(err, "conflict: %s: the object changed during the sync; the next sync retries", text)
	case notServed(err):
		group := "group " + ref.Group
		if ref.Group == "" {
			group = "the core group"
		}
		return explain(err, "no kind %s in %s (version %s) is served any more: its CustomResourceDefinition may have been removed; install it again (the sync is retried with backoff)",
			ref.Kind, group, ref.Version)
	case apierrors.IsNotFound(err) && ref.Namespace != "" && verb != "get" && verb != "delete":
		return explain(err, "namespace %q does not exist (%s): create it, or add the Namespace to the manifests", ref.Namespace, text)
	case apierrors.IsUnauthorized(err):
		return explain(err, "the apiserver refused the kube-gitops server's credentials: %s", text)
	case apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsServiceUnavailable(err):
		return explain(err, "%s failed, the apiserver is busy (%s): the next sync retries", verb, text)
	case msg != "" && msg != "Unknown":
		return explain(err, "%s failed (%s): %s", verb, msg, text)
	default:
		return explain(err, "%s failed: %v", verb, err)
	}
}
