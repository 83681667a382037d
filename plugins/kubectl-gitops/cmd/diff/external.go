package diff

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	v1alpha1 "github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/plugins/kubectl-gitops/options"
)

// safeArg is what kubectl diff accepts as an argument of KUBECTL_EXTERNAL_DIFF; others are dropped.
var safeArg = regexp.MustCompile(`^[a-zA-Z0-9-=]+$`)

func externalDiff() string { return strings.TrimSpace(os.Getenv("KUBECTL_EXTERNAL_DIFF")) }

// runExternal writes the live and desired objects into two directories, one file per object, and
// runs the program on them as kubectl diff does: exit status 0 no differences, 1 differences,
// anything else a failure.
func runExternal(program string, resources []v1alpha1.ResourceDiff, streams genericiooptions.IOStreams) (bool, error) {
	dir, err := os.MkdirTemp("", "kubectl-gitops-diff-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	live, desired := filepath.Join(dir, "live"), filepath.Join(dir, "desired")
	if err := writeTrees(live, desired, resources); err != nil {
		return false, err
	}
	fields := strings.Fields(program)
	var args []string
	for _, a := range fields[1:] {
		if safeArg.MatchString(a) {
			args = append(args, a)
		}
	}
	cmd := exec.Command(fields[0], append(args, live, desired)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, streams.Out, streams.ErrOut
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return true, nil
	case errors.As(err, &exit) && exit.ExitCode() > 1:
		return false, &options.ExitError{Code: exit.ExitCode(), Message: fmt.Sprintf("KUBECTL_EXTERNAL_DIFF %q failed with exit status %d", program, exit.ExitCode())}
	}
	return false, fmt.Errorf("run KUBECTL_EXTERNAL_DIFF %q: %v", program, err)
}

// writeTrees writes each object that exists on a side as <dir>/Kind_namespace_name.yaml.
func writeTrees(live, desired string, resources []v1alpha1.ResourceDiff) error {
	for _, d := range []string{live, desired} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	used := map[string]bool{}
	for _, r := range resources {
		name := fileName(r, used)
		for _, side := range []struct {
			dir string
			obj func() (string, error)
		}{
			{live, func() (string, error) { return toYAML(r.Live) }},
			{desired, func() (string, error) { return toYAML(r.Desired) }},
		} {
			text, err := side.obj()
			if err != nil {
				return fmt.Errorf("%s: %w", path(r), err)
			}
			if text == "" {
				continue
			}
			if err := os.WriteFile(filepath.Join(side.dir, name), []byte(text), 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// fileName is Kind_namespace_name.yaml (Kind_name.yaml for cluster-scoped objects), with the
// group added to the kind if two objects would share a name.
func fileName(r v1alpha1.ResourceDiff, used map[string]bool) string {
	parts := []string{r.Kind, r.Namespace, r.Name}
	if r.Namespace == "" {
		parts = []string{r.Kind, r.Name}
	}
	name := strings.Join(parts, "_") + ".yaml"
	if used[name] && r.Group != "" {
		parts[0] = r.Kind + "." + r.Group
		name = strings.Join(parts, "_") + ".yaml"
	}
	used[name] = true
	return name
}
