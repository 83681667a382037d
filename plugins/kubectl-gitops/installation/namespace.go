package installation

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// NamespaceObjects is the server's namespace, which install creates before the chart's objects
// (as helm install --create-namespace would). Uninstall keeps it: it holds the SourceRecords.
func NamespaceObjects(namespace string) []*unstructured.Unstructured {
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(namespace)
	ns.SetLabels(map[string]string{PartOfLabel: "kube-gitops"})
	return []*unstructured.Unstructured{ns}
}
