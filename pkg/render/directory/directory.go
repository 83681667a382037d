// Package directory renders a directory of plain YAML/JSON manifests from a repository.
package directory

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kube-gitops/kube-gitops/pkg/render/internal/manifest"
)

// KustomizationFiles are the file names that make a directory a kustomization.
var KustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// IsKustomization reports whether dir holds a kustomization file.
func IsKustomization(fsys fs.FS, dir string) bool {
	for _, name := range KustomizationFiles {
		if _, err := fs.Stat(fsys, path.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// Render reads every *.yaml, *.yml and *.json file under dir (recursively, in sorted path order,
// documents in file order). Files and directories whose names start with "." are skipped. field names the spec field that holds dir, for errors. maxBytes
// limits the output (0: the default, negative: none).
func Render(ctx context.Context, fsys fs.FS, field, dir string, maxBytes int64) ([]*unstructured.Unstructured, error) {
	root, err := manifest.Dir(fsys, field, dir)
	if err != nil {
		return nil, err
	}
	budget := &manifest.Budget{Max: maxBytes}
	var out []*unstructured.Unstructured
	err = fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return manifest.PathError(field, p, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir // .github/ and the like hold CI files, not manifests
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if isManifest(p) || path.Ext(p) == "" {
				return fmt.Errorf("%s: is a symbolic link, which kube-gitops does not follow: commit the file or directory itself", p)
			}
			return nil // a link to a file that is not a manifest would not be read anyway
		}
		if d.IsDir() {
			if p != root && IsKustomization(fsys, p) {
				return fmt.Errorf("%s holds a kustomization inside the plain manifest directory %s: "+
					"point %s at a kustomization, or add a kustomization.yaml to %s that lists %s as a resource", p, root, field, root, p)
			}
			return nil
		}
		if !d.Type().IsRegular() || !isManifest(p) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return manifest.PathError(field, p, err)
		}
		objs, err := manifest.Decode(p, data, budget)
		if err != nil {
			return err
		}
		out = append(out, objs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func isManifest(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}
