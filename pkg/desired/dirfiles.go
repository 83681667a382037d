package desired

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
)

// DirFiles reads a checked-out repository from a local directory, for checking a config
// repository before pushing it (and for tests).
type DirFiles string

// ListFiles returns the files directly in dir, sorted.
func (d DirFiles) ListFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(string(d), filepath.FromSlash(dir)))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, path.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// ReadFile reads a file by its path from the repository root.
func (d DirFiles) ReadFile(name string) ([]byte, error) {
	if c := path.Clean(name); c == ".." || len(c) > 2 && c[:3] == "../" || path.IsAbs(name) {
		return nil, fmt.Errorf("%s: leaves the repository", name)
	}
	return os.ReadFile(filepath.Join(string(d), filepath.FromSlash(name)))
}
