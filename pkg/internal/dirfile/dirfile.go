// Package dirfile is an open directory over a known list of entries, as io/fs's ReadDirFile:
// what a file system built from a Git tree or a pipe hands out for fs.FS.Open of a directory.
package dirfile

import (
	"errors"
	"io"
	"io/fs"
)

// Dir is an open directory: ReadDir hands out its entries in order; Read fails.
type Dir struct {
	info    fs.FileInfo
	entries []fs.DirEntry
	offset  int
}

var _ fs.ReadDirFile = (*Dir)(nil)

// New opens the directory described by info, listing entries (in io/fs order: sorted by name).
func New(info fs.FileInfo, entries []fs.DirEntry) *Dir {
	return &Dir{info: info, entries: entries}
}

func (d *Dir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *Dir) Close() error               { return nil }

func (d *Dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name(), Err: errors.New("is a directory")}
}

// ReadDir implements fs.ReadDirFile: n <= 0 returns all entries left (none: an empty list, no
// error); n > 0 at most n, and io.EOF once none are left.
func (d *Dir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.offset:]
	if n <= 0 {
		d.offset = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.offset += n
	return rest[:n], nil
}
