package helm

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/ignore"

	"github.com/kube-gitops/kube-gitops/pkg/render/internal/manifest"
)

var utf8bom = []byte{0xEF, 0xBB, 0xBF}

// loadDir loads a chart directory from the repository as helm's loader.LoadDir does (.helmignore
// and its defaults, subcharts in charts/ as directories or archives), except that symbolic links
// are refused instead of followed.
func loadDir(fsys fs.FS, field, p string) (*chart.Chart, string, error) {
	dir, err := manifest.Dir(fsys, field, p)
	if err != nil {
		return nil, dir, err
	}
	rules := ignore.Empty()
	if data, err := fs.ReadFile(fsys, path.Join(dir, ignore.HelmIgnore)); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, dir, fmt.Errorf("%s: %w", path.Join(dir, ignore.HelmIgnore), err)
		}
	}
	rules.AddDefaults()

	var files []*loader.BufferedFile
	err = fs.WalkDir(fsys, dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return manifest.PathError(field, name, err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(name, dir), "/")
		if dir == "." {
			rel = name
		}
		if rel == "" || rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return manifest.PathError(field, name, err)
		}
		if rules.Ignore(rel, info) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: is a symbolic link, which kube-gitops does not follow: commit the file itself, or list it in %s", name, path.Join(dir, ignore.HelmIgnore))
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: cannot load irregular file (mode %s) into a chart", name, d.Type())
		}
		if info.Size() > loader.MaxDecompressedFileSize {
			return fmt.Errorf("%s: is larger than helm's limit of %s for a chart file", name, manifest.FormatBytes(loader.MaxDecompressedFileSize))
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return manifest.PathError(field, name, err)
		}
		files = append(files, &loader.BufferedFile{Name: rel, Data: bytes.TrimPrefix(data, utf8bom)})
		return nil
	})
	if err != nil {
		return nil, dir, err
	}
	ch, err := loader.LoadFiles(files)
	if err != nil {
		return nil, dir, fmt.Errorf("chart %s: %w", dir, err)
	}
	return ch, dir, nil
}
