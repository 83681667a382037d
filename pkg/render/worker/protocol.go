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
// time, and within a job every Call waits for its Reply.
type conn struct {
	r *bufio.Reader
	w *bufio.Writer
	// maxFrame bounds what receive accepts, so that the parent never buffers an unbounded
	// frame from a worker.
	maxFrame int64
}

func newConn(r io.Reader, w io.Writer, maxFrame int64) *conn {
	return &conn{r: bufio.NewReaderSize(r, 64<<10), w: bufio.NewWriterSize(w, 64<<10), maxFrame: maxFrame}
}

func (c *conn) send(f *frame) error {
	var body bytes.Buffer
	if err := gob.NewEncoder(&body).Encode(f); err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	if int64(body.Len()) > 1<<32-1 {
		return fmt.Errorf("frame of %d bytes is too large to send", body.Len())
	}
	var size [4]byte
	binary.BigEndian.PutUint32(size[:], uint32(body.Len()))
	if _, err := c.w.Write(size[:]); err != nil {
		return err
	}
	if _, err := c.w.Write(body.Bytes()); err != nil {
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
	f := &frame{}
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(f); err != nil {
		return nil, fmt.Errorf("decode frame: %w", err)
	}
	return f, nil
}

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
