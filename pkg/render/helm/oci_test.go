package helm

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v3/pkg/registry"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
)

// ociRegistry starts an in-process OCI registry and pushes the fixture chart as each version
// with helm's registry client. It returns the host and a counter of blob downloads.
func ociRegistry(t *testing.T, versions ...string) (string, *atomic.Int32) {
	t.Helper()
	blobs := &atomic.Int32{}
	handler := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			blobs.Add(1)
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	client, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(io.Discard),
		registry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "config.json")))
	if err != nil {
		t.Fatal(err)
	}
	for v, data := range chartVersions(t, t.TempDir(), versions...) {
		if _, err := client.Push(data, host+"/charts/winterlight:"+strings.ReplaceAll(v, "+", "_")); err != nil {
			t.Fatalf("push %s: %v", v, err)
		}
	}
	return host, blobs
}

func ociRequest(repoURL, name, version string) Request {
	r := repoRequest("", version)
	r.Source.Chart = v1alpha1.HelmChart{RepoURL: repoURL, Name: name, Version: version}
	return r
}

func TestRenderFromAnOCIRegistry(t *testing.T) {
	host, blobs := ociRegistry(t, "1.4.2", "1.6.1", "2.0.0")
	r := New(Options{Egress: local})
	ctx := context.Background()

	objs, err := r.Render(ctx, ociRequest("oci://"+host+"/charts", "winterlight", "1.4.2"))
	if err != nil {
		t.Fatal(err)
	}
	if got := chartLabel(t, objs); got != "winterlight-1.4.2" {
		t.Errorf("rendered %s", got)
	}
	pulled := blobs.Load()

	// Cached by manifest digest: rendering again downloads no blob.
	if _, err := r.Render(ctx, ociRequest("oci://"+host+"/charts", "winterlight", "1.4.2")); err != nil {
		t.Fatal(err)
	}
	if blobs.Load() != pulled {
		t.Errorf("blob downloads went from %d to %d: the chart must come from the cache", pulled, blobs.Load())
	}

	// A constraint is resolved against the tags; repoURL may also name the chart itself.
	objs, err = r.Render(ctx, ociRequest("oci://"+host+"/charts/winterlight", "", "^1.4"))
	if err != nil {
		t.Fatal(err)
	}
	if got := chartLabel(t, objs); got != "winterlight-1.6.1" {
		t.Errorf("^1.4 rendered %s, want winterlight-1.6.1", got)
	}
}

func TestOCIErrors(t *testing.T) {
	host, _ := ociRegistry(t, "1.4.2")
	down := httptest.NewServer(http.NotFoundHandler())
	downHost := strings.TrimPrefix(down.URL, "http://")
	down.Close() // nothing listens there any more
	tests := []struct {
		name, repoURL, chart, version, want string
	}{
		{"missing tag", "oci://" + host + "/charts", "winterlight", "9.9.9", "resolve oci://" + host + "/charts/winterlight:9.9.9"},
		{"no matching tag", "oci://" + host + "/charts", "winterlight", "^3", `spec.helm.chart.version "^3": no tag of oci://` + host + `/charts/winterlight matches (newest first: 1.4.2)`},
		{"no repository", "oci://" + host + "/nothing", "winterlight", "1.4.2", "resolve oci://" + host + "/nothing/winterlight:1.4.2"},
		{"no path", "oci://" + host, "", "1.4.2", "write oci://host/path"},
		{"registry down", "oci://" + downHost + "/charts", "winterlight", "1.4.2", "(cannot reach registry " + downHost + ": check that it is up"},
		{"registry down, constraint", "oci://" + downHost + "/charts", "winterlight", "^1", "(cannot reach registry " + downHost + ": check that it is up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{Egress: local}).Render(context.Background(), ociRequest(tt.repoURL, tt.chart, tt.version))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}
