package worker

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
)

// Command is the argument that makes the server's binary a worker: the pool starts
// `<this executable> render-worker`, and main (or a test's TestMain) calls Main when it sees it.
const Command = "render-worker"

// memoryLimitEnv tells a worker its memory budget in bytes (GOMEMLIMIT, set beside it, is the
// softer goal the garbage collector works to).
const memoryLimitEnv = "KUBE_GITOPS_WORKER_MEMORY_LIMIT"

// Handler runs one job in a worker: payload is what the parent sent, files are the parent's
// files, read on demand. Its error message goes back to the parent as it is.
type Handler func(payload []byte, files fs.FS) ([]byte, error)

// Main runs this process as a worker until the parent closes its stdin, and returns the exit
// code. The protocol runs on stdin and stdout; anything else that writes to stdout (a library
// printing) is sent to stderr instead so that it cannot corrupt the protocol.
func Main(handle Handler) int {
	out, err := takeStdout()
	if err != nil {
		fmt.Fprintf(os.Stderr, "render worker: %v\n", err)
		return 1
	}
	if limit, err := strconv.ParseInt(os.Getenv(memoryLimitEnv), 10, 64); err == nil && limit > 0 {
		if err := limitMemory(limit); err != nil {
			fmt.Fprintf(os.Stderr, "render worker: %v\n", err)
			return 1
		}
	}
	if err := Serve(os.Stdin, out, handle); err != nil {
		fmt.Fprintf(os.Stderr, "render worker: %v\n", err)
		return 1
	}
	return 0
}

// Serve reads jobs from in and answers them on out, one at a time, until in ends.
func Serve(in io.Reader, out io.Writer, handle Handler) error {
	c := newConn(in, out, 1<<30)
	for {
		f, err := c.receive()
		if err == io.EOF {
			return nil // the parent is done with this worker
		}
		if err != nil {
			return err
		}
		if f.Reply != nil {
			return errors.New("expected a job from the server, not a file reply")
		}
		files := newRemoteFS(c, f.Preload)
		result, err := runHandler(handle, f.Job, files)
		if files.failed != nil {
			return files.failed
		}
		reply := &frame{Result: result}
		if err != nil {
			reply = &frame{Failed: err.Error()}
			if reply.Failed == "" {
				reply.Failed = "failed without a message"
			}
		}
		if err := c.send(reply); err != nil {
			return err
		}
	}
}

// runHandler calls handle, turning a panic into an error: the worker stays usable.
func runHandler(handle Handler, payload []byte, files fs.FS) (result []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("render panicked: %v", p)
		}
	}()
	return handle(payload, files)
}
