package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/metamint/metamint/internal/awstest"
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

// rieRun is the function under a fresh aws-lambda-rie for one measurement.
type rieRun struct {
	*awstest.RIE
	log  string
	once sync.Once
}

// startRIE runs bin under aws-lambda-rie with env (and the function timeout
// a fleet run needs), registers its stop, and writes rie's output to logPath
// when stopped (kept with -keep).
func (l *lab) startRIE(ctx context.Context, bin, logPath string, env map[string]string) (*rieRun, error) {
	all := map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "900"}
	for k, v := range env {
		all[k] = v
	}
	r, err := awstest.StartRIE(ctx, awstest.RIEConfig{Bootstrap: bin, Env: all})
	if err != nil {
		return nil, err
	}
	run := &rieRun{RIE: r, log: logPath}
	l.cl.add(run.stop)
	return run, nil
}

// stop stops rie and the function, and writes the log; safe to call again.
func (r *rieRun) stop() {
	r.once.Do(func() {
		r.Close()
		_ = os.WriteFile(r.log, []byte(r.Output()), 0o600)
	})
}

// invoke posts payload to the function and returns its answer and the wall
// time of the invocation; a function error is an error.
func (r *rieRun) invoke(ctx context.Context, payload []byte) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	inv, err := r.Invoke(ctx, payload)
	if err != nil {
		return nil, 0, err
	}
	return inv.Body, inv.Took, nil
}
