package awstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is a started child in its own process group, so stopping it also
// stops what it started (the pyenv shim's python, rie's bootstrap).
type process struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
}

// startProcess starts cmd in a new process group (see childAttr).
func startProcess(name string, cmd *exec.Cmd) (*process, error) {
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("awstest: starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// stop ends the process group: SIGTERM, then SIGKILL after 3 s, and waits
// for the leader. It is safe to call more than once and concurrently.
func (p *process) stop() {
	p.once.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		t := time.NewTimer(3 * time.Second)
		select {
		case <-p.exited:
		case <-t.C:
		}
		t.Stop()
		// Also whatever of the group outlived its leader.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	})
}

// FreePort returns a loopback TCP port that was free a moment ago. Another
// process can take it before the caller binds it: callers retry.
func FreePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("awstest: picking a free port: %w", err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}

// Buffer is a bytes.Buffer safe for concurrent use: a child's stdout and
// stderr, written while a test reads it. The zero value is ready to use.
type Buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced by every Write
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

// waitFor waits until cond holds for the content, done is closed, or ctx
// ends; it returns the content and whether cond held.
func (s *Buffer) waitFor(ctx context.Context, done <-chan struct{}, cond func(string) bool) (string, bool) {
	for {
		s.mu.Lock()
		out := s.b.String()
		if cond(out) {
			s.mu.Unlock()
			return out, true
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-done:
			out = s.String()
			return out, cond(out)
		case <-ctx.Done():
			return s.String(), false
		}
	}
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Tail returns the last n lines of s, for error messages.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

const modulePath = "github.com/metamint/metamint"

// ModuleRoot returns the directory of the metamint module, found from the
// working directory upwards (go test runs in the package directory; go run
// ./bench/scenarios in the module root).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("awstest: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("awstest: not inside the metamint module (no go.mod naming " + modulePath + " above the working directory)")
		}
		dir = parent
	}
}

// lookTool finds name on PATH, then in .tools/bin of the module root
// (where `make tools` installs it).
func lookTool(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err == nil {
		return path, nil
	}
	if root, rerr := ModuleRoot(); rerr == nil {
		p := filepath.Join(root, ".tools", "bin", name)
		if st, serr := os.Stat(p); serr == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", err
}
