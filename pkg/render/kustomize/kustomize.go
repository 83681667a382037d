// Package kustomize renders a kustomization from a repository with kustomize's krusty, in memory.
package kustomize

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kube-gitops/kube-gitops/pkg/render/internal/manifest"
)

// krustyLock serialises krusty runs: kustomize keeps global state (the OpenAPI schema) that is
// not safe for concurrent builds (kubernetes-sigs/kustomize#3659).
var krustyLock = make(chan struct{}, 1)

// Render builds the kustomization in dir like `kustomize build` (legacy resource order unless the
// kustomization sets sortOptions), with no plugins, no helm charts, no remote bases or files and
// kustomize's default load restriction (files only from within each kustomization's directory).
// Every path the build would load is checked first to be in the repository (check.go), so the
// build reaches no network; ForbidNetwork makes that hold in a process even without the check.
// Secret values are masked in the errors it returns and in kustomize's log lines (secrets.go).
// field names the spec field that holds dir, for errors. maxBytes limits the output (0: the
// default, negative: none).
func Render(ctx context.Context, fsys fs.FS, field, dir string, maxBytes int64) ([]*unstructured.Unstructured, error) {
	root, err := manifest.Dir(fsys, field, dir)
	if err != nil {
		return nil, err
	}
	if _, ok := kustomizationFile(fsys, root); !ok {
		return nil, fmt.Errorf("%s %q holds no kustomization.yaml, kustomization.yml or Kustomization", field, root)
	}
	g := newGraph(fsys)
	if err := g.visit(root); err != nil {
		return nil, g.mask(err)
	}
	mem, links, err := copyRoots(ctx, fsys, g.roots, g.files)
	if err != nil {
		return nil, err
	}

	type result struct {
		objs []*unstructured.Unstructured
		err  error
	}
	done := make(chan result, 1)
	select {
	case krustyLock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	go func() {
		defer func() { <-krustyLock }()
		restoreLogs := g.maskLogs()
		objs, err := build(mem, root, maxBytes)
		restoreLogs()
		done <- result{objs, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			var tooLarge *manifest.TooLargeError
			if errors.As(r.err, &tooLarge) {
				return nil, tooLarge
			}
			return nil, g.mask(withLinks(fmt.Errorf("kustomize build %s: %w", root, r.err), links))
		}
		return r.objs, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func build(mem filesys.FileSystem, root string, maxBytes int64) ([]*unstructured.Unstructured, error) {
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionUnspecified // as `kustomize build`: legacy order unless sortOptions
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.PluginConfig.HelmConfig.Enabled = false
	resources, err := krusty.MakeKustomizer(opts).Run(mem, "/"+root)
	if err != nil {
		return nil, err
	}
	budget := &manifest.Budget{Max: maxBytes}
	var out []*unstructured.Unstructured
	for _, r := range resources.Resources() {
		js, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", describe(r), err)
		}
		if err := budget.Add(len(js)); err != nil {
			return nil, err
		}
		var obj map[string]any
		if err := utiljson.Unmarshal(js, &obj); err != nil {
			return nil, fmt.Errorf("%s: %w", describe(r), err)
		}
		objs, err := manifest.Objects(obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", describe(r), err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

// describe names a rendered object for an error, quoted: its name may hold anything.
func describe(r *resource.Resource) string {
	id := r.GetName()
	if ns := r.GetNamespace(); ns != "" {
		id = ns + "/" + id
	}
	return r.GetKind() + " " + strconv.Quote(id)
}

// copyRoots copies the files under the given directories, and the given files, into an in-memory
// file system for kustomize, at the same paths below "/". Symbolic links are not copied (nor
// followed); their paths are returned so that an error can mention them.
func copyRoots(ctx context.Context, fsys fs.FS, roots, files []string) (filesys.FileSystem, []string, error) {
	mem := filesys.MakeFsInMemory()
	var links []string
	for _, p := range files {
		if fs.ValidPath(p) {
			if data, err := fs.ReadFile(fsys, p); err == nil {
				if err := mem.WriteFile("/"+p, data); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	for _, root := range outermost(roots) {
		err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return manifest.PathError("kustomization directory", p, err)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			switch {
			case d.Type()&fs.ModeSymlink != 0:
				links = append(links, p)
			case d.IsDir():
				return mem.MkdirAll("/" + p)
			case d.Type().IsRegular():
				data, err := fs.ReadFile(fsys, p)
				if err != nil {
					return manifest.PathError("kustomization file", p, err)
				}
				return mem.WriteFile("/"+p, data)
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return mem, links, nil
}

// outermost drops directories that are inside another one of the list.
func outermost(dirs []string) []string {
	sorted := append([]string(nil), dirs...)
	sort.Strings(sorted)
	var out []string
	for _, d := range sorted {
		inside := false
		for _, o := range out {
			if o == "." || d == o || strings.HasPrefix(d, o+"/") {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, d)
		}
	}
	return out
}

func withLinks(err error, links []string) error {
	if len(links) == 0 {
		return err
	}
	const max = 5
	shown := links
	if len(shown) > max {
		shown = shown[:max]
	}
	return fmt.Errorf("%w (symbolic links are not followed, and these were left out: %s)", err, strings.Join(shown, ", ")+more(len(links)-len(shown)))
}

func more(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" and %d more", n)
}
