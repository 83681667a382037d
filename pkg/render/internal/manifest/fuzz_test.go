package manifest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/kube-gitops/kube-gitops/test/fuzzcheck"
)

// fuzzBudget bounds the output of one fuzzed stream, so that an expanding input (YAML aliases)
// ends in TooLargeError rather than in a fuzzer out of memory.
const fuzzBudget = 1 << 20

// FuzzDecode decodes arbitrary streams as rendered manifests: no panic nor hang; the budget
// holds; an error names the source (or is the budget's); every object has apiVersion, kind and
// a name that is a safe path segment of printable characters, and a namespace that is a
// DNS-1123 label.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: apps}\ndata: {k: v}\n",
		"---\n# Source: chart/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n---\n",
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n- {apiVersion: v1, kind: List, items: [{apiVersion: v1, kind: Secret, metadata: {name: d}}]}\n",
		"apiVersion: v1\nkind: ConfigMapList\nitems: [1]\n",
		`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "e"}}`,
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ../x}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"a\\x1b[31m\"}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: Apps}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: [name]\n",
		"- a\n- b\n",
		"a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n",
		"kind: [broken\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: f}\ndata: {n: 1e999}\n",
		"\xff\xfe",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzcheck.Within(t, func() error {
			budget := &Budget{Max: fuzzBudget}
			objs, err := Decode("dir/f.yaml", data, budget)
			if budget.Used() > fuzzBudget && err == nil {
				return fmt.Errorf("used %d bytes of a %d budget without an error", budget.Used(), fuzzBudget)
			}
			if err != nil {
				var tooLarge *TooLargeError
				if !errors.As(err, &tooLarge) && !strings.HasPrefix(err.Error(), "dir/f.yaml: document ") {
					return fmt.Errorf("error %q does not name the file and document", err)
				}
				if objs != nil {
					return fmt.Errorf("objects and an error: %v", err)
				}
				return nil
			}
			for _, o := range objs {
				if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
					return fmt.Errorf("decoded an object without apiVersion, kind or name: %v", o.Object)
				}
				if n := o.GetName(); n == "." || n == ".." || strings.ContainsAny(n, "/%") || strings.IndexFunc(n, notPrint) >= 0 {
					return fmt.Errorf("decoded an object whose name %q is not a safe path segment", n)
				}
				if ns := o.GetNamespace(); ns != "" && strings.IndexFunc(ns, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') }) >= 0 {
					return fmt.Errorf("decoded an object whose namespace %q is not a DNS-1123 label", ns)
				}
			}
			return nil
		})
	})
}

func notPrint(r rune) bool { return !unicode.IsPrint(r) }

// FuzzClean: a path from a spec field is either refused or made a relative path that stays in
// the repository.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"apps/a", "./apps/../apps/a/", "..", "../x", "a/../../x", "/etc", `a\b`, " ", ".", "a//b", "..a", "a/.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		fuzzcheck.Within(t, func() error {
			c, err := Clean("spec.source.path", p)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "spec.source.path ") {
					return fmt.Errorf("error %q does not name the field", err)
				}
				return nil
			}
			if c == ".." || strings.HasPrefix(c, "../") || strings.HasPrefix(c, "/") || strings.Contains(c, `\`) {
				return fmt.Errorf("Clean(%q) = %q, which leaves the repository", p, c)
			}
			return nil
		})
	})
}
