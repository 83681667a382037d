package render

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/desired"
	"github.com/kube-gitops/kube-gitops/pkg/egress"
	"github.com/kube-gitops/kube-gitops/pkg/source"
)

const fixture = "../../test/fixtures/winterlight-config"

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func ids(objs []*unstructured.Unstructured) string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return strings.Join(out, ",")
}

func TestNewPicksTheRendererBySpec(t *testing.T) {
	fsys := fstest.MapFS{
		"plain/cm.yaml":              file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n"),
		"kust/kustomization.yaml":    file("namePrefix: k-\nresources: [cm.yaml]\n"),
		"kust/cm.yaml":               file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"),
		"kust2/Kustomization":        file("resources: [../kust]\nnameSuffix: x2\n"),
		"chart/Chart.yaml":           file("apiVersion: v2\nname: chart\nversion: 1.0.0\n"),
		"chart/templates/cm.yaml":    file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-{{ .Release.Namespace }}}\n"),
		"values/chart.yaml":          file("unused: true\n"),
		"plain/sub/deeper/more.yaml": file("apiVersion: v1\nkind: Secret\nmetadata: {name: more}\n"),
	}
	tests := []struct {
		name string
		spec v1alpha1.DesiredStateSpec
		want string
	}{
		{"directory", v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "plain"}}, "ConfigMap/plain,Secret/more"},
		{"kustomization.yaml", v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "kust"}}, "ConfigMap/k-cm"},
		{"Kustomization", v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "kust2"}}, "ConfigMap/k-cmx2"},
		{"helm", v1alpha1.DesiredStateSpec{Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "chart"}, ValuesFiles: []string{"values/chart.yaml"}}}, "ConfigMap/x-apps"},
	}
	r := New(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := r.Render(context.Background(), Request{Name: "x", Namespace: "apps", Spec: tt.spec, Files: fsys})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(objs); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}

	for _, tt := range []struct {
		name string
		spec v1alpha1.DesiredStateSpec
		want string
	}{
		{"no path", v1alpha1.DesiredStateSpec{}, "render apps/x: spec.source.path is empty"},
		{"both", v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "plain"}, Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "chart"}}}, "spec has both helm and source.path"},
		{"escape", v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "plain/../.."}}, `render apps/x: spec.source.path "plain/../.." leaves the repository`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Render(context.Background(), Request{Name: "x", Namespace: "apps", Spec: tt.spec, Files: fsys})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLimitsNameTheApplication(t *testing.T) {
	fsys := fstest.MapFS{"big/cm.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {x: \"" + strings.Repeat("x", 1100) + "\"}\n")}
	spec := v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "big"}}
	_, err := New(Options{MaxOutputBytes: 1024}).Render(context.Background(), Request{Name: "x", Namespace: "apps", Spec: spec, Files: fsys})
	if err == nil || !strings.HasPrefix(err.Error(), "rendered output of apps/x exceeds 1 KiB") {
		t.Errorf("error = %v", err)
	}
	if _, err := New(Options{}).Render(context.Background(), Request{Name: "x", Namespace: "apps", Spec: spec, Files: fsys}); err != nil {
		t.Errorf("the default limit is 16 MiB: %v", err)
	}

	// A chart repository that never answers: the render stops at the timeout.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	spec = v1alpha1.DesiredStateSpec{Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{RepoURL: hang.URL, Name: "c", Version: "1.0.0"}}}
	start := time.Now()
	_, err = New(Options{Timeout: 200 * time.Millisecond, Egress: egress.Policy{InsecureHosts: []string{"127.0.0.1"}}}).Render(context.Background(), Request{Name: "x", Namespace: "apps", Spec: spec, Files: fsys})
	if err == nil || !strings.HasPrefix(err.Error(), "render of apps/x exceeded its time budget of 200ms: ") {
		t.Errorf("error = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the timeout took %s", d)
	}
}

// TestRenderTheFixtureFromGit renders every DesiredState of the example config repository the way
// the server does: fetch the commit, load the DesiredState files, render from the snapshot.
func TestRenderTheFixtureFromGit(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(fixture)); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"apps/guestbook-base", "apps/guestbook-test"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{
		"apps/guestbook-base/kustomization.yaml": "resources: [guestbook.yaml, configmap.yaml]\n",
		"apps/guestbook-test/kustomization.yaml": "resources: [../guestbook-base]\nnameSuffix: -test\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.CopyFS(filepath.Join(dir, "apps/guestbook-base"), os.DirFS(filepath.Join(fixture, "apps/guestbook"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../etc", filepath.Join(dir, "apps/escape")); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "fixture"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	snap, err := source.NewFetcher(source.Repo{URL: "file://" + dir, Ref: "main"}, 30*time.Second).Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files := snap.FS()
	r := New(Options{})

	loaded, err := desired.Load(snap, "clusters/test", desired.Origin{Revision: snap.Revision})
	if err != nil || len(loaded.Errors) > 0 {
		t.Fatalf("load: %v %v", err, loaded.Errors)
	}
	want := map[string]string{
		"guestbook":   "ConfigMap/guestbook-html,Deployment/guestbook,Service/guestbook",
		"winterlight": "ServiceAccount/winterlight,Service/winterlight,Deployment/winterlight",
	}
	for _, ds := range loaded.States {
		objs, err := r.Render(context.Background(), Request{Name: ds.Name, Namespace: ds.Namespace, Spec: ds.Spec, Files: files})
		if err != nil {
			t.Fatalf("%s: %v", ds.Name, err)
		}
		if got := ids(objs); got != want[ds.Name] {
			t.Errorf("%s: got %s, want %s", ds.Name, got, want[ds.Name])
		}
	}

	objs, err := r.Render(context.Background(), Request{Name: "gb", Namespace: "apps", Files: files,
		Spec: v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "apps/guestbook-test"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(objs); got != "ConfigMap/guestbook-html-test,Service/guestbook-test,Deployment/guestbook-test" {
		t.Errorf("kustomization from Git: %s", got)
	}

	_, err = r.Render(context.Background(), Request{Name: "gb", Namespace: "apps", Files: files,
		Spec: v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "apps/escape"}}})
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a symlink leaving the repository: %v", err)
	}
}

// TestRenderIsSafeForConcurrentUse renders charts and kustomizations from many goroutines (run
// with -race).
func TestRenderIsSafeForConcurrentUse(t *testing.T) {
	r := New(Options{APIVersions: []string{"example.com/v1"}})
	fsys := os.DirFS(fixture)
	kust := fstest.MapFS{
		"k/kustomization.yaml": file("namePrefix: p-\nresources: [cm.yaml]\n"),
		"k/cm.yaml":            file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"),
	}
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		go func() {
			_, err := r.Render(context.Background(), Request{Name: "winterlight", Namespace: "apps", Files: fsys, Spec: v1alpha1.DesiredStateSpec{
				Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "charts/winterlight"}, ValuesFiles: []string{"envs/test/winterlight.yaml"}}}})
			errs <- err
		}()
		go func() {
			_, err := r.Render(context.Background(), Request{Name: "k", Namespace: "apps", Files: kust, Spec: v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "k"}}})
			errs <- err
		}()
	}
	for i := 0; i < 16; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
