package e2e

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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
	objs, err := harness.DecodeStream(out)
	if err != nil {
		return nil, fmt.Errorf("decode the rendered chart: %w", err)
	}
	return objs, nil
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
