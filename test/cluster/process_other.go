//go:build !linux

package cluster

import "syscall"

// sysProcAttr puts a child in its own process group (Pdeathsig exists only on Linux).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
