package promtest

import "syscall"

// sysProcAttr makes the kernel kill the server when the test process dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
