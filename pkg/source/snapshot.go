package source

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// ErrNotFound is returned for a path that is not in the snapshot.
var ErrNotFound = errors.New("not found")

// Snapshot is one commit of a repository: an immutable tree of files, read from memory.
type Snapshot struct {
	// Revision is the full commit hash.
	Revision string
	// URL and Ref say where the commit came from.
	URL, Ref string
	// Time is the commit time.
	Time time.Time
	// Parents are the full hashes of the commit's parents.
	Parents []string

	files *treeFS // the tree, indexed once and shared: go-git trees are not safe for concurrent use
}

func newSnapshot(s storer.EncodedObjectStorer, hash plumbing.Hash, url, ref string) (*Snapshot, error) {
	commit, err := object.GetCommit(s, hash)
	if err != nil {
		return nil, fmt.Errorf("read commit %s of %s: %w", hash, url, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s in %s: %w", hash, url, err)
	}
	snap := &Snapshot{Revision: hash.String(), URL: url, Ref: ref, Time: commit.Committer.When,
		files: &treeFS{root: tree, objects: s, mtime: commit.Committer.When}}
	for _, p := range commit.ParentHashes {
		snap.Parents = append(snap.Parents, p.String())
	}
	if err := snap.files.checkSize(); err != nil {
		return nil, fmt.Errorf("commit %s of %s: %w", snap.ShortRevision(), url, err)
	}
	return snap, nil
}

// ShortRevision is the first 7 characters of the commit hash, as git shows it.
func (s *Snapshot) ShortRevision() string {
	if len(s.Revision) > 7 {
		return s.Revision[:7]
	}
	return s.Revision
}

// ReadFile returns the content of a regular file, by its path from the repository root.
// Symbolic links are refused so that nothing outside the repository can be reached.
func (s *Snapshot) ReadFile(name string) ([]byte, error) {
	name, err := clean(name)
	if err != nil {
		return nil, err
	}
	data, err := fs.ReadFile(s.FS(), orDot(name))
	if err != nil {
		return nil, readError(name, err)
	}
	return data, nil
}

// ListFiles returns the paths of the files directly in dir, sorted. Symbolic links are listed so
// that ReadFile can refuse them with a clear error rather than skip them silently.
func (s *Snapshot) ListFiles(dir string) ([]string, error) {
	dir, err := clean(dir)
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(s.FS(), orDot(dir))
	if err != nil {
		return nil, fmt.Errorf("directory %s: %w", dir, ErrNotFound)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() {
			files = append(files, path.Join(dir, e.Name()))
		}
	}
	return files, nil
}

func orDot(name string) string {
	if name == "" {
		return "."
	}
	return name
}

// readError says what is wrong with a path in words a user can act on.
func readError(name string, err error) error {
	switch {
	case errors.Is(err, ErrSymlink):
		return fmt.Errorf("%s: is a symbolic link, which kube-gitops does not follow", name)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// clean makes a repository-relative path canonical and refuses paths that leave the repository.
func clean(name string) (string, error) {
	if path.IsAbs(name) {
		return "", fmt.Errorf("%s: paths are relative to the repository root; remove the leading /", name)
	}
	c := path.Clean(name)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%s: leaves the repository; use a path inside it", name)
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}
