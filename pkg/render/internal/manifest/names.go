package manifest

import (
	"fmt"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// checkNames refuses a name or namespace that the API server would reject, or that is unsafe
// wherever it is used as one part of a URL path or a file name: the apply path, the plugin's diff
// files, a resource tree. Every name must be a valid path segment (not "." or "..", no "/" or "%"),
// made of printable characters (no control sequences for a terminal to act on); a namespace must be a DNS-1123 label, as the API server requires.
// Names get only these kind-independent rules: per-kind rules (e.g. DNS subdomains for most kinds,
// ":" allowed for RBAC) stay with the API server.
func checkNames(name, namespace string) error {
	if problems := nameProblems(name); len(problems) > 0 {
		return fmt.Errorf("metadata.name %q %s: use lowercase letters, digits, '-' and '.'", name, strings.Join(problems, "; "))
	}
	if namespace == "" {
		return nil
	}
	if problems := content.IsDNS1123Label(namespace); len(problems) > 0 {
		return fmt.Errorf("metadata.namespace %q is not a valid namespace name: %s", namespace, strings.Join(problems, "; "))
	}
	return nil
}

func nameProblems(name string) []string {
	problems := content.IsPathSegmentName(name)
	if strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		problems = append(problems, "may not contain control or other non-printable characters")
	}
	return problems
}
