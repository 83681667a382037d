package helm

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/kube-gitops/kube-gitops/pkg/egress"
)

const canary = "canary-Pa55-0xfeed"

// counting serves dir and counts the requests.
func counting(t *testing.T, dir string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	n := &atomic.Int32{}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, n
}

func TestPlainHTTPOnlyToHostsTheFlagNames(t *testing.T) {
	s, srv := newRepoServer(t, "1.4.2")
	host := strings.TrimPrefix(srv.URL, "http://")
	ociHost, blobs := ociRegistry(t, "1.4.2")
	for _, tc := range []struct {
		name, host, want string
		req              Request
	}{
		{"Helm repository", host, "refusing plain HTTP to " + host, repoRequest(srv.URL, "1.4.2")},
		// The registry client asks over HTTPS, and the error says how to allow plain HTTP.
		{"OCI registry", ociHost, ociHost + " answers over plain HTTP only", ociRequest("oci://"+ociHost+"/charts", "winterlight", "1.4.2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Loopback is not special: without the flag, plain HTTP is refused.
			_, err := New(Options{}).Render(context.Background(), tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--insecure-registries="+tc.host) {
				t.Errorf("without --insecure-registries: %v", err)
			}
			other := egress.Policy{InsecureHosts: []string{"registry.example"}}
			if _, err := New(Options{Egress: other}).Render(context.Background(), tc.req); err == nil {
				t.Error("a host the flag does not name was reached over plain HTTP")
			}
			if _, err := New(Options{Egress: egress.Policy{InsecureHosts: []string{tc.host}}}).Render(context.Background(), tc.req); err != nil {
				t.Errorf("with --insecure-registries=%s: %v", tc.host, err)
			}
		})
	}
	if n := s.indexGets.Load(); n != 1 {
		t.Errorf("the Helm repository was asked %d times, want once (with the flag)", n)
	}
	if blobs.Load() == 0 {
		t.Error("the chart was not pulled with the flag")
	}
}

func TestChartDownloadsStayOnTheRepositoryHost(t *testing.T) {
	// The index is served by one host and names archives on another, as public charts on
	// GitHub releases do.
	archives := t.TempDir()
	chartVersions(t, archives, "1.4.2")
	elsewhere, downloads := counting(t, archives)
	idx, err := repo.IndexDirectory(archives, elsewhere.URL)
	if err != nil {
		t.Fatal(err)
	}
	indexDir := t.TempDir()
	if err := idx.WriteFile(filepath.Join(indexDir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	index, _ := counting(t, indexDir)
	other := strings.TrimPrefix(elsewhere.URL, "http://")

	_, err = New(Options{Egress: local}).Render(context.Background(), repoRequest(index.URL, "1.4.2"))
	if err == nil || !strings.Contains(err.Error(), "sends the chart download to another host, "+other) ||
		!strings.Contains(err.Error(), "--helm-allowed-hosts=127.0.0.1") {
		t.Errorf("download from another host: %v", err)
	}
	if n := downloads.Load(); n != 0 {
		t.Fatalf("the other host was asked %d times", n)
	}
	allowed := local
	allowed.ChartHosts = []string{other}
	if _, err := New(Options{Egress: allowed}).Render(context.Background(), repoRequest(index.URL, "1.4.2")); err != nil {
		t.Errorf("with --helm-allowed-hosts=%s: %v", other, err)
	}
	if n := downloads.Load(); n != 1 {
		t.Errorf("the allowed host was asked %d times, want 1", n)
	}
}

func TestFetchedErrorBodiesAreNotShown(t *testing.T) {
	// A Helm repository whose error answers carry text of its choosing in the status line and
	// the body.
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		body := "<html>" + canary + "</html>"
		fmt.Fprintf(buf, "HTTP/1.1 503 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", canary, len(body), body)
		_ = buf.Flush()
	}))
	defer page.Close()
	// An OCI registry that answers the tag list with its own error message.
	registry := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	denying := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/tags/list") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"errors":[{"code":"DENIED","message":%q,"detail":%q}]}`, canary, canary)
			return
		}
		registry.ServeHTTP(w, r)
	}))
	defer denying.Close()

	for _, tc := range []struct {
		name string
		req  Request
		want string
	}{
		{"Helm repository", repoRequest(page.URL, "1.4.2"), "503 Service Unavailable"},
		{"OCI registry", ociRequest("oci://"+strings.TrimPrefix(denying.URL, "http://")+"/charts", "winterlight", "^1.4"),
			"403 Forbidden (check the registry credentials)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Options{Egress: local}).Render(context.Background(), tc.req)
			if err == nil || strings.Contains(err.Error(), canary) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v\nwant %q and none of what the server sent", err, tc.want)
			}
		})
	}
}

func TestCredentialsInURLsAreRedacted(t *testing.T) {
	_, srv := newRepoServer(t, "1.4.2")
	ociHost, _ := ociRegistry(t, "1.4.2")
	withCanary := func(u string) string { return strings.Replace(u, "://", "://me:"+canary+"@", 1) }
	for _, tc := range []struct {
		name string
		req  Request
		opts Options
	}{
		{"missing repository", repoRequest(withCanary(srv.URL)+"/nothing-here", "1.4.2"), Options{Egress: local}},
		{"unknown chart", func() Request { r := repoRequest(withCanary(srv.URL), ""); r.Source.Chart.Name = "nope"; return r }(), Options{Egress: local}},
		{"no version", repoRequest(withCanary(srv.URL), "^3"), Options{Egress: local}},
		{"plain HTTP refused", repoRequest(withCanary(srv.URL), "1.4.2"), Options{}},
		{"unreachable", repoRequest(withCanary("http://127.0.0.1:1"), "1.4.2"), Options{Egress: local}},
		{"OCI", ociRequest(withCanary("oci://"+ociHost+"/charts"), "winterlight", "1.4.2"), Options{Egress: local}},
		{"credentials fail", repoRequest(withCanary(srv.URL), "1.4.2"), Options{Egress: local,
			Credentials: func(context.Context, string) (string, string, error) { return "", "", fmt.Errorf("no Secret") }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts).Render(context.Background(), tc.req)
			if err == nil || strings.Contains(err.Error(), canary) {
				t.Errorf("error = %v", err)
			}
		})
	}
}
