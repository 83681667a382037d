package kustomize

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kube-gitops/kube-gitops/pkg/render/internal/manifest"
	"github.com/kube-gitops/kube-gitops/test/fuzzcheck"
)

// fuzzRepo is the repository a fuzzed kustomization (app/) and base (base/) sit in: files to
// name, a symbolic link, a directory of plugin configurations, and a file outside both.
func fuzzRepo(kustomization, base []byte) fstest.MapFS {
	return fstest.MapFS{
		"app/kustomization.yaml":    &fstest.MapFile{Data: kustomization},
		"app/cm.yaml":               file(fmt.Sprintf(cm, "app")),
		"app/patch.yaml":            file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {k: patched}\n"),
		"app/.env":                  file("A=1\n"),
		"app/link.yaml":             link("../secret.txt"),
		"app/plugins/t.yaml":        file("apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: ../patch.yaml\n"),
		"base/kustomization.yaml":   &fstest.MapFile{Data: base},
		"base/cm.yaml":              file(fmt.Sprintf(cm, "base")),
		"base/linked/kustomization": link("../../app"),
		"secret.txt":                file("not for kustomize\n"),
	}
}

// kustomizationSeeds reach every field check.go reads.
var kustomizationSeeds = []string{
	"resources: [cm.yaml, ../base]\npatches: [{path: patch.yaml}]\nconfigMapGenerator: [{name: g, envs: [.env], files: [k=cm.yaml]}]\n",
	"resources: [https://github.com/acme/x//base?ref=v1]\n",
	"resources: [github.com/acme/x/base]\n",
	"resources: [git@github.com:acme/x.git]\n",
	"resources: [/etc]\n", "resources: [../..]\n", "resources: ['']\n", "resources: [link.yaml]\n",
	"resources: [missing/]\n", "bases: [../base]\ncomponents: [../base]\n",
	"transformers: [plugins/t.yaml]\n", "transformers: [plugins]\n",
	"generators:\n- |\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata: {name: g}\n  files: [../secret.txt]\n",
	"validators: ['apiVersion: builtin\nkind: ReplacementTransformer\nmetadata: {name: r}\nreplacements: [{path: r.yaml}]']\n",
	"patchesStrategicMerge: [patch.yaml, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n']\n",
	"patchesJson6902: [{path: p.json, target: {kind: ConfigMap, name: app}}]\nreplacements: [{path: r.yaml}]\n",
	"crds: [cm.yaml]\nconfigurations: [cm.yaml]\nopenapi: {path: cm.yaml}\n",
	"secretGenerator: [{name: s, env: .env}]\n",
	"helmCharts: [{name: x}]\n", "helmGlobals: {chartHome: x}\n",
	"resources: [file:///etc/passwd]\n", "resources: ['git::../base']\n", "resources: ['http:x']\n",
	"kind: Component\n", "{", "- a\n", "",
}

// FuzzCheck runs the check of what a build would load on arbitrary kustomizations: no panic nor
// hang, and what it lets through is only paths in the repository, reached through no symbolic
// link and not looking remote, so that the build that follows cannot reach the network or a
// file outside the repository.
func FuzzCheck(f *testing.F) {
	bases := []string{"resources: [cm.yaml]\n", "resources: [linked]\n", "resources: [../app]\n", "kind: Component\npatches: [{path: ../secret.txt}]\n"}
	for i, s := range kustomizationSeeds {
		f.Add([]byte(s), []byte(bases[i%len(bases)]))
	}
	f.Fuzz(func(t *testing.T, kustomization, base []byte) {
		fuzzcheck.Within(t, func() error {
			fsys := fuzzRepo(kustomization, base)
			g := newGraph(fsys)
			if err := g.visit("app"); err != nil {
				if !strings.Contains(err.Error(), "kustomization") {
					return fmt.Errorf("error %q does not name the kustomization", err)
				}
				return nil
			}
			for _, p := range append(append([]string{}, g.roots...), g.files...) {
				if !fs.ValidPath(p) {
					return fmt.Errorf("let through %q, which is not a repository path", p)
				}
				if err := manifest.CheckNoLinks(fsys, "checked", p); err != nil {
					return fmt.Errorf("let through %q: %v", p, err)
				}
				if isRemote(p) {
					return fmt.Errorf("let through %q, which looks remote", p)
				}
			}
			return nil
		})
	})
}

// FuzzPluginFiles reads arbitrary configurations of each builtin kind: no panic nor hang.
func FuzzPluginFiles(f *testing.F) {
	for _, kind := range []string{"PatchTransformer", "PatchJson6902Transformer", "PatchStrategicMergeTransformer", "ReplacementTransformer",
		"ValueAddTransformer", "ConfigMapGenerator", "SecretGenerator", "HelmChartInflationGenerator", "Other"} {
		f.Add(kind, []byte("apiVersion: builtin\nkind: "+kind+"\nmetadata: {name: x}\npath: p.yaml\npaths: [a.yaml]\nreplacements: [{path: r.yaml}]\ntargetFilePath: t\nfiles: [f]\nenvs: [e]\n"))
	}
	f.Fuzz(func(t *testing.T, kind string, data []byte) {
		fuzzcheck.Within(t, func() error {
			files, err := pluginFiles(kind, data)
			if err != nil && files != nil {
				return fmt.Errorf("files %v and an error %v", files, err)
			}
			return nil
		})
	})
}
