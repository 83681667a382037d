package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// plugin runs `kubectl gitops ARGS...` the way a user does: kubectl finds bin/kubectl-gitops on
// PATH. kubectl refuses flags before a plugin's name, so the kubeconfig and cache directory go
// through KUBECONFIG and KUBECACHEDIR. code is the process's exit code (-1 if it did not run).
func (en *env) plugin(args ...string) (stdout, stderr string, code int) {
	cmd := en.pluginCommand(args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	code, why := exitCode(cmd.Run())
	return out.String(), errOut.String() + why, code
}

// pluginCommand is the command plugin runs, for a test that reads its output while it runs.
func (en *env) pluginCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(en.kubectlBinary(), append([]string{"gitops"}, args...)...)
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Join(en.root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+en.kubeconfig,
		"KUBECACHEDIR="+filepath.Join(en.dir, "kube-cache"),
		"NO_COLOR=1",
	)
	return cmd
}

// exitCode is the exit code of a finished command: -1 if it did not run, with why.
func exitCode(err error) (code int, why string) {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, ""
	case errors.As(err, &exit):
		return exit.ExitCode(), ""
	}
	return -1, err.Error()
}

// lockedBuffer is a bytes.Buffer that a running command writes while a test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
