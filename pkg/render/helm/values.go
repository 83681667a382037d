package helm

import (
	"encoding/json"
	"fmt"
	"io/fs"

	"sigs.k8s.io/yaml"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/render/internal/manifest"
)

// values merges spec.helm.valuesFiles in order, then spec.helm.values, as `helm template -f a -f b`
// merges values files: maps are merged key by key, anything else is replaced.
func values(fsys fs.FS, src *v1alpha1.HelmSource) (map[string]any, error) {
	base := map[string]any{}
	for i, p := range src.ValuesFiles {
		field := fmt.Sprintf("spec.helm.valuesFiles[%d]", i)
		name, data, err := manifest.ReadFile(fsys, field, p)
		if err != nil {
			return nil, err
		}
		current := map[string]any{}
		if err := yaml.Unmarshal(data, &current); err != nil {
			return nil, fmt.Errorf("%s %s: not a YAML map of values: %w", field, name, err)
		}
		base = mergeMaps(base, current)
	}
	if src.Values != nil && len(src.Values.Raw) > 0 {
		inline := map[string]any{}
		if err := json.Unmarshal(src.Values.Raw, &inline); err != nil {
			return nil, fmt.Errorf("spec.helm.values: not a map of values: %w", err)
		}
		base = mergeMaps(base, inline)
	}
	return base, nil
}

// mergeMaps is helm's pkg/cli/values merge: b over a, recursing into maps.
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if v, ok := v.(map[string]any); ok {
			if bv, ok := out[k]; ok {
				if bv, ok := bv.(map[string]any); ok {
					out[k] = mergeMaps(bv, v)
					continue
				}
			}
		}
		out[k] = v
	}
	return out
}
