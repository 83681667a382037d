package options

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// ExitError carries an exit code (e.g. diff's 1 for "differences found") with an optional message.
type ExitError struct {
	Code    int
	Message string
}

func (e *ExitError) Error() string { return e.Message }

// ExitCode returns the process exit code.
func (e *ExitError) ExitCode() int { return e.Code }

// Explain turns an API error into one line that says what to do: verb and resource name what the
// command tried (e.g. "get", "desiredstates/diff"), namespace and name where.
func Explain(err error, verb, resource, namespace, name string) error {
	if err == nil {
		return nil
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		return err
	}
	where := fmt.Sprintf("in namespace %s", namespace)
	switch {
	case apierrors.IsNotFound(err) && name != "":
		return fmt.Errorf("%s %q not found %s (list them with: kubectl get desiredstates -n %s)", singular(resource), name, where, namespace)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("you may not %s %s %s: ask for a Role that grants %q on %q (see: kubectl auth can-i %s %s -n %s)",
			verb, resource, where, verb, resource, verb, resource, namespace)
	case apierrors.IsServiceUnavailable(err), isNoAPI(err):
		return fmt.Errorf("the kube-gitops API is not available: check that the APIService is Available with: kubectl get apiservice v1alpha1.gitops.kube-gitops.dev (%s)", firstLine(err))
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the cluster does not accept your credentials: check your kubeconfig (%s)", firstLine(err))
	}
	return errors.New(firstLine(err))
}

// isNoAPI recognises "the server could not find the requested resource" and discovery failures
// that mean the aggregated API is not registered or not answering.
func isNoAPI(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "the server could not find the requested resource") ||
		strings.Contains(msg, "no matches for kind") ||
		strings.Contains(msg, "connection refused") && strings.Contains(msg, "gitops.kube-gitops.dev")
}

func singular(resource string) string {
	base, _, _ := strings.Cut(resource, "/")
	return strings.TrimSuffix(base, "s")
}

func firstLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}
