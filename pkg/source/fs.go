package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/kube-gitops/kube-gitops/pkg/internal/dirfile"
)

// ErrSymlink is the error (inside an *fs.PathError) for a symbolic link or a path through one.
var ErrSymlink = errors.New("is a symbolic link, which kube-gitops does not follow; commit the file itself")

// ErrSubmodule is the error (inside an *fs.PathError) for a Git submodule.
var ErrSubmodule = errors.New("is a Git submodule, which kube-gitops does not fetch; commit the files instead")

// checkSize refuses a tree that holds more than maxEntries paths, a file larger than
// maxFileBytes, or files that add up to more than maxSnapshotBytes (a file at two paths counts
// twice: a render may read both). The fetch bounds the objects; this bounds what they name.
func (t *treeFS) checkSize() error {
	t.index()
	if t.tooLarge != nil {
		return t.tooLarge
	}
	var total int64
	largest, largestSize := "", int64(0)
	for name, e := range t.entries {
		if e.Mode != filemode.Regular && e.Mode != filemode.Executable && e.Mode != filemode.Deprecated {
			continue
		}
		f, err := t.root.TreeEntryFile(&e)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		total += f.Size
		if f.Size > largestSize || f.Size == largestSize && name < largest {
			largest, largestSize = name, f.Size
		}
	}
	if largestSize > maxFileBytes {
		return tooLarge(fmt.Sprintf("%s is larger than %s, the most kube-gitops reads in one file: keep large files out of the config repository", largest, quantity(maxFileBytes)))
	}
	if total > maxSnapshotBytes {
		return tooLarge(fmt.Sprintf("its files add up to more than %s, the most kube-gitops keeps of one commit: keep large files out of the config repository", quantity(maxSnapshotBytes)))
	}
	return nil
}

// FS returns the snapshot as a read-only, in-memory fs.FS (with ReadDir, ReadFile and Stat),
// rooted at the repository root. Names follow the io/fs rules: slash-separated, no "..", no
// leading "/". Symbolic links and submodules are listed by ReadDir (type fs.ModeSymlink or
// fs.ModeIrregular) so that walkers can report them, but opening, reading or stat-ing one, or a
// path through one, fails with ErrSymlink or ErrSubmodule: links are never followed.
//
// The directory tree is indexed on first use (blobs are read only when opened), once per
// snapshot. The result is safe for concurrent use.
func (s *Snapshot) FS() fs.FS {
	return s.files
}

// treeFS is an fs.FS over a go-git tree. It never calls methods of the shared tree that mutate
// the tree's internal caches (FindEntry, Tree): it indexes directories with walkTree.
type treeFS struct {
	root    *object.Tree
	objects storer.EncodedObjectStorer // where the tree's subtrees are read from
	mtime   time.Time

	once     sync.Once
	entries  map[string]object.TreeEntry   // every path below the root
	dirs     map[string][]object.TreeEntry // directory ("." for the root) → children sorted by name
	tooDeep  map[string]bool               // directories not read (see walkTree)
	tooLarge error                         // set when the tree names more than maxEntries paths
}

var (
	_ fs.ReadDirFS  = (*treeFS)(nil)
	_ fs.ReadFileFS = (*treeFS)(nil)
	_ fs.StatFS     = (*treeFS)(nil)
)

func (t *treeFS) index() {
	t.once.Do(func() {
		t.entries = map[string]object.TreeEntry{}
		t.dirs = map[string][]object.TreeEntry{".": nil}
		t.tooDeep = map[string]bool{}
		if t.root == nil {
			return
		}
		seen := 0
		_ = walkTree(t.objects, t.root, func(name string, entry object.TreeEntry, tooDeep bool) error {
			if seen++; seen > maxEntries {
				t.tooLarge = tooManyPaths() // e.g. a small directory named a million times
				return t.tooLarge
			}
			t.entries[name] = entry
			parent := path.Dir(name)
			t.dirs[parent] = append(t.dirs[parent], entry)
			switch {
			case tooDeep:
				t.tooDeep[name] = true
			case entry.Mode == filemode.Dir:
				if _, ok := t.dirs[name]; !ok {
					t.dirs[name] = nil
				}
			}
			return nil
		})
		for _, children := range t.dirs {
			// Git orders a directory "a" as "a/"; io/fs wants plain name order.
			sort.Slice(children, func(i, j int) bool { return children[i].Name < children[j].Name })
		}
	})
}

// maxTreeDepth is how many directories deep a tree is read, as deep as go-git's TreeWalker goes.
const maxTreeDepth = 1024

// ErrTooDeep is the error (inside an *fs.PathError) for a directory nested deeper than
// maxTreeDepth, or a path through one.
var ErrTooDeep = fmt.Errorf("is nested more than %d directories deep, which kube-gitops does not read; flatten the directory tree", maxTreeDepth)

// walkTree calls visit for every entry below tree with its slash-separated path, parents before
// their children, in Git's order. Names that are unsafe to materialise (".git", traversal: go-git's
// TreeWalker checks them) are left out. A directory deeper than maxTreeDepth is visited with
// tooDeep set and not entered: go-git's recursive TreeWalker stops the whole walk there instead,
// which would hide every entry after it. A subtree that cannot be read is left empty.
func walkTree(objects storer.EncodedObjectStorer, tree *object.Tree, visit func(name string, entry object.TreeEntry, tooDeep bool) error) error {
	return walkLevel(objects, tree, ".", 1, visit)
}

func walkLevel(objects storer.EncodedObjectStorer, tree *object.Tree, dir string, depth int, visit func(string, object.TreeEntry, bool) error) error {
	w := object.NewTreeWalker(tree, false, nil)
	defer w.Close()
	for {
		_, entry, err := w.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			continue // a name that is unsafe to materialise: leave it out
		}
		name := path.Join(dir, entry.Name)
		tooDeep := entry.Mode == filemode.Dir && depth > maxTreeDepth
		if err := visit(name, entry, tooDeep); err != nil {
			return err
		}
		if entry.Mode != filemode.Dir || tooDeep {
			continue
		}
		sub, err := object.GetTree(objects, entry.Hash)
		if err != nil {
			continue
		}
		if err := walkLevel(objects, sub, name, depth+1, visit); err != nil {
			return err
		}
	}
}

// lookup finds name, refusing paths through links or submodules.
func (t *treeFS) lookup(op, name string) (object.TreeEntry, bool, error) {
	if !fs.ValidPath(name) {
		return object.TreeEntry{}, false, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	t.index()
	if name == "." {
		return object.TreeEntry{Name: ".", Mode: filemode.Dir}, true, nil
	}
	// Check every leading component: a/b/c through a symlinked a/b is refused by name.
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}
		if e, ok := t.entries[name[:i]]; ok && e.Mode != filemode.Dir {
			return object.TreeEntry{}, false, &fs.PathError{Op: op, Path: name, Err: notDirErr(name[:i], e.Mode)}
		}
		if t.tooDeep[name[:i]] {
			return object.TreeEntry{}, false, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%s %w", name[:i], ErrTooDeep)}
		}
	}
	e, ok := t.entries[name]
	if !ok {
		return object.TreeEntry{}, false, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	switch {
	case t.tooDeep[name]:
		return object.TreeEntry{}, false, &fs.PathError{Op: op, Path: name, Err: ErrTooDeep}
	case e.Mode == filemode.Dir:
		return e, true, nil
	case e.Mode == filemode.Symlink:
		return object.TreeEntry{}, false, &fs.PathError{Op: op, Path: name, Err: ErrSymlink}
	case e.Mode == filemode.Submodule:
		return object.TreeEntry{}, false, &fs.PathError{Op: op, Path: name, Err: ErrSubmodule}
	}
	return e, false, nil
}

func notDirErr(prefix string, mode filemode.FileMode) error {
	switch mode {
	case filemode.Symlink:
		return fmt.Errorf("%s %w", prefix, ErrSymlink)
	case filemode.Submodule:
		return fmt.Errorf("%s %w", prefix, ErrSubmodule)
	}
	return fmt.Errorf("%s is a file, not a directory: %w", prefix, fs.ErrNotExist)
}

// Open opens a file or directory.
func (t *treeFS) Open(name string) (fs.File, error) {
	e, isDir, err := t.lookup("open", name)
	if err != nil {
		return nil, err
	}
	info := t.info(name, e)
	if isDir {
		return dirfile.New(info, t.dirEntries(name)), nil
	}
	r, _, err := t.blob("open", name, e)
	if err != nil {
		return nil, err
	}
	return &treeFile{info: info, r: r}, nil
}

// blob opens the content of the file entry e at name; errors are op's.
func (t *treeFS) blob(op, name string, e object.TreeEntry) (io.ReadCloser, int64, error) {
	f, err := t.root.TreeEntryFile(&e)
	if err != nil {
		return nil, 0, &fs.PathError{Op: op, Path: name, Err: err}
	}
	r, err := f.Reader()
	if err != nil {
		return nil, 0, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return r, f.Size, nil
}

// ReadFile reads a whole file.
func (t *treeFS) ReadFile(name string) ([]byte, error) {
	e, isDir, err := t.lookup("read", name)
	if err != nil {
		return nil, err
	}
	if isDir {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	r, size, err := t.blob("read", name, e)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var buf bytes.Buffer
	buf.Grow(int(size) + bytes.MinRead)
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return buf.Bytes(), nil
}

// ReadDir lists a directory, sorted by name.
func (t *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	_, isDir, err := t.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !isDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return t.dirEntries(name), nil
}

// Stat describes a file or directory. It does not follow links: see FS.
func (t *treeFS) Stat(name string) (fs.FileInfo, error) {
	e, _, err := t.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return t.info(name, e), nil
}

func (t *treeFS) dirEntries(dir string) []fs.DirEntry {
	children := t.dirs[dir]
	out := make([]fs.DirEntry, len(children))
	for i, e := range children {
		out[i] = fs.FileInfoToDirEntry(t.info(path.Join(dir, e.Name), e))
	}
	return out
}

func (t *treeFS) info(name string, e object.TreeEntry) *treeInfo {
	return &treeInfo{fsys: t, name: path.Base(name), entry: e}
}

// treeInfo is the fs.FileInfo of a tree entry; the size of a blob is read when asked for.
type treeInfo struct {
	fsys  *treeFS
	name  string
	entry object.TreeEntry

	sizeOnce sync.Once
	size     int64
}

func (i *treeInfo) Name() string       { return i.name }
func (i *treeInfo) ModTime() time.Time { return i.fsys.mtime }
func (i *treeInfo) IsDir() bool        { return i.entry.Mode == filemode.Dir }
func (i *treeInfo) Sys() any           { return i.entry }

func (i *treeInfo) Mode() fs.FileMode {
	switch i.entry.Mode {
	case filemode.Dir:
		return fs.ModeDir | 0o555
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	case filemode.Submodule:
		return fs.ModeIrregular
	case filemode.Executable:
		return 0o555
	}
	return 0o444
}

func (i *treeInfo) Size() int64 {
	if i.entry.Mode == filemode.Dir || i.entry.Mode == filemode.Submodule {
		return 0
	}
	i.sizeOnce.Do(func() {
		if f, err := i.fsys.root.TreeEntryFile(&i.entry); err == nil {
			i.size = f.Size
		}
	})
	return i.size
}

// treeFile is an open blob.
type treeFile struct {
	info *treeInfo
	r    io.ReadCloser
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *treeFile) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *treeFile) Close() error               { return f.r.Close() }
