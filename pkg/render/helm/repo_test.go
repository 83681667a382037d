package helm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/egress"
)

// local lets the tests reach their servers on 127.0.0.1 over plain HTTP, as the server does only
// when --insecure-registries names the host.
var local = egress.Policy{InsecureHosts: []string{"127.0.0.1"}}

// chartVersions packages the fixture chart as each version into dir and returns the archives.
func chartVersions(t *testing.T, dir string, versions ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, v := range versions {
		ch, err := loader.Load(filepath.Join(fixture, "charts/winterlight"))
		if err != nil {
			t.Fatal(err)
		}
		ch.Metadata.Version = v
		file, err := chartutil.Save(ch, dir)
		if err != nil {
			t.Fatal(err)
		}
		if out[v], err = os.ReadFile(file); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// repoServer serves a Helm repository: an index.yaml made by helm's repo package (with an ETag)
// and the archives, optionally behind basic auth.
type repoServer struct {
	dir                              string
	user, pass                       string
	indexGets, index304, archiveGets atomic.Int32
}

func newRepoServer(t *testing.T, versions ...string) (*repoServer, *httptest.Server) {
	t.Helper()
	s := &repoServer{dir: t.TempDir()}
	chartVersions(t, s.dir, versions...)
	idx, err := repo.IndexDirectory(s.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	idx.SortEntries()
	if err := idx.WriteFile(filepath.Join(s.dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *repoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.user != "" {
		if u, p, ok := r.BasicAuth(); !ok || u != s.user || p != s.pass {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
	}
	data, err := os.ReadFile(filepath.Join(s.dir, filepath.Base(r.URL.Path)))
	if err != nil || r.URL.Path != "/"+filepath.Base(r.URL.Path) {
		http.NotFound(w, r)
		return
	}
	if r.URL.Path == "/index.yaml" {
		s.indexGets.Add(1)
		sum := sha256.Sum256(data)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		if r.Header.Get("If-None-Match") == etag {
			s.index304.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
	} else {
		s.archiveGets.Add(1)
	}
	_, _ = w.Write(data)
}

func repoRequest(url, version string) Request {
	return Request{Name: "winterlight", Namespace: "apps", Files: os.DirFS(fixture), Source: &v1alpha1.HelmSource{
		Chart:       v1alpha1.HelmChart{RepoURL: url, Name: "winterlight", Version: version},
		ValuesFiles: []string{"apps/winterlight/values.yaml", "envs/test/winterlight.yaml"},
	}}
}

func chartLabel(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	return find(t, objs, "Deployment", "winterlight").GetLabels()["helm.sh/chart"]
}

func TestRenderFromAHelmRepository(t *testing.T) {
	s, srv := newRepoServer(t, "1.3.9", "1.4.2", "1.6.1", "1.7.0-rc.1", "2.0.0")
	r := New(Options{Egress: local})
	ctx := context.Background()

	objs, err := r.Render(ctx, repoRequest(srv.URL, "^1.4"))
	if err != nil {
		t.Fatal(err)
	}
	if got := chartLabel(t, objs); got != "winterlight-1.6.1" {
		t.Errorf("^1.4 rendered %s, want the newest 1.x release, winterlight-1.6.1", got)
	}
	if find(t, objs, "Deployment", "winterlight").GetNamespace() != "apps" {
		t.Error("values and namespace apply to a downloaded chart too")
	}

	// Within IndexTTL, nothing is fetched again; the archive comes from the cache by digest.
	if objs, err = r.Render(ctx, repoRequest(srv.URL+"/", "1.6.1")); err != nil || chartLabel(t, objs) != "winterlight-1.6.1" {
		t.Fatalf("again: %v", err)
	}
	if s.indexGets.Load() != 1 || s.archiveGets.Load() != 1 {
		t.Errorf("index fetched %d times, archive %d times; want 1 and 1", s.indexGets.Load(), s.archiveGets.Load())
	}

	// An exact version is taken as it is; a new archive is downloaded once.
	if objs, err = r.Render(ctx, repoRequest(srv.URL, "1.4.2")); err != nil || chartLabel(t, objs) != "winterlight-1.4.2" {
		t.Fatalf("exact version: %v", err)
	}
	if s.archiveGets.Load() != 2 {
		t.Errorf("archive downloads = %d, want 2", s.archiveGets.Load())
	}
}

func TestRepositoryIndexIsRevalidatedWithETag(t *testing.T) {
	s, srv := newRepoServer(t, "1.4.2")
	r := New(Options{IndexTTL: -1, Egress: local})
	for i := 0; i < 3; i++ {
		if _, err := r.Render(context.Background(), repoRequest(srv.URL, "^1.4")); err != nil {
			t.Fatal(err)
		}
	}
	if s.indexGets.Load() != 3 || s.index304.Load() != 2 || s.archiveGets.Load() != 1 {
		t.Errorf("index GETs %d (304: %d), archive GETs %d; want 3 (2), 1", s.indexGets.Load(), s.index304.Load(), s.archiveGets.Load())
	}
}

func TestChartArchivesAreCachedOnDisk(t *testing.T) {
	s, srv := newRepoServer(t, "1.4.2")
	cache := t.TempDir()
	for i := 0; i < 2; i++ {
		if _, err := New(Options{CacheDir: cache, Egress: local}).Render(context.Background(), repoRequest(srv.URL, "1.4.2")); err != nil {
			t.Fatal(err)
		}
	}
	if s.archiveGets.Load() != 1 {
		t.Errorf("archive GETs = %d: a second renderer must find the archive in CacheDir", s.archiveGets.Load())
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), "archive-sha256-") {
		t.Errorf("cache dir holds %v", entries)
	}
}

func TestHelmRepositoryErrors(t *testing.T) {
	s, srv := newRepoServer(t, "1.4.2", "1.6.1")
	ctx := context.Background()
	tests := []struct {
		name    string
		req     Request
		opts    Options
		prepare func()
		want    string
	}{
		{"unknown chart", func() Request { r := repoRequest(srv.URL, ""); r.Source.Chart.Name = "nope"; return r }(), Options{Egress: local}, nil,
			`spec.helm.chart.name "nope" is not in the Helm repository ` + srv.URL + ` (it has: winterlight)`},
		{"no matching version", repoRequest(srv.URL, "^3"), Options{Egress: local}, nil,
			`spec.helm.chart.version "^3": no version of chart winterlight in ` + srv.URL + ` matches (newest first: 1.6.1, 1.4.2)`},
		{"bad constraint", repoRequest(srv.URL, "not a version"), Options{Egress: local}, nil, `spec.helm.chart.version "not a version" is neither a version nor a semver constraint`},
		{"no name", func() Request { r := repoRequest(srv.URL, ""); r.Source.Chart.Name = ""; return r }(), Options{Egress: local}, nil, "spec.helm.chart.name is empty"},
		{"not a repository", repoRequest(srv.URL+"/nothing-here", "1.4.2"), Options{Egress: local}, nil, "404 Not Found (check spec.helm.chart.repoURL)"},
		{"credentials needed", repoRequest(srv.URL, "1.4.2"), Options{Egress: local}, func() { s.user, s.pass = "u", "p" }, "401 Unauthorized (check the repository credentials)"},
		{"credentials given", repoRequest(srv.URL, "1.4.2"), Options{Egress: local, Credentials: func(_ context.Context, url string) (string, string, error) {
			if url != srv.URL {
				t.Errorf("credentials asked for %q", url)
			}
			return "u", "p", nil
		}}, func() { s.user, s.pass = "u", "p" }, ""},
		{"tampered archive", repoRequest(srv.URL, "1.4.2"), Options{Egress: local}, func() {
			s.user = ""
			if err := os.WriteFile(filepath.Join(s.dir, "winterlight-1.4.2.tgz"), []byte("not the archive"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "does not match the digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.prepare != nil {
				tt.prepare()
			}
			_, err := New(tt.opts).Render(ctx, tt.req)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}
