package awstest

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/version"
)

// RIEVersion is the pinned aws-lambda-rie, as `make tools` installs it.
const RIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"

// RIEPath finds aws-lambda-rie on PATH or in .tools/bin of the module root,
// and reads its module version ("unknown version" if it cannot). A missing
// binary is an error naming aws-lambda-rie and `make tools`.
func RIEPath() (path, version string, err error) {
	path, err = lookTool("aws-lambda-rie")
	if err != nil {
		return "", "", fmt.Errorf("awstest: aws-lambda-rie is not on PATH nor in .tools/bin (%v): run `make tools` (it installs the pinned version into .tools/bin) or "+
			"go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@%s", err, RIEVersion)
	}
	version = "unknown version"
	if bi, err := buildinfo.ReadFile(path); err == nil && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	return path, version, nil
}

// BuildVersion is the version GoBuild names its builds with
// (version.Flag), as the release builds name theirs.
const BuildVersion = "v0.0.0-awstest"

// GoBuild builds pkg (relative to the module root, for example
// "./cmd/lambda") into out as the artifacts ship: CGO_ENABLED=0, -trimpath,
// -ldflags "-s -w" and the build's name (BuildVersion), with tags ("" for
// none) and extra environment such as "GOOS=linux" or "GOARCH=arm64".
func GoBuild(ctx context.Context, out, pkg, tags string, env ...string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("awstest: the go command is not on PATH: %w", err)
	}
	args := []string{"build"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	args = append(args, "-trimpath", "-ldflags", "-s -w "+version.Flag(BuildVersion), "-o", out, pkg)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("awstest: %s go %s: %w\n%s", strings.Join(env, " "), strings.Join(args, " "), err, b)
	}
	return nil
}

// BuildBootstrap builds ./cmd/lambda as the Lambda ships it (GOOS=linux
// CGO_ENABLED=0 -tags lambda.norpc -trimpath -ldflags "-s -w -X ...") into out,
// for the machine's architecture.
func BuildBootstrap(ctx context.Context, out string) error {
	return GoBuild(ctx, out, "./cmd/lambda", "lambda.norpc", "GOOS=linux")
}

var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Bootstrap builds ./cmd/lambda once per process (see BuildBootstrap) into
// a temporary directory and returns its path; Shutdown removes it. A failed
// build fails the test.
func Bootstrap(tb testing.TB) string {
	tb.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "metamint-bootstrap-")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "bootstrap")
		built.err = BuildBootstrap(context.Background(), built.path)
	})
	if built.err != nil {
		tb.Fatalf("building the bootstrap: %v", built.err)
	}
	return built.path
}

func removeBuilt() {
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
}

// RIE is aws-lambda-rie running a bootstrap. Its methods are safe for
// concurrent use.
type RIE struct {
	// URL is the function's invocation endpoint,
	// http://127.0.0.1:PORT/2015-03-31/functions/function/invocations.
	URL string

	p   *process
	out *Buffer
}

// RIEConfig is how StartRIE runs a bootstrap. The zero value runs
// Bootstrap with the base environment.
type RIEConfig struct {
	// Bootstrap is the function's executable (required).
	Bootstrap string
	// Env is added to, and overrides, the base environment: PATH,
	// AWS_REGION=us-east-1, test credentials, no EC2 metadata, no shared
	// config files, AWS_LAMBDA_LOG_FORMAT=JSON,
	// AWS_LAMBDA_FUNCTION_TIMEOUT=60, AWS_LAMBDA_FUNCTION_NAME=metamint,
	// AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128. Nothing else of this process's
	// environment reaches the function.
	Env map[string]string
	// Log, when set, also receives rie's and the function's output (it is
	// always kept for Output).
	Log io.Writer
}

// StartRIE runs cfg.Bootstrap under aws-lambda-rie, its emulator address
// (--runtime-interface-emulator-address) and runtime API address
// (--runtime-api-address) both on free loopback ports, and waits until it
// listens. The caller must call Close.
func StartRIE(ctx context.Context, cfg RIEConfig) (*RIE, error) {
	path, _, err := RIEPath()
	if err != nil {
		return nil, err
	}
	if cfg.Bootstrap == "" {
		return nil, errors.New("awstest: StartRIE: RIEConfig.Bootstrap is empty")
	}
	env := map[string]string{
		"PATH":                            os.Getenv("PATH"),
		"AWS_REGION":                      "us-east-1",
		"AWS_ACCESS_KEY_ID":               "test",
		"AWS_SECRET_ACCESS_KEY":           "test",
		"AWS_EC2_METADATA_DISABLED":       "true",
		"AWS_CONFIG_FILE":                 os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE":     os.DevNull,
		"AWS_LAMBDA_LOG_FORMAT":           "JSON",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "60",
		"AWS_LAMBDA_FUNCTION_NAME":        "metamint",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
	}
	for k, v := range cfg.Env {
		env[k] = v
	}
	var lastErr error
	for range 3 { // a free port can be taken between picking and binding
		apiPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		runtimePort, err := FreePort()
		if err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + apiPort
		cmd := exec.Command(path, "--runtime-interface-emulator-address", addr,
			"--runtime-api-address", "127.0.0.1:"+runtimePort, cfg.Bootstrap)
		cmd.Dir = filepath.Dir(cfg.Bootstrap)
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out := &Buffer{}
		var w io.Writer = out
		if cfg.Log != nil {
			w = io.MultiWriter(out, cfg.Log)
		}
		cmd.Stdout, cmd.Stderr = w, w
		p, err := startProcess("aws-lambda-rie", cmd)
		if err != nil {
			return nil, err
		}
		r := &RIE{URL: "http://" + addr + "/2015-03-31/functions/function/invocations", p: p, out: out}
		if lastErr = waitListening(ctx, p, addr, 15*time.Second); lastErr == nil {
			return r, nil
		}
		p.stop()
		lastErr = fmt.Errorf("awstest: %w\n%s", lastErr, Tail(out.String(), 20))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// NewRIE starts an RIE for one test (see StartRIE) and stops it when the
// test ends, even when it fails. A missing aws-lambda-rie fails the test
// naming it.
func NewRIE(tb testing.TB, cfg RIEConfig) *RIE {
	tb.Helper()
	r, err := StartRIE(tb.Context(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.Close)
	return r
}

// waitListening waits until addr accepts connections or p exits.
func waitListening(ctx context.Context, p *process, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close() // a probe that wrote nothing: its close loses nothing
			return nil
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-p.exited:
			t.Stop()
			return fmt.Errorf("%s exited before listening on %s", p.name, addr)
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not listen on %s within %s: %v", p.name, addr, within, err)
		}
	}
}

// Close stops aws-lambda-rie and the function (its process group).
func (r *RIE) Close() { r.p.stop() }

// Output returns what rie and the function printed so far, for canary
// checks; it stays readable after Close.
func (r *RIE) Output() string { return r.out.String() }

// PID is aws-lambda-rie's process ID.
func (r *RIE) PID() int { return r.p.cmd.Process.Pid }

// Invocation is rie's answer to one invocation. rie answers HTTP 200 for a
// function error too: ErrorType and ErrorMessage are then set.
type Invocation struct {
	Status       int    // rie's HTTP status
	Body         []byte // the function's response, or its error object
	ErrorType    string // the error object's errorType
	ErrorMessage string // the error object's errorMessage
	Took         time.Duration
}

// Invoke posts payload to the function and returns rie's answer. The error
// is for a failed exchange with rie (with the tail of its output), not for
// a function error.
func (r *RIE) Invoke(ctx context.Context, payload []byte) (*Invocation, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("awstest: invoking the function under aws-lambda-rie: %w", ctx.Err())
		}
		return nil, fmt.Errorf("awstest: invoking the function under aws-lambda-rie: %w\nrie's output, last lines:\n%s", err, Tail(r.Output(), 30))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	inv := &Invocation{Status: resp.StatusCode, Body: body, Took: time.Since(start)}
	if err != nil {
		return inv, fmt.Errorf("awstest: reading aws-lambda-rie's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return inv, fmt.Errorf("awstest: aws-lambda-rie answered HTTP %d: %.500s\nrie's output, last lines:\n%s", resp.StatusCode, body, Tail(r.Output(), 30))
	}
	var e struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &e) == nil {
		inv.ErrorType, inv.ErrorMessage = e.ErrorType, e.ErrorMessage
	}
	return inv, nil
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// InitDuration is the cold start rie measured: from exec of the bootstrap
// to its first request for an event (rie's INIT REPORT line; the REPORT
// line's "Init Duration" does not wait for the runtime). rie prints it
// before the first invocation is answered, but its output reaches Output a
// moment later: InitDuration waits for the line until rie exits or ctx ends.
func (r *RIE) InitDuration(ctx context.Context) (time.Duration, error) {
	out, _ := r.out.waitFor(ctx, r.p.exited, initReport.MatchString)
	return ParseInitReport(out)
}

// ParseInitReport reads rie's INIT REPORT duration from its output.
func ParseInitReport(out string) (time.Duration, error) {
	m := initReport.FindStringSubmatch(out)
	if m == nil {
		return 0, errors.New("awstest: no INIT REPORT line in aws-lambda-rie's output")
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("awstest: INIT REPORT: %w", err)
	}
	return time.Duration(f * float64(time.Millisecond)), nil
}

// FunctionPID is the process ID of rie's child, the function process
// (Linux: read from /proc).
func (r *RIE) FunctionPID() (int, error) {
	var kids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ..., comm possibly holding spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(string(b[i+1:])); len(f) >= 2 && f[1] == strconv.Itoa(r.PID()) {
			kids = append(kids, pid)
		}
	}
	if len(kids) != 1 {
		return 0, fmt.Errorf("awstest: aws-lambda-rie (pid %d) has %d child processes; want the bootstrap alone", r.PID(), len(kids))
	}
	return kids[0], nil
}
