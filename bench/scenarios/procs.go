package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cleanups are the stops of everything the program started, run in reverse
// order on every exit path: success, failure, SIGINT or SIGTERM.
type cleanups struct {
	mu  sync.Mutex
	fns []func()
}

func (c *cleanups) add(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, f)
}

// run runs every registered function once, newest first.
func (c *cleanups) run() {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// proc is a started child process in its own process group, so stopping
// it also stops what it started (the pyenv shim's python, rie's bootstrap).
type proc struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
}

// startProc starts cmd in a new process group (see childAttr) and registers
// its stop.
func startProc(cl *cleanups, name string, cmd *exec.Cmd) (*proc, error) {
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	cl.add(p.stop)
	return p, nil
}

// stop ends the process group: SIGTERM, then SIGKILL after 3 s.
func (p *proc) stop() {
	p.once.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(3 * time.Second):
		}
		// Also whatever of the group outlived its leader.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	})
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// freePort returns a loopback port that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}

// waitListening waits until addr accepts connections or p exits.
func waitListening(ctx context.Context, p *proc, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before listening on %s", p.name, addr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not listen on %s within %s: %v", p.name, addr, within, err)
		}
	}
}

// motoServer is a running moto_server.
type motoServer struct {
	*proc
	url string
	bin string
}

func (m *motoServer) path() string { return m.bin }

// startMoto runs moto_server on a free loopback port.
func startMoto(ctx context.Context, cl *cleanups, dir string) (*motoServer, error) {
	path, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server is not on PATH (%v): the scenarios need moto's Secrets Manager; install it with pip install 'moto[server]==5.2.*' (`make tools` checks for it)", err)
	}
	var lastErr error
	for attempt := range 3 { // a free port can be taken between picking and binding
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		logPath := filepath.Join(dir, fmt.Sprintf("moto-%d.log", attempt))
		logf, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(path, "-H", "127.0.0.1", "-p", port)
		cmd.Stdout, cmd.Stderr = logf, logf
		p, err := startProc(cl, "moto_server", cmd)
		logf.Close()
		if err != nil {
			return nil, err
		}
		u := "http://127.0.0.1:" + port
		if lastErr = waitMotoReady(ctx, p, u); lastErr == nil {
			return &motoServer{proc: p, url: u, bin: path}, nil
		}
		p.stop()
		out, _ := os.ReadFile(logPath)
		lastErr = fmt.Errorf("moto_server: %w; it said: %s", lastErr, tail(string(out), 20))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func waitMotoReady(ctx context.Context, p *proc, u string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u+"/moto-api/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-p.exited:
			return errors.New("it exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("no answer within 60 s")
}

// goTool is the go command to build with: the one on PATH, as `make` and
// `go run` use.
func goTool() (string, error) {
	path, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is not on PATH: %w", err)
	}
	return path, nil
}

// moduleRoot finds the metamint module from the working directory.
func moduleRoot(goBin string) (string, error) {
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	b, err := os.ReadFile(gomod)
	if gomod == "" || gomod == os.DevNull || err != nil || !bytes.Contains(b, []byte("module github.com/metamint/metamint\n")) {
		return "", errors.New("run this from the metamint repository (go run ./bench/scenarios)")
	}
	return filepath.Dir(gomod), nil
}

// goBuild builds pkg into out with extra environment (GOOS, GOARCH, ...)
// and the flags our artifacts ship with.
func goBuild(ctx context.Context, goBin, root, out, pkg string, env []string, tags string) error {
	args := []string{"build"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	args = append(args, "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", strings.Join(env, " "), strings.Join(cmd.Args, " "), err, b)
	}
	return nil
}

// rieBinary finds aws-lambda-rie and its module version.
func rieBinary() (path, version string, err error) {
	path, err = exec.LookPath("aws-lambda-rie")
	if err != nil {
		return "", "", fmt.Errorf("aws-lambda-rie is not on PATH (%v): run `make tools` (it installs the pinned version into .tools/bin, which the Makefile puts on PATH) or "+
			"go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d", err)
	}
	version = "unknown version"
	if bi, err := buildinfo.ReadFile(path); err == nil && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	return path, version, nil
}

// rie is aws-lambda-rie serving the bootstrap.
type rie struct {
	*proc
	url string
	log string
}

// startRIE runs bootstrap under aws-lambda-rie with a clean environment
// plus env, both of its addresses on free loopback ports.
func startRIE(ctx context.Context, cl *cleanups, riePath, bootstrap, logPath string, env map[string]string) (*rie, error) {
	var lastErr error
	for range 3 {
		apiPort, err := freePort()
		if err != nil {
			return nil, err
		}
		runtimePort, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + apiPort
		cmd := exec.Command(riePath, "--runtime-interface-emulator-address", addr,
			"--runtime-api-address", "127.0.0.1:"+runtimePort, bootstrap)
		cmd.Dir = filepath.Dir(bootstrap)
		base := map[string]string{
			"PATH":                            os.Getenv("PATH"),
			"AWS_REGION":                      "us-east-1",
			"AWS_ACCESS_KEY_ID":               "test",
			"AWS_SECRET_ACCESS_KEY":           "test",
			"AWS_EC2_METADATA_DISABLED":       "true",
			"AWS_CONFIG_FILE":                 os.DevNull,
			"AWS_SHARED_CREDENTIALS_FILE":     os.DevNull,
			"AWS_LAMBDA_LOG_FORMAT":           "JSON",
			"AWS_LAMBDA_FUNCTION_TIMEOUT":     "900",
			"AWS_LAMBDA_FUNCTION_NAME":        "metamint",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		}
		for k, v := range env {
			base[k] = v
		}
		for k, v := range base {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		logf, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		p, err := startProc(cl, "aws-lambda-rie", cmd)
		logf.Close()
		if err != nil {
			return nil, err
		}
		if lastErr = waitListening(ctx, p, addr, 15*time.Second); lastErr == nil {
			return &rie{proc: p, url: "http://" + addr + "/2015-03-31/functions/function/invocations", log: logPath}, nil
		}
		p.stop()
		out, _ := os.ReadFile(logPath)
		lastErr = fmt.Errorf("%w\n%s", lastErr, tail(string(out), 20))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// invoke posts payload to the function and returns rie's answer.
func (r *rie) invoke(ctx context.Context, payload []byte) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(payload))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("invoking the function under rie: %w", ctx.Err())
		}
		return nil, 0, fmt.Errorf("invoking the function under rie: %w\n%s", err, r.logTail(30))
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, err = body.ReadFrom(resp.Body)
	took := time.Since(start)
	if err != nil {
		return nil, took, fmt.Errorf("reading rie's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return body.Bytes(), took, fmt.Errorf("rie answered HTTP %d: %.500s\n%s", resp.StatusCode, body.Bytes(), r.logTail(30))
	}
	return body.Bytes(), took, nil
}

func (r *rie) logTail(n int) string {
	b, _ := os.ReadFile(r.log)
	return "rie log (" + r.log + "), last lines:\n" + tail(string(b), n)
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// initDuration is rie's INIT REPORT: from exec of the bootstrap to its
// first request for an event.
func (r *rie) initDuration() (time.Duration, error) {
	b, err := os.ReadFile(r.log)
	if err != nil {
		return 0, err
	}
	return parseInitReport(string(b))
}

func parseInitReport(log string) (time.Duration, error) {
	m := initReport.FindStringSubmatch(log)
	if m == nil {
		return 0, errors.New("no INIT REPORT line in rie's log")
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(f * float64(time.Millisecond)), nil
}

// bootstrapPID is the pid of rie's child, the function process.
func (r *rie) bootstrapPID() (int, error) {
	kids := childPIDs(r.pid())
	if len(kids) != 1 {
		return 0, fmt.Errorf("aws-lambda-rie (pid %d) has %d child processes; want the bootstrap alone", r.pid(), len(kids))
	}
	return kids[0], nil
}

// childPIDs lists the processes whose parent is ppid.
func childPIDs(ppid int) []int {
	entries, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err == nil && st.ppid == ppid {
			kids = append(kids, pid)
		}
	}
	return kids
}

// procStat is the part of /proc/<pid>/stat we use.
type procStat struct {
	ppid         int
	utime, stime int64 // clock ticks
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

// parseStat reads /proc/<pid>/stat: "pid (comm) state ppid ... utime stime
// ...", comm possibly holding spaces and parentheses.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return procStat{}, errors.New("short /proc stat")
	}
	var st procStat
	var err1, err2, err3 error
	st.ppid, err1 = strconv.Atoi(f[1])
	st.utime, err2 = strconv.ParseInt(f[11], 10, 64)
	st.stime, err3 = strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return procStat{}, fmt.Errorf("malformed /proc stat: %w", err)
	}
	return st, nil
}

// vmHWM is the process's peak resident set size in bytes.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// clockTicks is the kernel's USER_HZ, the unit of utime and stime, from
// the auxiliary vector (AT_CLKTCK); 100 when it cannot be read.
func clockTicks() int64 {
	const atClkTck = 17
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 100
	}
	for i := 0; i+16 <= len(b); i += 16 {
		k := binary.NativeEndian.Uint64(b[i:])
		if k == atClkTck {
			if v := int64(binary.NativeEndian.Uint64(b[i+8:])); v > 0 {
				return v
			}
		}
	}
	return 100
}

// cpuTime is the process's utime+stime.
func cpuTime(pid int) (time.Duration, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return time.Duration(st.utime+st.stime) * time.Second / time.Duration(clockTicks()), nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
