package harness

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// YAMLStream writes objs as one YAML stream, as `kubectl apply -f -` reads it.
func YAMLStream(objs []*unstructured.Unstructured) (string, error) {
	var stream strings.Builder
	for _, u := range objs {
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			return "", err
		}
		stream.WriteString("---\n")
		stream.Write(data)
	}
	return stream.String(), nil
}

// WithKinds returns the objects of objs whose kind is (keep) or is not (!keep) among kinds.
func WithKinds(objs []*unstructured.Unstructured, keep bool, kinds ...string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if slices.Contains(kinds, u.GetKind()) == keep {
			out = append(out, u)
		}
	}
	return out
}
