package source

import (
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Hash identifies, without reading a blob, everything a read of name can tell: for a file its
// mode and Git object id; for a directory its listing (each child's name and mode, and a file's
// object id, which fixes its size), not what is below its subdirectories; for a name that
// cannot be read (missing, through a link, too deep), the error. Two snapshots with equal Hash
// at every name a render read render the same (pkg/render's cache).
func (t *treeFS) Hash(name string) string {
	e, isDir, err := t.lookup("stat", name)
	switch {
	case err != nil:
		return "error: " + err.Error()
	case !isDir:
		return e.Mode.String() + " " + e.Hash.String()
	}
	var b strings.Builder
	b.WriteString("dir")
	for _, c := range t.dirs[name] {
		b.WriteString("\n" + c.Mode.String() + " " + c.Name)
		if c.Mode != filemode.Dir {
			b.WriteString(" " + c.Hash.String())
		}
	}
	return b.String()
}

// Files returns the Git object id of every path of the snapshot (files and directories), for
// Changed; nil when the tree could not be read whole (too large, or nested too deep).
func (s *Snapshot) Files() map[string]string {
	t := s.files
	t.index()
	if t.tooLarge != nil || len(t.tooDeep) > 0 {
		return nil
	}
	ids := make(map[string]string, len(t.entries))
	for name, e := range t.entries {
		ids[name] = e.Hash.String()
	}
	return ids
}

// Changed returns the paths whose object id differs between two Files results (changed,
// added or removed), sorted; ok is false when either is unknown (nil).
func Changed(before, after map[string]string) (paths []string, ok bool) {
	if before == nil || after == nil {
		return nil, false
	}
	for name, id := range after {
		if before[name] != id {
			paths = append(paths, name)
		}
	}
	for name := range before {
		if _, kept := after[name]; !kept {
			paths = append(paths, name)
		}
	}
	slices.Sort(paths)
	return paths, true
}
