package cluster

import "syscall"

// sysProcAttr puts a child in its own process group and has the kernel kill it if the thread that
// started it dies, so a crashed test leaves no control plane behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
