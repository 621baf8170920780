package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

const canaryMintingSecret = "CANARYmintingAPPsecret0000000004"

// twoApps adds a second app of the business and an admin token generated
// with it, and returns that token: one admin token minting for another app.
func twoApps(w *world) string {
	const mintingAppID = "200000000000099"
	w.srv.AddApp(minttest.App{ID: mintingAppID, Name: "Minting App", Secret: canaryMintingSecret, BusinessID: w.businessID})
	return w.srv.IssueToken(minttest.TokenSpec{UserID: "300000000000003", AppID: mintingAppID, Scopes: []string{"business_management"}})
}

// TestTwoApps: with minting-app-secret, the proofs of install and mint are
// keyed with the calling token's app secret; the post step revokes the
// minted token with itself as the caller, since the minting token, of
// another app, may not be.
func TestTwoApps(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	caller := twoApps(w)
	in := w.inputs()
	in["INPUT_ACCESS-TOKEN"] = caller
	in["INPUT_INSTALL-APP"] = "true"

	// Without minting-app-secret, Graph refuses the proof and the error
	// names the input.
	r := runStep(t, w, in, []string{"metamint-action"})
	if r.err == nil || !strings.Contains(r.err.Error(), "minting-app-secret") {
		t.Fatalf("run(main) without minting-app-secret = %v; want the proof refusal naming minting-app-secret", r.err)
	}

	in["INPUT_MINTING-APP-SECRET"] = canaryMintingSecret
	r = runStep(t, w, in, []string{"metamint-action"})
	if r.err != nil {
		t.Fatalf("run(main) = %v\n%s", r.err, r.stdout)
	}
	checkMasksFirst(t, w, in, r)
	secrets := append(w.secrets(), canaryMintingSecret, mint.AppSecretProof(canaryMintingSecret, caller))
	checkNoLeaks(t, secrets, r)
	want := mint.AppSecretProof(canaryMintingSecret, caller)
	for _, e := range []minttest.Endpoint{minttest.EndpointApplications, minttest.EndpointAccessTokens} {
		if got := lastForm(t, w, e).Get("appsecret_proof"); got != want {
			t.Errorf("%s appsecret_proof = %q; want it keyed with minting-app-secret", e, got)
		}
	}
	if !strings.Contains(r.stdout, "::debug::The access-token was generated with another app") {
		t.Errorf("stdout = %q; want one debug line saying the calling token cannot be checked", r.stdout)
	}
	if n := strings.Count(r.stdout, "::debug::"); n != 1 {
		t.Errorf("debug lines = %d; want 1", n)
	}

	post := runStep(t, w, postEnv(in, r), []string{"/post"})
	checkNoLeaks(t, secrets, post)
	tok, ok := w.srv.Token(r.outputs[outToken])
	if !ok || !tok.Revoked {
		t.Errorf("minted token not revoked by the post step:\n%s", post.stdout)
	}
	q := lastForm(t, w, minttest.EndpointRevoke)
	if q.Get("access_token") != tok.Value || q.Get("client_id") != w.appID {
		t.Errorf("revoke caller = %q, client_id %q; want the token itself and app-id", q.Get("access_token"), q.Get("client_id"))
	}
}

// TestCallerExpiryWarning: the calling token's expiry is checked beside the
// mint, and a token that expires within 15 days makes a warning naming the
// remedy.
func TestCallerExpiryWarning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		lifetime time.Duration
		warn     bool
	}{
		{"expires in 10 days", 10 * 24 * time.Hour, true},
		{"expires in 20 days", 20 * 24 * time.Hour, false},
		{"never expires", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			installed(w)
			in := w.inputs()
			if tt.lifetime > 0 {
				in["INPUT_ACCESS-TOKEN"] = w.srv.IssueToken(minttest.TokenSpec{UserID: "300000000000003", AppID: w.appID,
					Scopes: []string{"business_management"}, ExpiresAt: w.srv.Now().Add(tt.lifetime)})
			}
			r := runStep(t, w, in, []string{"metamint-action"}, withClock(w.srv.Now))
			if r.err != nil {
				t.Fatalf("run(main) = %v", r.err)
			}
			got := strings.Contains(r.stdout, "::warning::The access-token this step mints with expires at")
			if got != tt.warn {
				t.Errorf("warning = %v; want %v\n%s", got, tt.warn, r.stdout)
			}
			if tt.warn && (!strings.Contains(r.stdout, "renew-secret") || !strings.Contains(r.stdout, "docs/renew.md")) {
				t.Errorf("warning does not name the remedy:\n%s", r.stdout)
			}
		})
	}
}

// TestHostileGraph puts a hostile Graph before the action: Graph strings
// that try workflow-command injection, line breaks in outputs, control
// characters in names, a token with a newline, and a huge input.
func TestHostileGraph(t *testing.T) {
	t.Parallel()
	const inject = "\n::warning::INJECTED"
	debugBody := func(w *world, scopes []string, app string) []byte {
		q := make([]string, len(scopes))
		for i, s := range scopes {
			q[i] = jsonQuote(s)
		}
		return []byte(`{"data":{"app_id":"` + w.appID + `","type":"SYSTEM_USER","application":` + jsonQuote(app) + `,"is_valid":true,` +
			`"expires_at":0,"scopes":[` + strings.Join(q, ",") + `],"granular_scopes":[{"scope":"ads_read","target_ids":[` + jsonQuote("act_1"+inject) + `]}],"user_id":"` + w.systemUserID + `"}}`)
	}
	// inspected answers the minted token's debug_token with body, after the
	// calling token's check.
	inspected := func(w *world, body []byte) {
		w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{})
		w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: http.StatusOK, Body: body})
	}
	tests := []struct {
		name    string
		setup   func(w *world, in map[string]string)
		wantErr string
		check   func(t *testing.T, w *world, r result)
	}{
		{
			name: "scope with a workflow command",
			setup: func(w *world, in map[string]string) {
				inspected(w, debugBody(w, []string{"ads_read", "business_management", "x" + inject}, "Canary App"))
			},
			wantErr: "line break",
			check: func(t *testing.T, w *world, r result) {
				if len(r.outputs) != 0 {
					t.Errorf("outputs = %v; want none", r.outputs)
				}
				discarded(t, w, r)
			},
		},
		{
			name: "app name and targets with control characters",
			setup: func(w *world, in map[string]string) {
				inspected(w, debugBody(w, []string{"ads_read", "business_management"}, "Evil\x1b[31m\u202e\x00"+inject))
			},
			check: func(t *testing.T, w *world, r result) {
				if strings.ContainsAny(r.summary, "\x1b\x00\u202e") || strings.Contains(r.summary, "\n::warning::") {
					t.Errorf("summary holds raw control characters or a command line:\n%q", r.summary)
				}
				if !strings.Contains(r.summary, "`act_1 ::warning::INJECTED`") {
					t.Errorf("summary = %q; want the asset of ads_read, on one line", r.summary)
				}
			},
		},
		{
			name: "token with a newline",
			setup: func(w *world, in map[string]string) {
				w.srv.MintNextAs("EAA" + inject)
			},
			wantErr: "malformed token",
			check: func(t *testing.T, w *world, r result) {
				st, ok := w.srv.Token("EAA" + inject)
				if !ok || !st.Revoked {
					t.Errorf("hostile token = %+v, %v; want it revoked", st, ok)
				}
				if len(r.outputs) != 0 || len(r.saved) != 0 {
					t.Errorf("outputs %v, state %v; want none", r.outputs, r.saved)
				}
			},
		},
		{
			name: "huge scope input",
			setup: func(w *world, in map[string]string) {
				in["INPUT_SCOPES"] = "ads_read," + strings.Repeat("y", 127<<10)
			},
			wantErr: "bytes that is not shown",
			check: func(t *testing.T, w *world, r result) {
				if len(r.stdout) > 2000 {
					t.Errorf("stdout is %d bytes; want the 127 KiB scope cut short", len(r.stdout))
				}
			},
		},
		{
			name: "debug_token echoes the token in data.error.message",
			setup: func(w *world, in map[string]string) {
				w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{})
				// The body names the minted token, known only once minted:
				// a second hostile value stands in for it.
				w.srv.MintNextAs("EAAminted0canary0echoed0000005")
				w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: http.StatusOK, Body: []byte(
					`{"data":{"is_valid":false,"scopes":[],"error":{"code":190,"message":"bad token EAAminted0canary0echoed0000005 for ` +
						canaryAppSecret + ` ` + url.QueryEscape(w.appID+"|"+canaryAppSecret) + `"}}}`)})
			},
			wantErr: "not valid",
			check:   discarded,
		},
		{
			name: "debug_token answers hostile app_id and user_id",
			setup: func(w *world, in map[string]string) {
				w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{})
				w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: http.StatusOK, Body: []byte(
					`{"data":{"is_valid":true,"type":"SYSTEM_USER","scopes":["ads_read","business_management"],` +
						`"app_id":` + jsonQuote(hostileGraphText) + `,"user_id":` + jsonQuote(hostileGraphText) + `}}`)})
			},
			wantErr: "does not match",
			check:   noRawGraphText,
		},
		{
			name: "debug_token answers a hostile error.message",
			setup: func(w *world, in map[string]string) {
				w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{})
				w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: http.StatusOK, Body: []byte(
					`{"data":{"is_valid":false,"scopes":[],"error":{"code":190,"message":` + jsonQuote(hostileGraphText) + `}}}`)})
			},
			wantErr: "not valid",
			check:   noRawGraphText,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			installed(w)
			in := w.inputs()
			tt.setup(w, in)
			r := runStep(t, w, in, []string{"metamint-action"})
			if tt.wantErr == "" && r.err != nil {
				t.Fatalf("run(main) = %v", r.err)
			}
			if tt.wantErr != "" && (r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr)) {
				t.Fatalf("run(main) = %v; want an error containing %q", r.err, tt.wantErr)
			}
			for i, line := range strings.Split(r.stdout, "\n") {
				if strings.HasPrefix(line, "::warning::INJECTED") || strings.ContainsAny(line, "\x1b\x00\r") {
					t.Errorf("stdout line %d = %q: Graph text became a workflow command or raw control characters", i+1, line)
				}
			}
			for k, v := range r.outputs {
				if strings.ContainsAny(v, "\r\n") {
					t.Errorf("output %s = %q; want no line break", k, v)
				}
			}
			checkMasksFirst(t, w, in, r)
			checkNoLeaks(t, w.secrets(), r)
			if tt.check != nil {
				tt.check(t, w, r)
			}
		})
	}
}

// hostileGraphText is a Graph text that would drive a terminal, end a log
// line and start a workflow command if printed raw.
const hostileGraphText = "1\x1b[31m\n::warning::INJECTED\r\n::error::INJECTED"

// noRawGraphText checks that hostileGraphText reached neither the error nor
// stdout raw.
func noRawGraphText(t *testing.T, w *world, r result) {
	t.Helper()
	if r.err != nil && strings.ContainsAny(r.err.Error(), "\x1b\r\n") {
		t.Errorf("run(main) = %q; want Graph's text escaped", r.err)
	}
	if strings.Contains(r.stdout, "\x1b") || strings.Contains(r.stdout, "\n::error::INJECTED") || strings.Contains(r.stdout, "\n::warning::INJECTED") {
		t.Errorf("stdout = %q; want Graph's text escaped", r.stdout)
	}
	discarded(t, w, r)
}

func jsonQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
