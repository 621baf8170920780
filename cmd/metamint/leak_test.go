package main

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint/minttest"
)

// leakWorld is an emulator whose app secret is a canary, plus two canaries
// that are never valid: a wrong app secret and a bogus token. Every token the
// emulator issues is a canary too: each is a unique random string.
type leakWorld struct {
	s                                *minttest.Server
	businessID, appID, adminID, suID string
	appSecret, wrongSecret, bogusTok string
	adminToken, proofOfAdmin         string
}

func newLeakWorld(t *testing.T) *leakWorld {
	t.Helper()
	s := minttest.NewServer()
	t.Cleanup(s.Close)
	w := &leakWorld{
		s:          s,
		businessID: "110000000000001", appID: "220000000000002", adminID: "330000000000003", suID: "440000000000004",
		appSecret:   "canaryAppSecret" + rand.Text(),
		wrongSecret: "canaryWrongSecret" + rand.Text(),
		bogusTok:    "EAAcanaryBogusToken" + rand.Text(),
	}
	s.AddBusiness(minttest.Business{ID: w.businessID, Name: "Leak Test Business"})
	s.AddApp(minttest.App{ID: w.appID, Name: "Leak Test App", Secret: w.appSecret, BusinessID: w.businessID})
	s.AddSystemUser(minttest.SystemUser{ID: w.adminID, BusinessID: w.businessID, Name: "Admin", Role: "ADMIN"})
	s.AddSystemUser(minttest.SystemUser{ID: w.suID, BusinessID: w.businessID, Name: "Worker"})
	s.InstallApp(w.adminID, w.appID)
	w.adminToken = s.IssueToken(minttest.TokenSpec{UserID: w.adminID, AppID: w.appID, Scopes: []string{"business_management"}})
	w.proofOfAdmin = hmacHex(w.appSecret, w.adminToken)
	return w
}

func (w *leakWorld) env() map[string]string {
	return map[string]string{envGraphURL: w.s.URL, envAppSecret: w.appSecret, envAccessToken: w.adminToken}
}

// issue installs the app for the system user and issues it a token.
func (w *leakWorld) issue(life time.Duration) string {
	w.s.InstallApp(w.suID, w.appID)
	spec := minttest.TokenSpec{UserID: w.suID, AppID: w.appID, Scopes: []string{"ads_read"}}
	if life > 0 {
		spec.ExpiresAt = w.s.Now().Add(life)
	}
	return w.s.IssueToken(spec)
}

type canaryKind string

const (
	kindSecret canaryKind = "app secret"
	kindToken  canaryKind = "token"
	kindProof  canaryKind = "appsecret_proof"
)

type canary struct {
	kind  canaryKind
	value string
}

// canaries lists every secret value of the world: both app secrets, every
// token the emulator knows plus the bogus one, and the proof of each token
// under each secret.
func (w *leakWorld) canaries() []canary {
	out := []canary{{kindSecret, w.appSecret}, {kindSecret, w.wrongSecret}, {kindToken, w.bogusTok}}
	tokens := []string{w.bogusTok}
	for _, st := range w.s.Tokens() {
		out = append(out, canary{kindToken, st.Value})
		tokens = append(tokens, st.Value)
	}
	for _, tok := range tokens {
		out = append(out, canary{kindProof, hmacHex(w.appSecret, tok)}, canary{kindProof, hmacHex(w.wrongSecret, tok)})
	}
	return out
}

// urlExceptions are the only places a secret may appear in a request URL:
// where Graph takes it only in the URL. Each names the endpoint, the query
// parameter and the one kind of secret allowed there.
var urlExceptions = map[minttest.Endpoint]map[string]canaryKind{
	// GET /debug_token: the token inspected (the app token goes in the header).
	minttest.EndpointDebugToken: {"input_token": kindToken},
	// GET /oauth/revoke: Meta documents its parameters in the query, the
	// caller's access_token included; no header carries a token there, so
	// even a token with a newline can be revoked. The caller's proof goes with
	// it, for apps with "Require App Secret" on.
	minttest.EndpointRevoke: {"client_secret": kindSecret, "revoke_token": kindToken, "access_token": kindToken,
		"appsecret_proof": kindProof},
	// GET /oauth/access_token: Meta documents the refresh with GET and every
	// parameter in the query.
	minttest.EndpointExchange: {"client_secret": kindSecret, "fb_exchange_token": kindToken},
	// GET and DELETE have no body, so the proof rides in the query.
	minttest.EndpointSystemUsers: {"appsecret_proof": kindProof},
	minttest.EndpointRevokeAll:   {"appsecret_proof": kindProof},
}

// TestNoSecretLeaks runs every command and failure path with canary secrets
// and looks for them in stdout, stderr and every request URL.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	type leakCase struct {
		name  string
		setup func(t *testing.T, w *leakWorld, env map[string]string) string // returns stdin
		args  func(w *leakWorld) []string
		// stdout is the one secret stdout must carry: "minted" (a token
		// this run created), "proof" (the proof of the admin token), or "".
		stdout string
	}
	mintArgs := func(extra ...string) func(*leakWorld) []string {
		return func(w *leakWorld) []string {
			return append([]string{"mint", "--app-id", w.appID, "--system-user-id", w.suID, "--scopes", "ads_read,business_management"}, extra...)
		}
	}
	args := func(a ...string) func(*leakWorld) []string {
		return func(w *leakWorld) []string {
			out := make([]string, len(a))
			for i, s := range a {
				out[i] = strings.NewReplacer("APP", w.appID, "SU", w.suID, "BIZ", w.businessID,
					"SECRET", w.appSecret, "ADMINTOKEN", w.adminToken).Replace(s)
			}
			return out
		}
	}
	installed := func(t *testing.T, w *leakWorld, env map[string]string) string {
		w.s.InstallApp(w.suID, w.appID)
		return ""
	}
	tokenEnv := func(life time.Duration) func(*testing.T, *leakWorld, map[string]string) string {
		return func(t *testing.T, w *leakWorld, env map[string]string) string {
			env[envToken] = w.issue(life)
			return ""
		}
	}
	tokenStdin := func(life time.Duration) func(*testing.T, *leakWorld, map[string]string) string {
		return func(t *testing.T, w *leakWorld, env map[string]string) string { return w.issue(life) + "\n" }
	}
	set := func(name, which string) func(*testing.T, *leakWorld, map[string]string) string {
		return func(t *testing.T, w *leakWorld, env map[string]string) string {
			w.s.InstallApp(w.suID, w.appID)
			switch which {
			case "wrong secret":
				env[name] = w.wrongSecret
			case "bogus token":
				env[name] = w.bogusTok
			case "unset":
				delete(env, name)
			}
			env[envToken] = w.issue(60 * 24 * time.Hour)
			return ""
		}
	}
	// echo makes the next call to e fail with a message quoting every
	// secret the request may carry, to prove the CLI prints it redacted.
	echo := func(e minttest.Endpoint, life time.Duration) func(*testing.T, *leakWorld, map[string]string) string {
		return func(t *testing.T, w *leakWorld, env map[string]string) string {
			tok, ok := env[envToken]
			if !ok {
				tok = w.issue(life)
				env[envToken] = tok
			}
			w.s.FailNext(e, minttest.Fault{Error: &minttest.Error{
				Message: "(#100) echo secret=" + w.appSecret + " token=" + tok + " admin=" + w.adminToken +
					" proof=" + w.proofOfAdmin + " escaped=" + url.QueryEscape(tok),
				Code: 100, UserTitle: "title " + w.appSecret, UserMessage: "msg " + w.adminToken,
			}})
			return ""
		}
	}
	// echoTrace makes the next call to e fail with error.type and
	// fbtrace_id (in the body, or in the x-fb-trace-id header when the body
	// has none) quoting every secret the request may carry.
	echoTrace := func(e minttest.Endpoint, life time.Duration, inHeader bool) func(*testing.T, *leakWorld, map[string]string) string {
		return func(t *testing.T, w *leakWorld, env map[string]string) string {
			tok, ok := env[envToken]
			if !ok {
				tok = w.issue(life)
				env[envToken] = tok
			}
			echoText := w.appSecret + "|" + tok + "|" + w.adminToken + "|" + w.proofOfAdmin + "|" + url.QueryEscape(tok)
			f := minttest.Fault{Status: 400}
			if inHeader {
				f.Body = []byte(`{"error":{"message":"m","type":"OAuthException","code":100}}`)
				f.Header = http.Header{"X-Fb-Trace-Id": {echoText}}
			} else {
				f.Body = []byte(`{"error":{"message":"m","type":"T` + echoText + `","code":100,"fbtrace_id":"` + echoText + `"}}`)
			}
			w.s.FailNext(e, f)
			return ""
		}
	}
	expiredAdmin := func(t *testing.T, w *leakWorld, env map[string]string) string {
		w.s.InstallApp(w.suID, w.appID)
		env[envAccessToken] = w.s.IssueToken(minttest.TokenSpec{UserID: w.adminID, AppID: w.appID,
			Scopes: []string{"business_management"}, ExpiresAt: w.s.Now().Add(time.Minute)})
		w.s.Advance(time.Hour)
		return ""
	}
	const day = 24 * time.Hour

	tests := []leakCase{
		{name: "mint --install-app", args: mintArgs("--install-app"), stdout: "minted"},
		{name: "mint --json", setup: installed, args: mintArgs("--json"), stdout: "minted"},
		{name: "mint permanent", setup: installed, args: mintArgs("--expiring-token=false"), stdout: "minted"},
		{name: "mint not installed", args: mintArgs()},
		{name: "mint wrong secret", setup: set(envAppSecret, "wrong secret"), args: mintArgs()},
		{name: "mint bogus calling token", setup: set(envAccessToken, "bogus token"), args: mintArgs()},
		{name: "mint expired calling token", setup: expiredAdmin, args: mintArgs()},
		{name: "mint missing secret", setup: set(envAppSecret, "unset"), args: mintArgs()},
		{name: "mint missing token", setup: set(envAccessToken, "unset"), args: mintArgs()},
		{name: "mint unlisted scope", setup: installed, args: args("mint", "--app-id", "APP", "--system-user-id", "SU", "--scopes", "manage_pages")},
		{name: "mint --app-secret=secret", args: mintArgs("--app-secret=" + "SECRET")},
		{name: "mint --access-token token", args: args("mint", "--access-token", "ADMINTOKEN", "--app-id", "APP")},
		{name: "mint secret as bool value", args: args("mint", "--expiring-token=SECRET")},
		{name: "mint token as unknown flag", args: args("mint", "--ADMINTOKEN")},
		{name: "mint token as argument", args: args("mint", "--app-id", "APP", "ADMINTOKEN")},
		{name: "token as command", args: args("ADMINTOKEN")},
		{name: "secret as command", args: args("SECRET", "mint")},
		{name: "secret as command with a secret flag", args: args("SECRET", "--app-secret=SECRET")},
		{name: "secret flag before command", args: args("--access-token=ADMINTOKEN", "mint")},
		{name: "help secret", args: args("help", "SECRET")},
		{name: "mint create fails echoing secrets", setup: echo(minttest.EndpointAccessTokens, 0), args: mintArgs()},
		{name: "mint create fails echoing secrets in fbtrace_id and type", setup: echoTrace(minttest.EndpointAccessTokens, 0, false), args: mintArgs()},
		{name: "mint create fails echoing secrets in x-fb-trace-id", setup: echoTrace(minttest.EndpointAccessTokens, 0, true), args: mintArgs()},
		{name: "refresh fails echoing secrets in fbtrace_id and type", setup: echoTrace(minttest.EndpointExchange, 60*day, false), args: args("refresh", "--app-id", "APP")},
		{name: "mint install fails echoing secrets", setup: echo(minttest.EndpointApplications, 0), args: mintArgs("--install-app")},
		// mint inspects the calling token first (its expiry), then the new
		// one: the first debug_token is let through, or echoes too.
		{name: "mint check fails, token revoked", setup: func(t *testing.T, w *leakWorld, env map[string]string) string {
			w.s.FailNext(minttest.EndpointDebugToken, minttest.Fault{})
			return echo(minttest.EndpointDebugToken, 0)(t, w, env)
		}, args: mintArgs()},
		{name: "mint calling token's check and new token's check echo", setup: func(t *testing.T, w *leakWorld, env map[string]string) string {
			echo(minttest.EndpointDebugToken, 0)(t, w, env)
			return echo(minttest.EndpointDebugToken, 0)(t, w, env)
		}, args: mintArgs()},
		{name: "mint check echoes in data.error.message", setup: func(t *testing.T, w *leakWorld, env map[string]string) string {
			w.s.FailNext(minttest.EndpointDebugToken, minttest.Fault{})
			echoText := "echo secret=" + w.appSecret + " admin=" + w.adminToken + " proof=" + w.proofOfAdmin
			w.s.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: 200, Body: []byte(
				`{"data":{"is_valid":false,"scopes":[],"application":"` + echoText + `","error":{"code":190,"message":"` + echoText + `"}}}`)})
			return ""
		}, args: mintArgs()},
		{name: "mint check and revoke fail", setup: func(t *testing.T, w *leakWorld, env map[string]string) string {
			w.s.FailNext(minttest.EndpointDebugToken, minttest.Fault{})
			echo(minttest.EndpointDebugToken, 0)(t, w, env)
			echo(minttest.EndpointRevoke, 0)(t, w, env)
			return ""
		}, args: mintArgs()},

		{name: "install", args: args("install", "--app-id", "APP", "--system-user-id", "SU")},
		{name: "install bogus calling token", setup: set(envAccessToken, "bogus token"), args: args("install", "--app-id", "APP", "--system-user-id", "SU")},
		{name: "install wrong secret", setup: set(envAppSecret, "wrong secret"), args: args("install", "--app-id", "APP", "--system-user-id", "SU")},
		{name: "install fails echoing secrets", setup: echo(minttest.EndpointApplications, 0), args: args("install", "--app-id", "APP", "--system-user-id", "SU")},

		{name: "inspect", setup: tokenEnv(60 * day), args: args("inspect", "--app-id", "APP")},
		{name: "inspect --json --token-stdin", setup: tokenStdin(0), args: args("inspect", "--app-id", "APP", "--json", "--token-stdin")},
		{name: "inspect bogus token", setup: func(t *testing.T, w *leakWorld, env map[string]string) string {
			env[envToken] = w.bogusTok
			return ""
		}, args: args("inspect", "--app-id", "APP")},
		{name: "inspect expired token", setup: func(t *testing.T, w *leakWorld, env map[string]string) string {
			env[envToken] = w.issue(time.Minute)
			w.s.Advance(time.Hour)
			return ""
		}, args: args("inspect", "--app-id", "APP")},
		{name: "inspect wrong secret", setup: set(envAppSecret, "wrong secret"), args: args("inspect", "--app-id", "APP")},
		{name: "inspect fails echoing secrets", setup: echo(minttest.EndpointDebugToken, 0), args: args("inspect", "--app-id", "APP")},

		{name: "refresh", setup: tokenEnv(10 * day), args: args("refresh", "--app-id", "APP"), stdout: "minted"},
		{name: "refresh --json --token-stdin", setup: tokenStdin(10 * day), args: args("refresh", "--app-id", "APP", "--json", "--token-stdin"), stdout: "minted"},
		{name: "refresh permanent refused", setup: tokenEnv(0), args: args("refresh", "--app-id", "APP")},
		{name: "refresh wrong secret", setup: set(envAppSecret, "wrong secret"), args: args("refresh", "--app-id", "APP")},
		{name: "refresh fails echoing secrets", setup: echo(minttest.EndpointExchange, 60*day), args: args("refresh", "--app-id", "APP")},

		{name: "revoke", setup: tokenEnv(60 * day), args: args("revoke", "--app-id", "APP")},
		{name: "revoke --token-stdin", setup: tokenStdin(0), args: args("revoke", "--app-id", "APP", "--token-stdin")},
		{name: "revoke wrong secret", setup: set(envAppSecret, "wrong secret"), args: args("revoke", "--app-id", "APP")},
		{name: "revoke fails echoing secrets", setup: echo(minttest.EndpointRevoke, 0), args: args("revoke", "--app-id", "APP")},
		{name: "revoke --all", setup: tokenEnv(60 * day), args: args("revoke", "--all", "--system-user-id", "SU")},
		{name: "revoke --all bogus calling token", setup: set(envAccessToken, "bogus token"), args: args("revoke", "--all", "--system-user-id", "SU")},
		{name: "revoke --all wrong secret", setup: set(envAppSecret, "wrong secret"), args: args("revoke", "--all", "--system-user-id", "SU")},
		{name: "revoke --all fails echoing secrets", setup: echo(minttest.EndpointRevokeAll, 0), args: args("revoke", "--all", "--system-user-id", "SU")},

		{name: "system-users", args: args("system-users", "--business-id", "BIZ")},
		{name: "system-users --json", args: args("system-users", "--business-id", "BIZ", "--json")},
		{name: "system-users bogus calling token", setup: set(envAccessToken, "bogus token"), args: args("system-users", "--business-id", "BIZ")},
		{name: "system-users wrong secret", setup: set(envAppSecret, "wrong secret"), args: args("system-users", "--business-id", "BIZ")},
		{name: "system-users fails echoing secrets", setup: echo(minttest.EndpointSystemUsers, 0), args: args("system-users", "--business-id", "BIZ")},

		{name: "proof", args: args("proof"), stdout: "proof"},
		{name: "proof missing token", setup: set(envAccessToken, "unset"), args: args("proof")},
		{name: "version", args: args("version")},
		{name: "help", args: args("help")},
		{name: "help mint", args: args("help", "mint")},
		{name: "emulator refused address", args: args("emulator", "--addr", "0.0.0.0:0")},
	}

	var mu sync.Mutex
	used := map[string]bool{} // endpoint + " " + parameter, for every URL exception seen
	ran := 0
	t.Cleanup(func() {
		if ran != len(tests) {
			return // a -run filter: not every path was exercised
		}
		for e, params := range urlExceptions {
			for p := range params {
				if !used[string(e)+" "+p] {
					t.Errorf("URL exception %s %s was never exercised; remove it or add a case", e, p)
				}
			}
		}
	})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newLeakWorld(t)
			env := w.env()
			stdin := ""
			if tt.setup != nil {
				stdin = tt.setup(t, w, env)
			}
			before := map[string]bool{}
			for _, st := range w.s.Tokens() {
				before[st.Value] = true
			}
			argv := tt.args(w)
			r := runCLI(t, env, stdin, argv...)

			allowed := map[string]bool{}
			switch tt.stdout {
			case "minted":
				for _, st := range w.s.Tokens() {
					if !before[st.Value] {
						allowed[st.Value] = true
					}
				}
				if r.code != 0 || len(allowed) != 1 {
					t.Fatalf("run = %d with %d new tokens; want 0 and one token\n%s", r.code, len(allowed), r.stderr)
				}
			case "proof":
				allowed[w.proofOfAdmin] = true
			}
			for v := range allowed {
				if !strings.Contains(r.stdout, v) {
					t.Errorf("stdout = %q; want it to carry the %s", r.stdout, tt.stdout)
				}
			}

			for _, c := range w.canaries() {
				for _, form := range []string{c.value, url.QueryEscape(c.value)} {
					if strings.Contains(r.stderr, form) {
						t.Errorf("stderr holds a %s canary:\n%s", c.kind, r.stderr)
					}
					if strings.Contains(r.stdout, form) && !allowed[c.value] {
						t.Errorf("stdout holds a %s canary:\n%s", c.kind, r.stdout)
					}
				}
			}
			for _, req := range w.s.Requests() {
				seen := checkRequestURL(t, req, w.canaries())
				mu.Lock()
				for _, s := range seen {
					used[s] = true
				}
				mu.Unlock()
				if req.Form.Has("access_token") && req.Endpoint != minttest.EndpointRevoke {
					t.Errorf("%s %s carried access_token as a parameter; want the Authorization header", req.Method, req.Path)
				}
			}
			mu.Lock()
			ran++
			mu.Unlock()
		})
	}
}

// checkRequestURL reports every canary in req's URL outside urlExceptions,
// and returns the exceptions it used ("endpoint param").
func checkRequestURL(t *testing.T, req minttest.Request, canaries []canary) []string {
	t.Helper()
	for _, c := range canaries {
		if strings.Contains(req.Path, c.value) || strings.Contains(req.Path, url.PathEscape(c.value)) {
			t.Errorf("%s %s: the path holds a %s", req.Method, req.Endpoint, c.kind)
		}
	}
	q, err := url.ParseQuery(req.RawQuery)
	if err != nil {
		t.Errorf("%s %s: unparsable query: %v", req.Method, req.Endpoint, err)
		return nil
	}
	var used []string
	for param, values := range q {
		for _, v := range values {
			for _, c := range canaries {
				if !strings.Contains(v, c.value) {
					continue
				}
				if kind, ok := urlExceptions[req.Endpoint][param]; ok && kind == c.kind && v == c.value {
					used = append(used, string(req.Endpoint)+" "+param)
					continue
				}
				t.Errorf("%s %s: query parameter %s holds a %s; Graph does not need it in the URL",
					req.Method, req.Endpoint, param, c.kind)
			}
		}
	}
	return used
}

// TestNoSecretLeaksEmulator runs the emulator with canary secrets in its
// environment: it prints its own emulator credentials, never the caller's.
func TestNoSecretLeaksEmulator(t *testing.T) {
	t.Parallel()
	canaries := map[string]string{
		envAppSecret:   "canaryAppSecret" + rand.Text(),
		envAccessToken: "EAAcanaryAccessToken" + rand.Text(),
		envToken:       "EAAcanaryToken" + rand.Text(),
	}
	e := startEmulator(t, func(k string) string { return canaries[k] }, canaries[envToken], "emulator")
	e.cancel()
	if code := <-e.done; code != 0 {
		t.Errorf("emulator exit status = %d; want 0", code)
	}
	for name, v := range canaries {
		if strings.Contains(e.stdout.String(), v) || strings.Contains(e.stderr.String(), v) {
			t.Errorf("emulator output holds the canary of %s", name)
		}
	}
}

// waitFor polls buf until it holds s, failing if done delivers first or 10 s
// pass.
func waitFor(t *testing.T, buf *syncBuffer, s string, done <-chan int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(buf.String(), s) {
		select {
		case code := <-done:
			t.Fatalf("exited with %d before printing %q", code, s)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("output %q has no %q after 10s", buf.String(), s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
