package source

import (
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
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

	tree *object.Tree
}

func newSnapshot(repo *git.Repository, hash plumbing.Hash, url, ref string) (*Snapshot, error) {
	commit, err := repo.CommitObject(hash)
	if err != nil {
		return nil, fmt.Errorf("read commit %s of %s: %w", hash, url, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s in %s: %w", hash, url, err)
	}
	return &Snapshot{Revision: hash.String(), URL: url, Ref: ref, Time: commit.Committer.When, tree: tree}, nil
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
	entry, err := s.tree.FindEntry(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	if entry.Mode == filemode.Symlink {
		return nil, fmt.Errorf("%s: is a symbolic link, which kube-gitops does not follow", name)
	}
	if !entry.Mode.IsFile() {
		return nil, fmt.Errorf("%s: is not a file", name)
	}
	file, err := s.tree.TreeEntryFile(entry)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r, err := file.Reader()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer r.Close()
	return io.ReadAll(r)
}

// ListFiles returns the paths of the files directly in dir, sorted. Symbolic links are listed so
// that ReadFile can refuse them with a clear error rather than skip them silently.
func (s *Snapshot) ListFiles(dir string) ([]string, error) {
	dir, err := clean(dir)
	if err != nil {
		return nil, err
	}
	tree := s.tree
	if dir != "" {
		if tree, err = s.tree.Tree(dir); err != nil {
			return nil, fmt.Errorf("directory %s: %w", dir, ErrNotFound)
		}
	}
	var files []string
	for _, e := range tree.Entries {
		if e.Mode.IsFile() {
			files = append(files, path.Join(dir, e.Name))
		}
	}
	sort.Strings(files)
	return files, nil
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
