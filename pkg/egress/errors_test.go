package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	orasremote "oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

const canary = "canary-body-0xdeadbeef"

// errorPage answers every request with status and a body holding the canary, as an internal
// service or a registry's error message would.
func errorPage(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestSanitizeDropsRegistryErrorBodies(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		status int
		body   string
	}{
		{"registry error JSON", http.StatusForbidden, `{"errors":[{"code":"DENIED","message":"` + canary + `","detail":"` + canary + `"}]}`},
		{"HTML error page", http.StatusInternalServerError, `<html><body>` + canary + `</body></html>`},
		{"not found", http.StatusNotFound, canary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := errorPage(t, tc.status, tc.body)
			repo, err := name.NewRepository(host+"/acme/app", name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			_, ggcrErr := remote.List(repo, remote.WithContext(ctx), remote.WithRetryBackoff(remote.Backoff{Steps: 1}))
			oras, err := orasremote.NewRepository(host + "/acme/app")
			if err != nil {
				t.Fatal(err)
			}
			oras.PlainHTTP = true
			oras.Client = &auth.Client{Client: http.DefaultClient}
			orasErr := oras.Tags(ctx, "", func([]string) error { return nil })
			for lib, err := range map[string]error{"go-containerregistry": ggcrErr, "oras": orasErr} {
				// oras quotes only a registry's JSON errors; go-containerregistry any body.
				quotes := lib == "go-containerregistry" || strings.HasPrefix(tc.body, "{")
				if err == nil || quotes && !strings.Contains(err.Error(), canary) {
					t.Fatalf("%s: the library error was expected to quote the body: %v", lib, err)
				}
				clean := Sanitize(err)
				var se *StatusError
				if !errors.As(clean, &se) || se.Code != tc.status || strings.Contains(clean.Error(), canary) ||
					!strings.HasSuffix(clean.Error(), ": "+Status(tc.status)) || Code(clean) != tc.status {
					t.Errorf("%s: Sanitize = %v", lib, clean)
				}
			}
		})
	}
}

func TestSanitizeRedactsURLs(t *testing.T) {
	err := Sanitize(errors.New(`Get "https://me:` + canary + `@charts.example/index.yaml": EOF`))
	if strings.Contains(err.Error(), canary) {
		t.Errorf("Sanitize = %v", err)
	}
	if Sanitize(nil) != nil || Status(599) != "status 599" || Status(404) != "404 Not Found" {
		t.Error("nil, or Status of an unknown code")
	}
	wrapped := Sanitize(context.DeadlineExceeded)
	if !errors.Is(wrapped, context.DeadlineExceeded) {
		t.Error("other errors stay reachable")
	}
}

func TestSanitizeLeavesTheURLToTheCaller(t *testing.T) {
	client := &http.Client{Transport: Policy{}.Transport(nil)}
	_, err := client.Get("http://me:" + canary + "@127.0.0.1:1/index.yaml")
	clean := Sanitize(err)
	if clean == nil || strings.Contains(clean.Error(), canary) || strings.Contains(clean.Error(), "index.yaml") ||
		!strings.HasPrefix(clean.Error(), "refusing plain HTTP to 127.0.0.1:1") {
		t.Errorf("Sanitize = %v", clean)
	}
}

func TestUnreachable(t *testing.T) {
	refused := func() error {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		_, err := http.Get(srv.URL)
		return err
	}()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", refused, true},
		{"refused, sanitized and wrapped", fmt.Errorf("resolve oci://host/chart:1: %w", Sanitize(refused)), true},
		{"name does not resolve", &net.DNSError{Err: "no such host", Name: "registry.invalid", IsNotFound: true}, true},
		{"timeout", context.DeadlineExceeded, true},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"an answer: 404", &StatusError{Code: http.StatusNotFound}, false},
		{"an answer: 401", &StatusError{Code: http.StatusUnauthorized}, false},
		{"any other error", errors.New("chart.yaml: invalid"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unreachable(tt.err); got != tt.want {
				t.Errorf("Unreachable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestTransient(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused", fmt.Errorf("fetch: %w", refused), true},
		{"503", fmt.Errorf("fetch: %w", &StatusError{Code: http.StatusServiceUnavailable}), true},
		{"429", &StatusError{Code: http.StatusTooManyRequests}, true},
		{"404", &StatusError{Code: http.StatusNotFound}, false},
		{"401", &StatusError{Code: http.StatusUnauthorized}, false},
		{"anything else", errors.New("template error"), false},
		{"nil", nil, false},
	} {
		if got := Transient(tt.err); got != tt.want {
			t.Errorf("%s: Transient = %v, want %v", tt.name, got, tt.want)
		}
	}
}
