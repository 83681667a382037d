package worker

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"io"
)

// frame is one message on a worker's pipes: a 4-byte big-endian length, then the frame in gob.
// Exactly one field is set.
type frame struct {
	// Parent to worker.
	Job     []byte      // run a job with this payload
	Preload []preloaded // with these calls answered already
	Reply   *fsReply    // the answer to the worker's last Call

	// Worker to parent.
	Call   *fsCall // the running job reads the parent's files
	Result []byte  // the job succeeded
	Failed string  // the job failed, with this message
}

// conn reads and writes frames. It is not safe for concurrent use: each side has one job at a
// time, and within a job every Call waits for its Reply. Its gob encoder and decoder live as long
// as the pipe, so that type information crosses once, not with every frame; after any error the
// conn is not used again (the worker exits, or the pool kills it).
type conn struct {
	r *bufio.Reader
	w *bufio.Writer
	// maxFrame bounds what receive accepts, so that the parent never buffers an unbounded
	// frame from a worker.
	maxFrame int64

	out *bytes.Buffer
	enc *gob.Encoder
	in  *frameBody
	dec *gob.Decoder
}

func newConn(r io.Reader, w io.Writer, maxFrame int64) *conn {
	c := &conn{r: bufio.NewReaderSize(r, 64<<10), w: bufio.NewWriterSize(w, 64<<10), maxFrame: maxFrame,
		out: &bytes.Buffer{}, in: &frameBody{}}
	c.enc, c.dec = gob.NewEncoder(c.out), gob.NewDecoder(c.in)
	return c
}

func (c *conn) send(f *frame) error {
	c.out.Reset()
	if err := c.enc.Encode(f); err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	if int64(c.out.Len()) > 1<<32-1 {
		return fmt.Errorf("frame of %d bytes is too large to send", c.out.Len())
	}
	var size [4]byte
	binary.BigEndian.PutUint32(size[:], uint32(c.out.Len()))
	if _, err := c.w.Write(size[:]); err != nil {
		return err
	}
	if _, err := c.w.Write(c.out.Bytes()); err != nil {
		return err
	}
	return c.w.Flush()
}

func (c *conn) receive() (*frame, error) {
	var size [4]byte
	if _, err := io.ReadFull(c.r, size[:]); err != nil {
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(size[:]))
	if n > c.maxFrame {
		return nil, &frameTooLargeError{size: n, limit: c.maxFrame}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return nil, unexpectedEOF(err)
	}
	c.in.Reset(body)
	f := &frame{}
	if err := c.dec.Decode(f); err != nil {
		return nil, fmt.Errorf("decode frame: %w", err)
	}
	if c.in.Len() != 0 {
		return nil, fmt.Errorf("decode frame: %d bytes left over", c.in.Len())
	}
	return f, nil
}

// frameBody feeds one frame at a time to the conn's decoder. It is an io.ByteReader, so that gob
// reads from it directly and never ahead of the frame.
type frameBody struct{ bytes.Reader }

type frameTooLargeError struct{ size, limit int64 }

func (e *frameTooLargeError) Error() string {
	return fmt.Sprintf("a frame of %d bytes is larger than the limit of %d", e.size, e.limit)
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
