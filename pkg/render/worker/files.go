package worker

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"time"
)

// A job reads the parent's files: those the parent knows the job needs come with it (preload),
// and the job asks for the others as it needs them, one call at a time. Either way the worker
// gets only files its render reads, and needs no network to get them. The parent answers each
// call with the same io/fs function on its own fs.FS, so a render in a worker sees the same
// files, entries and errors (by message and by errors.Is) as a render in the parent.

// fsCall is an io/fs call the worker asks the parent to make.
type fsCall struct {
	Op   string // one of the op* constants
	Name string
}

const (
	opStat     = "stat"
	opLstat    = "lstat"
	opReadFile = "readfile"
	opReadDir  = "readdir"
	opReadLink = "readlink"
	opOpen     = "open" // Stat of the open file, and its content or entries
)

// fsReply is the parent's answer.
type fsReply struct {
	Info    *fileInfo
	Data    []byte
	Entries []fileInfo
	Link    string
	Err     *fsError
}

// fileInfo is an fs.FileInfo (and fs.DirEntry) on the wire. Sys is not carried.
type fileInfo struct {
	Name    string
	Size    int64
	Mode    fs.FileMode
	ModTime time.Time
	// InfoErr is set on a directory entry whose Info failed.
	InfoErr *fsError
}

// fsError is an error on the wire: its message, the *fs.PathError around it if any, and which
// io/fs sentinel it matches.
type fsError struct {
	PathError bool
	Op, Path  string
	Msg       string
	Sentinel  int
}

// sentinels are the io/fs errors that callers test with errors.Is; their index is on the wire.
var sentinels = []error{nil, fs.ErrNotExist, fs.ErrInvalid, fs.ErrExist, fs.ErrPermission, fs.ErrClosed, io.EOF}

// serveCall makes the call on files, in the parent.
func serveCall(files fs.FS, c *fsCall) *fsReply {
	switch c.Op {
	case opStat:
		info, err := fs.Stat(files, c.Name)
		return &fsReply{Info: wireInfo(info), Err: wireError(err)}
	case opLstat:
		info, err := fs.Lstat(files, c.Name)
		return &fsReply{Info: wireInfo(info), Err: wireError(err)}
	case opReadFile:
		data, err := fs.ReadFile(files, c.Name)
		return &fsReply{Data: data, Err: wireError(err)}
	case opReadDir:
		entries, err := fs.ReadDir(files, c.Name)
		return &fsReply{Entries: wireEntries(entries), Err: wireError(err)}
	case opReadLink:
		link, err := fs.ReadLink(files, c.Name)
		return &fsReply{Link: link, Err: wireError(err)}
	case opOpen:
		return serveOpen(files, c.Name)
	}
	return &fsReply{Err: wireError(&fs.PathError{Op: c.Op, Path: c.Name, Err: errors.ErrUnsupported})}
}

func serveOpen(files fs.FS, name string) *fsReply {
	f, err := files.Open(name)
	if err != nil {
		return &fsReply{Err: wireError(err)}
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return &fsReply{Err: wireError(err)}
	}
	reply := &fsReply{Info: wireInfo(info)}
	if info.IsDir() {
		if d, ok := f.(fs.ReadDirFile); ok {
			entries, err := d.ReadDir(-1)
			reply.Entries, reply.Err = wireEntries(entries), wireError(err)
		}
		return reply
	}
	reply.Data, err = io.ReadAll(f)
	reply.Err = wireError(err)
	return reply
}

func wireInfo(info fs.FileInfo) *fileInfo {
	if info == nil {
		return nil
	}
	return &fileInfo{Name: info.Name(), Size: info.Size(), Mode: info.Mode(), ModTime: info.ModTime()}
}

func wireEntries(entries []fs.DirEntry) []fileInfo {
	out := make([]fileInfo, 0, len(entries))
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			out = append(out, fileInfo{Name: e.Name(), Mode: e.Type(), InfoErr: wireError(err)})
			continue
		}
		out = append(out, *wireInfo(info))
	}
	return out
}

func wireError(err error) *fsError {
	if err == nil {
		return nil
	}
	w := &fsError{Msg: err.Error()}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe == err {
		w.PathError, w.Op, w.Path, w.Msg = true, pe.Op, pe.Path, pe.Err.Error()
	}
	for i, s := range sentinels {
		if s != nil && errors.Is(err, s) {
			w.Sentinel = i
			break
		}
	}
	return w
}

// remoteError is an error from the parent's file system, in the worker.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string        { return e.msg }
func (e *remoteError) Is(target error) bool { return e.sentinel != nil && target == e.sentinel }

func (w *fsError) err() error {
	if w == nil {
		return nil
	}
	var sentinel error
	if w.Sentinel > 0 && w.Sentinel < len(sentinels) {
		sentinel = sentinels[w.Sentinel]
	}
	if sentinel == io.EOF && !w.PathError && w.Msg == io.EOF.Error() {
		return io.EOF
	}
	inner := &remoteError{msg: w.Msg, sentinel: sentinel}
	if w.PathError {
		return &fs.PathError{Op: w.Op, Path: w.Path, Err: inner}
	}
	return inner
}

// remoteInfo is a fileInfo from the parent, in the worker: an fs.FileInfo and an fs.DirEntry.
type remoteInfo struct{ w fileInfo }

var (
	_ fs.FileInfo = remoteInfo{}
	_ fs.DirEntry = remoteInfo{}
)

func (i remoteInfo) Name() string       { return i.w.Name }
func (i remoteInfo) Size() int64        { return i.w.Size }
func (i remoteInfo) Mode() fs.FileMode  { return i.w.Mode }
func (i remoteInfo) ModTime() time.Time { return i.w.ModTime }
func (i remoteInfo) IsDir() bool        { return i.w.Mode.IsDir() }
func (i remoteInfo) Type() fs.FileMode  { return i.w.Mode.Type() }
func (i remoteInfo) Sys() any           { return nil }
func (i remoteInfo) String() string     { return fs.FormatFileInfo(i) }
func (i remoteInfo) Info() (fs.FileInfo, error) {
	if err := i.w.InfoErr.err(); err != nil {
		return nil, err
	}
	return i, nil
}

// preloaded is a call answered before the job asked.
type preloaded struct {
	Call  fsCall
	Reply *fsReply
}

// preload answers ahead of time the calls a job makes on paths (files, or directories with
// everything below them): the links check on each leading directory (Lstat), Stat, ReadDir and
// ReadFile. Paths that do not exist are answered too, as the job will ask about them. File
// contents stop at maxBytes; the job reads the rest on demand.
func preload(files fs.FS, paths []string, maxBytes int64) []preloaded {
	p := &preloader{files: files, seen: map[fsCall]bool{}, budget: maxBytes}
	for _, name := range paths {
		name = path.Clean(name)
		if !fs.ValidPath(name) {
			continue
		}
		for i := range len(name) {
			if name[i] == '/' {
				p.add(opLstat, name[:i])
			}
		}
		p.add(opLstat, name)
		info := p.add(opStat, name)
		switch {
		case info == nil:
		case info.Err != nil:
			p.add(opReadFile, name)
		case info.Info.Mode.IsDir():
			p.tree(name)
		case info.Info.Mode.IsRegular():
			p.readFile(name, info.Info.Size)
		}
	}
	return p.out
}

type preloader struct {
	files  fs.FS
	seen   map[fsCall]bool
	budget int64
	out    []preloaded
}

func (p *preloader) add(op, name string) *fsReply {
	c := fsCall{Op: op, Name: name}
	if p.seen[c] {
		return nil
	}
	p.seen[c] = true
	r := serveCall(p.files, &c)
	p.out = append(p.out, preloaded{c, r})
	return r
}

func (p *preloader) readFile(name string, size int64) {
	if size > p.budget {
		return
	}
	if r := p.add(opReadFile, name); r != nil {
		p.budget -= int64(len(r.Data))
	}
}

func (p *preloader) tree(root string) {
	_ = fs.WalkDir(p.files, root, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // the job meets the error itself
		}
		p.add(opLstat, name)
		switch {
		case d.IsDir():
			p.add(opStat, name)
			p.add(opReadDir, name)
		case d.Type().IsRegular():
			p.add(opStat, name)
			if info, err := d.Info(); err == nil {
				p.readFile(name, info.Size())
			}
		}
		return nil
	})
}
