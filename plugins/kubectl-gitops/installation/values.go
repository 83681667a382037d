// Package installation is what `kubectl gitops install` and `uninstall` share: the chart's values
// from flags, the rendered objects of charts/kube-gitops, and applying or deleting them.
package installation

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kube-gitops/kube-gitops/charts"
)

// DefaultNamespace is the server's namespace unless --server-namespace says otherwise.
const DefaultNamespace = "kube-gitops"

// ValueFlags are the chart's values as Helm's own flags give them (-f, --set, --set-string),
// and the namespace the chart is rendered into.
type ValueFlags struct {
	Namespace    string
	ValueFiles   []string
	Values       []string
	StringValues []string
}

// AddFlags registers -f/--values, --set, --set-string and --server-namespace.
func (v *ValueFlags) AddFlags(f *pflag.FlagSet) {
	if v.Namespace == "" {
		v.Namespace = DefaultNamespace
	}
	f.StringVar(&v.Namespace, "server-namespace", v.Namespace, "Namespace of gitops-apiserver (the chart's release namespace).")
	f.StringArrayVarP(&v.ValueFiles, "values", "f", nil, "Values file of charts/kube-gitops (can repeat; later files win).")
	f.StringArrayVar(&v.Values, "set", nil, "A chart value, key=value as with helm --set (can repeat), e.g. --set replicas=3.")
	f.StringArrayVar(&v.StringValues, "set-string", nil, "A chart value kept a string, key=value as with helm --set-string.")
}

// Merge returns the values of -f files, then --set, then --set-string, as helm does. Values
// files are read from local paths (or - for stdin) only.
func (v *ValueFlags) Merge() (map[string]any, error) {
	// The namespace is written into the admission policy's CEL expression, among others.
	if errs := validation.IsDNS1123Label(v.Namespace); len(errs) > 0 {
		return nil, fmt.Errorf("--server-namespace %q: %s", v.Namespace, strings.Join(errs, "; "))
	}
	opts := values.Options{ValueFiles: v.ValueFiles, Values: v.Values, StringValues: v.StringValues}
	merged, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		return nil, fmt.Errorf("chart values: %w", err)
	}
	return merged, nil
}

// Set sets a value at a dotted path (e.g. "git.repo"), over what the files and --set said.
func Set(vals map[string]any, value any, path ...string) error {
	if err := unstructured.SetNestedField(vals, value, path...); err != nil {
		return fmt.Errorf("chart value %v: %w", path, err)
	}
	return nil
}

// Lookup returns the string value at path, or "".
func Lookup(vals map[string]any, path ...string) string {
	s, _, _ := unstructured.NestedString(vals, path...)
	return s
}

// Enabled reports whether the boolean value at path is true.
func Enabled(vals map[string]any, path ...string) bool {
	b, _, _ := unstructured.NestedBool(vals, path...)
	return b
}

// Render renders the embedded chart into namespace.
func Render(namespace string, vals map[string]any) ([]*unstructured.Unstructured, error) {
	return charts.Render(namespace, vals)
}

// EffectiveValues returns the chart's values.yaml with vals over it.
func EffectiveValues(vals map[string]any) (map[string]any, error) {
	return charts.Values(vals)
}
