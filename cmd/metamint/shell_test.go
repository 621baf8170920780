package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildCLI builds the metamint binary into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("exec.LookPath(%q) = %v; the binary test builds with the go command, which must be on PATH", "go", err)
	}
	bin := filepath.Join(t.TempDir(), "metamint")
	if out, err := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build = %v\n%s", err, out)
	}
	return bin
}

// TestBinaryMintClosedStdout runs mint as "metamint mint | head -c0" ends:
// standard output is a pipe whose reader has gone. The token cannot be
// delivered, so it must be revoked and the exit status must say so; a
// process killed by SIGPIPE would leave a live token nobody holds.
func TestBinaryMintClosedStdout(t *testing.T) {
	t.Parallel()
	bin := buildCLI(t)
	w := newWorld(t)
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil { // the reader is gone before the token is written
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, mintCmd(w.fx, "--install-app")...)
	for k, v := range w.env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = pw, &stderr
	err = cmd.Run()
	if cerr := pw.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != exitError {
		t.Errorf("metamint mint into a closed pipe = %v; want exit status %d\nstderr:\n%s", err, exitError, stderr.String())
	}
	if !strings.Contains(stderr.String(), "revoked the new token") {
		t.Errorf("stderr = %q; want it to say the new token was revoked", stderr.String())
	}
	if last := w.lastToken(); w.s.Minted() != 1 || !last.Revoked {
		t.Errorf("minted %d, last token revoked = %v; want the one token revoked", w.s.Minted(), last.Revoked)
	}
}
