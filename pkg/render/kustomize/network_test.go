package kustomize

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"
)

// tripwire is an HTTP server that fails the test if any request reaches it.
func tripwire(t *testing.T) (url string, hits *atomic.Int64) {
	t.Helper()
	return countingServer(t, func(r *http.Request) { t.Errorf("a render reached the network: %s %s", r.Method, r.URL) })
}

// countingServer answers every request with a ConfigMap, counting them.
func countingServer(t *testing.T, onRequest func(*http.Request)) (url string, hits *atomic.Int64) {
	t.Helper()
	hits = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		onRequest(r)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\ndata: {leak: from-the-network}\n"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

// hangingServer accepts connections and never answers. accepted counts how many it accepted.
func hangingServer(t *testing.T) (url string, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = new(atomic.Int64)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "http://" + ln.Addr().String(), accepted
}

const builtinPatch = "apiVersion: builtin\nkind: %s\nmetadata: {name: p}\n"

// remoteVectors are kustomizations that would make kustomize fetch URL, each with the part of
// the error that names where the URL is. "URL" is replaced by the server's address.
func remoteVectors() []struct {
	name string
	fsys fstest.MapFS
	want string
} {
	k := func(kustomization string, extra ...string) fstest.MapFS {
		fsys := fstest.MapFS{
			"k/kustomization.yaml": file(kustomization),
			"k/cm.yaml":            file(strings.ReplaceAll(cm, "%s", "c")),
		}
		for i := 0; i+1 < len(extra); i += 2 {
			fsys[extra[i]] = file(extra[i+1])
		}
		return fsys
	}
	plugin := func(kind, rest string) string { return strings.Replace(builtinPatch, "%s", kind, 1) + rest }
	return []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"resources", k("resources: [URL/cm.yaml]\n"), `k/kustomization.yaml: resources entry "URL/cm.yaml" is remote`},
		{"resources upper case scheme", k("resources: [HTTP://HOST/cm.yaml]\n"), `resources entry "HTTP://HOST/cm.yaml" is remote`},
		{"bases", k("bases: [URL/base]\n"), `bases entry "URL/base" is remote`},
		{"components", k("resources: [cm.yaml]\ncomponents: [URL/comp]\n"), `components entry "URL/comp" is remote`},
		{"configMapGenerator files", k("configMapGenerator: [{name: g, files: [URL/latest/meta-data]}]\n"),
			`configMapGenerator files entry "URL/latest/meta-data" is remote`},
		{"configMapGenerator key=file", k("configMapGenerator: [{name: g, files: [creds=URL/x]}]\n"), `configMapGenerator files entry "URL/x" is remote`},
		{"configMapGenerator envs", k("configMapGenerator: [{name: g, envs: [URL/env]}]\n"), `configMapGenerator envs entry "URL/env" is remote`},
		{"secretGenerator files", k("secretGenerator: [{name: s, files: [URL/token]}]\n"), `secretGenerator files entry "URL/token" is remote`},
		{"secretGenerator envs", k("secretGenerator: [{name: s, envs: [URL/env]}]\n"), `secretGenerator envs entry "URL/env" is remote`},
		{"patches path", k("resources: [cm.yaml]\npatches: [{path: URL/p.yaml}]\n"), `patches entry "URL/p.yaml" is remote`},
		{"patchesStrategicMerge", k("resources: [cm.yaml]\npatchesStrategicMerge: [URL/p.yaml]\n"), `patchesStrategicMerge entry "URL/p.yaml" is remote`},
		{"patchesJson6902", k("resources: [cm.yaml]\npatchesJson6902: [{target: {version: v1, kind: ConfigMap, name: c}, path: URL/p.json}]\n"),
			`patchesJson6902 entry "URL/p.json" is remote`},
		{"replacements path", k("resources: [cm.yaml]\nreplacements: [{path: URL/r.yaml}]\n"), `replacements entry "URL/r.yaml" is remote`},
		{"openapi path", k("resources: [cm.yaml]\nopenapi: {path: URL/schema.json}\n"), `openapi entry "URL/schema.json" is remote`},
		{"crds", k("resources: [cm.yaml]\ncrds: [URL/crd.yaml]\n"), `crds entry "URL/crd.yaml" is remote`},
		{"configurations", k("resources: [cm.yaml]\nconfigurations: [URL/c.yaml]\n"), `configurations entry "URL/c.yaml" is remote`},
		{"transformers entry", k("resources: [cm.yaml]\ntransformers: [URL/t.yaml]\n"), `transformers entry "URL/t.yaml" is remote`},
		{"validators entry", k("resources: [cm.yaml]\nvalidators: [URL/v.yaml]\n"), `validators entry "URL/v.yaml" is remote`},
		{"PatchTransformer file", k("resources: [cm.yaml]\ntransformers: [t.yaml]\n", "k/t.yaml", plugin("PatchTransformer", "path: URL/p.yaml\n")),
			`k/kustomization.yaml: transformers entry "t.yaml": PatchTransformer "p" path entry "URL/p.yaml" is remote`},
		{"PatchStrategicMergeTransformer file", k("resources: [cm.yaml]\ntransformers: [t.yaml]\n", "k/t.yaml", plugin("PatchStrategicMergeTransformer", "paths: [URL/p.yaml]\n")),
			`PatchStrategicMergeTransformer "p" paths entry "URL/p.yaml" is remote`},
		{"PatchJson6902Transformer file", k("resources: [cm.yaml]\ntransformers: [t.yaml]\n", "k/t.yaml",
			plugin("PatchJson6902Transformer", "target: {version: v1, kind: ConfigMap, name: c}\npath: URL/p.json\n")),
			`PatchJson6902Transformer "p" path entry "URL/p.json" is remote`},
		{"ReplacementTransformer file", k("resources: [cm.yaml]\ntransformers: [t.yaml]\n", "k/t.yaml", plugin("ReplacementTransformer", "replacements: [{path: URL/r.yaml}]\n")),
			`ReplacementTransformer "p" replacements path entry "URL/r.yaml" is remote`},
		{"ValueAddTransformer file", k("resources: [cm.yaml]\ntransformers: [t.yaml]\n", "k/t.yaml", plugin("ValueAddTransformer", "value: v\ntargetFilePath: URL/targets.yaml\n")),
			`ValueAddTransformer "p" targetFilePath entry "URL/targets.yaml" is remote`},
		{"inline transformer", k("resources: [cm.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata: {name: p}\n  path: URL/p.yaml\n"),
			`transformers (inline) PatchTransformer "p" path entry "URL/p.yaml" is remote`},
		{"inline transformer on one line", k(`resources: [cm.yaml]` + "\n" + `transformers: ['{"apiVersion":"builtin","kind":"PatchTransformer","metadata":{"name":"p"},"path":"URL/p.yaml"}']` + "\n"),
			`transformers (inline) PatchTransformer "p" path entry "URL/p.yaml" is remote`},
		{"inline generator", k("generators:\n- |\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata: {name: g}\n  files: [URL/x]\n"),
			`generators (inline) ConfigMapGenerator "g" files entry "URL/x" is remote`},
		{"SecretGenerator file", k("generators: [g.yaml]\n", "k/g.yaml", plugin("SecretGenerator", "envs: [URL/env]\n")),
			`generators entry "g.yaml": SecretGenerator "p" envs entry "URL/env" is remote`},
		{"nested base", k("resources: [../b1]\n", "b1/kustomization.yaml", "resources: [../b2]\n", "b2/kustomization.yaml", "resources: [URL/cm.yaml]\n"),
			`b2/kustomization.yaml: resources entry "URL/cm.yaml" is remote`},
		{"component", k("resources: [cm.yaml]\ncomponents: [../comp]\n", "comp/kustomization.yaml",
			"apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nconfigMapGenerator: [{name: g, files: [URL/x]}]\n"),
			`comp/kustomization.yaml: configMapGenerator files entry "URL/x" is remote`},
		{"transformer in a component", k("resources: [cm.yaml]\ncomponents: [../comp]\n", "comp/kustomization.yaml",
			"apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ntransformers: [t.yaml]\n", "comp/t.yaml", plugin("PatchTransformer", "path: URL/p.yaml\n")),
			`comp/kustomization.yaml: transformers entry "t.yaml": PatchTransformer "p" path entry "URL/p.yaml" is remote`},
		{"transformer directory", k("resources: [cm.yaml]\ntransformers: [../tdir]\n", "tdir/kustomization.yaml", "resources: [t.yaml]\n",
			"tdir/t.yaml", plugin("PatchTransformer", "path: p.yaml\n")),
			`k/kustomization.yaml: transformers entry "../tdir" is a directory: kube-gitops takes generator, transformer and validator configurations only inline or from files`},
		{"helmCharts", k("helmCharts: [{name: x, repo: URL}]\n"), "helmCharts need the helm binary"},
		{"HelmChartInflationGenerator", k("generators: [g.yaml]\n", "k/g.yaml", plugin("HelmChartInflationGenerator", "chartName: x\nchartRepoUrl: URL\n")),
			`generators entry "g.yaml": HelmChartInflationGenerator "p": helmCharts need the helm binary`},
		{"git over http", k("resources: ['URL/org/repo.git//base?ref=main']\n"), `resources entry "URL/org/repo.git//base?ref=main" is remote`},
		// Git's scp-like form, at this machine only: a regression must not send traffic anywhere else.
		{"git scp-like", k("resources: ['git@HOST:org/repo.git//base']\n"), `resources entry "git@HOST:org/repo.git//base" is remote`},
		{"missing path (kustomize would try it as a Git repository)", k("resources: [org/repo.git//base]\n"),
			`resources entry "org/repo.git//base" (k/org/repo.git/base in the repository) does not exist at this revision`},
	}
}

func withURL(fsys fstest.MapFS, url string) fstest.MapFS {
	out := fstest.MapFS{}
	host := strings.TrimPrefix(url, "http://")
	for p, f := range fsys {
		data := strings.ReplaceAll(strings.ReplaceAll(string(f.Data), "URL", url), "HOST", host)
		out[p] = &fstest.MapFile{Data: []byte(data), Mode: f.Mode}
	}
	return out
}

func TestRenderNeverReachesTheNetwork(t *testing.T) {
	url, hits := tripwire(t)
	for _, tt := range remoteVectors() {
		t.Run(tt.name, func(t *testing.T) {
			before := hits.Load()
			_, err := Render(context.Background(), withURL(tt.fsys, url), "spec.source.path", "k", 0)
			want := strings.ReplaceAll(strings.ReplaceAll(tt.want, "URL", url), "HOST", strings.TrimPrefix(url, "http://"))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error = %v\nwant it to contain %q", err, want)
			}
			if n := hits.Load() - before; n != 0 {
				t.Errorf("%d requests reached the server", n)
			}
		})
	}
}

func TestRenderWithAHangingURLReturnsAndReleasesTheBuild(t *testing.T) {
	url, accepted := hangingServer(t)
	vectors := map[string]string{
		"resources":        "resources: [URL/cm.yaml]\n",
		"generator file":   "configMapGenerator: [{name: g, files: [URL/x]}]\n",
		"inline transform": "resources: [cm.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata: {name: p}\n  path: URL/p.yaml\n",
	}
	for name, kustomization := range vectors {
		t.Run(name, func(t *testing.T) {
			const deadline = 20 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			fsys := fstest.MapFS{
				"k/kustomization.yaml": file(strings.ReplaceAll(kustomization, "URL", url)),
				"k/cm.yaml":            file(strings.ReplaceAll(cm, "%s", "c")),
			}
			start := time.Now()
			if _, err := Render(ctx, fsys, "spec.source.path", "k", 0); err == nil || !strings.Contains(err.Error(), "is remote") {
				t.Errorf("error = %v, want a refusal", err)
			}
			if ctx.Err() != nil {
				t.Errorf("the render ran into its deadline (%s) instead of refusing at once (took %s)", deadline, time.Since(start))
			}
			// The next render gets the build lock: nothing was left waiting on the URL.
			objs, err := Render(ctx, repo(), "spec.source.path", "overlays/test", 0)
			if err != nil || len(objs) != 3 {
				t.Errorf("a render after the refused one: %d objects, %v", len(objs), err)
			}
		})
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d connections reached the hanging server", n)
	}
}
