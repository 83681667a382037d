package worker

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/kube-gitops/kube-gitops/pkg/internal/dirfile"
)

// remoteFS is the parent's fs.FS as a job in the worker sees it: every call is a round trip.
type remoteFS struct {
	mu   sync.Mutex // one call at a time on the pipe
	conn *conn
	// preloaded are the answers that came with the job.
	preloaded map[fsCall]*fsReply
	// failed is the pipe error that ended the job's file access; the parent is gone or broken.
	failed error
}

var (
	_ fs.ReadFileFS = (*remoteFS)(nil)
	_ fs.ReadDirFS  = (*remoteFS)(nil)
	_ fs.StatFS     = (*remoteFS)(nil)
	_ fs.ReadLinkFS = (*remoteFS)(nil)
)

func newRemoteFS(c *conn, preloaded []preloaded) *remoteFS {
	r := &remoteFS{conn: c, preloaded: make(map[fsCall]*fsReply, len(preloaded))}
	for _, p := range preloaded {
		r.preloaded[p.Call] = p.Reply
	}
	return r
}

func (r *remoteFS) call(op, name string) (*fsReply, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if reply, ok := r.preloaded[fsCall{Op: op, Name: name}]; ok {
		copied := *reply
		copied.Data = bytes.Clone(reply.Data) // the caller owns what ReadFile returns
		return &copied, reply.Err.err()
	}
	if r.failed != nil {
		return nil, r.failed
	}
	if err := r.conn.send(&frame{Call: &fsCall{Op: op, Name: name}}); err != nil {
		r.failed = fmt.Errorf("%s %s: ask the server: %w", op, name, err)
		return nil, r.failed
	}
	f, err := r.conn.receive()
	if err == nil && f.Reply == nil {
		err = errors.New("the server sent something other than a file reply")
	}
	if err != nil {
		r.failed = fmt.Errorf("%s %s: read the server's reply: %w", op, name, err)
		return nil, r.failed
	}
	return f.Reply, f.Reply.Err.err()
}

func (r *remoteFS) Stat(name string) (fs.FileInfo, error) {
	reply, err := r.call(opStat, name)
	if err != nil {
		return nil, err
	}
	return infoOf(reply)
}

func (r *remoteFS) Lstat(name string) (fs.FileInfo, error) {
	reply, err := r.call(opLstat, name)
	if err != nil {
		return nil, err
	}
	return infoOf(reply)
}

func (r *remoteFS) ReadLink(name string) (string, error) {
	reply, err := r.call(opReadLink, name)
	if err != nil {
		return "", err
	}
	return reply.Link, nil
}

func (r *remoteFS) ReadFile(name string) ([]byte, error) {
	reply, err := r.call(opReadFile, name)
	if err != nil {
		return nil, err
	}
	return reply.Data, nil
}

func (r *remoteFS) ReadDir(name string) ([]fs.DirEntry, error) {
	reply, err := r.call(opReadDir, name)
	if err != nil {
		return nil, err
	}
	return entriesOf(reply), nil
}

func (r *remoteFS) Open(name string) (fs.File, error) {
	reply, err := r.call(opOpen, name)
	if err != nil {
		return nil, err
	}
	info, err := infoOf(reply)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return dirfile.New(info, entriesOf(reply)), nil
	}
	return &remoteFile{info: info, Reader: bytes.NewReader(reply.Data)}, nil
}

func infoOf(reply *fsReply) (fs.FileInfo, error) {
	if reply.Info == nil {
		return nil, errors.New("the server's file reply has no file information")
	}
	return remoteInfo{*reply.Info}, nil
}

func entriesOf(reply *fsReply) []fs.DirEntry {
	out := make([]fs.DirEntry, len(reply.Entries))
	for i, e := range reply.Entries {
		out[i] = remoteInfo{e}
	}
	return out
}

type remoteFile struct {
	info fs.FileInfo
	*bytes.Reader
}

func (f *remoteFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *remoteFile) Close() error               { return nil }
