package worker

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// sysProcAttr makes a worker die with the server: the kernel kills it when its parent exits.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// takeStdout moves the protocol's stdout to a descriptor of its own and points descriptor 1 at
// stderr.
func takeStdout() (*os.File, error) {
	fd, err := unix.Dup(1)
	if err != nil {
		return nil, fmt.Errorf("duplicate stdout: %w", err)
	}
	unix.CloseOnExec(fd)
	if err := unix.Dup2(2, 1); err != nil {
		return nil, fmt.Errorf("point stdout at stderr: %w", err)
	}
	return os.NewFile(uintptr(fd), "protocol"), nil
}

// limitMemory makes this worker the kernel's first choice when the server's cgroup runs out of
// memory (so the server survives), and caps its address space at what it uses now plus limit:
// an allocation beyond that fails at once with the Go runtime's "out of memory", before the
// parent's watchdog would have seen it.
func limitMemory(limit int64) error {
	// Raising one's own oom_score_adj needs no privilege; failing to is not fatal.
	_ = os.WriteFile("/proc/self/oom_score_adj", []byte("1000"), 0)
	if raceDetector {
		return nil
	}
	size, err := statusField(os.Getpid(), "VmSize:")
	if err != nil {
		return err
	}
	cap := uint64(size + addressSpaceFactor*limit)
	return unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: cap, Max: cap})
}

// residentBytes returns the memory a process has allocated and touched (RssAnon): its heap and
// stacks, not the pages of its program file, which it shares with the server that started it.
func residentBytes(pid int) (int64, error) {
	return statusField(pid, "RssAnon:")
}

// statusField reads a "kB" field of /proc/PID/status, in bytes.
func statusField(pid int, field string) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		line := s.Bytes()
		if rest, ok := bytes.CutPrefix(line, []byte(field)); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte("kB")))), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status %s %q: %w", pid, field, rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}
