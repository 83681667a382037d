package source

import (
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
