package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// chartObjects renders charts/kube-gitops for the suite's server as `kubectl gitops install
// --dry-run` prints it (the plugin's own rendering of the embedded chart), with extra
// install flags: the one source of the manifests the suite runs under.
func (en *env) chartObjects(extra ...string) ([]*unstructured.Unstructured, error) {
	args := append([]string{"install", "--dry-run", "--repo", en.repoURL, "--path", "clusters/" + en.environment(),
		"--environment", en.environment()}, extra...)
	out, errOut, code := en.plugin(args...)
	if code != 0 {
		return nil, fmt.Errorf("kubectl gitops %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return decodeObjects(out)
}

func decodeObjects(stream string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, fmt.Errorf("decode the rendered chart: %w", err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// applyObjects server-side applies objs as the admin.
func (en *env) applyObjects(objs []*unstructured.Unstructured) error {
	var stream bytes.Buffer
	for _, u := range objs {
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			return err
		}
		stream.WriteString("---\n")
		stream.Write(data)
	}
	return en.kubectlApply(stream.String())
}

// withKinds returns the objects of objs whose kind is (keep) or is not (!keep) among kinds.
func withKinds(objs []*unstructured.Unstructured, keep bool, kinds ...string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		found := false
		for _, k := range kinds {
			found = found || u.GetKind() == k
		}
		if found == keep {
			out = append(out, u)
		}
	}
	return out
}
