package writeback

import (
	"errors"

	"github.com/go-git/go-git/v5/plumbing"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/kube-gitops/kube-gitops/pkg/egress"
)

// Transient reports whether a write-back failed for a reason that may pass by itself: Git could
// not be reached (refused, reset, timed out, a name that did not resolve), or answered that it is
// overloaded or down (egress.PassingStatus). Then the change is worth trying again later. Refused
// credentials (401, 403), a missing repository, branch protection and changes that conflict are
// not: trying again changes nothing.
func Transient(err error) bool {
	if egress.Unreachable(err) {
		return true
	}
	var unexpected *plumbing.UnexpectedError
	if errors.As(err, &unexpected) {
		err = unexpected.Err // go-git's wrapper has no Unwrap
	}
	var httpErr *githttp.Err
	return errors.As(err, &httpErr) && httpErr.Response != nil && egress.PassingStatus(httpErr.Response.StatusCode)
}
