package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint/minttest"
)

// buildBinary compiles the program as the Dockerfile does into dir, and
// links it as dir/post, the name the post step runs it under.
func buildBinary(tb testing.TB, dir string) string {
	tb.Helper()
	bin := filepath.Join(dir, "metamint-action")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	if err := os.Symlink("metamint-action", filepath.Join(dir, postName)); err != nil {
		tb.Fatal(err)
	}
	return bin
}

// step is one run of the built program as the runner starts it.
type step struct {
	code    int
	stdout  string
	stderr  string
	outputs map[string]string
	saved   map[string]string
	summary string
	output  string
}

// runBinary runs the program at path the way the runner starts a container
// action: every input action.yml declares, defaults included, with env on
// top (runnerEnv), fresh file command files, no other variable, no
// arguments unless given; commands on stdout.
func runBinary(t *testing.T, path string, env map[string]string, args ...string) step {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	for _, k := range []string{"GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"} {
		files[k] = filepath.Join(dir, strings.ToLower(k))
		if err := os.WriteFile(files[k], nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), path, args...)
	cmd.Env = []string{}
	for k, v := range files {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range runnerEnv(t, env) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	s := step{stdout: stdout.String(), stderr: stderr.String()}
	switch {
	case errors.As(err, &exit):
		s.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", path, err)
	}
	s.output = readFile(t, files["GITHUB_OUTPUT"])
	s.outputs = parseFileCommands(t, s.output)
	s.saved = parseFileCommands(t, readFile(t, files["GITHUB_STATE"]))
	s.summary = readFile(t, files["GITHUB_STEP_SUMMARY"])
	return s
}

func (s step) result() result {
	return result{stdout: s.stdout, output: s.output, outputs: s.outputs, saved: s.saved, summary: s.summary}
}

// TestBinary builds the program and runs it as the runner does, main step
// then post step, against the emulator.
func TestBinary(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	post := filepath.Join(dir, postName)

	t.Run("mint then revoke", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		in := w.inputs()
		in["INPUT_INSTALL-APP"] = "true"
		m := runBinary(t, bin, in)
		if m.code != 0 {
			t.Fatalf("main exit code = %d; want 0\nstdout:\n%s\nstderr:\n%s", m.code, m.stdout, m.stderr)
		}
		if m.stderr != "" {
			t.Errorf("main stderr = %q; want empty", m.stderr)
		}
		tok := onlyMinted(t, w)
		if got := m.outputs[outToken]; got != tok.Value {
			t.Errorf("token output is not the minted token")
		}
		if got, want := m.outputs[outExpiresAt], tok.ExpiresAt.UTC().Truncate(time.Second).Format(time.RFC3339); got != want {
			t.Errorf("expires-at output = %q; want %q", got, want)
		}
		checkMasksFirst(t, w, in, m.result())
		checkNoLeaks(t, w.secrets(), m.result())
		golden(t, "binary_main.stdout", normalize(w, m.stdout))
		golden(t, "binary_main.output", normalize(w, m.output))
		golden(t, "binary_main.summary", normalize(w, m.summary))

		env := postEnv(in, m.result())
		p := runBinary(t, post, env)
		if p.code != 0 {
			t.Fatalf("post exit code = %d; want 0\nstdout:\n%s", p.code, p.stdout)
		}
		if st, _ := w.srv.Token(tok.Value); !st.Revoked {
			t.Errorf("after the post step the token is not revoked\nstdout:\n%s", p.stdout)
		}
		checkMasksFirst(t, w, env, p.result())
		checkNoLeaks(t, w.secrets(), p.result())
		golden(t, "binary_post.stdout", normalize(w, p.stdout))
	})

	t.Run("post by argument without state", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		p := runBinary(t, bin, w.inputs(), "post")
		if p.code != 0 || !strings.Contains(p.stdout, "No token to revoke") {
			t.Errorf("post exit code = %d, stdout %q; want 0 and nothing to revoke", p.code, p.stdout)
		}
		if got := len(w.srv.Requests()); got != 0 {
			t.Errorf("requests = %d; want 0", got)
		}
	})

	t.Run("wrong app secret", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		installed(w)
		in := w.inputs()
		in["INPUT_APP-SECRET"] = canaryWrongSecret
		m := runBinary(t, bin, in)
		if m.code != 1 {
			t.Fatalf("main exit code = %d; want 1\nstdout:\n%s", m.code, m.stdout)
		}
		lines := strings.Split(strings.TrimSpace(m.stdout), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "::error::") || !strings.Contains(last, "Invalid appsecret_proof") {
			t.Errorf("last stdout line = %q; want an ::error:: about the proof", last)
		}
		checkMasksFirst(t, w, in, m.result())
		checkNoLeaks(t, w.secrets(), m.result())
		p := runBinary(t, post, postEnv(in, m.result()))
		if p.code != 0 || !strings.Contains(p.stdout, "No token to revoke") {
			t.Errorf("post exit code = %d, stdout %q; want 0 and nothing to revoke", p.code, p.stdout)
		}
	})

	t.Run("missing inputs", func(t *testing.T) {
		t.Parallel()
		m := runBinary(t, bin, map[string]string{"INPUT_SCOPES": "ads_read"})
		if m.code != 1 {
			t.Fatalf("main exit code = %d; want 1", m.code)
		}
		want := "::error::missing required inputs: app-id, app-secret, access-token, system-user-id."
		if !strings.HasPrefix(m.stdout, want) {
			t.Errorf("stdout = %q; want it to start with %q", m.stdout, want)
		}
	})

	t.Run("unexpected argument", func(t *testing.T) {
		t.Parallel()
		m := runBinary(t, bin, nil, "--version")
		if m.code != 1 || !strings.Contains(m.stdout, "::error::unexpected arguments") {
			t.Errorf("exit code = %d, stdout %q; want 1 and an error", m.code, m.stdout)
		}
	})
}

// BenchmarkBinaryMint measures one mint by the built program against an
// in-process emulator: process start, input checks, POST access_tokens, GET
// debug_token, outputs. It reports the median wall time and the binary size.
//
//	go test -run '^$' -bench BinaryMint -benchtime 30x ./cmd/action
func BenchmarkBinaryMint(b *testing.B) {
	dir := b.TempDir()
	bin := buildBinary(b, dir)
	info, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	s := minttest.NewServer()
	defer s.Close()
	fx := s.Seed()
	s.InstallApp(fx.SystemUserID, fx.AppID)
	out := filepath.Join(dir, "output")
	state := filepath.Join(dir, "state")
	var env []string
	for k, v := range runnerEnv(b, map[string]string{
		"INPUT_APP-ID":         fx.AppID,
		"INPUT_APP-SECRET":     fx.AppSecret,
		"INPUT_ACCESS-TOKEN":   fx.AdminToken,
		"INPUT_SYSTEM-USER-ID": fx.SystemUserID,
		"INPUT_SCOPES":         "ads_read,business_management",
		"INPUT_GRAPH-API-URL":  s.URL,
		"GITHUB_OUTPUT":        out,
		"GITHUB_STATE":         state,
	}) {
		env = append(env, k+"="+v)
	}
	var times []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		cmd := exec.Command(bin)
		cmd.Env = env
		if outb, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("mint: %v\n%s", err, outb)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(info.Size()), "binary-bytes")
}
