package harness

import (
	"errors"
	"io"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
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

// DecodeStream reads a YAML (or JSON) stream of objects, e.g. `helm template` output; empty
// documents are skipped.
func DecodeStream(stream string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, err
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
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
