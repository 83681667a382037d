package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
)

// plugin runs `kubectl gitops ARGS...` the way a user does: kubectl finds bin/kubectl-gitops on
// PATH. kubectl refuses flags before a plugin's name, so the kubeconfig and cache directory go
// through KUBECONFIG and KUBECACHEDIR. code is the process's exit code (-1 if it did not run).
func (en *env) plugin(args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(en.kubectlBinary(), append([]string{"gitops"}, args...)...)
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Join(en.root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+en.kubeconfig,
		"KUBECACHEDIR="+filepath.Join(en.dir, "kube-cache"),
		"NO_COLOR=1",
	)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		code = -1
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}
