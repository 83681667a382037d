package render

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/render/worker"
)

func newWorkers(t testing.TB, opts Options) Renderer {
	t.Helper()
	if opts.Workers == 0 {
		opts.Workers = 2
	}
	r := New(opts)
	t.Cleanup(func() { r.Close() })
	return r
}

// helmRepository serves the fixture chart as a Helm repository over HTTPS.
func helmRepository(t *testing.T) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	ch, err := loader.Load(filepath.Join(fixture, "charts/winterlight"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chartutil.Save(ch, dir); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	idx, err := repo.IndexDirectory(dir, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestWorkersRenderWhatTheServerRenders renders each kind of application, and each kind of
// error, in this process and in a worker: objects (Go types included) and messages are the same.
func TestWorkersRenderWhatTheServerRenders(t *testing.T) {
	charts := helmRepository(t)
	repoFiles := fstest.MapFS{
		"plain/cm.yaml":                 file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {a: b}\n"),
		"plain/sub/numbers.yaml":        file("apiVersion: v1\nkind: Thing\nmetadata: {name: nums}\nspec: {int: 2, float: 2.0, half: 1.5, big: 1e21, neg: -3, list: [1, 2.5, true, null]}\n"),
		"base/kustomization.yaml":       file("resources: [cm.yaml]\n"),
		"base/cm.yaml":                  file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"),
		"overlay/kustomization.yaml":    file("resources: [../base]\nnamePrefix: o-\ncommonLabels: {env: test}\n"),
		"chart/Chart.yaml":              file("apiVersion: v2\nname: chart\nversion: 1.0.0\n"),
		"chart/templates/thing.yaml":    file("apiVersion: v1\nkind: Thing\nmetadata: {name: {{ .Release.Name }}}\nspec: {replicas: {{ .Values.replicas }}, ratio: {{ .Values.ratio }}, float: {{ .Values.float }}}\n"),
		"chart/values.yaml":             file("replicas: 3\nratio: 0.5\nfloat: 2.0\n"),
		"values/override.yaml":          file("replicas: 5\n"),
		"broken/Chart.yaml":             file("apiVersion: v2\nname: broken\nversion: 1.0.0\n"),
		"broken/templates/bad.yaml":     file("{{ .Values.missing.deeper }}\n"),
		"noname/kustomization.yaml":     file("resources: [cm.yaml]\n"),
		"noname/cm.yaml":                file("apiVersion: v1\nkind: ConfigMap\n"),
		"emptydir/README.md":            file("no manifests here\n"),
		"remotebase/kustomization.yaml": file("resources: [https://example.com/base]\n"),
	}
	helmSpec := func(chart v1alpha1.HelmChart, values ...string) v1alpha1.DesiredStateSpec {
		return v1alpha1.DesiredStateSpec{Helm: &v1alpha1.HelmSource{Chart: chart, ValuesFiles: values}}
	}
	fixtureFiles, helmTestdata := os.DirFS(fixture), os.DirFS("helm/testdata")
	kitchensink := helmSpec(v1alpha1.HelmChart{Path: "charts/kitchensink"}, "values/a.yaml", "values/b.yaml")
	kitchensink.Helm.Values = &runtime.RawExtension{Raw: []byte(`{"greeting":"inline wins","labels":{"inline":"yes"}}`)}
	tests := []struct {
		name  string
		files fs.FS
		spec  v1alpha1.DesiredStateSpec
	}{
		{"the fixture chart", fixtureFiles, helmSpec(v1alpha1.HelmChart{Path: "charts/winterlight"}, "apps/winterlight/values.yaml", "envs/test/winterlight.yaml")},
		{"a chart with subcharts, CRDs and files", helmTestdata, kitchensink},
		{"a chart from a Helm repository", repoFiles, helmSpec(v1alpha1.HelmChart{RepoURL: charts.URL, Name: "winterlight", Version: "^1"}, "values/override.yaml")},
		{"integers and floats", repoFiles, helmSpec(v1alpha1.HelmChart{Path: "chart"}, "values/override.yaml")},
		{"plain manifests", repoFiles, v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "plain"}}},
		{"a kustomization with a base", repoFiles, v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "overlay"}}},
		{"a directory without manifests", repoFiles, v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "emptydir"}}},
		{"error: a template fails", repoFiles, helmSpec(v1alpha1.HelmChart{Path: "broken"})},
		{"error: an object without a name", repoFiles, v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "noname"}}},
		{"error: a missing values file", repoFiles, helmSpec(v1alpha1.HelmChart{Path: "chart"}, "values/missing.yaml")},
		{"error: a missing chart", repoFiles, helmSpec(v1alpha1.HelmChart{Path: "nochart"})},
		{"error: a path out of the repository", repoFiles, v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "plain/../.."}}},
		{"error: no path", repoFiles, v1alpha1.DesiredStateSpec{}},
		{"error: helm and a path", repoFiles, v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "plain"}, Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "chart"}}}},
		{"error: an unknown chart version", repoFiles, helmSpec(v1alpha1.HelmChart{RepoURL: charts.URL, Name: "winterlight", Version: "9.9.9"})},
		{"error: a remote kustomize base", repoFiles, v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "remotebase"}}},
	}
	opts := Options{HTTPClient: charts.Client(), APIVersions: []string{"example.com/v1"}, KubeVersion: "v1.31.0"}
	inProcess := New(opts)
	opts.Workers = 2
	workers := newWorkers(t, opts)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Name: "app", Namespace: "apps", Spec: tt.spec, Files: tt.files}
			want, wantErr := inProcess.Render(context.Background(), req)
			got, err := workers.Render(context.Background(), req)
			if strings.HasPrefix(tt.name, "error: ") != (wantErr != nil) {
				t.Fatalf("in this process: %v", wantErr)
			}
			if errString(err) != errString(wantErr) {
				t.Errorf("error in a worker:\n%v\nin this process:\n%v", err, wantErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("objects in a worker:\n%v\nin this process:\n%v", got, want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// gatedFS holds reads of gate until open is closed: a render that reads it is surely in flight.
type gatedFS struct {
	fstest.MapFS
	gate    string
	reading chan struct{}
	open    chan struct{}
	once    sync.Once
}

func (g *gatedFS) ReadFile(name string) ([]byte, error) {
	if name == g.gate {
		g.once.Do(func() { close(g.reading) })
		<-g.open
	}
	return g.MapFS.ReadFile(name)
}

func chartFiles(template string) *noticingFS {
	return &noticingFS{MapFS: fstest.MapFS{
		"c/Chart.yaml":        file("apiVersion: v2\nname: c\nversion: 1.0.0\n"),
		"c/templates/cm.yaml": file(template),
	}, read: make(chan struct{})}
}

// noticingFS says when c/templates/cm.yaml is read: the server sends the chart to a worker next.
type noticingFS struct {
	fstest.MapFS
	read chan struct{}
	once sync.Once
}

func (n *noticingFS) ReadFile(name string) ([]byte, error) {
	if name == "c/templates/cm.yaml" {
		n.once.Do(func() { close(n.read) })
	}
	return n.MapFS.ReadFile(name)
}

// TestARunawayRenderIsStopped: a render over its time or memory budget is killed with its
// worker (the PID is gone) within the budget and a small margin, the application gets a clear
// error, a render on the other worker succeeds meanwhile, and the pool serves the next render.
func TestARunawayRenderIsStopped(t *testing.T) {
	// A render the memory budget must stop gets a time budget it cannot reach on a loaded
	// machine (2 shared cores, other tests running): else time may run out before memory does.
	const timeout, memoryCaseTimeout = 3 * time.Second, 60 * time.Second
	tests := []struct {
		name, template string
		memoryLimit    int64
		want           string // the error's start
		timeout        time.Duration
	}{
		// until builds a list of 100,000,000 numbers: 800 MB, over the default budget.
		{"range until 100000000", `{{ range until 100000000 }}{{ end }}`, 0,
			"render of apps/runaway exceeded its memory budget of 512 MiB and was stopped: render less", memoryCaseTimeout},
		{"loops that do not end in time", `{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}`, 0,
			"render of apps/runaway exceeded its time budget of 3s and was stopped: look for a loop", timeout},
		{"a string that doubles", `{{ $x := "0123456789abcdef" }}{{ range until 40 }}{{ $x = printf "%s%s" $x $x }}{{ end }}{{ len $x }}`, 192 << 20,
			"render of apps/runaway exceeded its memory budget of 192 MiB and was stopped: render less", memoryCaseTimeout},
		{"a huge repeat", `{{ repeat 1000000000 "x" }}`, 192 << 20,
			"render of apps/runaway exceeded its memory budget of 192 MiB and was stopped: render less", memoryCaseTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newWorkers(t, Options{Workers: 2, Timeout: tt.timeout, WorkerMemoryLimit: tt.memoryLimit})
			runawayFiles := chartFiles(tt.template)
			runaway := make(chan error, 1)
			var took time.Duration
			go func() {
				start := time.Now()
				_, err := r.Render(context.Background(), Request{Name: "runaway", Namespace: "apps", Files: runawayFiles,
					Spec: v1alpha1.DesiredStateSpec{Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}}}})
				took = time.Since(start)
				runaway <- err
			}()
			<-runawayFiles.read

			// Meanwhile a kustomization renders on the other worker: it is held in flight (at the
			// read of its base, which the worker asks for) until the runaway is stopped for memory;
			// a runaway stopped for time would take it past its own budget, so that one just
			// has to finish first.
			other := &gatedFS{MapFS: fstest.MapFS{
				"app/kustomization.yaml":  file("resources: [../base]\n"),
				"base/kustomization.yaml": file("resources: [cm.yaml]\n"),
				"base/cm.yaml":            file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n"),
			}, gate: "base/kustomization.yaml", reading: make(chan struct{}), open: make(chan struct{})}
			otherDone := make(chan error, 1)
			go func() {
				objs, err := r.Render(context.Background(), Request{Name: "other", Namespace: "apps", Files: other,
					Spec: v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "app"}}})
				if err == nil && ids(objs) != "ConfigMap/other" {
					err = errors.New("rendered " + ids(objs))
				}
				otherDone <- err
			}()
			<-other.reading
			stoppedForTime := strings.Contains(tt.want, "time budget")
			if stoppedForTime {
				close(other.open)
				if err := <-otherDone; err != nil {
					t.Errorf("the render on the other worker: %v", err)
				}
			}

			err := <-runaway
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to start with %q", err, tt.want)
			}
			if took > tt.timeout+2*time.Second {
				t.Errorf("stopped after %s; the time budget is %s", took, tt.timeout)
			}
			var budget *worker.BudgetError
			if !errors.As(err, &budget) {
				t.Fatalf("%T does not wrap a *worker.BudgetError", err)
			}
			if _, err := os.Stat("/proc/" + strconv.Itoa(budget.PID)); err == nil {
				t.Errorf("the worker %d of the stopped render still exists", budget.PID)
			}
			if !stoppedForTime {
				close(other.open)
				if err := <-otherDone; err != nil {
					t.Errorf("the render in flight on the other worker: %v", err)
				}
			}

			objs, err := r.Render(context.Background(), Request{Name: "next", Namespace: "apps",
				Files: chartFiles("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: next}\n"),
				Spec:  v1alpha1.DesiredStateSpec{Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "c"}}}})
			if err != nil || ids(objs) != "ConfigMap/next" {
				t.Errorf("the render after the kill: %s, %v", ids(objs), err)
			}
		})
	}
}

// BenchmarkRenderTheFixtureChart measures what the process boundary costs a Helm render:
// compare in-process with workers (go test -bench RenderTheFixtureChart ./pkg/render). The
// files are in memory, as a Git snapshot's are.
func BenchmarkRenderTheFixtureChart(b *testing.B) {
	files := fstest.MapFS{}
	err := fs.WalkDir(os.DirFS(fixture), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			data, err := os.ReadFile(filepath.Join(fixture, p))
			files[p] = &fstest.MapFile{Data: data, Mode: 0o644}
			return err
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	req := Request{Name: "winterlight", Namespace: "apps", Files: files, Spec: v1alpha1.DesiredStateSpec{
		Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "charts/winterlight"},
			ValuesFiles: []string{"apps/winterlight/values.yaml", "envs/test/winterlight.yaml"}}}}
	for _, bb := range []struct {
		name string
		opts Options
	}{{"in-process", Options{}}, {"workers", Options{Workers: 1}}} {
		b.Run(bb.name, func(b *testing.B) {
			r := New(bb.opts)
			defer r.Close()
			if _, err := r.Render(context.Background(), req); err != nil { // starts the worker
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := r.Render(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
