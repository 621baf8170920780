package mint_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// TestProofKeyTwoApps pins the key of appsecret_proof: the secret of the app
// that generated the calling token (MintingAppSecret) when set, else the
// business app's secret, on every call that carries the calling token.
func TestProofKeyTwoApps(t *testing.T) {
	t.Parallel()
	const mintingSecret = "CANARY-minting-app-secret-5e1f"
	app := mint.App{ID: "2000", Secret: canarySecret}
	tests := []struct {
		name    string
		minting string
		wantKey string
	}{
		{"one app", "", canarySecret},
		{"two apps", mintingSecret, mintingSecret},
	}
	calls := []struct {
		name string
		do   func(c *mint.Client, t *testing.T, minting string) error
	}{
		{"install", func(c *mint.Client, t *testing.T, minting string) error {
			return c.InstallApp(t.Context(), mint.InstallAppRequest{SystemUserID: "4000", App: app, AccessToken: canaryToken, MintingAppSecret: minting})
		}},
		{"create", func(c *mint.Client, t *testing.T, minting string) error {
			_, err := c.CreateAccessToken(t.Context(), mint.TokenRequest{SystemUserID: "4000", App: app, AccessToken: canaryToken, MintingAppSecret: minting, Scopes: []string{"ads_read"}})
			return err
		}},
		{"revoke all", func(c *mint.Client, t *testing.T, minting string) error {
			return c.RevokeAllAccessTokens(t.Context(), mint.RevokeAllRequest{SystemUserID: "4000", App: app, AccessToken: canaryToken, MintingAppSecret: minting})
		}},
		{"system users", func(c *mint.Client, t *testing.T, minting string) error {
			_, err := c.SystemUsers(t.Context(), mint.SystemUsersRequest{BusinessID: "3000", App: app, AccessToken: canaryToken, MintingAppSecret: minting})
			return err
		}},
	}
	for _, tt := range tests {
		for _, cl := range calls {
			t.Run(tt.name+"/"+cl.name, func(t *testing.T) {
				t.Parallel()
				ws := newWireServer(t, reply(200, `{"success":true,"access_token":"`+canaryMinted+`","data":[]}`))
				c := newTestClient(t, ws.URL)
				if err := cl.do(c, t, tt.minting); err != nil {
					t.Fatalf("%s error = %v", cl.name, err)
				}
				r := ws.requests()[0]
				got := r.Form.Get("appsecret_proof")
				if got == "" {
					q, _ := url.ParseQuery(r.RawQuery)
					got = q.Get("appsecret_proof")
				}
				if want := mint.AppSecretProof(tt.wantKey, canaryToken); got != want {
					t.Errorf("%s appsecret_proof = %q; want %q, keyed with the calling token's app secret", cl.name, got, want)
				}
			})
		}
	}
}

// TestMalformedTokenIsRevoked: a minted or refreshed token that a header or
// log line could not carry is never handed out, and is revoked through a
// call that carries it only in the query.
func TestMalformedTokenIsRevoked(t *testing.T) {
	t.Parallel()
	bad := []string{"EAA\n::warning::INJECTED", "EAA\rx", "EAA\x00x", "EAA\x1b[31m", "EAA x", "EAA\u00e9"}
	app := mint.App{ID: "2000", Secret: canarySecret}
	for _, tok := range bad {
		for _, revokeOK := range []bool{true, false} {
			t.Run(fmt.Sprintf("%q revoke ok %v", tok, revokeOK), func(t *testing.T) {
				t.Parallel()
				body := jsonString(t, tok)
				revoke := reply(200, `{"success":true}`)
				if !revokeOK {
					revoke = reply(400, `{"error":{"message":`+jsonString(t, "cannot revoke "+tok)+`,"code":100}}`)
				}
				ws := newWireServer(t, reply(200, `{"access_token":`+body+`}`), revoke)
				c := newTestClient(t, ws.URL)
				_, err := c.CreateAccessToken(t.Context(), mint.TokenRequest{SystemUserID: "4000", App: app, AccessToken: canaryToken, Scopes: []string{"ads_read"}})
				if !errors.Is(err, mint.ErrMalformedToken) {
					t.Fatalf("CreateAccessToken() = %v; want ErrMalformedToken", err)
				}
				if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), canarySecret) || strings.Contains(err.Error(), canaryToken) {
					t.Errorf("CreateAccessToken() error = %q; want no token or secret in it", err)
				}
				if wantWord := map[bool]string{true: "it was revoked", false: "revoking it failed"}[revokeOK]; !strings.Contains(err.Error(), wantWord) {
					t.Errorf("CreateAccessToken() error = %q; want it to say %q", err, wantWord)
				}
				if strings.Contains(err.Error(), "every token") {
					t.Errorf("CreateAccessToken() error = %q; advises revoking every token of the system user, the calling and stored ones included", err)
				}
				reqs := ws.requests()
				if len(reqs) != 2 {
					t.Fatalf("requests = %d; want the mint and one revocation", len(reqs))
				}
				r := reqs[1]
				q, _ := url.ParseQuery(r.RawQuery)
				if r.Method != http.MethodGet || r.Path != "/v27.0/oauth/revoke" || q.Get("revoke_token") != tok || q.Get("access_token") != tok ||
					q.Get("client_id") != "2000" || q.Get("client_secret") != canarySecret || r.Authorization != "" {
					t.Errorf("revocation = %s %s?%s (Authorization %q); want GET /oauth/revoke carrying the token as revoke_token and access_token only", r.Method, r.Path, r.RawQuery, r.Authorization)
				}
			})
		}
	}
}

// TestPaddedTokenIsNotRevoked: a well-formed token with white space or
// control characters around it may be one someone holds (a stored token
// Graph echoed): it is refused, and no revocation is sent for it.
func TestPaddedTokenIsNotRevoked(t *testing.T) {
	t.Parallel()
	app := mint.App{ID: "2000", Secret: canarySecret}
	for _, tok := range []string{"EAAheld\n", "\r\nEAAheld", " EAAheld", "EAAheld\t\x00"} {
		t.Run(fmt.Sprintf("%q", tok), func(t *testing.T) {
			t.Parallel()
			ws := newWireServer(t, reply(200, `{"access_token":`+jsonString(t, tok)+`}`), reply(200, `{"success":true}`))
			c := newTestClient(t, ws.URL)
			_, err := c.CreateAccessToken(t.Context(), mint.TokenRequest{SystemUserID: "4000", App: app, AccessToken: canaryToken, Scopes: []string{"ads_read"}})
			if !errors.Is(err, mint.ErrMalformedToken) || !strings.Contains(err.Error(), "not revoked") || strings.Contains(err.Error(), "EAAheld") {
				t.Fatalf("CreateAccessToken() = %v; want ErrMalformedToken saying it is not revoked, without the token", err)
			}
			if reqs := ws.requests(); len(reqs) != 1 {
				t.Errorf("requests = %d; want the mint alone, no revocation", len(reqs))
			}
		})
	}
}

func TestCheckTokenValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"EAAB1234abcdZZ", true}, {"a|b_c-d.e~!", true}, {"", false}, {"a b", false}, {"a\nb", false},
		{"a\tb", false}, {"a\x7fb", false}, {"\u00e9", false}, {strings.Repeat("a", 4097), false},
	}
	for _, tt := range tests {
		if err := mint.CheckTokenValue(tt.in); (err == nil) != tt.want {
			t.Errorf("CheckTokenValue(%q) = %v; want ok %v", tt.in, err, tt.want)
		}
	}
}

// TestDebugTokenScrubsEveryText: a Graph (or gateway) that echoes the
// inspected token, the app secret or the app token in any text of the
// debug_token answer, data.error.message included, leaks none of them.
func TestDebugTokenScrubsEveryText(t *testing.T) {
	t.Parallel()
	tok := canaryMinted + "/"
	esc := url.QueryEscape(tok)
	// The inspected token's own appsecret_proof is a credential too: with
	// the token, it makes calls for apps that require proofs.
	proof := mint.AppSecretProof(canarySecret, tok)
	body := `{"data":{"app_id":"2000","type":"SYSTEM_USER ` + tok + `","application":"app ` + canarySecret + `","user_id":"4000",` +
		`"is_valid":false,"scopes":["ads_read","` + tok + `"],` +
		`"granular_scopes":[{"scope":"ads_management","target_ids":["111",222,"` + esc + `"]}],` +
		`"error":{"code":190,"subcode":463,"message":"token ` + tok + ` with app token 2000|` + canarySecret + ` and ` + esc + ` proof ` + proof + `"}}}`
	ws := newWireServer(t, reply(200, body))
	c := newTestClient(t, ws.URL)
	info, err := c.DebugToken(t.Context(), mint.App{ID: "2000", Secret: canarySecret}, tok)
	if err != nil {
		t.Fatalf("DebugToken() error = %v", err)
	}
	got := fmt.Sprintf("%+v %+v %v", info, *info.Error, info.Check(mint.Expectation{}))
	for _, secret := range []string{tok, canarySecret, esc, proof} {
		if strings.Contains(got, secret) {
			t.Errorf("DebugToken() = %s; want no %q", got, secret)
		}
	}
	if !strings.Contains(info.Error.Message, "[REDACTED]") {
		t.Errorf("Error.Message = %q; want the echo replaced", info.Error.Message)
	}
}

func TestDebugTokenGranularScopes(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, reply(200, string(fixtureBytes(t, "debug_token_granular.json"))))
	c := newTestClient(t, ws.URL)
	info, err := c.DebugToken(t.Context(), mint.App{ID: "634974688087057", Secret: canarySecret}, canaryMinted)
	if err != nil {
		t.Fatalf("DebugToken() error = %v", err)
	}
	want := []mint.GranularScope{
		{Scope: "ads_management", TargetIDs: []string{"act_1", "1234567890"}},
		{Scope: "whatsapp_business_management", TargetIDs: []string{"102290129340398"}},
		{Scope: "business_management"},
	}
	if diff := cmp.Diff(want, info.GranularScopes); diff != "" {
		t.Errorf("DebugToken().GranularScopes mismatch (-want +got):\n%s", diff)
	}
	if got := info.TargetsOf("whatsapp_business_management"); !cmp.Equal(got, []string{"102290129340398"}) {
		t.Errorf("TargetsOf(whatsapp_business_management) = %v", got)
	}
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fixtureBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(os.DirFS(filepath.Join("..", "..", "testdata", "graph")), name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTwoAppsAgainstEmulator runs the two-app case end to end: an admin
// token generated with a second app mints for the business app only with
// MintingAppSecret, and the minted token is revoked with itself as the
// caller (the minting token, of another app, may not be).
func TestTwoAppsAgainstEmulator(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const mintingID, mintingSecret = "200000000000077", "CANARY-minting-secret-77"
	w.srv.AddApp(minttest.App{ID: mintingID, Name: "Minting", Secret: mintingSecret, BusinessID: w.fx.BusinessID})
	caller := w.srv.IssueToken(minttest.TokenSpec{UserID: w.fx.AdminSystemUserID, AppID: mintingID, Scopes: []string{"business_management"}})
	w.srv.InstallApp(w.fx.SystemUserID, w.fx.AppID)
	req := w.request("ads_read")
	req.AccessToken = caller

	_, err := w.c.CreateAccessToken(t.Context(), req)
	var gerr *mint.GraphError
	if !errors.As(err, &gerr) || !strings.Contains(gerr.Hint(), "minting-app-secret") {
		t.Fatalf("CreateAccessToken() without MintingAppSecret = %v; want a proof error whose hint names minting-app-secret", err)
	}
	req.MintingAppSecret = mintingSecret
	tok := w.mint(t, req)
	if err := w.c.RevokeAccessToken(t.Context(), mint.RevokeRequest{App: w.app, Token: tok.AccessToken, AccessToken: caller}); err == nil {
		t.Errorf("RevokeAccessToken() with the minting app's token as caller = nil; want Graph's refusal")
	}
	if err := w.c.RevokeAccessToken(t.Context(), mint.RevokeRequest{App: w.app, Token: tok.AccessToken}); err != nil {
		t.Fatalf("RevokeAccessToken() with the token as its own caller = %v", err)
	}
	if st, _ := w.srv.Token(tok.AccessToken); !st.Revoked {
		t.Errorf("token not revoked")
	}
}

// TestMalformedTokenFromEmulatorEndsRevoked: a real Graph-issued token with a
// newline is refused and ends revoked at the emulator.
func TestMalformedTokenFromEmulatorEndsRevoked(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const hostile = "EAA\n::warning::INJECTED"
	w.srv.InstallApp(w.fx.SystemUserID, w.fx.AppID)
	w.srv.MintNextAs(hostile)
	_, err := w.c.CreateAccessToken(t.Context(), w.request("ads_read"))
	if !errors.Is(err, mint.ErrMalformedToken) || strings.Contains(err.Error(), hostile) {
		t.Fatalf("CreateAccessToken() = %v; want ErrMalformedToken without the token", err)
	}
	if st, ok := w.srv.Token(hostile); !ok || !st.Revoked {
		t.Errorf("Token(hostile) = %+v, %v; want it revoked", st, ok)
	}
}

// TestCallerTokenEchoed: Graph answers the calling token itself to POST
// /{system-user-id}/access_tokens. CreateAccessToken refuses it with
// ErrCallerTokenEchoed, without the token in the error and without revoking
// it. A refresh that answers the same token is not an error.
func TestCallerTokenEchoed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.install(t)
	caller := w.fx.AdminToken
	w.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Status: 200, Body: []byte(`{"access_token":"` + caller + `"}`)})
	tok, err := w.c.CreateAccessToken(t.Context(), w.request("ads_read"))
	if !errors.Is(err, mint.ErrCallerTokenEchoed) || tok != nil {
		t.Fatalf("CreateAccessToken() = %v, %v; want ErrCallerTokenEchoed", tok, err)
	}
	if strings.Contains(err.Error(), caller) {
		t.Errorf("CreateAccessToken() error %q holds the calling token", err)
	}
	if st, _ := w.srv.Token(caller); st.Revoked {
		t.Errorf("the calling token was revoked")
	}
	for _, req := range w.srv.Requests() {
		if req.Endpoint == minttest.EndpointRevoke || req.Endpoint == minttest.EndpointRevokeAll {
			t.Errorf("CreateAccessToken sent %s %s; want no revocation", req.Method, req.Path)
		}
	}

	old := w.srv.IssueToken(minttest.TokenSpec{UserID: w.fx.SystemUserID, AppID: w.fx.AppID, Scopes: []string{"ads_read"}, ExpiresAt: w.srv.Now().Add(24 * time.Hour)})
	w.srv.FailNext(minttest.EndpointExchange, minttest.Fault{Status: 200, Body: []byte(`{"access_token":"` + old + `","expires_in":5183944}`)})
	got, err := w.c.RefreshAccessToken(t.Context(), mint.RefreshRequest{App: w.app, AccessToken: old})
	if err != nil || got.AccessToken != old {
		t.Errorf("RefreshAccessToken() answered the same token = %v; want it returned without error", err)
	}
}

// TestGraphErrorTraceAndType: a gateway that echoes the request's token or
// client_secret into fbtrace_id (body or x-fb-trace-id header) or error.type
// leaks neither through the GraphError, and those fields come back short,
// one line and free of control characters. A plain trace ID is kept as is.
func TestGraphErrorTraceAndType(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("A", 300)
	for _, tt := range []struct {
		name             string
		body             string
		header           []string
		wantTrace, wantT string // "" when only the bounds are checked
	}{
		{
			name:      "plain",
			body:      `{"error":{"message":"m","type":"OAuthException","code":100,"fbtrace_id":"AbC1-_+/=xyz"}}`,
			wantTrace: "AbC1-_+/=xyz", wantT: "OAuthException",
		},
		{
			name: "body echoes secrets",
			body: `{"error":{"message":"m","type":"OAuth ` + canaryToken + ` ` + canarySecret + `\u001b[31m","code":100,"fbtrace_id":"` +
				canaryToken + `|` + canarySecret + `|` + url.QueryEscape(canaryToken) + `\n::warning::INJECTED"}}`,
		},
		{
			name:   "header echoes secrets",
			body:   `{"error":{"message":"m","type":"OAuthException","code":100}}`,
			header: []string{"x-fb-trace-id", "trace " + canaryToken + " " + canarySecret + " ::warning::INJECTED"},
		},
		{
			name: "huge",
			body: `{"error":{"message":"m","type":"` + long + `","code":100,"fbtrace_id":"` + long + `"}}`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ws := newWireServer(t, reply(400, tt.body, tt.header...))
			c := newTestClient(t, ws.URL)
			_, err := c.CreateAccessToken(t.Context(), mint.TokenRequest{SystemUserID: "4000", App: mint.App{ID: "2000", Secret: canarySecret}, AccessToken: canaryToken, Scopes: []string{"ads_read"}})
			var gerr *mint.GraphError
			if !errors.As(err, &gerr) {
				t.Fatalf("CreateAccessToken() = %v; want a *GraphError", err)
			}
			for _, f := range []struct{ name, v, want string }{{"FBTraceID", gerr.FBTraceID, tt.wantTrace}, {"Type", gerr.Type, tt.wantT}} {
				if f.want != "" && f.v != f.want {
					t.Errorf("%s = %q; want %q", f.name, f.v, f.want)
				}
				if len(f.v) > 80 || strings.ContainsAny(f.v, "\x1b\r\n") || strings.Contains(f.v, long[:64]) {
					t.Errorf("%s = %q; want at most 80 bytes, one line, no control characters", f.name, f.v)
				}
			}
			for _, secret := range []string{canaryToken, canarySecret, url.QueryEscape(canaryToken)} {
				if strings.Contains(err.Error(), secret) || strings.Contains(gerr.FBTraceID+gerr.Type, secret) {
					t.Errorf("error %q (fbtrace_id %q, type %q) holds %q", err, gerr.FBTraceID, gerr.Type, secret)
				}
			}
		})
	}
}

// TestCheckQuotesGraphText: Check quotes and cuts debug_token's app_id,
// user_id and error.message, so its error is one line without control
// characters, whatever Graph answered.
func TestCheckQuotesGraphText(t *testing.T) {
	t.Parallel()
	hostile := "1\x1b[31m\n::warning::INJECTED\r\n" + strings.Repeat("x", 5000)
	for _, info := range []mint.TokenInfo{
		{IsValid: true, Type: "SYSTEM_USER", AppID: hostile, UserID: hostile},
		{IsValid: false, Error: &mint.TokenError{Message: hostile, Code: 190}},
	} {
		err := info.Check(mint.Expectation{AppID: "2000", SystemUserID: "4000"})
		if err == nil {
			t.Fatalf("Check(%+v) = nil; want an error", info)
		}
		if got := err.Error(); strings.ContainsAny(got, "\x1b\r\n") || len(got) > 1000 || !strings.Contains(got, `"1\x1b[31m\n::warning::INJECTED`) {
			t.Errorf("Check() = %q; want Graph's text quoted with Go escapes and cut", got)
		}
	}
}

// TestEveryProofScrubbed: refresh and revoke send no appsecret_proof, but a
// Graph that echoes the proof of the calling token (or of the token to
// revoke) in its error must leak neither: every proof mint could compute
// from a call's secrets is scrubbed from every text, on every call.
func TestEveryProofScrubbed(t *testing.T) {
	t.Parallel()
	const other = "CANARY-the-token-to-revoke-77d1"
	app := mint.App{ID: "2000", Secret: canarySecret}
	proofs := []string{mint.AppSecretProof(canarySecret, canaryMinted), mint.AppSecretProof(canarySecret, other)}
	body := `{"error":{"message":"proofs ` + proofs[0] + ` ` + proofs[1] + `","type":"OAuthException","code":100,"fbtrace_id":"T"}}`
	ws := newWireServer(t, reply(400, body))
	c := newTestClient(t, ws.URL)
	errs := map[string]error{
		"refresh": func() error {
			_, err := c.RefreshAccessToken(t.Context(), mint.RefreshRequest{App: app, AccessToken: canaryMinted,
				Info: &mint.TokenInfo{IsValid: true, ExpiresAt: time.Now().Add(time.Hour)}})
			return err
		}(),
		"revoke":           c.RevokeAccessToken(t.Context(), mint.RevokeRequest{App: app, Token: other}),
		"revoke by caller": c.RevokeAccessToken(t.Context(), mint.RevokeRequest{App: app, Token: other, AccessToken: canaryMinted}),
	}
	for name, err := range errs {
		if err == nil {
			t.Fatalf("%s: no error; want Graph's", name)
		}
		var gerr *mint.GraphError
		text := err.Error()
		if errors.As(err, &gerr) {
			text += fmt.Sprintf(" %+v", *gerr)
		}
		for i, p := range proofs {
			known := name == "revoke by caller" || (name == "refresh") == (i == 0) // the call's own tokens
			if known && strings.Contains(text, p) {
				t.Errorf("%s: the error holds a proof (%.8s...): %s", name, p, text)
			}
		}
	}
}
