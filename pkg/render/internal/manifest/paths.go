// Package manifest holds what the renderers share: repository paths, decoding and output limits.
package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Clean makes a path from a spec field (e.g. "spec.source.path") repository-relative in io/fs
// form ("." for the root). It refuses absolute paths and paths that leave the repository.
func Clean(field, p string) (string, error) {
	if strings.TrimSpace(p) == "" {
		return "", fmt.Errorf("%s is empty: set it to a path from the repository root", field)
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%s %q is absolute: paths are from the repository root; remove the leading /", field, p)
	}
	if strings.Contains(p, `\`) {
		return "", fmt.Errorf("%s %q contains a backslash: use / to separate directories", field, p)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%s %q leaves the repository: use a path inside it, from the repository root", field, p)
	}
	return c, nil
}

// CheckNoLinks refuses name if it or one of its parent directories is a symbolic link: links are
// never followed, so nothing outside the repository can be reached through one.
func CheckNoLinks(fsys fs.FS, field, name string) error {
	if name == "." {
		return nil
	}
	parts := strings.Split(name, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		info, err := fs.Lstat(fsys, p)
		if err != nil {
			return PathError(field, name, err)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			if p == name {
				return fmt.Errorf("%s %q is a symbolic link, which kube-gitops does not follow: commit the file itself", field, name)
			}
			return fmt.Errorf("%s %q goes through %s, a symbolic link, which kube-gitops does not follow: use the real path", field, name, p)
		}
		if i < len(parts)-1 && !info.IsDir() {
			return fmt.Errorf("%s %q: %s is a file, not a directory", field, name, p)
		}
	}
	return nil
}

// PathError turns an fs error on a path named by a spec field into a message that says what to do.
func PathError(field, name string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %q does not exist in the repository at this revision: check the path (it is from the repository root) and that it is committed", field, name)
	case errors.Is(err, fs.ErrInvalid):
		return fmt.Errorf("%s %q is not a valid repository path: use a relative path without \"..\" from the repository root", field, name)
	}
	return fmt.Errorf("%s %q: %w", field, name, err)
}

// ReadFile reads a file named by a spec field, after Clean and CheckNoLinks.
func ReadFile(fsys fs.FS, field, p string) (string, []byte, error) {
	name, err := Clean(field, p)
	if err != nil {
		return "", nil, err
	}
	if err := CheckNoLinks(fsys, field, name); err != nil {
		return name, nil, err
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return name, nil, PathError(field, name, err)
	}
	return name, data, nil
}

// Dir checks that a directory named by a spec field exists and is reached without links.
func Dir(fsys fs.FS, field, p string) (string, error) {
	name, err := Clean(field, p)
	if err != nil {
		return "", err
	}
	if err := CheckNoLinks(fsys, field, name); err != nil {
		return name, err
	}
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return name, PathError(field, name, err)
	}
	if !info.IsDir() {
		return name, fmt.Errorf("%s %q is a file: it must name a directory", field, name)
	}
	return name, nil
}
