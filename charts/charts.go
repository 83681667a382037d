// Package charts embeds charts/kube-gitops, the one source of gitops-apiserver's manifests, and
// renders it the way `helm template` would, for `kubectl gitops install` and the tests.
package charts

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// files holds the chart; "all:" keeps templates/_helpers.tpl, which go:embed skips otherwise.
//
//go:embed all:kube-gitops
var files embed.FS

// ChartDir is the chart's directory in the embedded files and in the repository.
const ChartDir = "kube-gitops"

// ReleaseName is the Helm release name the plugin renders with.
const ReleaseName = "kube-gitops"

// Load returns the embedded chart.
func Load() (*chart.Chart, error) {
	var buffered []*loader.BufferedFile
	err := fs.WalkDir(files, ChartDir, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		buffered = append(buffered, &loader.BufferedFile{Name: strings.TrimPrefix(name, ChartDir+"/"), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the embedded chart: %w", err)
	}
	c, err := loader.LoadFiles(buffered)
	if err != nil {
		return nil, fmt.Errorf("load the embedded chart %s: %w", ChartDir, err)
	}
	return c, nil
}

// Render renders the embedded chart into namespace with values over the chart's values.yaml,
// and returns its objects CustomResourceDefinitions first, then in Helm's install order. A template that fails names itself and the value it needs.
func Render(namespace string, values map[string]any) ([]*unstructured.Unstructured, error) {
	c, err := Load()
	if err != nil {
		return nil, err
	}
	return RenderChart(c, namespace, values)
}

// RenderChart renders c as Render does.
func RenderChart(c *chart.Chart, namespace string, values map[string]any) ([]*unstructured.Unstructured, error) {
	if err := chartutil.ProcessDependenciesWithMerge(c, values); err != nil {
		return nil, err
	}
	opts := chartutil.ReleaseOptions{Name: ReleaseName, Namespace: namespace, Revision: 1, IsInstall: true}
	renderValues, err := chartutil.ToRenderValues(c, values, opts, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("values of chart %s: %w", c.Name(), err)
	}
	rendered, err := engine.Render(c, renderValues)
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %w", c.Name(), err)
	}
	for name := range rendered {
		if path.Base(name) == "NOTES.txt" {
			delete(rendered, name)
		}
	}
	_, manifests, err := releaseutil.SortManifests(rendered, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", c.Name(), err)
	}
	var objs []*unstructured.Unstructured
	for _, m := range manifests {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(m.Content)), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("chart %s: %s does not decode: %w", c.Name(), m.Name, err)
			}
			if len(u.Object) > 0 {
				objs = append(objs, u)
			}
		}
	}
	// CRDs first, whatever Helm's order: their kinds must exist before anything uses them.
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return cmp.Compare(rank(b), rank(a))
	})
	return objs, nil
}

func rank(u *unstructured.Unstructured) int {
	if u.GroupVersionKind().GroupKind() == crdKind {
		return 1
	}
	return 0
}

var crdKind = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

// Values returns the chart's values.yaml with overrides over it: the values templates see.
func Values(overrides map[string]any) (map[string]any, error) {
	c, err := Load()
	if err != nil {
		return nil, err
	}
	merged, err := chartutil.CoalesceValues(c, overrides)
	if err != nil {
		return nil, fmt.Errorf("values of chart %s: %w", c.Name(), err)
	}
	return merged.AsMap(), nil
}
