package render

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kube-gitops/kube-gitops/pkg/apis/gitops/v1alpha1"
	"github.com/kube-gitops/kube-gitops/pkg/source"
	"github.com/kube-gitops/kube-gitops/test/gitserver"
)

// counting counts the renders that reach the renderer it wraps, by application.
type counting struct {
	Renderer
	mu sync.Mutex
	n  map[string]int
}

func (c *counting) Render(ctx context.Context, req Request) ([]*unstructured.Unstructured, error) {
	c.mu.Lock()
	c.n[req.Name]++
	c.mu.Unlock()
	return c.Renderer.Render(ctx, req)
}

func (c *counting) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

// TestCachedRendersOnlyWhatChanged: a render is reused while the request and every file it read
// are the same (by Git object id), and redone when any of them changes: the manifests, a
// kustomization's base outside its directory, a chart, its values file, a new file in a
// directory, the spec.
func TestCachedRendersOnlyWhatChanged(t *testing.T) {
	base := map[string]string{
		"apps/plain/cm.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n",
		"apps/other/cm.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n",
		"apps/kust/kustomization.yaml": "resources: [../../bases/cm]\nnamePrefix: k-\n",
		"bases/cm/kustomization.yaml":  "resources: [cm.yaml]\n",
		"bases/cm/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\ndata: {v: \"1\"}\n",
		"charts/web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
		"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}}\ndata: {v: {{ .Values.v | quote }}}\n",
		"values/web.yaml":              "v: one\n",
		"unrelated/README.md":          "not read by any render\n",
	}
	specs := map[string]v1alpha1.DesiredStateSpec{
		"plain": {Source: v1alpha1.Source{Path: "apps/plain"}},
		"other": {Source: v1alpha1.Source{Path: "apps/other"}},
		"kust":  {Source: v1alpha1.Source{Path: "apps/kust"}},
		"web":   {Helm: &v1alpha1.HelmSource{Chart: v1alpha1.HelmChart{Path: "charts/web"}, ValuesFiles: []string{"values/web.yaml"}}},
	}
	inner := &counting{Renderer: New(Options{}), n: map[string]int{}}
	r := Cached(inner, 0)
	files := map[string]string{}
	renderAll := func(t *testing.T, change map[string]string) map[string]string {
		t.Helper()
		if change == nil {
			files = map[string]string{}
			for k, v := range base {
				files[k] = v
			}
		}
		for k, v := range change {
			files[k] = v
		}
		url, err := gitserver.LocalRepo(t.TempDir(), files, nil)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := source.NewFetcher(source.Repo{URL: url, Ref: "main"}, time.Minute).Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for name, spec := range specs {
			objs, err := r.Render(context.Background(), Request{Name: name, Namespace: "apps", Spec: spec, Files: snap.FS()})
			if err != nil {
				t.Fatalf("render %s: %v", name, err)
			}
			data, _ := objs[0].MarshalJSON()
			out[name] = string(data)
			objs[0].SetName("changed-by-the-caller") // a caller's change must not reach the cache
		}
		return out
	}
	renders := func() map[string]int {
		out := map[string]int{}
		for name := range specs {
			out[name] = inner.count(name)
		}
		return out
	}
	first := renderAll(t, nil)
	last := first
	steps := []struct {
		name     string
		change   map[string]string
		rendered []string // the applications rendered again
	}{ // each step changes the files as the last one left them
		{"same files, another commit", map[string]string{"unrelated/README.md": "changed\n"}, nil},
		{"one app's manifest", map[string]string{"apps/other/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other2}\n"}, []string{"other"}},
		{"a kustomization's base outside its directory", map[string]string{"bases/cm/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\ndata: {v: \"2\"}\n"}, []string{"kust"}},
		{"a values file", map[string]string{"values/web.yaml": "v: two\n"}, []string{"web"}},
		{"a chart's template", map[string]string{"charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-x}\n"}, []string{"web"}},
		{"a new application next to them", map[string]string{"apps/new/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new}\n"}, nil},
		{"a new file in an app's directory", map[string]string{"apps/plain/more.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: more}\n"}, []string{"plain"}},
		{"back to the first commit's files", nil, []string{"other", "kust", "web", "plain"}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			before := renders()
			got := renderAll(t, step.change)
			after := renders()
			again := map[string]bool{}
			for _, name := range step.rendered {
				again[name] = true
			}
			for name := range specs {
				if got := after[name] > before[name]; got != again[name] {
					t.Errorf("%s rendered again = %v, want %v", name, got, again[name])
				}
			}
			want := last // nothing rendered again: the same objects
			if step.change == nil {
				want = first // back to the first files: the first objects
			}
			if len(step.rendered) == 0 || step.change == nil {
				for name := range specs {
					if got[name] != want[name] {
						t.Errorf("%s = %s, want %s", name, got[name], want[name])
					}
				}
			}
			last = got
		})
	}

	t.Run("the spec", func(t *testing.T) {
		before := inner.count("plain")
		specs["plain"] = v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "apps/plain"}, Sync: v1alpha1.SyncPolicy{Prune: true}}
		renderAll(t, nil)
		if inner.count("plain") != before+1 {
			t.Errorf("a changed spec was not rendered again")
		}
	})
}

// TestCachedIsBoundedAndSkipsWhatItCannotHash: the cache keeps at most its byte budget (least
// recently used dropped first), and renders every time from files without Git object ids.
func TestCachedIsBoundedAndSkipsWhatItCannotHash(t *testing.T) {
	files := map[string]string{}
	for _, name := range []string{"a", "b", "c"} {
		files["apps/"+name+"/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\n"
	}
	url, err := gitserver.LocalRepo(t.TempDir(), files, nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := source.NewFetcher(source.Repo{URL: url, Ref: "main"}, time.Minute).Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inner := &counting{Renderer: New(Options{}), n: map[string]int{}}
	render := func(r Renderer, name string, fsys any) {
		t.Helper()
		req := Request{Name: name, Namespace: "apps", Spec: v1alpha1.DesiredStateSpec{Source: v1alpha1.Source{Path: "apps/" + name}}}
		switch f := fsys.(type) {
		case fstest.MapFS:
			req.Files = f
		default:
			req.Files = snap.FS()
		}
		if _, err := r.Render(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	// Room for two renders of one small ConfigMap each (all the same size), not three.
	probe := Cached(New(Options{}), 0)
	render(probe, "a", nil)
	one := probe.(*cached).size
	r := Cached(inner, 2*one+one/2)
	for _, name := range []string{"a", "b", "a", "c", "a", "b"} {
		render(r, name, nil)
	}
	// a, b: rendered; a: kept; c: rendered, b dropped; a: kept; b: rendered again.
	for name, want := range map[string]int{"a": 1, "b": 2, "c": 1} {
		if got := inner.count(name); got != want {
			t.Errorf("%s rendered %d times, want %d", name, got, want)
		}
	}
	c := r.(*cached)
	if c.size > c.max || len(c.byApp) > 2 {
		t.Errorf("the cache holds %d bytes in %d renders, over its budget of %d", c.size, len(c.byApp), c.max)
	}

	mapFS := fstest.MapFS{"apps/d/cm.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n")}
	render(r, "d", mapFS)
	render(r, "d", mapFS)
	if got := inner.count("d"); got != 2 {
		t.Errorf("files without Git object ids: rendered %d times, want 2", got)
	}
}
