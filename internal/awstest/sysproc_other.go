//go:build !linux

package awstest

import "syscall"

// childAttr puts a child in its own process group, so stopping it stops what
// it started. (aws-lambda-rie and the bench need Linux.)
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
