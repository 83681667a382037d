package kustomize

import (
	"fmt"

	//lint:ignore SA1019 the builtin plugins kustomize v5 runs; reading their configs needs their types
	"sigs.k8s.io/kustomize/api/builtins"
	"sigs.k8s.io/yaml"
)

// pluginFiles lists the paths that the builtin plugin of the given kind loads when configured
// with data (the configuration's YAML): the builtins that call kustomize's loader. data is read
// into kustomize's own plugin type, as kustomize does, so the field names stay in step with what
// it loads.
func pluginFiles(kind string, data []byte) ([]fieldPath, error) {
	var out []fieldPath
	add := func(field string, paths ...string) {
		for _, p := range paths {
			if p != "" {
				out = append(out, fieldPath{field, p})
			}
		}
	}
	var err error
	switch kind {
	case "HelmChartInflationGenerator":
		return nil, fmt.Errorf("%s", helmRefusal)
	case "PatchTransformer":
		var c builtins.PatchTransformerPlugin
		err = yaml.Unmarshal(data, &c)
		add("path", c.Path)
	case "PatchJson6902Transformer":
		var c builtins.PatchJson6902TransformerPlugin
		err = yaml.Unmarshal(data, &c)
		add("path", c.Path)
	case "PatchStrategicMergeTransformer":
		var c builtins.PatchStrategicMergeTransformerPlugin
		err = yaml.Unmarshal(data, &c)
		for _, p := range c.Paths {
			if !isInlinePatch(string(p)) {
				add("paths", string(p))
			}
		}
	case "ReplacementTransformer":
		var c builtins.ReplacementTransformerPlugin
		err = yaml.Unmarshal(data, &c)
		for _, r := range c.ReplacementList {
			add("replacements path", r.Path)
		}
	case "ValueAddTransformer":
		var c builtins.ValueAddTransformerPlugin
		err = yaml.Unmarshal(data, &c)
		add("targetFilePath", c.TargetFilePath)
	case "ConfigMapGenerator":
		var c builtins.ConfigMapGeneratorPlugin
		err = yaml.Unmarshal(data, &c)
		out = generatorFiles("", c.GeneratorArgs)
	case "SecretGenerator":
		var c builtins.SecretGeneratorPlugin
		err = yaml.Unmarshal(data, &c)
		out = generatorFiles("", c.GeneratorArgs)
	}
	if err != nil {
		return nil, fmt.Errorf("not a valid %s configuration: %w", kind, err)
	}
	return out, nil
}
