package kustomize

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/kube-gitops/kube-gitops/pkg/render/internal/manifest"
)

// graph is what a kustomization and its bases and components need from the repository.
//
// Walking it is also the check that no build reaches the network. kustomize fetches any path it
// is given that looks like a URL or a Git repository, and the build cannot be told not to. So
// every string that kustomize hands its loader (a kustomization's fields, and the path fields of
// the builtin generator and transformer configurations it lists) must name a file or directory
// that is in the repository, through no symbolic link, and not look remote. Configurations that
// a build would compute (a directory listed as a generator, transformer or validator) are refused,
// so every such string is read here as written.
type graph struct {
	fsys fs.FS
	// roots are the directories whose files kustomize may read: every kustomization in the graph
	// and every directory named as a resource.
	roots []string
	// files are files named by a kustomization outside of its directory: they are copied so that
	// kustomize's load restrictor reports them rather than a missing file.
	files   []string
	visited map[string]bool
	// secrets collects the values a build could quote in an error (see secrets.go).
	secrets secretValues
}

func newGraph(fsys fs.FS) *graph {
	return &graph{fsys: fsys, visited: map[string]bool{}}
}

// parser reads configurations and patches the way kustomize does, so that an entry is inline
// content here exactly when it is for kustomize.
var parser = resmap.NewFactory(provider.NewDefaultDepProvider().GetResourceFactory())

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

// entry is one path-like string of a kustomization, or of a configuration it lists.
type entry struct {
	file  string // the kustomization file that lists it
	field string // where it is, e.g. "resources" or `transformers entry "t.yaml": PatchTransformer "p" path`
	dir   string // the directory it is relative to
	value string
}

func (e entry) String() string { return fmt.Sprintf("%s: %s entry %q", e.file, e.field, e.value) }

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
		return fmt.Errorf("%s: %s", file, helmRefusal)
	}
	g.secrets.addKustomization(dir, k)
	at := func(field, value string) entry { return entry{file: file, field: field, dir: dir, value: value} }
	// Bases and components: directories, followed; or files.
	//lint:ignore SA1019 kustomize still reads the deprecated field, so the check must too
	bases := k.Bases
	for _, list := range []struct {
		field string
		paths []string
	}{{"resources", k.Resources}, {"bases", bases}, {"components", k.Components}} {
		for _, p := range list.paths {
			target, isDir, err := g.local(at(list.field, p))
			if err != nil {
				return err
			}
			if !isDir {
				g.files = append(g.files, target)
			} else if err := g.visit(target); err != nil {
				return err
			}
		}
	}
	for _, list := range []struct {
		field   string
		configs []string
	}{{"generators", k.Generators}, {"transformers", k.Transformers}, {"validators", k.Validators}} {
		for _, c := range list.configs {
			if err := g.plugins(at(list.field, c)); err != nil {
				return err
			}
		}
	}
	for _, f := range loadedFiles(k) {
		if err := g.file(at(f.field, f.path)); err != nil {
			return err
		}
	}
	return nil
}

const helmRefusal = "helmCharts need the helm binary, which kube-gitops does not run: render the chart with spec.helm instead"

// plugins checks one generators, transformers or validators entry: inline configurations, or a
// file of them. A directory would make kustomize build its configurations, which could then say
// anything, so it is refused.
func (g *graph) plugins(e entry) error {
	if configs, err := parser.NewResMapFromBytes([]byte(e.value)); err == nil {
		return g.configs(entry{file: e.file, field: e.field + " (inline)", dir: e.dir}, configs)
	}
	target, isDir, err := g.local(e)
	if err != nil {
		return err
	}
	if isDir {
		return fmt.Errorf("%s is a directory: kube-gitops takes generator, transformer and validator configurations only "+
			"inline or from files, so that the paths they load are checked as written; list the files, or put them in a "+
			"component (kind: Component) and list it under components", e)
	}
	data, err := fs.ReadFile(g.fsys, target)
	if err != nil {
		return manifest.PathError(e.String(), target, err)
	}
	configs, err := parser.NewResMapFromBytes(data)
	if err != nil {
		return nil // not configurations: kustomize says what is wrong with the file
	}
	return g.configs(entry{file: e.file, field: fmt.Sprintf("%s entry %q:", e.field, e.value), dir: e.dir}, configs)
}

// configs checks the paths that builtin plugin configurations load, relative to the
// kustomization that lists them. Other kinds load nothing (external plugins are disabled).
func (g *graph) configs(where entry, configs resmap.ResMap) error {
	for _, r := range configs.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", where.file, where.field, err)
		}
		name := fmt.Sprintf("%s %s %q", where.field, r.GetKind(), r.GetName())
		paths, err := pluginFiles(r.GetKind(), data)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", where.file, name, err)
		}
		for _, f := range paths {
			if err := g.file(entry{file: where.file, field: name + " " + f.field, dir: where.dir, value: f.path}); err != nil {
				return err
			}
		}
		g.secrets.addConfig(where.dir, data)
	}
	return nil
}

// file checks one path that kustomize loads as a file (a patch, generator input, CRD, ...).
func (g *graph) file(e entry) error {
	target, isDir, err := g.local(e)
	if err != nil {
		return err
	}
	if isDir {
		return fmt.Errorf("%s is a directory: it must name a file", e)
	}
	g.files = append(g.files, target)
	return nil
}

type fieldPath struct{ field, path string }

// loadedFiles lists the files a kustomization loads (besides resources), by field.
func loadedFiles(k types.Kustomization) []fieldPath {
	var out []fieldPath
	add := func(field string, paths ...string) {
		for _, p := range paths {
			if p != "" {
				out = append(out, fieldPath{field, p})
			}
		}
	}
	add("crds", k.Crds...)
	add("configurations", k.Configurations...)
	//lint:ignore SA1019 kustomize still reads the deprecated field, so the check must too
	for _, p := range k.PatchesStrategicMerge {
		if !isInlinePatch(string(p)) {
			add("patchesStrategicMerge", string(p))
		}
	}
	for _, p := range k.Patches {
		add("patches", p.Path)
	}
	//lint:ignore SA1019 kustomize still reads the deprecated field, so the check must too
	for _, p := range k.PatchesJson6902 {
		add("patchesJson6902", p.Path)
	}
	for _, r := range k.Replacements {
		add("replacements", r.Path)
	}
	add("openapi", k.OpenAPI["path"])
	for _, c := range k.ConfigMapGenerator {
		out = append(out, generatorFiles("configMapGenerator", c.GeneratorArgs)...)
	}
	for _, s := range k.SecretGenerator {
		out = append(out, generatorFiles("secretGenerator", s.GeneratorArgs)...)
	}
	return out
}

// isInlinePatch is true for a patchesStrategicMerge entry that kustomize reads as the patch
// itself rather than as a file name.
func isInlinePatch(p string) bool {
	_, err := parser.RF().SliceFromBytes([]byte(p))
	return err == nil
}

// generatorFiles lists the files a ConfigMap or Secret generator reads.
func generatorFiles(field string, g types.GeneratorArgs) []fieldPath {
	name := func(f string) string { return strings.TrimSpace(field + " " + f) }
	var out []fieldPath
	for _, src := range g.FileSources {
		if _, p, ok := strings.Cut(src, "="); ok {
			src = p
		}
		out = append(out, fieldPath{name("files"), src})
	}
	for _, env := range g.EnvSources {
		out = append(out, fieldPath{name("envs"), env})
	}
	if g.EnvSource != "" {
		out = append(out, fieldPath{name("env"), g.EnvSource})
	}
	return out
}

// local resolves a path of a kustomization to a repository path that exists, refusing URLs,
// absolute paths, paths that leave the repository or go through a symbolic link, and paths that
// are not in the repository (which kustomize would try as a Git repository).
func (g *graph) local(e entry) (target string, isDir bool, err error) {
	p := e.value
	switch {
	case isRemote(p):
		return "", false, fmt.Errorf("%s is remote: kube-gitops renders only from the repository "+
			"(no network access during rendering); copy it into the repository and refer to it by a relative path", e)
	case strings.HasPrefix(p, "/"):
		return "", false, fmt.Errorf("%s is absolute: use a path relative to the kustomization", e)
	case strings.TrimSpace(p) == "":
		return "", false, fmt.Errorf("%s is empty: name a file or directory relative to the kustomization", e)
	}
	target = path.Join(e.dir, p)
	if target == ".." || strings.HasPrefix(target, "../") {
		return "", false, fmt.Errorf("%s leaves the repository: use a path inside it", e)
	}
	if _, err := fs.Lstat(g.fsys, target); errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return "", false, fmt.Errorf("%s (%s in the repository) does not exist at this revision: "+
			"check the path (it is relative to the kustomization) and that the file is committed", e, target)
	}
	if err := manifest.CheckNoLinks(g.fsys, e.String()+" at", target); err != nil {
		return "", false, err
	}
	info, err := fs.Stat(g.fsys, target)
	if err != nil {
		return "", false, manifest.PathError(e.String()+" at", target, err)
	}
	return target, info.IsDir(), nil
}

var scpUser = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemote is true for what kustomize would fetch, and more: anything with "://", the http(s),
// ssh, file and git schemes, Git's scp-like user@host: form, and github.com/ shorthands.
func isRemote(p string) bool {
	l := strings.ToLower(strings.TrimSpace(p))
	l = strings.TrimPrefix(l, "git::")
	if strings.Contains(l, "://") {
		return true
	}
	if u, err := url.Parse(l); err == nil {
		switch u.Scheme {
		case "http", "https", "ssh", "file", "git":
			return true // also "http:x" and "http:/x", which kustomize would try to fetch
		}
	}
	return strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:") || scpUser.MatchString(l) ||
		strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), "git::")
}
