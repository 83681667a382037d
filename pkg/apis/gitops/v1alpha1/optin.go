package v1alpha1

// The opt-in of a namespace, written by `kubectl gitops init-namespace` and read by the server: a
// Role and a RoleBinding named OptInName in the namespace that let the server's ServiceAccount
// impersonate the ServiceAccount the namespace's applications are applied as. RBAC alone decides
// whether a namespace opted in; the label and annotations describe the binding.
const (
	// OptInName names the Role and the RoleBinding of the opt-in.
	OptInName = "kube-gitops"
	// LabelOptIn marks opt-in RoleBindings: kubectl get rolebindings -A -l gitops.kube-gitops.dev/opt-in=true.
	LabelOptIn = "gitops.kube-gitops.dev/opt-in"
	// AnnotationOptInServiceAccount names the ServiceAccount the opt-in lets the server impersonate.
	AnnotationOptInServiceAccount = "gitops.kube-gitops.dev/service-account"
	// AnnotationOptInPaths on an opt-in RoleBinding lists, comma-separated, the repository files
	// (path globs as in Go's path.Match, e.g. clusters/*/team-a-*.yaml) whose DesiredStates may
	// target the namespace.
	AnnotationOptInPaths = "gitops.kube-gitops.dev/paths"
)

// ProtectedNamespaces are never managed, opt-in or not, unless the server is started with
// --manage-protected-namespaces naming them (the server's own namespace is protected too).
var ProtectedNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}
