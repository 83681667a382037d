package kustomize

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/api/types"

	"github.com/kube-gitops/kube-gitops/pkg/render/internal/manifest"
)

// graph is what a kustomization and its bases and components need from the repository.
type graph struct {
	fsys fs.FS
	// roots are the directories whose files kustomize may read: every kustomization in the graph
	// and every directory named as a resource.
	roots []string
	// files are files named by a kustomization outside of its directory: they are copied so that
	// kustomize's load restrictor reports them rather than a missing file.
	files   []string
	visited map[string]bool
}

// kustomizationFile returns the kustomization file in dir, if any.
func kustomizationFile(fsys fs.FS, dir string) (string, bool) {
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		p := path.Join(dir, name)
		if info, err := fs.Stat(fsys, p); err == nil && !info.IsDir() {
			return p, true
		}
	}
	return "", false
}

// visit reads the kustomization in dir and follows its bases and components, refusing what
// kube-gitops does not do: remote bases and files, and helm charts (which need the helm binary).
func (g *graph) visit(dir string) error {
	if g.visited[dir] {
		return nil
	}
	g.visited[dir] = true
	g.roots = append(g.roots, dir)
	file, ok := kustomizationFile(g.fsys, dir)
	if !ok {
		return nil // a plain directory named as a resource: kustomize says what is missing
	}
	data, err := fs.ReadFile(g.fsys, file)
	if err != nil {
		return manifest.PathError("kustomization", file, err)
	}
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if len(k.HelmCharts) > 0 || len(k.HelmChartInflationGenerator) > 0 || k.HelmGlobals != nil {
		return fmt.Errorf("%s: helmCharts need the helm binary, which kube-gitops does not run: render the chart with spec.helm instead", file)
	}
	// Bases and components: directories, followed; or files, which must be in the repository.
	for _, list := range []struct {
		field string
		paths []string
	}{
		{"resources", k.Resources}, {"bases", k.Bases}, {"components", k.Components},
		{"generators", k.Generators}, {"transformers", k.Transformers}, {"validators", k.Validators},
	} {
		for _, p := range list.paths {
			if strings.Contains(p, "\n") {
				continue // an inline generator or transformer configuration
			}
			target, err := g.local(file, list.field, dir, p)
			if err != nil {
				return err
			}
			info, err := fs.Stat(g.fsys, target)
			switch {
			case err == nil && info.IsDir():
				if err := g.visit(target); err != nil {
					return err
				}
			case err == nil:
				g.files = append(g.files, target)
			}
		}
	}
	// Files that kustomize loads: they must not be URLs.
	for _, f := range loadedFiles(k) {
		target, err := g.local(file, f.field, dir, f.path)
		if err != nil {
			return err
		}
		if info, err := fs.Stat(g.fsys, target); err == nil && !info.IsDir() {
			g.files = append(g.files, target)
		}
	}
	return nil
}

type fieldPath struct{ field, path string }

// loadedFiles lists the files a kustomization loads (besides resources), by field.
func loadedFiles(k types.Kustomization) []fieldPath {
	var out []fieldPath
	add := func(field string, paths ...string) {
		for _, p := range paths {
			if p != "" && !strings.Contains(p, "\n") { // not an inline patch
				out = append(out, fieldPath{field, p})
			}
		}
	}
	add("crds", k.Crds...)
	add("configurations", k.Configurations...)
	for _, p := range k.PatchesStrategicMerge {
		add("patchesStrategicMerge", string(p))
	}
	for _, p := range k.Patches {
		add("patches", p.Path)
	}
	for _, p := range k.PatchesJson6902 {
		add("patchesJson6902", p.Path)
	}
	for _, r := range k.Replacements {
		add("replacements", r.Path)
	}
	add("openapi", k.OpenAPI["path"])
	for _, g := range generatorArgs(k) {
		for _, src := range g.FileSources {
			if _, p, ok := strings.Cut(src, "="); ok {
				src = p
			}
			add("files", src)
		}
		add("envs", g.EnvSources...)
		add("env", g.EnvSource)
	}
	return out
}

func generatorArgs(k types.Kustomization) []types.GeneratorArgs {
	var out []types.GeneratorArgs
	for _, c := range k.ConfigMapGenerator {
		out = append(out, c.GeneratorArgs)
	}
	for _, s := range k.SecretGenerator {
		out = append(out, s.GeneratorArgs)
	}
	return out
}

// local resolves a path of a kustomization to a repository path, refusing URLs, absolute paths
// and paths that leave the repository.
func (g *graph) local(file, field, dir, p string) (string, error) {
	if isRemote(p) {
		return "", fmt.Errorf("%s: %s entry %q is remote: kube-gitops renders only from the repository "+
			"(no network access during rendering); copy it into the repository and refer to it by a relative path", file, field, p)
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%s: %s entry %q is absolute: use a path relative to the kustomization", file, field, p)
	}
	target := path.Join(dir, p)
	if target == ".." || strings.HasPrefix(target, "../") {
		return "", fmt.Errorf("%s: %s entry %q leaves the repository: use a path inside it", file, field, p)
	}
	return target, nil
}

var scpUser = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemote mirrors what kustomize would fetch: http(s) files, and Git repositories (git::,
// https://, ssh://, file://, user@host: and github.com/ forms).
func isRemote(p string) bool {
	l := strings.ToLower(strings.TrimSpace(p))
	l = strings.TrimPrefix(l, "git::")
	for _, scheme := range []string{"http://", "https://", "ssh://", "file://", "git://"} {
		if strings.HasPrefix(l, scheme) {
			return true
		}
	}
	return strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:") || scpUser.MatchString(l) ||
		strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), "git::")
}
