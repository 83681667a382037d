package egress

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

// StatusError is a remote's answer with an error status, kept to its status code: the body of an
// error page, a registry's error messages and the reason phrase a server chose are never shown,
// since the server may be anything a Git author names.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Request is what was asked, e.g. "GET https://host/index.yaml", credentials redacted.
	Request string
}

func (e *StatusError) Error() string {
	if e.Request == "" {
		return Status(e.Code)
	}
	return e.Request + ": " + Status(e.Code)
}

// Status is code with its standard text, e.g. "404 Not Found".
func Status(code int) string {
	if text := http.StatusText(code); text != "" {
		return fmt.Sprintf("%d %s", code, text)
	}
	return fmt.Sprintf("status %d", code)
}

// Sanitize returns err without what a remote sent back: an error response of a registry
// (go-containerregistry's transport.Error, oras's errcode.ErrorResponse, which quote the body)
// becomes a *StatusError; a failed request (a *url.Error) becomes its cause, since the caller
// names what it fetched; URLs lose their credentials. Other errors stay reachable with
// errors.Is and errors.As. Nil stays nil.
func Sanitize(err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		req := ""
		if te.Request != nil {
			req = te.Request.Method + " " + redact.URL(te.Request.URL.Redacted())
		}
		return &StatusError{Code: te.StatusCode, Request: req}
	}
	var oe *errcode.ErrorResponse
	if errors.As(err, &oe) {
		req := oe.Method
		if oe.URL != nil {
			req += " " + redact.URL(oe.URL.Redacted())
		}
		return &StatusError{Code: oe.StatusCode, Request: req}
	}
	if ue, ok := err.(*url.Error); ok { // not errors.As: that would drop errors joined with it
		return Sanitize(ue.Err)
	}
	return redact.Error(err)
}

// Code returns the HTTP status code of a registry or repository error response in err's chain,
// or 0.
func Code(err error) int {
	var se *StatusError
	var te *transport.Error
	var oe *errcode.ErrorResponse
	switch {
	case errors.As(err, &se):
		return se.Code
	case errors.As(err, &te):
		return te.StatusCode
	case errors.As(err, &oe):
		return oe.StatusCode
	}
	return 0
}

// Transient reports whether err may pass by itself, so that what failed is worth trying again
// later: the remote could not be reached (Unreachable), or answered that it is overloaded or down
// (PassingStatus). An answer such as 401, 403 or 404 is not: trying again changes nothing.
func Transient(err error) bool {
	return Unreachable(err) || PassingStatus(Code(err))
}

// PassingStatus reports whether an HTTP status says the remote is overloaded or down for now:
// 408, 429, 500, 502, 503, 504.
func PassingStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Unreachable reports whether err says that a remote could not be reached at all: the connection
// was refused, reset or timed out, or its name did not resolve. Unlike an answer the remote gave
// (a 404, a 401), such a fault may pass by itself, so what failed is worth trying again later.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &opErr), errors.As(err, &dnsErr):
		return true
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EHOSTUNREACH, syscall.ENETUNREACH} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}
