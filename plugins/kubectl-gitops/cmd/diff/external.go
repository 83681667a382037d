package diff

import (
	"crypto/sha256"
	"encoding/hex"
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

// writeTrees writes each object that exists on a side as <dir>/Kind_namespace_name.yaml, as
// toYAML makes it (safe for a terminal). The names come from the server, so every file goes
// through an os.Root of its directory: nothing a name holds can write outside it.
func writeTrees(live, desired string, resources []v1alpha1.ResourceDiff) error {
	roots := map[string]*os.Root{}
	for _, d := range []string{live, desired} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		root, err := os.OpenRoot(d)
		if err != nil {
			return err
		}
		defer root.Close()
		roots[d] = root
	}
	used := map[string]bool{}
	for _, r := range resources {
		name, err := fileName(r, used)
		if err != nil {
			return err
		}
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
			if err := writeNew(roots[side.dir], name, text); err != nil {
				return fmt.Errorf("write %s for KUBECTL_EXTERNAL_DIFF: %w", filepath.Join(side.dir, name), err)
			}
		}
	}
	return nil
}

// writeNew creates name in root; it never follows or replaces an existing file.
func writeNew(root *os.Root, name, text string) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// maxFilePart bounds each part of a file name, so Kind_namespace_name.yaml stays well under the
// 255 bytes file systems allow.
const maxFilePart = 72

// fileName is Kind_namespace_name.yaml (Kind_name.yaml for cluster-scoped objects), with the
// group added to the kind if two objects would share a name, and a counter after that. Each part
// is made safe with filePart; the result is checked to be one local file name.
func fileName(r v1alpha1.ResourceDiff, used map[string]bool) (string, error) {
	parts := []string{r.Kind, r.Namespace, r.Name}
	if r.Namespace == "" {
		parts = []string{r.Kind, r.Name}
	}
	join := func(suffix string) string {
		safe := make([]string, len(parts))
		for i, p := range parts {
			safe[i] = filePart(p)
		}
		return strings.Join(safe, "_") + suffix + ".yaml"
	}
	name := join("")
	if used[name] && r.Group != "" {
		parts[0] = r.Kind + "." + r.Group
		name = join("")
	}
	for n := 2; used[name]; n++ {
		name = join(fmt.Sprintf("-%d", n))
	}
	if !filepath.IsLocal(name) || filepath.Base(name) != name {
		return "", fmt.Errorf("refusing the file name %q for %s: it is not a plain file name", name, path(r))
	}
	used[name] = true
	return name, nil
}

// filePart keeps [A-Za-z0-9._-] of a name the server sent and turns every other character into
// "-"; a leading "." becomes "-" too (no ".", "..", or hidden files), an empty part "-", and a
// part longer than maxFilePart is cut and ends in a hash of the whole, so it stays distinct.
func filePart(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := b.String()
	if out == "" || out[0] == '.' {
		out = "-" + strings.TrimPrefix(out, ".")
	}
	if len(out) > maxFilePart {
		sum := sha256.Sum256([]byte(s))
		out = out[:maxFilePart-9] + "-" + hex.EncodeToString(sum[:4])
	}
	return out
}
