package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinary builds the real binary, starts "metamint emulator" as a
// subprocess, and mints and inspects a token against it with secrets passed
// only through the environment and stdin, never argv.
func TestBinary(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildCLI(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	emu := exec.CommandContext(ctx, bin, "emulator", "--addr", "127.0.0.1:0")
	emu.Env = []string{} // nothing from the test's environment
	var emuErr bytes.Buffer
	emu.Stderr = &emuErr
	pipe, err := emu.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err = emu.Start(); err != nil {
		t.Fatalf("starting the emulator: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			if killErr := emu.Process.Kill(); killErr != nil {
				t.Errorf("stopping the emulator: %v", killErr)
			}
			_ = emu.Wait() // "signal: killed": the test has failed already and said why
		}
	})

	// Read the export lines up to the last one.
	var out strings.Builder
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "export METAMINT_SYSTEM_USER_ID=") {
			break
		}
	}
	env := parseExports(t, out.String())
	for _, n := range exportNames {
		if env[n] == "" {
			t.Fatalf("emulator stdout = %q; want an export of %s\nstderr: %s", out.String(), n, emuErr.String())
		}
	}
	secrets := []string{env[envAppSecret], env[envAccessToken]}
	environ := func(extra ...string) []string {
		var e []string
		for k, v := range env {
			e = append(e, k+"="+v)
		}
		return append(e, extra...)
	}
	// checkArgv asserts that no secret is on a command line, where every
	// process on the machine could read it.
	checkArgv := func(cmd *exec.Cmd, secrets ...string) {
		t.Helper()
		for _, a := range cmd.Args {
			for _, s := range secrets {
				if strings.Contains(a, s) {
					t.Fatalf("argv %q holds a secret", cmd.Args[0])
				}
			}
		}
	}

	mintCmd := exec.CommandContext(ctx, bin, "mint", "--install-app", "--app-id", env["METAMINT_APP_ID"],
		"--system-user-id", env["METAMINT_SYSTEM_USER_ID"], "--scopes", "ads_read,business_management")
	mintCmd.Env = environ()
	checkArgv(mintCmd, secrets...)
	var mintErr bytes.Buffer
	mintCmd.Stderr = &mintErr
	stdout, err := mintCmd.Output()
	if err != nil {
		t.Fatalf("metamint mint = %v; want success\n%s", err, mintErr.String())
	}
	token := strings.TrimSuffix(string(stdout), "\n")
	if !strings.HasPrefix(token, "EAA") || strings.Contains(token, "\n") {
		t.Fatalf("metamint mint stdout = %q; want one token line", stdout)
	}
	if strings.Contains(mintErr.String(), token) || !strings.Contains(mintErr.String(), "minted a SYSTEM_USER token") {
		t.Errorf("metamint mint stderr = %q; want a summary without the token", mintErr.String())
	}

	// TOKEN=$(metamint mint ...); printf '%s\n' "$TOKEN" | metamint inspect --token-stdin
	inspect := exec.CommandContext(ctx, bin, "inspect", "--app-id", env["METAMINT_APP_ID"], "--token-stdin", "--json")
	inspect.Env = environ()
	inspect.Stdin = strings.NewReader(token + "\n")
	checkArgv(inspect, append(secrets, token)...)
	got, err := inspect.Output()
	if err != nil {
		t.Fatalf("metamint inspect = %v; want success", err)
	}
	if !bytes.Contains(got, []byte(`"is_valid": true`)) || bytes.Contains(got, []byte(token)) {
		t.Errorf("metamint inspect stdout = %s; want a valid token's info without the token", got)
	}

	// A secret flag is refused with status 2 (the value here is a dummy).
	refused := exec.CommandContext(ctx, bin, "mint", "--app-secret=dummy")
	refused.Env = environ()
	if err = refused.Run(); exitCode(err) != 2 {
		t.Errorf("metamint mint --app-secret = %v; want exit status 2", err)
	}

	// SIGTERM stops the emulator cleanly.
	if err = emu.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = emu.Wait()
	stopped = true
	if err != nil {
		t.Errorf("emulator after SIGTERM = %v; want exit status 0\n%s", err, emuErr.String())
	}
	if !strings.Contains(emuErr.String(), "stopped after") {
		t.Errorf("emulator stderr = %q; want a stop line", emuErr.String())
	}
	if slices.ContainsFunc(emu.Args, func(a string) bool { return slices.Contains(secrets, a) }) {
		t.Errorf("the emulator's argv holds a secret")
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
