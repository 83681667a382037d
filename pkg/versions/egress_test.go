package versions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
)

const canary = "canary-Pa55-0xfeed"

func TestChartsPlainHTTPOnlyToHostsTheFlagNames(t *testing.T) {
	srv, fetches := helmRepo(t, "", "", map[string][]string{"winterlight": {"1.4.2"}})
	host := strings.TrimPrefix(srv.URL, "http://")
	_, err := NewCharts(ChartOptions{}).Next(context.Background(), srv.URL+"/charts", "winterlight", "", Policy{Constraint: "^1.4"})
	if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), "refusing plain HTTP to "+host) ||
		!strings.Contains(err.Error(), "--insecure-registries="+host) {
		t.Errorf("Helm repository on loopback without the flag: %v", err)
	}
	if n := fetches.Load(); n != 0 {
		t.Errorf("index.yaml fetched %d times", n)
	}
}

// hostile answers every request with an error whose status line and body carry the canary.
func hostile(t *testing.T, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		body := fmt.Sprintf(`{"errors":[{"code":"UNKNOWN","message":%q,"detail":%q}]}`, canary, canary)
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", status, canary, len(body), body)
		_ = buf.Flush()
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchedErrorBodiesAreNotShown(t *testing.T) {
	ctx := context.Background()
	fast := func(c *Charts) *Charts { c.reg.backoff.Steps = 1; return c }
	for _, status := range []int{http.StatusForbidden, http.StatusNotFound, http.StatusTeapot, http.StatusServiceUnavailable} {
		srv := hostile(t, status)
		host := strings.TrimPrefix(srv.URL, "http://")
		images := NewImages(ImageOptions{Egress: local})
		images.reg.backoff.Steps = 1
		charts := fast(NewCharts(ChartOptions{ImageOptions: ImageOptions{Egress: local}}))
		for what, lookup := range map[string]func() error{
			"image tags": func() error {
				_, err := images.Next(ctx, host+"/acme/app", "1.0.0", Policy{Constraint: "~1.0"})
				return err
			},
			"image digest": func() error {
				_, err := images.Next(ctx, host+"/acme/app", "", Policy{Tag: "test"})
				return err
			},
			"OCI chart": func() error {
				_, err := charts.Next(ctx, "oci://"+host+"/charts", "winterlight", "1.0.0", Policy{Constraint: "^1.0"})
				return err
			},
			"Helm repository": func() error {
				_, err := charts.Next(ctx, srv.URL+"/charts", "winterlight", "1.0.0", Policy{Constraint: "^1.0"})
				return err
			},
		} {
			err := lookup()
			if err == nil {
				t.Fatalf("%d, %s: no error", status, what)
			}
			for e := err; e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), canary) {
					t.Errorf("%d, %s: %v", status, what, err)
					break
				}
			}
			var verr *Error
			if errors.As(err, &verr) && verr.Err != nil && strings.Contains(verr.Err.Error(), canary) {
				t.Errorf("%d, %s: the cause keeps the body: %v", status, what, verr.Err)
			}
		}
	}
}

func TestCredentialsInURLsAreRedacted(t *testing.T) {
	ctx := context.Background()
	srv, _ := helmRepo(t, "", "", map[string][]string{"winterlight": {"1.4.2"}})
	registry := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	defer registry.Close()
	withCanary := func(u string) string { return strings.Replace(u, "://", "://me:"+canary+"@", 1) }
	charts := NewCharts(ChartOptions{ImageOptions: ImageOptions{Egress: local}})
	for _, tc := range []struct{ name, repoURL, chart string }{
		{"missing chart", withCanary(srv.URL) + "/charts", "missing"},
		{"missing repository", withCanary(srv.URL) + "/nothing", "winterlight"},
		{"no match", withCanary(srv.URL) + "/charts", "winterlight"},
		{"unreachable", withCanary("http://127.0.0.1:1"), "winterlight"},
		{"plain HTTP refused", withCanary("http://registry.example"), "winterlight"},
		{"not a repository URL", withCanary("ftp://registry.example"), "winterlight"},
		{"OCI", withCanary("oci://" + strings.TrimPrefix(registry.URL, "http://") + "/charts"), "winterlight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := charts.Next(ctx, tc.repoURL, tc.chart, "1.0.0", Policy{Constraint: "^9.0"})
			if err == nil && (got == nil || got.Message == "") {
				t.Fatalf("no error and no message: %+v", got)
			}
			msg := fmt.Sprint(err)
			if got != nil {
				msg += got.Message
			}
			if strings.Contains(msg, canary) {
				t.Errorf("canary in %q", msg)
			}
		})
	}
}
