package writeback

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/kube-gitops/kube-gitops/pkg/pins"
	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

// maxFileSize bounds a pinned file; pins live in small YAML files.
const maxFileSize = 8 << 20

// edit applies the edits to the files of commit and returns the changed files and pins.
func (w *Writer) edit(s storer.EncodedObjectStorer, commit *object.Commit, edits []pins.Edit, ref plumbing.ReferenceName) (map[string][]byte, []PinChange, error) {
	tree, err := commit.Tree()
	if err != nil {
		return nil, nil, fmt.Errorf("read the tree of %s: %w", commit.Hash, err)
	}
	files := map[string][]byte{}
	orig := map[string]string{}
	var changes []PinChange
	for _, e := range edits {
		data, ok := files[e.File]
		if !ok {
			if data, err = readFile(s, tree, e.File); err != nil {
				return nil, nil, fmt.Errorf("%w (branch %s of %s)", err, ref.Short(), redact.URL(w.url))
			}
			orig[e.File] = string(data)
		}
		out, old, err := pins.Set(data, e)
		if err != nil {
			return nil, nil, err
		}
		files[e.File] = out
		if old != e.Value {
			name := e.Name
			if name == "" {
				name = e.Path
			}
			changes = append(changes, PinChange{Name: name, File: e.File, Path: e.Path, Old: old, New: e.Value})
		}
	}
	for f, data := range files {
		if string(data) == orig[f] {
			delete(files, f)
		}
	}
	return files, changes, nil
}

// readFile reads a regular file of tree, refusing symbolic links anywhere on the way.
func readFile(s storer.EncodedObjectStorer, tree *object.Tree, file string) ([]byte, error) {
	parts := strings.Split(file, "/")
	for i, p := range parts {
		e, err := tree.FindEntry(p)
		if err != nil {
			return nil, fmt.Errorf("%s %w: check the pin's file", file, pins.ErrNotFound)
		}
		at := strings.Join(parts[:i+1], "/")
		switch {
		case e.Mode == filemode.Symlink:
			return nil, fmt.Errorf("%s: %s is a symbolic link: pins are edited only in regular files, point the pin at the real file", file, at)
		case i < len(parts)-1 && e.Mode != filemode.Dir:
			return nil, fmt.Errorf("%s %w: %s is not a directory: check the pin's file", file, pins.ErrNotFound, at)
		case i < len(parts)-1:
			if tree, err = object.GetTree(s, e.Hash); err != nil {
				return nil, fmt.Errorf("read directory %s: %w", at, err)
			}
		case e.Mode != filemode.Regular && e.Mode != filemode.Executable && e.Mode != filemode.Deprecated:
			return nil, fmt.Errorf("%s is not a regular file (mode %s): point the pin at a YAML file", file, e.Mode)
		default:
			blob, err := object.GetBlob(s, e.Hash)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", file, err)
			}
			if blob.Size > maxFileSize {
				return nil, fmt.Errorf("%s is %d bytes, more than the %d a pinned file may have: keep pins in small YAML files", file, blob.Size, maxFileSize)
			}
			r, err := blob.Reader()
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", file, err)
			}
			defer r.Close()
			data, err := io.ReadAll(r)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", file, err)
			}
			return data, nil
		}
	}
	return nil, fmt.Errorf("%s %w: check the pin's file", file, pins.ErrNotFound)
}

// writeTree stores tree with files (paths relative to it) replaced, and returns its hash.
// Only existing files change, so the entries keep their order and modes.
func writeTree(s storer.EncodedObjectStorer, tree *object.Tree, files map[string][]byte) (plumbing.Hash, error) {
	direct := map[string][]byte{}
	sub := map[string]map[string][]byte{}
	for p, data := range files {
		if dir, rest, ok := strings.Cut(p, "/"); ok {
			if sub[dir] == nil {
				sub[dir] = map[string][]byte{}
			}
			sub[dir][rest] = data
		} else {
			direct[p] = data
		}
	}
	entries := make([]object.TreeEntry, len(tree.Entries))
	copy(entries, tree.Entries)
	for i, e := range entries {
		if data, ok := direct[e.Name]; ok {
			h, err := store(s, plumbing.BlobObject, func(w io.Writer) error { _, err := w.Write(data); return err })
			if err != nil {
				return plumbing.ZeroHash, err
			}
			entries[i].Hash = h
		}
		if m, ok := sub[e.Name]; ok {
			st, err := object.GetTree(s, e.Hash)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if entries[i].Hash, err = writeTree(s, st, m); err != nil {
				return plumbing.ZeroHash, err
			}
		}
	}
	t := &object.Tree{Entries: entries}
	obj := s.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

// store writes one object of type t.
func store(s storer.EncodedObjectStorer, t plumbing.ObjectType, write func(io.Writer) error) (plumbing.Hash, error) {
	obj := s.NewEncodedObject()
	obj.SetType(t)
	wr, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := write(wr); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := wr.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

// commit stores a commit of tree on parent.
func (w *Writer) commit(s storer.EncodedObjectStorer, c Change, parent, tree plumbing.Hash, changes []PinChange) (plumbing.Hash, error) {
	now := time.Now()
	author := c.Author
	if author.Name == "" && author.Email == "" {
		author = w.opts.Committer
	}
	msg := c.Message
	if msg == "" {
		msg = DefaultMessage(c.Subject, changes)
	}
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	commit := &object.Commit{
		Author:       object.Signature{Name: author.Name, Email: author.Email, When: now},
		Committer:    object.Signature{Name: w.opts.Committer.Name, Email: w.opts.Committer.Email, When: now},
		Message:      msg,
		TreeHash:     tree,
		ParentHashes: []plumbing.Hash{parent},
	}
	obj := s.NewEncodedObject()
	if err := commit.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode the commit: %w", err)
	}
	return s.SetEncodedObject(obj)
}
