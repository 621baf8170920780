package awstest

import "syscall"

// childAttr puts a child in its own process group, so stopping it stops what
// it started, and has the kernel kill it if this program dies without
// cleaning up.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
