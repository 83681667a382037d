package versions

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"
)

// helmRepo serves an index.yaml made with helm's repo package; with user set it wants basic auth.
func helmRepo(t *testing.T, user, password string, charts map[string][]string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	idx := repo.NewIndexFile()
	for name, versions := range charts {
		for _, v := range versions {
			md := &chart.Metadata{APIVersion: chart.APIVersionV2, Name: name, Version: v}
			if err := idx.MustAdd(md, name+"-"+v+".tgz", "", "sha256:0"); err != nil {
				t.Fatal(err)
			}
		}
	}
	idx.SortEntries()
	data, err := yaml.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	fetches := &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, _ := r.BasicAuth(); user != "" && (u != user || p != password) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/charts/index.yaml" {
			http.NotFound(w, r)
			return
		}
		fetches.Add(1)
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv, fetches
}

func TestChartsFromHelmRepository(t *testing.T) {
	srv, fetches := helmRepo(t, "", "", map[string][]string{
		"winterlight": {"1.4.2", "1.5.0", "1.6.1", "2.0.0", "1.7.0-rc.1"},
		"other":       {"0.1.0"},
	})
	charts := NewCharts(ChartOptions{ImageOptions: ImageOptions{Egress: local}})
	ctx := context.Background()
	repoURL := srv.URL + "/charts/"

	for _, tc := range []struct {
		current, constraint, want string
		unchanged                 bool
	}{
		{"1.4.2", "^1.4", "1.6.1", false},
		{"1.6.1", "^1.4", "1.6.1", true},
		{"1.4.2", "~> 1.5", "1.5.0", false},
		{"1.4.2", ">=1.7.0-0 <2.0.0", "1.7.0-rc.1", false},
		{"", "^1.4", "1.6.1", false},
	} {
		got, err := charts.Next(ctx, repoURL, "winterlight", tc.current, Policy{Constraint: tc.constraint})
		if err != nil {
			t.Fatalf("%s from %s: %v", tc.constraint, tc.current, err)
		}
		if got.Version != tc.want || got.Unchanged != tc.unchanged {
			t.Errorf("%s from %s: got %+v, want %s", tc.constraint, tc.current, got, tc.want)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("index.yaml fetched %d times, want 1 (cached for a minute)", n)
	}

	got, err := charts.Next(ctx, repoURL, "winterlight", "1.4.2", Policy{Constraint: "^3.0"})
	if err != nil || !got.Unchanged || got.Version != "1.4.2" ||
		got.Message != "no version of chart winterlight in "+repoURL+" matches ^3.0 (newest: 2.0.0)" {
		t.Errorf("no match: %+v, %v", got, err)
	}
	_, err = charts.Next(ctx, repoURL, "missing", "1.0.0", Policy{Constraint: "^1.0"})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "(it has: other, winterlight)") {
		t.Errorf("missing chart: %v", err)
	}
	_, err = charts.Next(ctx, srv.URL+"/nothing-here", "winterlight", "1.0.0", Policy{Constraint: "^1.0"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing repository: %v", err)
	}
	if _, err := charts.Next(ctx, repoURL, "winterlight", "1.0.0", Policy{Tag: "test"}); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("tag policy for a chart: %v", err)
	}
	if _, err := charts.Next(ctx, "git@example.com:charts", "winterlight", "", Policy{Constraint: "^1.0"}); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("not a chart repository URL: %v", err)
	}

	srv.Close()
	_, err = NewCharts(ChartOptions{ImageOptions: ImageOptions{Egress: local}}).Next(ctx, repoURL, "winterlight", "1.4.2", Policy{Constraint: "^1.4"})
	if !errors.Is(err, ErrUnreachable) || !strings.HasPrefix(err.Error(), "Helm repository "+repoURL+" unreachable: ") {
		t.Errorf("repository down: %v", err)
	}
}

func TestChartsHelmRepositoryAuth(t *testing.T) {
	srv, _ := helmRepo(t, "ci", "s3cret", map[string][]string{"winterlight": {"1.4.2", "1.6.1"}})
	ctx := context.Background()
	repoURL := srv.URL + "/charts"
	with := func(password string) *Charts {
		return NewCharts(ChartOptions{ImageOptions: ImageOptions{Egress: local}, Credentials: func(_ context.Context, url string) (string, string, error) {
			if url != repoURL {
				t.Errorf("credentials asked for %s", url)
			}
			return "ci", password, nil
		}})
	}
	if got, err := with("s3cret").Next(ctx, repoURL, "winterlight", "1.4.2", Policy{Constraint: "^1.4"}); err != nil || got.Version != "1.6.1" {
		t.Errorf("good credentials: %+v, %v", got, err)
	}
	_, err := with("wrong").Next(ctx, repoURL, "winterlight", "1.4.2", Policy{Constraint: "^1.4"})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "were refused") {
		t.Errorf("bad credentials: %v", err)
	}
	_, err = NewCharts(ChartOptions{ImageOptions: ImageOptions{Egress: local}}).Next(ctx, repoURL, "winterlight", "1.4.2", Policy{Constraint: "^1.4"})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "wants credentials") {
		t.Errorf("no credentials: %v", err)
	}
}

func TestChartsFromOCIRegistry(t *testing.T) {
	reg := newTestRegistry(t, "", "")
	pushCharts(t, reg.host+"/charts/winterlight", "1.4.2", "1.5.0+build.1", "1.6.1", "2.0.0")
	reg.push(t, "charts/winterlight", "latest") // not semver: ignored
	charts := NewCharts(ChartOptions{ImageOptions: ImageOptions{Egress: local}})
	ctx := context.Background()

	for _, tc := range []struct {
		repoURL, name, current, constraint, want string
	}{
		{"oci://" + reg.host + "/charts", "winterlight", "1.4.2", "^1.4", "1.6.1"},
		{"oci://" + reg.host + "/charts/", "winterlight", "1.4.2", "~1.5", "1.5.0+build.1"},
		{"oci://" + reg.host + "/charts/winterlight", "", "1.4.2", "~> 1.4", "1.4.2"},
		{"oci://" + reg.host + "/charts/winterlight", "winterlight", "", ">=2.0.0", "2.0.0"},
	} {
		got, err := charts.Next(ctx, tc.repoURL, tc.name, tc.current, Policy{Constraint: tc.constraint})
		if err != nil {
			t.Fatalf("%s %s: %v", tc.repoURL, tc.constraint, err)
		}
		if got.Version != tc.want || got.Digest != "" {
			t.Errorf("%s %s from %s: got %+v, want %s", tc.repoURL, tc.constraint, tc.current, got, tc.want)
		}
	}
	if n := reg.lists.Load(); n != 1 {
		t.Errorf("%d tag list requests, want 1 (cached)", n)
	}
	_, err := charts.Next(ctx, "oci://"+reg.host+"/charts", "missing", "1.0.0", Policy{Constraint: "^1.0"})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "chart oci://"+reg.host+"/charts/missing not found") {
		t.Errorf("missing chart: %v", err)
	}
}

// pushCharts pushes a minimal chart at each version with helm's registry client, as `helm push`.
func pushCharts(t *testing.T, ref string, versions ...string) {
	t.Helper()
	dir := t.TempDir()
	client, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(io.Discard),
		registry.ClientOptCredentialsFile(filepath.Join(dir, "config.json")))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		ch := &chart.Chart{Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: filepath.Base(ref), Version: v}}
		file, err := chartutil.Save(ch, dir)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// The client writes the "+" of a version as "_" in the tag.
		if _, err := client.Push(data, ref+":"+v); err != nil {
			t.Fatalf("push %s %s: %v", ref, v, err)
		}
	}
}
