package versions

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors: test with errors.Is to set a clear condition; Reason names them.
var (
	// ErrUnreachable: the registry or Helm repository did not answer (network, TLS, 5xx, timeout).
	ErrUnreachable = errors.New("registry unreachable")
	// ErrUnauthorized: the registry refused the credentials, or wants some and none were given.
	ErrUnauthorized = errors.New("credentials refused")
	// ErrNotFound: the repository, chart or tag does not exist.
	ErrNotFound = errors.New("not found")
	// ErrNoMatch: no version matches the constraint. Select returns it; Next only when the pin
	// has no current version to stay at.
	ErrNoMatch = errors.New("no matching version")
	// ErrInvalidPolicy: the update policy or the image reference cannot be used.
	ErrInvalidPolicy = errors.New("invalid update policy")
)

// Error is a classified failure; Unwrap gives its sentinel and its cause.
type Error struct {
	Kind error // one of the sentinels above
	Msg  string
	Err  error // the underlying error, if any
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// NoMatchError says no version matched the constraint.
type NoMatchError struct {
	What       string // e.g. "tag of localhost:5000/acme/app"; empty in Select
	Constraint string // as written, e.g. "~> 1.1 (read as ~1.1)"
	Newest     string // the newest semver version there is, empty if none
}

func (e *NoMatchError) Error() string {
	what := "tag"
	if e.What != "" {
		what = e.What
	}
	if e.Newest == "" {
		return fmt.Sprintf("no %s matches %s (there is no semver version)", what, e.Constraint)
	}
	return fmt.Sprintf("no %s matches %s (newest: %s)", what, e.Constraint, e.Newest)
}

// Is makes errors.Is(err, ErrNoMatch) true.
func (e *NoMatchError) Is(target error) bool { return target == ErrNoMatch }

// Reason is a CamelCase condition reason for err: RegistryUnreachable, Unauthorized, NotFound,
// NoMatchingVersion, InvalidPolicy, or UpdateFailed for anything else.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrUnreachable):
		return "RegistryUnreachable"
	case errors.Is(err, ErrUnauthorized):
		return "Unauthorized"
	case errors.Is(err, ErrNotFound):
		return "NotFound"
	case errors.Is(err, ErrNoMatch):
		return "NoMatchingVersion"
	case errors.Is(err, ErrInvalidPolicy):
		return "InvalidPolicy"
	}
	return "UpdateFailed"
}

func invalid(format string, args ...any) error {
	return &Error{Kind: ErrInvalidPolicy, Msg: fmt.Sprintf(format, args...)}
}

func newest(s []string, n int) string {
	if len(s) > n {
		s = append(s[:n:n], "…")
	}
	return strings.Join(s, ", ")
}
