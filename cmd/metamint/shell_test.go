package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metamint/metamint/pkg/mint/minttest"
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

// TestBinaryMintClosedPipes runs the binary with a standard stream that is
// a pipe whose reader is gone, which the Go runtime turns into death by
// SIGPIPE unless the program says otherwise.
func TestBinaryMintClosedPipes(t *testing.T) {
	t.Parallel()
	bin := buildCLI(t)
	t.Run("stdout", func(t *testing.T) { t.Parallel(); mintClosedStdout(t, bin) })
	t.Run("stderr", func(t *testing.T) { t.Parallel(); mintClosedStderr(t, bin) })
}

// mintClosedStdout runs mint as "metamint mint | head -c0" ends:
// standard output is a pipe whose reader has gone. The token cannot be
// delivered, so it must be revoked and the exit status must say so; a
// process killed by SIGPIPE would leave a live token nobody holds.
func mintClosedStdout(t *testing.T, bin string) {
	w := newWorld(t)
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if cerr := r.Close(); cerr != nil { // the reader is gone before the token is written
		t.Fatal(cerr)
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

// TestSecretValueShapes sets each secret variable as a shell or an editor
// leaves it: with a byte order mark (a file saved by a Windows editor and
// read with $(cat file)), wrapped in quotes (copied from a .env file), with
// a second value after a line break. Each is refused before any Graph or
// GitHub call, naming the variable and never quoting the value. A trailing
// CRLF is only trimmed.
func TestSecretValueShapes(t *testing.T) {
	t.Parallel()
	const bom = "\ufeff"
	type tc struct {
		name     string
		set      func(w *world, env map[string]string)
		args     func(w *world) []string
		wantCode int
		want     []string // in stderr
	}
	mintArgs := func(w *world) []string { return mintCmd(w.fx, "--install-app") }
	sysUsers := func(w *world) []string { return []string{"system-users", "--business-id", w.fx.BusinessID} }
	for _, tt := range []tc{
		{name: "app secret with a BOM", wantCode: exitError, args: mintArgs,
			set:  func(w *world, env map[string]string) { env[envAppSecret] = bom + w.fx.AppSecret },
			want: []string{envAppSecret, "byte order mark"}},
		{name: "app secret in double quotes", wantCode: exitError, args: mintArgs,
			set:  func(w *world, env map[string]string) { env[envAppSecret] = `"` + w.fx.AppSecret + `"` },
			want: []string{envAppSecret, "quotes"}},
		{name: "optional app secret with a BOM", wantCode: exitError, args: sysUsers,
			set:  func(w *world, env map[string]string) { env[envAppSecret] = bom + w.fx.AppSecret },
			want: []string{envAppSecret, "byte order mark"}},
		{name: "calling token in single quotes", wantCode: exitError, args: sysUsers,
			set:  func(w *world, env map[string]string) { env[envAccessToken] = "'" + w.fx.AdminToken + "'" },
			want: []string{envAccessToken, "quotes"}},
		{name: "calling token with a BOM", wantCode: exitError, args: mintArgs,
			set:  func(w *world, env map[string]string) { env[envAccessToken] = bom + w.fx.AdminToken },
			want: []string{envAccessToken, "byte order mark"}},
		{name: "minting app secret in quotes", wantCode: exitError,
			args: func(w *world) []string {
				return []string{"install", "--app-id", w.fx.AppID, "--system-user-id", w.fx.SystemUserID}
			},
			set:  func(w *world, env map[string]string) { env[envMintingAppSecret] = `"` + w.fx.AppSecret + `"` },
			want: []string{envMintingAppSecret, "quotes"}},
		{name: "token to inspect with a BOM", wantCode: exitError,
			args: func(w *world) []string { return []string{"inspect", "--app-id", w.fx.AppID} },
			set:  func(w *world, env map[string]string) { env[envToken] = bom + w.issue(tokenLife) },
			want: []string{envToken, "byte order mark"}},
		{name: "token to revoke and a second one on the next line", wantCode: exitError,
			args: func(w *world) []string { return []string{"revoke", "--app-id", w.fx.AppID} },
			set: func(w *world, env map[string]string) {
				env[envToken] = w.issue(tokenLife) + "\r\n" + w.issue(tokenLife)
			},
			want: []string{envToken, "line break"}},
		{name: "GitHub token with a BOM", wantCode: exitError,
			args: func(w *world) []string {
				return []string{"renew", "--app-id", w.fx.AppID, "--repo", "o/r", "--github-secret", "S", "--github-api-url", "http://127.0.0.1:1"}
			},
			set: func(w *world, env map[string]string) {
				env[envGitHubToken] = bom + "ghs_CANARYgithubTOKEN0000000000000001"
			},
			want: []string{envGitHubToken, "byte order mark"}},
		{name: "secrets with a trailing CRLF are trimmed", wantCode: exitOK, args: mintArgs,
			set: func(w *world, env map[string]string) {
				env[envAppSecret] += "\r\n"
				env[envAccessToken] += "\r\n"
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			env := w.env()
			tt.set(w, env)
			before := len(w.s.Requests())
			r := runCLI(t, env, "", tt.args(w)...)
			if r.code != tt.wantCode {
				t.Fatalf("code = %d, stderr %q; want %d", r.code, r.stderr, tt.wantCode)
			}
			for _, s := range tt.want {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr = %q; want it to contain %q", r.stderr, s)
				}
			}
			if tt.wantCode == exitOK {
				return
			}
			if n := len(w.s.Requests()) - before; n != 0 {
				t.Errorf("Graph requests = %d; want none", n)
			}
			for _, tok := range w.s.Tokens() {
				if tok.Revoked || strings.Contains(r.stderr+r.stdout, tok.Value) {
					t.Errorf("a token was revoked or echoed")
				}
			}
			for _, sec := range []string{w.fx.AppSecret, w.fx.AdminToken, "CANARYgithubTOKEN"} {
				if strings.Contains(r.stderr+r.stdout, sec) {
					t.Errorf("output holds a secret: stderr %q", r.stderr)
				}
			}
		})
	}
}

// TestTokenStdinShapes pipes to --token-stdin what files and pastes hold:
// several tokens (one a line, as a list of tokens to revoke), a blank line
// before the token, a byte order mark, quotes, a token and a comment, a NUL,
// more than the limit. Only one token alone (blank lines around it
// ignored) is used; anything else is refused before any call, never quoted.
func TestTokenStdinShapes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		stdin func(t1, t2 string) string
		want  string // in stderr; "" for success
	}{
		{"two tokens", func(t1, t2 string) string { return t1 + "\n" + t2 + "\n" }, "one token"},
		{"two tokens with CRLF", func(t1, t2 string) string { return t1 + "\r\n" + t2 + "\r\n" }, "one token"},
		{"blank line then the token", func(t1, _ string) string { return "\r\n\n" + t1 + "\n\n" }, ""},
		{"byte order mark", func(t1, _ string) string { return "\ufeff" + t1 + "\r\n" }, "byte order mark"},
		{"quoted", func(t1, _ string) string { return `"` + t1 + `"` + "\n" }, "quotes"},
		{"token and a comment", func(t1, _ string) string { return t1 + " # old one\n" }, "space"},
		{"NUL", func(t1, _ string) string { return t1 + "\x00\n" }, "control"},
		{"more than the limit", func(_, _ string) string { return strings.Repeat("A", maxStdinToken+1) }, "longer than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			t1, t2 := w.issue(tokenLife), w.issue(tokenLife)
			before := len(w.s.Requests())
			r := runCLI(t, w.env(), tt.stdin(t1, t2), "revoke", "--app-id", w.fx.AppID, "--token-stdin")
			st1, _ := w.s.Token(t1)
			st2, _ := w.s.Token(t2)
			if tt.want == "" {
				if r.code != exitOK || !st1.Revoked || st2.Revoked {
					t.Errorf("revoke = %d, stderr %q, revoked %v %v; want 0 and only the token revoked", r.code, r.stderr, st1.Revoked, st2.Revoked)
				}
				return
			}
			if r.code != exitError || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "--token-stdin") {
				t.Errorf("revoke = %d, stderr %q; want %d and a refusal naming --token-stdin and %q", r.code, r.stderr, exitError, tt.want)
			}
			if n := len(w.s.Requests()) - before; n != 0 || st1.Revoked || st2.Revoked {
				t.Errorf("Graph requests = %d, revoked %v %v; want no call and no token revoked", n, st1.Revoked, st2.Revoked)
			}
			if strings.Contains(r.stderr, t1[:20]) || strings.Contains(r.stderr, t2[:20]) {
				t.Errorf("stderr quotes a token: %q", r.stderr)
			}
		})
	}
}

// TestEnvDefaultsNamed sets a bad METAMINT_GRAPH_API_URL,
// METAMINT_GRAPH_API_VERSION or GITHUB_API_URL, as a shell profile or a
// runner leaves them, with no flag on the command line: the error names the
// variable the person has to fix, not only a flag they never passed, and
// quotes no password a URL carried. Nothing is called.
func TestEnvDefaultsNamed(t *testing.T) {
	t.Parallel()
	const canary = "CANARYurlPASSWORD42"
	for _, tt := range []struct {
		name, key, value string
		renew            bool
	}{
		{"Graph URL over http to a remote host", envGraphURL, "http://graph.example.com", false},
		{"Graph URL with a password", envGraphURL, "https://user:" + canary + "@graph.example.com", false},
		{"Graph URL in quotes", envGraphURL, `"https://graph.facebook.com"`, false},
		{"Graph version without v", envGraphVersion, "27.0", false},
		{"GitHub URL over http to a remote host", envGitHubAPIURL, "http://api.example.com", true},
		{"GitHub URL with a password", envGitHubAPIURL, "https://x:" + canary + "@api.example.com", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			env := w.env()
			env[tt.key] = tt.value
			args := mintCmd(w.fx)
			if tt.renew {
				env[envGitHubToken] = "ghs_CANARYgithubTOKEN0000000000000001"
				args = []string{"renew", "--app-id", w.fx.AppID, "--repo", "o/r", "--github-secret", "S"}
			}
			r := runCLI(t, env, "", args...)
			if r.code != exitError || !strings.Contains(r.stderr, tt.key) {
				t.Errorf("code = %d, stderr %q; want %d and an error naming %s", r.code, r.stderr, exitError, tt.key)
			}
			if strings.Contains(r.stderr, canary) {
				t.Errorf("stderr quotes the URL's password: %q", r.stderr)
			}
			if n := len(w.s.Requests()); n != 0 {
				t.Errorf("Graph requests = %d; want none", n)
			}
		})
	}
}

// TestJSONHostileGraphText has Graph answer names, roles, types and error
// messages holding every kind of byte a terminal or jq trips on: C0 and C1
// controls, DEL, invalid UTF-8, the line separators, a backslash before a
// control, bidi overrides. --json output stays one valid JSON document with
// no raw control character (so jq, and the terminal it runs in, get none),
// and tables print every field on its own line.
func TestJSONHostileGraphText(t *testing.T) {
	t.Parallel()
	// Raw bytes, as Graph could send them: JSON strings may hold any byte
	// but '"', '\\' and C0 controls unescaped.
	const raw = "A\\u0000\\u001b[31m\u009b2J\x7f\xff\xfe\u2028\u2029\\\\\\u0007\u202eZ\\r\\n::warning::X"
	sysUsers := `{"data":[{"id":"400000000000099","name":"` + raw + `","role":"` + raw + `"}]}`
	debug := func(appID, userID string) string {
		return `{"data":{"is_valid":false,"type":"` + raw + `","app_id":"` + appID + `","user_id":"` + userID +
			`","scopes":["ads_read"],"error":{"code":190,"subcode":460,"message":"` + raw + `"}}}`
	}
	check := func(t *testing.T, out string, wantLines int) {
		t.Helper()
		for _, r := range strings.TrimSuffix(out, "\n") {
			if r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f || r == '\u2028' || r == '\u2029' || r == '\u202e' || r == '\ufffd' {
				t.Errorf("stdout holds the raw character %U: %q", r, out)
				return
			}
		}
		if !strings.Contains(out, "::warning::X") || strings.Contains(out, "\n::warning::") {
			t.Errorf("stdout = %q; want Graph's text kept on its line", out)
		}
		if wantLines > 0 && strings.Count(out, "\n") != wantLines {
			t.Errorf("stdout has %d lines; want %d: %q", strings.Count(out, "\n"), wantLines, out)
		}
	}
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("system-users json=%v", asJSON), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.s.FailNext(minttest.EndpointSystemUsers, minttest.Fault{Status: 200, Body: []byte(sysUsers)})
			args := []string{"system-users", "--business-id", w.fx.BusinessID}
			if asJSON {
				args = append(args, "--json")
			}
			r := runCLI(t, w.env(), "", args...)
			if r.code != exitOK {
				t.Fatalf("system-users = %d, stderr %q", r.code, r.stderr)
			}
			if asJSON {
				var users []map[string]string
				if err := json.Unmarshal([]byte(r.stdout), &users); err != nil || len(users) != 1 || !strings.HasPrefix(users[0]["name"], "A\x00\x1b[31m") {
					t.Fatalf("stdout = %q (%v); want a JSON array of one user whose name decodes to Graph's text", r.stdout, err)
				}
				check(t, r.stdout, 0)
				return
			}
			check(t, r.stdout, 2)
		})
		t.Run(fmt.Sprintf("inspect json=%v", asJSON), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			env := w.env()
			env[envToken] = w.issue(tokenLife)
			w.s.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: 200, Body: []byte(debug(w.fx.AppID, w.fx.SystemUserID))})
			args := []string{"inspect", "--app-id", w.fx.AppID}
			if asJSON {
				args = append(args, "--json")
			}
			r := runCLI(t, env, "", args...)
			if r.stdout == "" {
				t.Fatalf("inspect = %d, stdout empty, stderr %q", r.code, r.stderr)
			}
			if asJSON && !json.Valid([]byte(r.stdout)) {
				t.Fatalf("stdout = %q; want valid JSON", r.stdout)
			}
			check(t, r.stdout, 0)
			if strings.Contains(r.stderr, "\x1b") || strings.Contains(r.stderr, "\n::warning::") {
				t.Errorf("stderr = %q; want Graph's text escaped", r.stderr)
			}
		})
	}
}

// TestEmulatorAllInterfaces runs the emulator on every interface
// (--allow-remote) and uses its exports in the same shell, as the help says
// to: METAMINT_GRAPH_API_URL must be one the CLI accepts (http on a
// loopback host), not the unspecified address it listens on.
func TestEmulatorAllInterfaces(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, func(string) string { return "" }, "", "emulator", "--addr", "0.0.0.0:0", "--allow-remote")
	env := parseExports(t, e.stdout.String())
	r := runCLI(t, env, "", "mint", "--install-app", "--app-id", env["METAMINT_APP_ID"],
		"--system-user-id", env["METAMINT_SYSTEM_USER_ID"], "--scopes", "ads_read")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "EAA") {
		t.Errorf("mint with the exports of an emulator on 0.0.0.0 (%s=%q) = %d, stderr %q; want 0 and a token",
			envGraphURL, env[envGraphURL], r.code, r.stderr)
	}
	e.cancel()
	if code := <-e.done; code != exitOK {
		t.Errorf("emulator exit status after cancel = %d; want 0\n%s", code, e.stderr.String())
	}
}

// TestRefreshUndeliveredIsRevoked: a refreshed token refresh could not
// print (a full disk, a pipe whose reader is gone) is revoked, since nobody
// else holds it, and the error says so; the old token is left alone. As
// text and as JSON.
func TestRefreshUndeliveredIsRevoked(t *testing.T) {
	t.Parallel()
	for _, extra := range [][]string{nil, {"--json"}} {
		t.Run(fmt.Sprint(extra), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			env := w.env()
			old := w.issue(dueLife)
			env[envToken] = old
			var stderr bytes.Buffer
			args := append([]string{"refresh", "--app-id", w.fx.AppID}, extra...)
			code := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(""), failWriter{}, &stderr)
			if code != exitError {
				t.Errorf("run(refresh) with a failing stdout = %d; want %d", code, exitError)
			}
			for _, want := range []string{"no space left on device", "revoked the new token"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr = %q; want it to contain %q", stderr.String(), want)
				}
			}
			fresh := w.lastToken()
			if fresh.Value == old || !fresh.Revoked {
				t.Errorf("refreshed token revoked = %v; want the new token revoked", fresh.Revoked)
			}
			if st, _ := w.s.Token(old); st.Revoked {
				t.Errorf("the old token was revoked")
			}
		})
	}
}

// mintClosedStderr runs mint with standard error a pipe whose
// reader is gone (a log collector that died) and standard output captured:
// the diagnostics are lost, but the token is minted, printed and left
// valid, exit 0, rather than the process dying by SIGPIPE at its first
// diagnostic with a token minted and never printed.
func mintClosedStderr(t *testing.T, bin string) {
	w := newWorld(t)
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if cerr := r.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	cmd := exec.CommandContext(t.Context(), bin, mintCmd(w.fx, "--install-app")...)
	for k, v := range w.env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, pw
	err = cmd.Run()
	if cerr := pw.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatalf("metamint mint with a closed stderr = %v; want exit status 0", err)
	}
	st, ok := w.s.Token(strings.TrimSpace(stdout.String()))
	if !ok || st.Revoked || w.s.Minted() != 1 {
		t.Errorf("stdout %q, token known %v, revoked %v, minted %d; want the one token printed and valid", stdout.String(), ok, st.Revoked, w.s.Minted())
	}
}
