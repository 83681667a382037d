package desired

import (
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// readPins reads the current value of every version pin: from the DesiredState itself for field
// pins, from the named YAML file for file pins. A pin that cannot be read carries a message.
func readPins(files Files, s *v1alpha1.DesiredState) []v1alpha1.PinStatus {
	var out []v1alpha1.PinStatus
	for _, pin := range s.Spec.Versions {
		st := v1alpha1.PinStatus{Name: pin.Name}
		if pin.Field != "" {
			st.Value = fieldValue(s, pin.Field)
		} else if v, err := fileValue(files, pin.File, pin.Path); err != nil {
			st.Message = err.Error()
		} else {
			st.Value = v
		}
		out = append(out, st)
	}
	return out
}

func fieldValue(s *v1alpha1.DesiredState, field string) string {
	switch field {
	case "spec.helm.chart.version":
		if s.Spec.Helm != nil {
			return s.Spec.Helm.Chart.Version
		}
	case "spec.source.ref":
		return s.Spec.Source.Ref
	}
	return ""
}

// fileValue looks up a dotted path ("image.tag") in a YAML file and returns the scalar there.
func fileValue(files Files, file, dotted string) (string, error) {
	data, err := files.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("pin file %s: %w", file, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", fmt.Errorf("pin file %s: invalid YAML: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return "", fmt.Errorf("pin file %s is empty", file)
	}
	node := doc.Content[0]
	for _, key := range strings.Split(dotted, ".") {
		if node.Kind != yaml.MappingNode {
			return "", fmt.Errorf("pin path %s in %s: %q is not a mapping", dotted, file, key)
		}
		var next *yaml.Node
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == key {
				next = node.Content[i+1]
			}
		}
		if next == nil {
			return "", fmt.Errorf("pin path %s not found in %s", dotted, file)
		}
		node = next
	}
	if node.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("pin path %s in %s is not a single value", dotted, file)
	}
	return node.Value, nil
}
