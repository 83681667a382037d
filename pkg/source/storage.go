package source

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/memory"
)

// boundedStorage is go-git's in-memory storage that refuses, during a fetch, objects over its
// budget. A fetch hands the pack it receives to PackfileWriter: the pack is kept compressed
// and its object headers are checked (each object's size, their total and count) before any
// object is unpacked, so that a few kilobytes of pack that unpack to gigabytes never are.
// SetEncodedObject counts what is actually stored, and refuses past the budget too.
// Not safe for concurrent use, like memory.Storage.
type boundedStorage struct {
	*memory.Storage
	budget  budget
	bytes   int64 // the sizes of the objects held, added up
	objects int   // the objects held
}

var (
	_ storer.Storer         = (*boundedStorage)(nil)
	_ storer.PackfileWriter = (*boundedStorage)(nil)
)

func newBoundedStorage(b budget) *boundedStorage {
	return &boundedStorage{Storage: memory.NewStorage(), budget: b}
}

// SetEncodedObject stores obj unless it is larger than an object may be, or the storage would
// hold more than its budget.
func (s *boundedStorage) SetEncodedObject(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	if _, held := s.Objects[obj.Hash()]; held {
		return s.Storage.SetEncodedObject(obj)
	}
	if err := s.admit(obj.Size(), s.bytes, s.objects); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := s.Storage.SetEncodedObject(obj)
	if err == nil {
		s.bytes += obj.Size()
		s.objects++
	}
	return h, err
}

// admit refuses one more object of size when bytes and objects are already taken.
func (s *boundedStorage) admit(size, bytes int64, objects int) error {
	switch {
	case size > s.budget.objectBytes:
		return s.budget.objectTooLarge(size)
	case bytes+size > s.budget.totalBytes:
		return s.budget.totalTooLarge()
	case objects+1 > s.budget.objects:
		return s.budget.tooManyObjects()
	}
	return nil
}

// PackfileWriter takes the pack a fetch receives (go-git prefers it to storing objects one by
// one); the objects are checked and stored when it is closed.
func (s *boundedStorage) PackfileWriter() (io.WriteCloser, error) {
	room := s.budget.totalBytes - s.bytes
	// Compressed objects are rarely larger than unpacked ones; tiny ones are, by their headers
	// and checksums, a few dozen bytes each at most.
	limit := room + room/16 + int64(s.budget.objects-s.objects)*64
	return &packWriter{s: s, limit: limit}, nil
}

// packWriter keeps a pack, compressed, up to limit bytes.
type packWriter struct {
	s      *boundedStorage
	pack   packBuffer
	limit  int64
	failed error
}

func (w *packWriter) Write(p []byte) (int, error) {
	if w.failed != nil {
		return 0, w.failed
	}
	if w.pack.Len()+int64(len(p)) > w.limit {
		w.failed = w.s.budget.totalTooLarge()
		return 0, w.failed
	}
	return w.pack.Write(p)
}

// Close checks the pack's objects against the budget, then unpacks them into the storage.
func (w *packWriter) Close() error {
	if w.failed != nil {
		return w.failed
	}
	if err := w.s.checkPack(w.pack.Reader()); err != nil {
		return err
	}
	parser, err := packfile.NewParserWithStorage(packfile.NewScanner(w.pack.Reader()), w.s)
	if err != nil {
		return err
	}
	_, err = parser.Parse()
	return err
}

// checkPack reads the headers of a pack's objects, unpacking none but the first bytes of a
// delta (which say how large the object it makes is), and refuses the pack if its objects do
// not fit in what is left of the budget. Objects the storage already holds count again: a
// server sends few of those.
func (s *boundedStorage) checkPack(pack io.ReadSeeker) error {
	scanner := packfile.NewScanner(pack)
	_, count, err := scanner.Header()
	if err != nil {
		return err
	}
	if int64(s.objects)+int64(count) > int64(s.budget.objects) {
		return s.budget.tooManyObjects()
	}
	total := s.bytes
	for i := range int(count) {
		header, err := scanner.NextObjectHeader()
		if err != nil {
			return err
		}
		size := header.Length // unpacked size; for a delta, the size of the delta
		if header.Type.IsDelta() {
			if err := s.admit(size, total, s.objects+i); err != nil {
				return err // the delta alone is too large
			}
			var head deltaHeader
			if _, _, err := scanner.NextObject(&head); err != nil {
				return err
			}
			if size, err = head.targetSize(); err != nil {
				return err
			}
		}
		if err := s.admit(size, total, s.objects+i); err != nil {
			return err
		}
		total += size
	}
	return nil
}

// deltaHeader keeps the first bytes of a delta, where git writes the sizes of the object the
// delta applies to and of the object it makes, and drops the rest.
type deltaHeader struct {
	head []byte
}

// maxDeltaHeader is the longest a delta's two sizes may be: two varints of 64 bits.
const maxDeltaHeader = 2 * binary.MaxVarintLen64

func (d *deltaHeader) Write(p []byte) (int, error) {
	if room := maxDeltaHeader - len(d.head); room > 0 {
		d.head = append(d.head, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// targetSize is the size of the object the delta makes (git's varints are little-endian base
// 128, as encoding/binary's are).
func (d *deltaHeader) targetSize() (int64, error) {
	_, n := binary.Uvarint(d.head)
	if n <= 0 {
		return 0, fmt.Errorf("%w: a delta's base size is unreadable", packfile.ErrMalformedPackFile)
	}
	target, m := binary.Uvarint(d.head[n:])
	if m <= 0 || target > 1<<62 {
		return 0, fmt.Errorf("%w: a delta's size is unreadable", packfile.ErrMalformedPackFile)
	}
	return int64(target), nil
}
