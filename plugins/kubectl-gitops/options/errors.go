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
	// Each message fits one 80-column line with kubectl's "error: " in front.
	switch {
	case apierrors.IsNotFound(err) && name != "":
		return fmt.Errorf("%s %q not found in namespace %s", singular(resource), name, namespace)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("you may not %s %s in namespace %s", verb, resource, namespace)
	case apierrors.IsServiceUnavailable(err), isNoAPI(err):
		return errors.New("API unavailable: kubectl get apiservice v1alpha1.gitops.kube-gitops.dev")
	case apierrors.IsUnauthorized(err):
		return errors.New("the cluster refuses your credentials: check your kubeconfig")
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
