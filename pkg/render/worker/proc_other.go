//go:build !linux

package worker

import (
	"errors"
	"os"
	"syscall"
)

// Elsewhere than Linux a worker has only its GOMEMLIMIT and the time budget: there is no
// /proc to watch its memory, and no parent-death signal.

func sysProcAttr() *syscall.SysProcAttr { return nil }

func takeStdout() (*os.File, error) { return os.Stdout, nil }

func limitMemory(int64) error { return nil }

func residentBytes(int) (int64, error) {
	return 0, errors.New("resident memory is read from /proc, which this system lacks")
}
