package e2e

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kube-gitops/kube-gitops/test/harness"
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
	stream, err := harness.YAMLStream(objs)
	if err != nil {
		return err
	}
	return en.kubectlApply(stream)
}

// withKinds keeps the name the e2e tests call it by.
var withKinds = harness.WithKinds
