package worker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// process is one running worker.
type process struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	conn   *conn
	stderr *stderrScan
	exited chan struct{} // closed once the process has exited and been reaped

	mu     sync.Mutex
	killed bool // by the pool, on purpose
}

func start(opts Options) (*process, error) {
	command := opts.Command
	if len(command) == 0 {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find this program to start a render worker: %w", err)
		}
		command = []string{self, Command}
	}
	program := command[0]
	if strings.Contains(program, "/") && !filepath.IsAbs(program) {
		// The worker runs in "/": a relative path would be resolved from there.
		if abs, err := filepath.Abs(program); err == nil {
			program = abs
		}
	}
	cmd := exec.Command(program, command[1:]...)
	// A worker needs no environment from the server (which may hold credentials): only its
	// memory budget, and the runtime's soft limit below it.
	cmd.Env = []string{
		memoryLimitEnv + "=" + strconv.FormatInt(opts.MemoryLimit, 10),
		"GOMEMLIMIT=" + strconv.FormatInt(opts.MemoryLimit*softLimitPercent/100, 10),
	}
	cmd.Dir = "/"
	cmd.SysProcAttr = sysProcAttr()
	p := &process{cmd: cmd, stderr: &stderrScan{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start a render worker (%s): %w", strings.Join(command, " "), err)
	}
	p.stdin = stdin
	p.conn = newConn(stdout, stdin, opts.MaxResultBytes)
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill stops the worker at once, if it is still there, and waits until it is gone (reaped: its
// PID no longer exists).
func (p *process) kill() {
	if p.alive() {
		p.mu.Lock()
		p.killed = true
		p.mu.Unlock()
		_ = p.cmd.Process.Kill()
	}
	<-p.exited
}

func (p *process) wasKilled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.killed
}

// stop ends an idle worker: closing stdin ends its loop; kill makes sure.
func (p *process) stop() {
	_ = p.stdin.Close()
	p.kill()
}

// died says why a worker is gone: the Go runtime's out of memory (its address space cap), the
// kernel's OOM killer (SIGKILL from no one else), a crash, or nil when the pool killed it.
func (p *process) died() error {
	<-p.exited
	if p.stderr.sawOutOfMemory() {
		return errOutOfMemory
	}
	state := p.cmd.ProcessState
	ws, ok := state.Sys().(syscall.WaitStatus)
	killedBySignal := ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
	switch {
	case killedBySignal && p.wasKilled():
		return nil
	case killedBySignal:
		return errOutOfMemory
	}
	return fmt.Errorf("the render worker (pid %d) stopped unexpectedly (%s)", p.pid(), state)
}

var errOutOfMemory = errors.New("out of memory")

// stderrScan watches what a worker writes to stderr for the Go runtime's "out of memory" (its
// address space cap at work), across writes. The rest is dropped: it is never shown to users, as
// it may quote what was being rendered, and a crash prints stacks that are no use to them.
type stderrScan struct {
	mu          sync.Mutex
	carry       []byte // the end of the last write, for a phrase split across two
	outOfMemory bool
}

const outOfMemoryPhrase = "out of memory"

func (s *stderrScan) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	window := append(s.carry, b...)
	if bytes.Contains(window, []byte(outOfMemoryPhrase)) {
		s.outOfMemory = true
	}
	keep := min(len(window), len(outOfMemoryPhrase)-1)
	s.carry = append(s.carry[:0], window[len(window)-keep:]...)
	return len(b), nil
}

func (s *stderrScan) sawOutOfMemory() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outOfMemory
}
