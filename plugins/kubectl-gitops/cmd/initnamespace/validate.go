package initnamespace

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// systemNamespaces are never managed: the server refuses them whatever is bound there.
var systemNamespaces = v1alpha1.ProtectedNamespaces

// validate checks NS, the names of the flags and the path globs. Messages are short (the
// validation package's own run far past one line) and say what is allowed.
func validate(o *InitNamespaceOptions) error {
	ns := o.Namespace
	switch {
	case len(validation.IsDNS1123Label(ns)) > 0:
		return fmt.Errorf("%q is not a namespace name: lower-case letters, digits and -", ns)
	case slices.Contains(systemNamespaces, ns):
		return fmt.Errorf("%s is a system namespace: kube-gitops never manages it", ns)
	case ns == o.ServerNamespace:
		return fmt.Errorf("%s is the server's own namespace: kube-gitops never manages it", ns)
	case len(validation.IsDNS1123Subdomain(o.ServiceAccount)) > 0:
		return fmt.Errorf("--service-account %q: lower-case letters, digits, - and .", o.ServiceAccount)
	case o.ClusterRole == "" || len(content.IsPathSegmentName(o.ClusterRole)) > 0:
		return fmt.Errorf("--clusterrole %q is not a ClusterRole name", o.ClusterRole)
	case len(validation.IsDNS1123Label(o.ServerNamespace)) > 0:
		return fmt.Errorf("--server-namespace %q is not a namespace name", o.ServerNamespace)
	case len(validation.IsDNS1123Subdomain(o.ServerServiceAccount)) > 0:
		return fmt.Errorf("--server-service-account %q is not a ServiceAccount name", o.ServerServiceAccount)
	}
	for _, glob := range o.Paths {
		if err := validateGlob(glob); err != nil {
			return err
		}
	}
	return nil
}

// validateGlob accepts a glob of repository file paths as path.Match reads them: relative to the
// repository root, clean, printable, well-formed.
func validateGlob(glob string) error {
	switch {
	case glob == "":
		return fmt.Errorf("--paths holds an empty glob: e.g. --paths 'clusters/*/team-a/*'")
	case strings.IndexFunc(glob, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("--paths %q: only printable characters", glob)
	case strings.HasPrefix(glob, "/"):
		return fmt.Errorf("--paths %q: globs are relative to the repository root", glob)
	case path.Clean(glob) != glob || slices.Contains(strings.Split(glob, "/"), ".."):
		return fmt.Errorf("--paths %q: write it without ., .. or doubled /", glob)
	}
	if _, err := path.Match(glob, ""); err != nil {
		return fmt.Errorf("--paths %q: %v", glob, err)
	}
	return nil
}
