package source

import (
	"errors"
	"io"
	"sort"
)

// maxChunk is the largest chunk a packBuffer allocates at once.
const maxChunk = 1 << 20

// packBuffer holds a pack as it arrives, in chunks that grow to maxChunk: unlike a
// bytes.Buffer it never copies what it holds into a larger buffer, which for a pack of hundreds
// of megabytes would hold it two or three times over for a moment.
type packBuffer struct {
	chunks [][]byte
	starts []int64 // the offset of each chunk's first byte
	size   int64
}

func (b *packBuffer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		last := len(b.chunks) - 1
		if last < 0 || len(b.chunks[last]) == cap(b.chunks[last]) {
			// Small packs stay small: a chunk as large as all before it, from 4Ki.
			b.chunks = append(b.chunks, make([]byte, 0, min(max(b.size, 4<<10), maxChunk)))
			b.starts = append(b.starts, b.size)
			last++
		}
		k := min(cap(b.chunks[last])-len(b.chunks[last]), len(p))
		b.chunks[last] = append(b.chunks[last], p[:k]...)
		b.size += int64(k)
		p = p[k:]
	}
	return n, nil
}

// ReadAt reads as io.ReaderAt does.
func (b *packBuffer) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("read a pack at a negative offset")
	}
	n := 0
	for n < len(p) && off < b.size {
		i := sort.Search(len(b.starts), func(i int) bool { return b.starts[i] > off }) - 1
		k := copy(p[n:], b.chunks[i][off-b.starts[i]:])
		n += k
		off += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Len is how many bytes it holds.
func (b *packBuffer) Len() int64 { return b.size }

// Reader reads what it holds from the start, with Seek.
func (b *packBuffer) Reader() *io.SectionReader { return io.NewSectionReader(b, 0, b.size) }
