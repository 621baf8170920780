//go:build !linux

package main

import "syscall"

// childAttr puts a child in its own process group, so stopping it stops what
// it started. (The scenarios need Linux: aws-lambda-rie and /proc.)
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
