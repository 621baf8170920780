package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// world is one emulator seeded with minttest's fixture.
type world struct {
	s  *minttest.Server
	fx minttest.Fixture

	mu    sync.Mutex
	waits []time.Duration // the Graph client's waits, when run through w.sleep
}

// sleep is a Graph client's wait that records d and returns at once (the
// calling token's check may wait beside the mint, hence the lock).
func (w *world) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waits = append(w.waits, d)
	return ctx.Err()
}

// recordedWaits are the waits w.sleep recorded.
func (w *world) recordedWaits() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.waits)
}

func newWorld(t *testing.T, opts ...minttest.Option) *world {
	t.Helper()
	s := minttest.NewServer(opts...)
	t.Cleanup(s.Close)
	return &world{s: s, fx: s.Seed()}
}

// env is the environment a user has after eval'ing the emulator's exports.
func (w *world) env() map[string]string {
	return map[string]string{
		envGraphURL:    w.s.URL,
		envAppSecret:   w.fx.AppSecret,
		envAccessToken: w.fx.AdminToken,
	}
}

// issue installs the app for the fixture's system user and gives it a token
// with ads_read, expiring after life (never when life is 0).
func (w *world) issue(life time.Duration) string {
	w.s.InstallApp(w.fx.SystemUserID, w.fx.AppID)
	spec := minttest.TokenSpec{UserID: w.fx.SystemUserID, AppID: w.fx.AppID, Scopes: []string{"ads_read"}}
	if life > 0 {
		spec.ExpiresAt = w.s.Now().Add(life)
	}
	return w.s.IssueToken(spec)
}

// endpoints lists the endpoints the CLI called, in order, leaving out mint's
// check of the calling token (a debug_token of METAMINT_ACCESS_TOKEN, run
// beside the mint).
func (w *world) endpoints() []minttest.Endpoint {
	var out []minttest.Endpoint
	for _, r := range w.s.Requests() {
		if r.Endpoint == minttest.EndpointDebugToken && r.Form.Get("input_token") == w.fx.AdminToken {
			continue
		}
		out = append(out, r.Endpoint)
	}
	return out
}

// wantEndpoints checks that the CLI made exactly the requests want, in order.
func (w *world) wantEndpoints(t *testing.T, want ...minttest.Endpoint) {
	t.Helper()
	if got := w.endpoints(); !slices.Equal(got, want) {
		t.Errorf("requests = %v; want %v", got, want)
	}
}

// lastToken is the token the emulator issued last.
func (w *world) lastToken() minttest.TokenState {
	toks := w.s.Tokens()
	return toks[len(toks)-1]
}

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the CLI in-process with env as its whole environment.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	return runCLIWith(t, env, stdin, nil, args...)
}

// runCLIWith is runCLI with opts for run.
func runCLIWith(t *testing.T, env map[string]string, stdin string, opts []func(*cli), args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code := run(t.Context(), args, getenv, strings.NewReader(stdin), &stdout, &stderr, opts...)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// stdoutJSON decodes r's standard output as JSON into a T.
func stdoutJSON[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("stdout = %q; want JSON: %v", r.stdout, err)
	}
	return v
}

// hmacHex is an independent appsecret_proof: it does not call mint.
func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

const tokenLife = 60 * 24 * time.Hour

// dueLife is what is left of a token due for a refresh: its renewal
// expires later.
const dueLife = 10 * 24 * time.Hour

// TestRun drives every command through run against minttest.
func TestRun(t *testing.T) {
	t.Parallel()
	// setupFunc prepares the world and the environment and returns stdin.
	type setupFunc = func(t *testing.T, w *world, env map[string]string) string
	type tc struct {
		name       string
		opts       []minttest.Option
		setup      setupFunc
		args       func(fx minttest.Fixture) []string
		wantCode   int
		wantStdout []string // substrings
		wantStderr []string // substrings
		check      func(t *testing.T, w *world, r result)
	}
	mintArgs := func(extra ...string) func(minttest.Fixture) []string {
		return func(fx minttest.Fixture) []string {
			return append([]string{"mint", "--app-id", fx.AppID, "--system-user-id", fx.SystemUserID,
				"--scopes", "ads_read,business_management"}, extra...)
		}
	}
	fixed := func(args ...string) func(minttest.Fixture) []string {
		return func(minttest.Fixture) []string { return args }
	}
	// steps runs setups in order; stdin is what they return, joined.
	steps := func(setups ...setupFunc) setupFunc {
		return func(t *testing.T, w *world, env map[string]string) string {
			var stdin string
			for _, s := range setups {
				stdin += s(t, w, env)
			}
			return stdin
		}
	}
	installed := func(t *testing.T, w *world, env map[string]string) string {
		w.s.InstallApp(w.fx.SystemUserID, w.fx.AppID)
		return ""
	}
	withToken := func(life time.Duration) setupFunc {
		return func(t *testing.T, w *world, env map[string]string) string {
			env[envToken] = w.issue(life)
			return ""
		}
	}
	// tokenOnStdin issues a token and gives it as stdin, followed by end.
	tokenOnStdin := func(life time.Duration, end string) setupFunc {
		return func(t *testing.T, w *world, env map[string]string) string {
			return w.issue(life) + end
		}
	}
	setEnv := func(name, value string) setupFunc {
		return func(t *testing.T, w *world, env map[string]string) string {
			env[name] = value
			return ""
		}
	}
	unset := func(names ...string) setupFunc {
		return func(t *testing.T, w *world, env map[string]string) string {
			for _, n := range names {
				delete(env, n)
			}
			return ""
		}
	}
	advance := func(d time.Duration) setupFunc {
		return func(t *testing.T, w *world, env map[string]string) string {
			w.s.Advance(d)
			return ""
		}
	}
	failNext := func(e minttest.Endpoint, f minttest.Fault) setupFunc {
		return func(t *testing.T, w *world, env map[string]string) string {
			w.s.FailNext(e, f)
			return ""
		}
	}
	// expiredToken gives METAMINT_TOKEN a token that expired an hour ago.
	expiredToken := steps(withToken(time.Hour), advance(2*time.Hour))
	noRequests := func(t *testing.T, w *world, r result) {
		t.Helper()
		if got := w.endpoints(); len(got) != 0 {
			t.Errorf("requests = %v; want none", got)
		}
	}
	// mintedToken checks that stdout is one token line of a token the
	// emulator minted for the fixture's system user, and returns it.
	mintedToken := func(t *testing.T, w *world, r result) minttest.TokenState {
		t.Helper()
		tok := strings.TrimSuffix(r.stdout, "\n")
		if tok == "" || strings.ContainsAny(tok, "\n ") {
			t.Fatalf("stdout = %q; want the token alone on one line", r.stdout)
		}
		st, ok := w.s.Token(tok)
		if !ok {
			t.Fatalf("stdout = %q; want a token the emulator issued", r.stdout)
		}
		if st.UserID != w.fx.SystemUserID || st.AppID != w.fx.AppID || st.Type != "SYSTEM_USER" || st.Revoked {
			t.Errorf("minted token = %+v; want a live SYSTEM_USER token of %s for app %s", st, w.fx.SystemUserID, w.fx.AppID)
		}
		if strings.Contains(r.stderr, tok) {
			t.Errorf("stderr holds the minted token: %q", r.stderr)
		}
		return st
	}

	tests := []tc{
		// ---- mint ----
		{
			name: "mint", setup: installed, args: mintArgs(),
			wantStderr: []string{"minted a SYSTEM_USER token for system user 400000000000004", "scopes ads_read,business_management", "expires 20"},
			check: func(t *testing.T, w *world, r result) {
				st := mintedToken(t, w, r)
				if want := w.s.Now().Add(tokenLife); st.ExpiresAt.IsZero() || st.ExpiresAt.After(want.Add(time.Minute)) {
					t.Errorf("ExpiresAt = %v; want about %v", st.ExpiresAt, want)
				}
				if !slices.Equal(st.Scopes, []string{"ads_read", "business_management"}) {
					t.Errorf("Scopes = %v; want [ads_read business_management]", st.Scopes)
				}
				w.wantEndpoints(t, minttest.EndpointAccessTokens, minttest.EndpointDebugToken)
			},
		},
		{
			name: "mint --install-app", args: mintArgs("--install-app"),
			wantStderr: []string{"app 200000000000002 is installed for system user 400000000000004", "minted"},
			check: func(t *testing.T, w *world, r result) {
				mintedToken(t, w, r)
				if got := w.s.Installs(w.fx.SystemUserID); !slices.Equal(got, []string{w.fx.AppID}) {
					t.Errorf("Installs = %v; want [%s]", got, w.fx.AppID)
				}
				w.wantEndpoints(t, minttest.EndpointApplications, minttest.EndpointAccessTokens, minttest.EndpointDebugToken)
			},
		},
		{
			name: "mint --json", setup: installed, args: mintArgs("--json"),
			check: func(t *testing.T, w *world, r result) {
				got := stdoutJSON[map[string]any](t, r)
				if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, []string{"access_token", "expires_at", "scopes"}) {
					t.Errorf("JSON keys = %v; want [access_token expires_at scopes]", keys)
				}
				st, ok := w.s.Token(fmt.Sprint(got["access_token"]))
				if !ok {
					t.Fatalf("access_token is not a token the emulator issued")
				}
				exp, err := time.Parse(time.RFC3339, fmt.Sprint(got["expires_at"]))
				if err != nil || !exp.Equal(st.ExpiresAt.Truncate(time.Second)) || exp.Location() != time.UTC {
					t.Errorf("expires_at = %v; want %v in RFC 3339 UTC", got["expires_at"], st.ExpiresAt.UTC().Format(time.RFC3339))
				}
				if s := fmt.Sprint(got["scopes"]); s != "[ads_read business_management]" {
					t.Errorf("scopes = %s; want [ads_read business_management]", s)
				}
			},
		},
		{
			name: "mint --expiring-token=false --json", setup: installed, args: mintArgs("--expiring-token=false", "--json"),
			wantStdout: []string{`"expires_at": ""`},
			wantStderr: []string{"never expires"},
			check: func(t *testing.T, w *world, r result) {
				if reqs := w.s.Requests(); len(reqs) == 0 || reqs[0].Form.Has("set_token_expires_in_60_days") {
					t.Errorf("the mint request sent set_token_expires_in_60_days for a permanent token")
				}
			},
		},
		{
			name: "mint with a transient Graph error is retried",
			setup: steps(installed, failNext(minttest.EndpointAccessTokens, minttest.Fault{
				Status: 503, Error: &minttest.Error{Message: "An unexpected error has occurred.", Code: 2, IsTransient: true},
			})),
			args: mintArgs(),
			check: func(t *testing.T, w *world, r result) {
				mintedToken(t, w, r)
				if got := w.s.Minted(); got != 1 {
					t.Errorf("Minted() = %d; want 1", got)
				}
				if got := w.recordedWaits(); len(got) != 1 || got[0] <= 0 {
					t.Errorf("waits = %v; want one backoff before the second attempt", got)
				}
			},
		},
		{
			name: "mint app not installed", args: mintArgs(), wantCode: 1,
			wantStderr: []string{"creating the token (POST /{system-user-id}/access_tokens): Graph API error:", "not installed", "code 200", "hint: The app is not installed for this system user: install it first"},
			check: func(t *testing.T, w *world, r result) {
				if got := w.s.Minted(); got != 0 {
					t.Errorf("Minted() = %d; want 0", got)
				}
			},
		},
		{
			name: "mint unlisted scope", setup: installed, args: fixed("mint", "--app-id", "200000000000002",
				"--system-user-id", "400000000000004", "--scopes", "ads_read,manage_pages"),
			wantCode: 1, wantStderr: []string{`scope "manage_pages" is not on the list`, "--allow-unlisted-scopes"},
			check: noRequests,
		},
		{
			name: "mint unlisted scope allowed", opts: []minttest.Option{minttest.WithExtraScopes("brand_new_scope")},
			setup: installed, args: fixed("mint", "--app-id", "200000000000002", "--system-user-id", "400000000000004",
				"--scopes", "brand_new_scope", "--allow-unlisted-scopes"),
			wantStderr: []string{`warning: scope "brand_new_scope" is not on metamint's list`, "minted"},
			check:      func(t *testing.T, w *world, r result) { mintedToken(t, w, r) },
		},
		{
			name: "mint empty scopes", setup: installed, args: fixed("mint", "--app-id", "200000000000002",
				"--system-user-id", "400000000000004", "--scopes", " , "),
			wantCode: 1, wantStderr: []string{"at least one scope"}, check: noRequests,
		},
		{
			name: "mint missing app secret", setup: unset(envAppSecret), args: mintArgs(), wantCode: 1,
			wantStderr: []string{"METAMINT_APP_SECRET is not set"}, check: noRequests,
		},
		{
			name: "mint missing access token", setup: unset(envAccessToken), args: mintArgs(), wantCode: 1,
			wantStderr: []string{"METAMINT_ACCESS_TOKEN is not set"}, check: noRequests,
		},
		{
			name: "mint missing --scopes", args: fixed("mint", "--app-id", "1", "--system-user-id", "2"), wantCode: 2,
			wantStderr: []string{"missing required --scopes", "metamint help mint"}, check: noRequests,
		},
		{
			name: "mint unknown flag", args: mintArgs("--nope"), wantCode: 2,
			wantStderr: []string{"flag provided but not defined: --nope"}, check: noRequests,
		},
		{
			name: "mint positional argument", args: mintArgs("--expiring-token", "false"), wantCode: 2,
			wantStderr: []string{"takes no arguments", "--expiring-token=false"}, check: noRequests,
		},
		{
			name: "mint --app-secret refused", args: mintArgs("--app-secret=s3cr3t-value"), wantCode: 2,
			wantStderr: []string{"--app-secret is not accepted", "set METAMINT_APP_SECRET instead"},
			check: func(t *testing.T, w *world, r result) {
				noRequests(t, w, r)
				if strings.Contains(r.stderr, "s3cr3t-value") {
					t.Errorf("stderr echoes the flag's value: %q", r.stderr)
				}
			},
		},
		{
			name: "mint --access-token refused", args: mintArgs("--access-token", "tok"), wantCode: 2,
			wantStderr: []string{"--access-token is not accepted", "METAMINT_ACCESS_TOKEN"}, check: noRequests,
		},
		{
			name: "inspect --token refused", args: fixed("inspect", "--app-id", "1", "-token=x"), wantCode: 2,
			wantStderr: []string{"--token is not accepted", "METAMINT_TOKEN", "--token-stdin"}, check: noRequests,
		},
		{
			name: "mint --client_secret refused", args: mintArgs("--client_secret=x"), wantCode: 2,
			wantStderr: []string{"METAMINT_APP_SECRET"}, check: noRequests,
		},
		{
			name: "mint wrong app secret", setup: steps(installed, setEnv(envAppSecret, "0123456789abcdef0123456789abcdef")),
			args: mintArgs(), wantCode: 1,
			wantStderr: []string{"Invalid appsecret_proof", "code 100", "fbtrace_id ", "hint: Graph refused the appsecret_proof"},
		},
		{
			name: "mint expired calling token", setup: steps(installed, func(t *testing.T, w *world, env map[string]string) string {
				env[envAccessToken] = w.s.IssueToken(minttest.TokenSpec{UserID: w.fx.AdminSystemUserID, AppID: w.fx.AppID,
					Scopes: []string{"business_management"}, ExpiresAt: w.s.Now().Add(time.Hour)})
				return ""
			}, advance(2*time.Hour)),
			args: mintArgs(), wantCode: 1,
			wantStderr: []string{"code 190, subcode 463", "hint: The access token has expired"},
		},
		{
			name: "mint prints every Graph error field",
			setup: steps(installed, failNext(minttest.EndpointAccessTokens, minttest.Fault{Error: &minttest.Error{
				Message: "(#10) Application does not have permission for this action", Code: 10, Subcode: 2069007,
				UserTitle: "No permission", UserMessage: "Ask an admin.",
			}})),
			args: mintArgs(), wantCode: 1,
			wantStderr: []string{"Graph API error: (#10) Application does not have permission", "HTTP 400", "type OAuthException",
				"code 10", "subcode 2069007", "fbtrace_id ", "Meta says: No permission Ask an admin.", "hint: Graph refused for a permission"},
		},
		{
			// Graph's answer to the revoke is untrusted: a line break in it
			// must not start a line of its own on the terminal.
			name: "mint cannot revoke, Graph says so with a line break",
			setup: steps(installed, failNext(minttest.EndpointDebugToken, minttest.Fault{}),
				failNext(minttest.EndpointDebugToken, minttest.Fault{Error: &minttest.Error{Message: "(#100) boom", Code: 100}}),
				failNext(minttest.EndpointRevoke, minttest.Fault{Error: &minttest.Error{Message: "nope\r\nmetamint mint: FORGED", Code: 100}})),
			args: mintArgs(), wantCode: 1,
			wantStderr: []string{"could not revoke the new token", "nope"},
			check: func(t *testing.T, w *world, r result) {
				for _, line := range strings.FieldsFunc(r.stderr, func(c rune) bool { return c == '\n' || c == '\r' }) {
					if strings.HasPrefix(line, "metamint mint: FORGED") {
						t.Errorf("stderr has the forged line %q:\n%s", line, r.stderr)
					}
				}
			},
		},
		{
			name: "mint revokes a token that fails the check",
			setup: steps(installed, failNext(minttest.EndpointDebugToken, minttest.Fault{}),
				failNext(minttest.EndpointDebugToken, minttest.Fault{Error: &minttest.Error{Message: "(#100) boom", Code: 100}})),
			args: mintArgs(), wantCode: 1,
			wantStderr: []string{"inspecting the token (GET /debug_token): Graph API error: (#100) boom", "revoked the new token"},
			check: func(t *testing.T, w *world, r result) {
				if r.stdout != "" {
					t.Errorf("stdout = %q; want nothing", r.stdout)
				}
				last := w.lastToken()
				if w.s.Minted() != 1 || last.UserID != w.fx.SystemUserID || !last.Revoked {
					t.Errorf("minted token = %+v; want it revoked", last)
				}
			},
		},
		{
			name: "mint bad --graph-api-url", args: mintArgs("--graph-api-url", "http://graph.example.com"), wantCode: 1,
			wantStderr: []string{"--graph-api-url: ", "non-loopback host"}, check: noRequests,
		},
		{
			name: "mint bad --graph-api-version", args: mintArgs("--graph-api-version", "27"), wantCode: 1,
			wantStderr: []string{"--graph-api-version: ", "not of the form v27.0"}, check: noRequests,
		},
		{
			name: "mint deprecated version", setup: installed, args: mintArgs("--graph-api-version", "v20.0"), wantCode: 1,
			wantStderr: []string{"code 2635", "hint: This Graph API version is deprecated"},
		},

		// ---- install ----
		{
			name: "install", args: fixed("install", "--app-id", "200000000000002", "--system-user-id", "400000000000004"),
			wantStderr: []string{"app 200000000000002 is installed for system user 400000000000004"},
			check: func(t *testing.T, w *world, r result) {
				if r.stdout != "" {
					t.Errorf("stdout = %q; want nothing", r.stdout)
				}
				if got := w.s.Installs(w.fx.SystemUserID); !slices.Equal(got, []string{w.fx.AppID}) {
					t.Errorf("Installs = %v; want [%s]", got, w.fx.AppID)
				}
				if reqs := w.s.Requests(); len(reqs) != 1 || reqs[0].Form.Get("appsecret_proof") != hmacHex(w.fx.AppSecret, w.fx.AdminToken) {
					t.Errorf("install request did not carry the proof of METAMINT_ACCESS_TOKEN")
				}
			},
		},
		{
			name: "install missing access token", setup: unset(envAccessToken),
			args:     fixed("install", "--app-id", "200000000000002", "--system-user-id", "400000000000004"),
			wantCode: 1, wantStderr: []string{"METAMINT_ACCESS_TOKEN is not set"}, check: noRequests,
		},
		{
			name: "install missing --system-user-id", args: fixed("install", "--app-id", "200000000000002"),
			wantCode: 2, wantStderr: []string{"missing required --system-user-id"}, check: noRequests,
		},
		{
			name: "install bad --app-id", args: fixed("install", "--app-id", "x1", "--system-user-id", "400000000000004"),
			wantCode: 1, wantStderr: []string{"--app-id must be a numeric Graph ID"}, check: noRequests,
		},
		{
			name: "install bad --system-user-id", args: fixed("install", "--app-id", "200000000000002", "--system-user-id", "y2"),
			wantCode: 1, wantStderr: []string{"--system-user-id must be a numeric Graph ID"}, check: noRequests,
		},
		{
			name: "install unknown app", args: fixed("install", "--app-id", "999", "--system-user-id", "400000000000004"),
			wantCode: 1, wantStderr: []string{"install app: Graph API error:", "code 100"},
		},

		// ---- inspect ----
		{
			name: "inspect", setup: withToken(tokenLife), args: fixed("inspect", "--app-id", "200000000000002"),
			wantStdout: []string{"valid", "yes", "SYSTEM_USER", "200000000000002 (Metamint Test App)", "400000000000004", "ads_read", "(in 59 days)"},
			check: func(t *testing.T, w *world, r result) {
				w.wantEndpoints(t, minttest.EndpointDebugToken)
			},
		},
		{
			name: "inspect --json --token-stdin", setup: tokenOnStdin(0, "\n"),
			args: fixed("inspect", "--app-id", "200000000000002", "--token-stdin", "--json"),
			check: func(t *testing.T, w *world, r result) {
				got := stdoutJSON[mint.TokenInfo](t, r)
				if !got.IsValid || got.Type != "SYSTEM_USER" || got.UserID != w.fx.SystemUserID || !got.ExpiresAt.IsZero() ||
					!slices.Equal(got.Scopes, []string{"ads_read"}) {
					t.Errorf("inspect --json = %+v; want a valid permanent SYSTEM_USER token with ads_read", got)
				}
			},
		},
		{
			name: "inspect revoked token", setup: func(t *testing.T, w *world, env map[string]string) string {
				env[envToken] = w.issue(tokenLife)
				if r := runCLI(t, env, "", "revoke", "--app-id", w.fx.AppID); r.code != 0 {
					t.Fatalf("revoke = %d, %q; want 0", r.code, r.stderr)
				}
				w.s.ResetRequests()
				return ""
			},
			args: fixed("inspect", "--app-id", "200000000000002"), wantCode: 1,
			wantStdout: []string{"valid", "no", "subcode 467"},
			wantStderr: []string{"the token is not valid", "hint: The access token was revoked"},
		},
		{
			name: "inspect expired token", setup: expiredToken,
			args: fixed("inspect", "--app-id", "200000000000002"), wantCode: 1,
			wantStderr: []string{"code 190, subcode 463", "hint: The access token has expired"},
		},
		{
			name: "inspect missing METAMINT_TOKEN", args: fixed("inspect", "--app-id", "200000000000002"), wantCode: 1,
			wantStderr: []string{"METAMINT_TOKEN is not set", "--token-stdin"}, check: noRequests,
		},
		{
			name: "inspect empty stdin", args: fixed("inspect", "--app-id", "200000000000002", "--token-stdin"), wantCode: 1,
			wantStderr: []string{"standard input holds no token"}, check: noRequests,
		},
		{
			name: "inspect missing app secret", setup: steps(withToken(0), unset(envAppSecret)),
			args: fixed("inspect", "--app-id", "200000000000002"), wantCode: 1,
			wantStderr: []string{"METAMINT_APP_SECRET is not set"}, check: noRequests,
		},
		{
			name: "inspect wrong app secret", setup: steps(withToken(0), setEnv(envAppSecret, "ffffffffffffffffffffffffffffffff")),
			args: fixed("inspect", "--app-id", "200000000000002"), wantCode: 1,
			wantStderr: []string{"debug_token: Graph API error:", "code 190"},
		},

		// ---- refresh ----
		{
			name: "refresh", setup: withToken(dueLife), args: fixed("refresh", "--app-id", "200000000000002"),
			wantStderr: []string{"the new token expires 20", "revoke it once the new one is deployed"},
			check: func(t *testing.T, w *world, r result) {
				st := mintedToken(t, w, r)
				if st.ExpiresAt.IsZero() {
					t.Errorf("refreshed token never expires; want 60 days")
				}
				// The old token inspected, refreshed, the new one inspected.
				w.wantEndpoints(t, minttest.EndpointDebugToken, minttest.EndpointExchange, minttest.EndpointDebugToken)
			},
		},
		{
			name: "refresh --json --token-stdin", setup: tokenOnStdin(dueLife, ""),
			args: fixed("refresh", "--app-id", "200000000000002", "--token-stdin", "--json"),
			check: func(t *testing.T, w *world, r result) {
				got := stdoutJSON[map[string]string](t, r)
				if _, ok := w.s.Token(got["access_token"]); !ok || got["expires_at"] == "" || len(got) != 2 {
					t.Errorf("refresh --json = %v; want a new token and its expiry", got)
				}
			},
		},
		{
			name: "refresh permanent token refused", setup: withToken(0), args: fixed("refresh", "--app-id", "200000000000002"),
			wantCode: 1, wantStderr: []string{"never expires", "no exchange was requested"},
			check: func(t *testing.T, w *world, r result) {
				w.wantEndpoints(t, minttest.EndpointDebugToken) // and no exchange
				// The admin's token and the one to refresh.
				if n := len(w.s.Tokens()); n != 2 {
					t.Errorf("len(Tokens()) = %d; want 2", n)
				}
			},
		},
		{
			name: "refresh expired token refused", setup: expiredToken,
			args: fixed("refresh", "--app-id", "200000000000002"), wantCode: 1,
			wantStderr: []string{"refused: the token is not valid", "hint: The access token has expired"},
			check: func(t *testing.T, w *world, r result) {
				w.wantEndpoints(t, minttest.EndpointDebugToken)
			},
		},
		{
			name:  "refresh wrong app secret",
			setup: steps(withToken(dueLife), failNext(minttest.EndpointExchange, minttest.Fault{Error: &minttest.Error{Message: "Error validating client secret.", Code: 1}})),
			args:  fixed("refresh", "--app-id", "200000000000002"), wantCode: 1,
			wantStderr: []string{"refreshing the token (GET /oauth/access_token): Graph API error: Error validating client secret.", "hint: Check the app ID and app secret"},
		},

		// ---- revoke ----
		{
			name: "revoke", setup: withToken(tokenLife), args: fixed("revoke", "--app-id", "200000000000002"),
			wantStderr: []string{"revoked the token"},
			check: func(t *testing.T, w *world, r result) {
				if last := w.lastToken(); !last.Revoked {
					t.Errorf("token = %+v; want it revoked", last)
				}
				if w.s.Tokens()[0].Revoked {
					t.Errorf("the admin token was revoked too")
				}
			},
		},
		{
			name: "revoke --token-stdin", setup: tokenOnStdin(0, "\r\n"),
			args: fixed("revoke", "--app-id", "200000000000002", "--token-stdin"),
			check: func(t *testing.T, w *world, r result) {
				if last := w.lastToken(); !last.Revoked {
					t.Errorf("token = %+v; want it revoked", last)
				}
			},
		},
		{
			name: "revoke missing METAMINT_TOKEN", args: fixed("revoke", "--app-id", "200000000000002"), wantCode: 1,
			wantStderr: []string{"METAMINT_TOKEN is not set"}, check: noRequests,
		},
		{
			name: "revoke --system-user-id without --all", args: fixed("revoke", "--system-user-id", "400000000000004"),
			wantCode: 2, wantStderr: []string{"--system-user-id goes with --all"}, check: noRequests,
		},
		{
			name: "revoke --all", setup: func(t *testing.T, w *world, env map[string]string) string {
				w.issue(tokenLife)
				w.issue(0)
				return ""
			},
			args:       fixed("revoke", "--all", "--system-user-id", "400000000000004"),
			wantStderr: []string{"revoked every token of system user 400000000000004"},
			check: func(t *testing.T, w *world, r result) {
				for _, tok := range w.s.Tokens() {
					if tok.Revoked != (tok.UserID == w.fx.SystemUserID) {
						t.Errorf("token of %s Revoked = %t; want %t", tok.UserID, tok.Revoked, !tok.Revoked)
					}
				}
				reqs := w.s.Requests()
				if len(reqs) != 1 || reqs[0].Method != "DELETE" || reqs[0].Form.Has("method") {
					t.Errorf("requests = %+v; want one real DELETE", reqs)
				}
			},
		},
		{
			name: "revoke --all missing --system-user-id", args: fixed("revoke", "--all"), wantCode: 2,
			wantStderr: []string{"missing required --system-user-id"}, check: noRequests,
		},
		{
			name: "revoke --all bad --system-user-id", args: fixed("revoke", "--all", "--system-user-id", "y2"), wantCode: 1,
			wantStderr: []string{"--system-user-id must be a numeric Graph ID"}, check: noRequests,
		},
		{
			name: "revoke --all with --token-stdin", args: fixed("revoke", "--all", "--system-user-id", "1", "--token-stdin"),
			wantCode: 2, wantStderr: []string{"--token-stdin does not go with --all"}, check: noRequests,
		},
		{
			name: "revoke --all missing access token", setup: unset(envAccessToken),
			args:     fixed("revoke", "--all", "--system-user-id", "400000000000004"),
			wantCode: 1, wantStderr: []string{"METAMINT_ACCESS_TOKEN is not set"}, check: noRequests,
		},

		// ---- system-users ----
		{
			name: "system-users", args: fixed("system-users", "--business-id", "100000000000001"),
			wantStdout: []string{"ID", "NAME", "ROLE", "300000000000003", "Admin System User", "ADMIN", "400000000000004", "EMPLOYEE"},
		},
		{
			name: "system-users --json", args: fixed("system-users", "--business-id", "100000000000001", "--json"),
			check: func(t *testing.T, w *world, r result) {
				got := stdoutJSON[[]struct{ ID, Name, Role string }](t, r)
				if len(got) != 2 || got[0].ID != w.fx.AdminSystemUserID || got[1].Role != "EMPLOYEE" {
					t.Errorf("system-users --json = %+v; want the admin and the employee", got)
				}
			},
		},
		{
			name: "system-users missing --business-id", args: fixed("system-users"), wantCode: 2,
			wantStderr: []string{"missing required --business-id"}, check: noRequests,
		},
		{
			name: "system-users bad --business-id", args: fixed("system-users", "--business-id", "acme"), wantCode: 1,
			wantStderr: []string{`metamint system-users: --business-id must be a numeric Graph ID`}, check: noRequests,
		},
		{
			name: "system-users invalid token", setup: steps(setEnv(envAccessToken, "EAAnotatoken"), unset(envAppSecret)),
			args: fixed("system-users", "--business-id", "100000000000001"), wantCode: 1,
			wantStderr: []string{"list system users: Graph API error:", "code 190", "hint: The access token is invalid"},
		},

		// ---- proof ----
		{
			name: "proof", args: fixed("proof"),
			check: func(t *testing.T, w *world, r result) {
				if want := hmacHex(w.fx.AppSecret, w.fx.AdminToken) + "\n"; r.stdout != want {
					t.Errorf("stdout = %q; want %q", r.stdout, want)
				}
				noRequests(t, w, r)
			},
		},
		{
			// printf %s TheQuickBrownFoxJumpsOverTheLazyDog | openssl dgst -sha256 -hmac key
			// (no spaces: a value with one cannot be a token, and is refused)
			name:       "proof known vector",
			setup:      steps(setEnv(envAppSecret, "key"), setEnv(envAccessToken, "TheQuickBrownFoxJumpsOverTheLazyDog")),
			args:       fixed("proof"),
			wantStdout: []string{"79c5383af6f4b6365b2a12e284ba69826086b5d8f5df53213b3bce2367410895\n"},
		},
		{
			name: "proof missing app secret", setup: unset(envAppSecret), args: fixed("proof"), wantCode: 1,
			wantStderr: []string{"METAMINT_APP_SECRET is not set"},
		},
		{
			name: "proof missing access token", setup: unset(envAccessToken), args: fixed("proof"), wantCode: 1,
			wantStderr: []string{"METAMINT_ACCESS_TOKEN is not set"},
		},

		// ---- version, help, usage ----
		{name: "version", args: fixed("version"), wantStdout: []string{"metamint ", "go1."}},
		{name: "--version", args: fixed("--version"), wantStdout: []string{"metamint "}},
		{name: "help", args: fixed("help"), wantStdout: []string{"Commands:", "system-users", "METAMINT_APP_SECRET"}},
		{name: "--help", args: fixed("--help"), wantStdout: []string{"Commands:"}},
		{name: "help mint", args: fixed("help", "mint"), wantStdout: []string{"Usage: metamint mint", "--install-app", "--allow-unlisted-scopes"}},
		{name: "mint -h", args: fixed("mint", "-h"), wantStdout: []string{"Usage: metamint mint", "--scopes"}},
		{name: "help unknown", args: fixed("help", "frobnicate"), wantCode: 2, wantStderr: []string{`unknown command "frobnicate"`}},
		{name: "no command", args: fixed(), wantCode: 2, wantStderr: []string{"Usage: metamint <command>"}},
		{name: "unknown command", args: fixed("frobnicate"), wantCode: 2, wantStderr: []string{`unknown command "frobnicate"`}},
		{name: "flag before command", args: fixed("--json", "mint"), wantCode: 2, wantStderr: []string{"flags go after the command"}},
		{name: "secret flag before command", args: fixed("--app-secret=x", "mint"), wantCode: 2, wantStderr: []string{"METAMINT_APP_SECRET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tt.opts...)
			env := w.env()
			stdin := ""
			if tt.setup != nil {
				stdin = tt.setup(t, w, env)
			}
			args := tt.args(w.fx)
			// The Graph client's waits are recorded, not slept.
			r := runCLIWith(t, env, stdin, []func(*cli){func(c *cli) { c.sleep = w.sleep }}, args...)
			if r.code != tt.wantCode {
				t.Errorf("run(%q) = %d; want %d\nstdout: %s\nstderr: %s", args, r.code, tt.wantCode, r.stdout, r.stderr)
			}
			for _, s := range tt.wantStdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("run(%q) stdout = %q; want it to contain %q", args, r.stdout, s)
				}
			}
			for _, s := range tt.wantStderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("run(%q) stderr = %q; want it to contain %q", args, r.stderr, s)
				}
			}
			if tt.wantCode != 0 && r.stdout != "" && !strings.Contains(strings.Join(args, " "), "inspect") {
				t.Errorf("run(%q) stdout = %q on failure; want nothing", args, r.stdout)
			}
			if tt.check != nil {
				tt.check(t, w, r)
			}
		})
	}
}

// TestEndToEnd runs the flow a user runs: mint with install, inspect, refresh,
// revoke, over one emulator.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	env := w.env()
	r := runCLI(t, env, "", "mint", "--install-app", "--app-id", w.fx.AppID, "--system-user-id", w.fx.SystemUserID,
		"--scopes", "ads_read business_management")
	if r.code != 0 {
		t.Fatalf("mint = %d; want 0\n%s", r.code, r.stderr)
	}
	token := strings.TrimSpace(r.stdout)
	env[envToken] = token
	w.s.Advance(24 * time.Hour) // a day on, a refresh renews it
	for _, args := range [][]string{
		{"inspect", "--app-id", w.fx.AppID},
		{"refresh", "--app-id", w.fx.AppID},
		{"revoke", "--app-id", w.fx.AppID},
	} {
		if r := runCLI(t, env, "", args...); r.code != 0 {
			t.Fatalf("run(%q) = %d; want 0\n%s", args, r.code, r.stderr)
		}
	}
	if st, _ := w.s.Token(token); !st.Revoked {
		t.Errorf("Token(minted).Revoked = false; want true")
	}
	if r := runCLI(t, env, "", "inspect", "--app-id", w.fx.AppID); r.code != 1 {
		t.Errorf("inspect(revoked) = %d; want 1", r.code)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// parseExports reads the export lines the emulator prints.
func parseExports(t *testing.T, out string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		name, val, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || !strings.HasPrefix(line, "export ") {
			continue
		}
		if len(val) < 2 || val[0] != '\'' || val[len(val)-1] != '\'' {
			t.Fatalf("export line %q: want a single-quoted value", line)
		}
		env[name] = strings.ReplaceAll(val[1:len(val)-1], `'\''`, `'`)
	}
	return env
}

var exportNames = []string{envGraphURL, "METAMINT_BUSINESS_ID", "METAMINT_APP_ID", envAppSecret,
	"METAMINT_ADMIN_SYSTEM_USER_ID", envAccessToken, "METAMINT_SYSTEM_USER_ID"}

// emulatorRun is the emulator command run in-process until cancel.
type emulatorRun struct {
	stdout, stderr syncBuffer
	done           chan int // run's exit status
	cancel         context.CancelFunc
}

// startEmulator runs args (the emulator command and its flags) in-process
// with getenv and stdin, and returns once it printed its exports. The
// test's end cancels it.
func startEmulator(t *testing.T, getenv func(string) string, stdin string, args ...string) *emulatorRun {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	e := &emulatorRun{done: make(chan int, 1), cancel: cancel}
	go func() { e.done <- run(ctx, args, getenv, strings.NewReader(stdin), &e.stdout, &e.stderr) }()
	waitFor(t, &e.stdout, "METAMINT_SYSTEM_USER_ID=", e.done)
	return e
}

// TestEmulator runs the emulator command in-process, mints against it, and
// stops it by canceling its context, as SIGINT does.
func TestEmulator(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, func(string) string { return "" }, "", "emulator", "--addr", "127.0.0.1:0")
	env := parseExports(t, e.stdout.String())
	for _, n := range exportNames {
		if env[n] == "" {
			t.Errorf("emulator exports = %v; want %s", slices.Sorted(maps.Keys(env)), n)
		}
	}
	if !strings.HasPrefix(env[envGraphURL], "http://127.0.0.1:") {
		t.Errorf("%s = %q; want http://127.0.0.1:PORT", envGraphURL, env[envGraphURL])
	}
	if !strings.Contains(e.stdout.String(), "# Emulator-only credentials") {
		t.Errorf("emulator stdout = %q; want the emulator-only note", e.stdout.String())
	}
	r := runCLI(t, env, "", "mint", "--install-app", "--app-id", env["METAMINT_APP_ID"],
		"--system-user-id", env["METAMINT_SYSTEM_USER_ID"], "--scopes", "ads_read,business_management")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "EAA") {
		t.Errorf("mint against the emulator = %d, %q; want 0 and a token\n%s", r.code, r.stdout, r.stderr)
	}
	e.cancel()
	select {
	case code := <-e.done:
		if code != 0 {
			t.Errorf("emulator exit status after cancel = %d; want 0\n%s", code, e.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulator did not stop within 10s of cancel")
	}
	if !strings.Contains(e.stderr.String(), "stopped after") {
		t.Errorf("emulator stderr = %q; want a stop line", e.stderr.String())
	}
}

// TestEmulatorAddrPastedSecret: a token pasted where --addr goes is not
// echoed to standard error (a terminal masks nothing); the error names the
// flag and the value's size instead, as for every input (mint.QuoteInput).
func TestEmulatorAddrPastedSecret(t *testing.T) {
	t.Parallel()
	const canary = "EAACANARYaddrTOKEN000000000000000000000000000000000000"
	for _, addr := range []string{canary, canary + ":8080"} {
		r := runCLI(t, nil, "", "emulator", "--addr", addr)
		if r.code != exitError || !strings.Contains(r.stderr, "--addr") || !strings.Contains(r.stderr, "not shown") {
			t.Errorf("run(emulator --addr <%d bytes>) = %d, %q; want %d, naming --addr and not showing the value", len(addr), r.code, r.stderr, exitError)
		}
		if strings.Contains(r.stderr, "CANARY") {
			t.Errorf("run(emulator --addr <%d bytes>) stderr = %q; holds the value", len(addr), r.stderr)
		}
	}
}

func TestEmulatorAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"all interfaces refused", []string{"emulator", "--addr", ":0"}, 1, "not a loopback address"},
		{"public address refused", []string{"emulator", "--addr", "0.0.0.0:0"}, 1, "--allow-remote"},
		{"host name refused", []string{"emulator", "--addr", "example.com:8080"}, 1, "not a loopback address"},
		{"not host:port", []string{"emulator", "--addr", "127.0.0.1"}, 1, "is not host:port"},
		{"port taken", nil, 1, "listen:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := tt.args
			if args == nil {
				w := newWorld(t) // holds a port
				args = []string{"emulator", "--addr", strings.TrimPrefix(w.s.URL, "http://")}
			}
			r := runCLI(t, nil, "", args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("run(%q) = %d, %q; want %d and %q", args, r.code, r.stderr, tt.wantCode, tt.wantStderr)
			}
			if r.stdout != "" {
				t.Errorf("run(%q) stdout = %q; want nothing", args, r.stdout)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"abc", "'abc'"},
		{"", "''"},
		{"it's", `'it'\''s'`},
		{"$(rm -rf /)", "'$(rm -rf /)'"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// failWriter fails every write, as a full disk does.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestStdoutWriteError: a result that could not be written is an error, so
// "metamint version > file" on a full disk does not exit 0; a diagnostic that
// could not be written does not turn a success into a failure.
func TestStdoutWriteError(t *testing.T) {
	t.Parallel()
	env := map[string]string{envAppSecret: "app-secret", envAccessToken: "calling-token"}
	for _, tt := range []struct {
		args     []string
		wantName string // the command the error names
	}{
		{args: []string{"version"}, wantName: "metamint version: "},
		{args: []string{"proof"}, wantName: "metamint proof: "},
		{args: []string{"help"}, wantName: "metamint help: "},
		{args: []string{"help", "mint"}, wantName: "metamint help: "},
		{args: []string{"mint", "-h"}, wantName: "metamint mint: "},
		{args: []string{"--help"}, wantName: "metamint: "},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			code := run(t.Context(), tt.args, func(k string) string { return env[k] }, strings.NewReader(""), failWriter{}, &stderr)
			if code != exitError {
				t.Errorf("run(%q) with a failing stdout = %d; want %d", tt.args, code, exitError)
			}
			want := tt.wantName + "writing standard output: no space left on device\n"
			if got := stderr.String(); got != want {
				t.Errorf("run(%q) stderr = %q; want %q", tt.args, got, want)
			}
		})
	}
	t.Run("stderr", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		env := w.env()
		var stdout bytes.Buffer
		args := []string{"mint", "--install-app", "--app-id", w.fx.AppID, "--system-user-id", w.fx.SystemUserID, "--scopes", "ads_read"}
		code := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, failWriter{})
		if code != exitOK || !strings.HasPrefix(stdout.String(), "EAA") {
			t.Errorf("run(mint) with a failing stderr = %d, stdout %q; want %d and the token", code, stdout.String(), exitOK)
		}
	})
}

// TestMintUndeliveredIsRevoked: a token mint could not print is revoked,
// since nobody else holds it, and the error says so; as text and as JSON.
func TestMintUndeliveredIsRevoked(t *testing.T) {
	t.Parallel()
	for _, extra := range [][]string{nil, {"--json"}} {
		t.Run(fmt.Sprint(extra), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			env := w.env()
			args := append([]string{"mint", "--install-app", "--app-id", w.fx.AppID, "--system-user-id", w.fx.SystemUserID, "--scopes", "ads_read"}, extra...)
			var stderr bytes.Buffer
			code := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(""), failWriter{}, &stderr)
			if code != exitError {
				t.Errorf("run(mint) with a failing stdout = %d; want %d", code, exitError)
			}
			for _, want := range []string{"no space left on device", "revoked the new token"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr = %q; want it to contain %q", stderr.String(), want)
				}
			}
			if last := w.lastToken(); w.s.Minted() != 1 || !last.Revoked {
				t.Errorf("minted %d, last token %+v; want the one token revoked", w.s.Minted(), last)
			}
		})
	}
}

// TestHelpNamesTheCallsMade: every Graph call a command's help names
// ("GET /oauth/access_token") is a call the command makes, with that
// method, when run against the emulator.
func TestHelpNamesTheCallsMade(t *testing.T) {
	t.Parallel()
	endpoint := map[string]minttest.Endpoint{
		"POST /{system-user-id}/applications":    minttest.EndpointApplications,
		"POST /{system-user-id}/access_tokens":   minttest.EndpointAccessTokens,
		"DELETE /{system-user-id}/access_tokens": minttest.EndpointRevokeAll,
		"GET /debug_token":                       minttest.EndpointDebugToken,
		"GET /oauth/access_token":                minttest.EndpointExchange,
		"GET /oauth/revoke":                      minttest.EndpointRevoke,
		"GET /{business-id}/system_users":        minttest.EndpointSystemUsers,
	}
	call := regexp.MustCompile(`\b(GET|POST|DELETE|PUT|PATCH) (/[^\s),]+)`)
	for _, tt := range []struct {
		name string
		args func(w *world) []string
	}{
		{"mint", func(w *world) []string {
			return []string{"mint", "--install-app", "--app-id", w.fx.AppID, "--system-user-id", w.fx.SystemUserID, "--scopes", "ads_read"}
		}},
		{"install", func(w *world) []string {
			return []string{"install", "--app-id", w.fx.AppID, "--system-user-id", w.fx.SystemUserID}
		}},
		{"inspect", func(w *world) []string { return []string{"inspect", "--app-id", w.fx.AppID} }},
		{"refresh", func(w *world) []string { return []string{"refresh", "--app-id", w.fx.AppID} }},
		{"revoke", func(w *world) []string { return []string{"revoke", "--app-id", w.fx.AppID} }},
		{"revoke", func(w *world) []string { return []string{"revoke", "--all", "--system-user-id", w.fx.SystemUserID} }},
		{"system-users", func(w *world) []string { return []string{"system-users", "--business-id", w.fx.BusinessID} }},
	} {
		w := newWorld(t)
		env := w.env()
		env[envToken] = w.issue(30 * 24 * time.Hour)
		if r := runCLI(t, env, "", tt.args(w)...); r.code != exitOK {
			t.Fatalf("%q = %d, %s", tt.args(w), r.code, r.stderr)
		}
		made := map[minttest.Endpoint]string{}
		for _, r := range w.s.Requests() {
			made[r.Endpoint] = r.Method
		}
		help := runCLI(t, nil, "", "help", tt.name).stdout
		for _, m := range call.FindAllStringSubmatch(help, -1) {
			e, ok := endpoint[m[0]]
			if !ok {
				t.Errorf("help %s names %q, a call no command makes", tt.name, m[0])
				continue
			}
			if method, ok := made[e]; ok && method != m[1] {
				t.Errorf("help %s names %q; the command sends %s", tt.name, m[0], method)
			}
		}
	}
}
