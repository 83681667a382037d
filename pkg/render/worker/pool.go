// Package worker runs jobs in child processes that can be stopped: a small pool of long-lived
// worker processes (the server's own binary in a hidden mode), where a job over its time budget,
// or a worker over its memory budget, is killed and replaced instead of waited for.
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"sync"
	"time"

	"github.com/kube-gitops/kube-gitops/pkg/render/internal/manifest"
)

// Options configure a Pool. The zero value works in a binary whose main calls Main for Command.
type Options struct {
	// Workers is how many worker processes run jobs at once. Default 2.
	Workers int
	// MemoryLimit is each worker's memory budget in bytes: the memory it allocated and
	// touched (heap and stacks, about 20 MiB at rest; the program's own pages, shared with the
	// server, do not count). Default 512 MiB.
	MemoryLimit int64
	// Command starts a worker. Default: this program (os.Executable) with the argument Command.
	Command []string
	// MaxResultBytes bounds what a worker may send back for one job. Default 64 MiB.
	MaxResultBytes int64
	// PollInterval is how often the memory of a busy worker is read. Default 10ms.
	PollInterval time.Duration
}

const (
	defaultMemoryLimit = 512 << 20
	// softLimitPercent of MemoryLimit is the worker's GOMEMLIMIT: the garbage collector works
	// harder before the hard budget is reached.
	softLimitPercent = 80
	// addressSpaceFactor × MemoryLimit, above what an idle worker has mapped, is its address
	// space cap (RLIMIT_AS): an allocation past it fails at once, and the Go runtime exits
	// with "out of memory". Measured on linux/amd64 (Go 1.26): an idle worker maps ~1.7 GB
	// for ~20 MiB of its own memory, and a growing heap maps ~1.15 bytes per resident byte;
	// so at 2× the watchdog (polling every 10 ms, which overshot by at most 12 MiB in our
	// tests) acts first on gradual growth, and the cap catches a jump between two polls (one
	// make of a few hundred MiB). TestTheAddressSpaceCapStopsWhatTheWatchdogMisses checks it.
	addressSpaceFactor = 2
	// maxPreloadBytes bounds the file contents sent with a job.
	maxPreloadBytes = 32 << 20
)

// Job is one unit of work.
type Job struct {
	// Payload is given to the worker's Handler.
	Payload []byte
	// Files is what the Handler's files read.
	Files fs.FS
	// Preload names files and directories (with everything below them) of Files that go with
	// the job, so that reading them costs no round trip; the Handler reads others on demand.
	Preload []string
	// Timeout is the job's time budget in the worker.
	Timeout time.Duration
}

// BudgetError says that a job was stopped because it went over its time budget, or its worker
// over its memory budget. The worker process (PID) was killed and is gone.
type BudgetError struct {
	// Memory is true for the memory budget, false for the time budget.
	Memory      bool
	Timeout     time.Duration
	MemoryLimit int64
	PID         int
}

func (e *BudgetError) Error() string {
	if e.Memory {
		return fmt.Sprintf("exceeded its memory budget of %s", manifest.FormatBytes(e.MemoryLimit))
	}
	return fmt.Sprintf("exceeded its time budget of %s", e.Timeout)
}

// JobError is the error a worker's Handler returned, with its message as it was.
type JobError struct{ Message string }

func (e *JobError) Error() string { return e.Message }

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("the render worker pool is closed")

// Pool runs jobs in worker processes. It is safe for concurrent use.
type Pool struct {
	opts Options
	// slots hold one entry per worker: an idle process, or nil for one not started yet (or
	// being replaced). Taking an entry is the right to run a job.
	slots  chan *process
	closed chan struct{}

	mu        sync.Mutex
	processes map[*process]struct{} // every live worker, for Close
	isClosed  bool
}

// NewPool returns a Pool; workers start on first use and are reused from then on.
func NewPool(opts Options) *Pool {
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.MemoryLimit <= 0 {
		opts.MemoryLimit = defaultMemoryLimit
	}
	if opts.MaxResultBytes <= 0 {
		opts.MaxResultBytes = 64 << 20
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 10 * time.Millisecond
	}
	p := &Pool{opts: opts, slots: make(chan *process, opts.Workers), closed: make(chan struct{}),
		processes: map[*process]struct{}{}}
	for range opts.Workers {
		p.slots <- nil
	}
	return p
}

// Run runs job on an idle worker, waiting for one while ctx allows. A job that ctx gives up on
// goes on within its budget, so that its worker is not lost; a job over budget is killed with its
// worker, and Run returns a *BudgetError. The worker's Handler error comes back as a *JobError.
func (p *Pool) Run(ctx context.Context, job Job) ([]byte, error) {
	var proc *process
	select {
	case proc = <-p.slots:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.closed:
		return nil, ErrClosed
	}
	if proc == nil || !proc.alive() {
		var err error
		if proc, err = p.start(); err != nil {
			p.slots <- nil
			return nil, err
		}
	}
	done := make(chan outcome, 1)
	go func() { done <- p.supervise(proc, job) }()
	select {
	case o := <-done:
		return o.result, o.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type outcome struct {
	result []byte
	err    error
}

// supervise runs job on proc within its budgets, then gives the worker back (or a replacement).
func (p *Pool) supervise(proc *process, job Job) outcome {
	replies := make(chan reply, 1)
	go func() { replies <- proc.serve(job) }()
	timer := time.NewTimer(job.Timeout)
	defer timer.Stop()
	poll := time.NewTicker(p.opts.PollInterval)
	defer poll.Stop()
	for {
		select {
		case r := <-replies:
			if r.broken == nil {
				p.release(proc)
				return outcome{r.result, r.failed}
			}
			return p.broken(proc, r.broken)
		case <-proc.exited:
			select {
			case r := <-replies: // it answered, then died: the answer counts, the worker not
				if r.broken == nil {
					p.replace(proc)
					return outcome{r.result, r.failed}
				}
			default:
			}
			return p.broken(proc, errors.New("the render worker exited"))
		case <-timer.C:
			proc.kill()
			p.replace(proc)
			return outcome{err: &BudgetError{Timeout: job.Timeout, PID: proc.pid()}}
		case <-poll.C:
			if rss, err := residentBytes(proc.pid()); err == nil && rss > p.opts.MemoryLimit {
				proc.kill()
				p.replace(proc)
				return outcome{err: &BudgetError{Memory: true, MemoryLimit: p.opts.MemoryLimit, PID: proc.pid()}}
			}
		}
	}
}

// broken ends a job whose worker died or broke the protocol, and says why.
func (p *Pool) broken(proc *process, err error) outcome {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// The pipe ends a moment before the process is reaped: give it that moment, to tell
		// why it died (out of memory, say).
		select {
		case <-proc.exited:
		case <-time.After(time.Second):
		}
	}
	proc.kill() // if still there: a worker that broke the protocol is not trusted again
	if cause := proc.died(); errors.Is(cause, errOutOfMemory) {
		err = &BudgetError{Memory: true, MemoryLimit: p.opts.MemoryLimit, PID: proc.pid()}
	} else if cause != nil {
		err = cause
	}
	p.replace(proc)
	return outcome{err: err}
}

// reply is what came back from a worker for one job: a result, the job's own failure, or a
// broken worker (gone, or not speaking the protocol).
type reply struct {
	result []byte
	failed error
	broken error
}

// serve sends job to the worker and answers its file calls until it replies.
func (proc *process) serve(job Job) reply {
	preloaded := preload(job.Files, job.Preload, maxPreloadBytes)
	if err := proc.conn.send(&frame{Job: job.Payload, Preload: preloaded}); err != nil {
		return reply{broken: err}
	}
	for {
		f, err := proc.conn.receive()
		switch {
		case err != nil:
			return reply{broken: err}
		case f.Call != nil:
			if err := proc.conn.send(&frame{Reply: serveCall(job.Files, f.Call)}); err != nil {
				return reply{broken: err}
			}
		case f.Failed != "":
			return reply{failed: &JobError{Message: f.Failed}}
		default:
			return reply{result: f.Result}
		}
	}
}

func (p *Pool) start() (*process, error) {
	proc, err := start(p.opts)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isClosed {
		go proc.stop()
		return nil, ErrClosed
	}
	p.processes[proc] = struct{}{}
	return proc, nil
}

// release gives a healthy worker back.
func (p *Pool) release(proc *process) {
	p.slots <- proc
}

// replace forgets a killed or dead worker and starts its successor in the background, so that
// the next job does not wait for the start.
func (p *Pool) replace(proc *process) {
	p.mu.Lock()
	delete(p.processes, proc)
	p.mu.Unlock()
	go func() {
		next, err := p.start()
		if err != nil {
			next = nil // the next Run tries again and reports the error
		}
		p.slots <- next
	}()
}

// Close stops every worker, busy or not; jobs in flight fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.isClosed {
		p.mu.Unlock()
		return nil
	}
	p.isClosed = true
	close(p.closed)
	procs := make([]*process, 0, len(p.processes))
	for proc := range p.processes {
		procs = append(procs, proc)
	}
	p.mu.Unlock()
	for _, proc := range procs {
		proc.stop()
	}
	return nil
}

// PIDs lists the worker processes running now.
func (p *Pool) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	pids := make([]int, 0, len(p.processes))
	for proc := range p.processes {
		pids = append(pids, proc.pid())
	}
	sort.Ints(pids)
	return pids
}
