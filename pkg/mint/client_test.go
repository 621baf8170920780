package mint_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/pkg/mint"
)

// recorded is one request as a wire-level test server saw it.
type recorded struct {
	Method, Path, RawQuery, Authorization, ContentType string
	Form                                               url.Values
}

// wireServer answers every request with the next of replies (the last one
// repeats) and records what it received.
type wireServer struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []recorded
	replies []func(w http.ResponseWriter)
	n       atomic.Int32
}

func newWireServer(t *testing.T, replies ...func(w http.ResponseWriter)) *wireServer {
	t.Helper()
	ws := &wireServer{replies: replies}
	ws.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		ws.mu.Lock()
		ws.reqs = append(ws.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), form})
		ws.mu.Unlock()
		i := int(ws.n.Add(1)) - 1
		ws.replies[min(i, len(ws.replies)-1)](w)
	}))
	t.Cleanup(ws.Close)
	return ws
}

func (ws *wireServer) requests() []recorded {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return append([]recorded(nil), ws.reqs...)
}

func reply(status int, body string, headers ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body) // a client that left early sees it in its own error
	}
}

func newTestClient(t *testing.T, baseURL string, opts ...mint.Option) *mint.Client {
	t.Helper()
	c, err := mint.NewClient(append([]mint.Option{mint.WithBaseURL(baseURL)}, opts...)...)
	if err != nil {
		t.Fatalf("NewClient(%s) error = %v", baseURL, err)
	}
	return c
}

// fastRetry retries quickly, so tests do not sleep.
var fastRetry = mint.WithRetry(mint.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond})

const (
	canaryToken  = "CANARY-calling-token-7f3a"
	canarySecret = "CANARY-app-secret-19bd"
	canaryMinted = "CANARY-minted-token-c0de"
)

func tokenRequest() mint.TokenRequest {
	return mint.TokenRequest{
		SystemUserID: "4000",
		App:          mint.App{ID: "2000", Secret: canarySecret},
		AccessToken:  canaryToken,
		Scopes:       []string{"ads_read", "business_management"},
	}
}

func TestCreateAccessTokenWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		permanent   bool
		wantExpFlag string
	}{
		{name: "expiring by default", wantExpFlag: "true"},
		{name: "permanent", permanent: true, wantExpFlag: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ws := newWireServer(t, reply(200, `{"access_token":"`+canaryMinted+`"}`))
			c := newTestClient(t, ws.URL, mint.WithVersion("v26.0"))
			r := tokenRequest()
			r.Permanent = tt.permanent
			tok, err := c.CreateAccessToken(t.Context(), r)
			if err != nil {
				t.Fatalf("CreateAccessToken() error = %v", err)
			}
			if tok.AccessToken != canaryMinted || !tok.ExpiresAt.IsZero() {
				t.Errorf("CreateAccessToken() = %v; want the minted token with unknown expiry", tok)
			}
			reqs := ws.requests()
			if len(reqs) != 1 {
				t.Fatalf("requests = %d; want 1", len(reqs))
			}
			got := reqs[0]
			if got.Method != http.MethodPost || got.Path != "/v26.0/4000/access_tokens" || got.RawQuery != "" {
				t.Errorf("request = %s %s?%s; want POST /v26.0/4000/access_tokens with no query", got.Method, got.Path, got.RawQuery)
			}
			if got.Authorization != "Bearer "+canaryToken {
				t.Errorf("Authorization = %q; want the calling token as a bearer", got.Authorization)
			}
			if got.ContentType != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q; want a form", got.ContentType)
			}
			wantForm := url.Values{
				"business_app":    {"2000"},
				"scope":           {"ads_read,business_management"},
				"appsecret_proof": {mint.AppSecretProof(canarySecret, canaryToken)},
			}
			if tt.wantExpFlag != "" {
				wantForm.Set("set_token_expires_in_60_days", tt.wantExpFlag)
			}
			if got.Form.Encode() != wantForm.Encode() {
				t.Errorf("form = %s; want %s", got.Form.Encode(), wantForm.Encode())
			}
		})
	}
}

func TestCreateAccessTokenValidation(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, reply(200, `{"access_token":"x"}`))
	c := newTestClient(t, ws.URL)
	tests := []struct {
		name   string
		modify func(*mint.TokenRequest)
		want   string
	}{
		{"no system user", func(r *mint.TokenRequest) { r.SystemUserID = "" }, "system user ID is empty"},
		{"path injection", func(r *mint.TokenRequest) { r.SystemUserID = "4000/../x" }, "not a numeric Graph ID"},
		{"no app", func(r *mint.TokenRequest) { r.App.ID = "" }, "app ID is empty"},
		{"no secret", func(r *mint.TokenRequest) { r.App.Secret = "" }, "app secret is empty"},
		{"no token", func(r *mint.TokenRequest) { r.AccessToken = "" }, "access token is empty"},
		{"no scopes", func(r *mint.TokenRequest) { r.Scopes = nil }, "at least one scope"},
		{"unlisted scope", func(r *mint.TokenRequest) { r.Scopes = []string{"manage_pages"} }, `"manage_pages"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tokenRequest()
			tt.modify(&r)
			_, err := c.CreateAccessToken(t.Context(), r)
			if !errors.Is(err, mint.ErrInvalidRequest) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CreateAccessToken(%s) = %v; want ErrInvalidRequest mentioning %q", tt.name, err, tt.want)
			}
		})
	}
	if n := len(ws.requests()); n != 0 {
		t.Errorf("requests after validation failures = %d; want 0", n)
	}
}

func TestAllowUnlistedScopes(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, reply(200, `{"access_token":"x"}`))
	c := newTestClient(t, ws.URL)
	r := tokenRequest()
	r.Scopes = []string{"ads_read", "some_new_scope"}
	r.AllowUnlistedScopes = true
	if _, err := c.CreateAccessToken(t.Context(), r); err != nil {
		t.Fatalf("CreateAccessToken(unlisted, allowed) error = %v", err)
	}
	if got := ws.requests()[0].Form.Get("scope"); got != "ads_read,some_new_scope" {
		t.Errorf("scope = %q; want ads_read,some_new_scope", got)
	}
}

func TestDebugTokenWire(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, reply(200, `{"data":{"app_id":"2000","type":"SYSTEM_USER","user_id":"4000","is_valid":true,"expires_at":1900000000,"scopes":["ads_read"]}}`))
	c := newTestClient(t, ws.URL)
	info, err := c.DebugToken(t.Context(), mint.App{ID: "2000", Secret: canarySecret}, canaryMinted)
	if err != nil {
		t.Fatalf("DebugToken() error = %v", err)
	}
	if !info.IsValid || info.ExpiresAt.Unix() != 1900000000 {
		t.Errorf("DebugToken() = %+v; want valid, expiring at 1900000000", info)
	}
	got := ws.requests()[0]
	if got.Method != http.MethodGet || got.Path != "/v27.0/debug_token" || got.RawQuery != "input_token="+canaryMinted {
		t.Errorf("request = %s %s?%s; want GET /v27.0/debug_token?input_token=…", got.Method, got.Path, got.RawQuery)
	}
	if got.Authorization != "Bearer 2000|"+canarySecret {
		t.Errorf("Authorization = %q; want the app access token", got.Authorization)
	}
}

func TestRefreshAccessTokenWire(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	ws := newWireServer(t,
		reply(200, `{"data":{"app_id":"2000","type":"SYSTEM_USER","user_id":"4000","is_valid":true,"expires_at":1900000000}}`),
		reply(200, `{"access_token":"`+canaryMinted+`","token_type":"bearer","expires_in":5184000}`))
	c := newTestClient(t, ws.URL, mint.WithClock(func() time.Time { return now }))
	tok, err := c.RefreshAccessToken(t.Context(), mint.RefreshRequest{App: mint.App{ID: "2000", Secret: canarySecret}, AccessToken: canaryToken})
	if err != nil {
		t.Fatalf("RefreshAccessToken() error = %v", err)
	}
	if want := now.Add(60 * 24 * time.Hour); tok.AccessToken != canaryMinted || !tok.ExpiresAt.Equal(want) {
		t.Errorf("RefreshAccessToken() = %v; want expiry %v", tok, want)
	}
	reqs := ws.requests()
	if len(reqs) != 2 || reqs[0].Path != "/v27.0/debug_token" {
		t.Fatalf("requests = %+v; want debug_token then the exchange", reqs)
	}
	ex := reqs[1]
	// Meta documents GET /oauth/access_token with query parameters.
	if ex.Method != http.MethodGet || ex.Path != "/v27.0/oauth/access_token" || len(ex.Form) != 0 || ex.Authorization != "" {
		t.Errorf("exchange = %s %s, form %v, Authorization %q; want GET /v27.0/oauth/access_token with a query alone", ex.Method, ex.Path, ex.Form, ex.Authorization)
	}
	q, _ := url.ParseQuery(ex.RawQuery)
	for k, v := range map[string]string{"grant_type": "fb_exchange_token", "client_id": "2000", "client_secret": canarySecret,
		"fb_exchange_token": canaryToken, "set_token_expires_in_60_days": "true"} {
		if got := q.Get(k); got != v {
			t.Errorf("exchange query %s = %q; want %q", k, got, v)
		}
	}
}

func TestRefreshRefusesPermanentAndInvalid(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, reply(500, `{}`))
	c := newTestClient(t, ws.URL)
	app := mint.App{ID: "2000", Secret: canarySecret}
	tests := []struct {
		name string
		info *mint.TokenInfo
		want string
	}{
		{"permanent", &mint.TokenInfo{IsValid: true}, "never expires"},
		{"invalid", &mint.TokenInfo{IsValid: false, ExpiresAt: time.Now()}, "not valid"},
	}
	for _, tt := range tests {
		_, err := c.RefreshAccessToken(t.Context(), mint.RefreshRequest{App: app, AccessToken: canaryToken, Info: tt.info})
		if !errors.Is(err, mint.ErrInvalidRequest) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("RefreshAccessToken(%s) = %v; want ErrInvalidRequest mentioning %q", tt.name, err, tt.want)
		}
	}
	if n := len(ws.requests()); n != 0 {
		t.Errorf("requests = %d; want 0", n)
	}
}

func TestRevokeWire(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, reply(200, `{"success":"true",}`), reply(200, `{"success":true}`))
	c := newTestClient(t, ws.URL)
	app := mint.App{ID: "2000", Secret: canarySecret}
	if err := c.RevokeAccessToken(t.Context(), mint.RevokeRequest{App: app, Token: canaryMinted}); err != nil {
		t.Fatalf("RevokeAccessToken() error = %v", err)
	}
	if err := c.RevokeAllAccessTokens(t.Context(), mint.RevokeAllRequest{SystemUserID: "4000", AccessToken: canaryToken, App: app}); err != nil {
		t.Fatalf("RevokeAllAccessTokens() error = %v", err)
	}
	reqs := ws.requests()
	one, all := reqs[0], reqs[1]
	q, _ := url.ParseQuery(one.RawQuery)
	if one.Method != http.MethodGet || one.Path != "/v27.0/oauth/revoke" || q.Get("revoke_token") != canaryMinted ||
		q.Get("client_id") != "2000" || q.Get("client_secret") != canarySecret || q.Get("access_token") != canaryMinted {
		t.Errorf("revoke = %s %s?%s; want GET /oauth/revoke with client_id, client_secret, revoke_token and the token as its own caller", one.Method, one.Path, one.RawQuery)
	}
	if one.Authorization != "" {
		t.Errorf("revoke Authorization = %q; want none: the caller travels as the access_token parameter", one.Authorization)
	}
	if all.Method != http.MethodDelete || all.Path != "/v27.0/4000/access_tokens" || strings.Contains(all.RawQuery, "method=") {
		t.Errorf("revoke all = %s %s?%s; want a real DELETE", all.Method, all.Path, all.RawQuery)
	}
}

func TestSystemUsersPaging(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t,
		reply(200, `{"data":[{"id":"1","name":"a","role":"ADMIN"}],"paging":{"cursors":{"after":"C1"},"next":"https://x/?access_token=leak&after=C1"}}`),
		reply(200, `{"data":[{"id":"2","name":"b","role":"EMPLOYEE"}],"paging":{"cursors":{"after":"C2"}}}`))
	c := newTestClient(t, ws.URL)
	users, err := c.SystemUsers(t.Context(), mint.SystemUsersRequest{BusinessID: "1000", AccessToken: canaryToken, PageSize: 1})
	if err != nil {
		t.Fatalf("SystemUsers() error = %v", err)
	}
	if len(users) != 2 || users[1].ID != "2" || users[1].Role != "EMPLOYEE" {
		t.Errorf("SystemUsers() = %+v; want 2 users across pages", users)
	}
	reqs := ws.requests()
	q, _ := url.ParseQuery(reqs[1].RawQuery)
	if q.Get("after") != "C1" || q.Has("access_token") {
		t.Errorf("second page query = %s; want after=C1 and no token", reqs[1].RawQuery)
	}
}

func TestNewClientOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  mint.Option
		ok   bool
	}{
		{"https", mint.WithBaseURL("https://graph.example.com/prefix/"), true},
		{"http loopback v4", mint.WithBaseURL("http://127.0.0.1:8080"), true},
		{"http loopback v6", mint.WithBaseURL("http://[::1]:8080"), true},
		{"http localhost", mint.WithBaseURL("http://localhost:1"), true},
		{"http remote", mint.WithBaseURL("http://graph.facebook.com"), false},
		{"ftp", mint.WithBaseURL("ftp://graph.facebook.com"), false},
		{"relative", mint.WithBaseURL("graph.facebook.com"), false},
		{"query", mint.WithBaseURL("https://graph.facebook.com?x=1"), false},
		{"userinfo", mint.WithBaseURL("https://u:p@graph.facebook.com"), false},
		{"version", mint.WithVersion("v27.0"), true},
		{"bad version", mint.WithVersion("27.0"), false},
		{"nil http client", mint.WithHTTPClient(nil), false},
		{"retry", mint.WithRetry(mint.DefaultRetryPolicy()), true},
		{"bad retry", mint.WithRetry(mint.RetryPolicy{MaxAttempts: 3}), false},
		{"nil option", nil, true},
	}
	for _, tt := range tests {
		_, err := mint.NewClient(tt.opt)
		if (err == nil) != tt.ok {
			t.Errorf("NewClient(%s) error = %v; want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, mint.ErrInvalidRequest) {
			t.Errorf("NewClient(%s) error = %v; want ErrInvalidRequest", tt.name, err)
		}
	}
	c, _ := mint.NewClient(mint.WithBaseURL("https://graph.example.com/prefix/"))
	if c.BaseURL() != "https://graph.example.com/prefix" || c.Version() != mint.DefaultVersion {
		t.Errorf("BaseURL(), Version() = %q, %q; want the prefix without slash and %s", c.BaseURL(), c.Version(), mint.DefaultVersion)
	}
}

func TestWithHTTPClientCopies(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, reply(200, `{"success":true}`))
	hc := &http.Client{}
	c := newTestClient(t, ws.URL, mint.WithHTTPClient(hc))
	hc.Transport = roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("changed after NewClient") })
	err := c.InstallApp(t.Context(), mint.InstallAppRequest{SystemUserID: "4000", App: mint.App{ID: "2000"}, AccessToken: canaryToken})
	if err != nil {
		t.Errorf("InstallApp() after changing the caller's http.Client = %v; want the copy to be unaffected", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, reply(http.StatusFound, ``, "Location", "https://elsewhere.example/steal"))
	c := newTestClient(t, ws.URL)
	err := c.InstallApp(t.Context(), mint.InstallAppRequest{SystemUserID: "4000", App: mint.App{ID: "2000"}, AccessToken: canaryToken})
	var gerr *mint.GraphError
	if !errors.As(err, &gerr) || gerr.StatusCode != http.StatusFound {
		t.Errorf("InstallApp() against a redirect = %v; want a *GraphError with status 302", err)
	}
	if n := len(ws.requests()); n != 1 {
		t.Errorf("requests = %d; want 1", n)
	}
}

func TestResponseBodyCapped(t *testing.T) {
	t.Parallel()
	big := `{"access_token":"` + strings.Repeat("A", 2<<20) + `"}`
	ws := newWireServer(t, reply(200, big))
	c := newTestClient(t, ws.URL)
	_, err := c.CreateAccessToken(t.Context(), tokenRequest())
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("CreateAccessToken() with a 2 MiB body = %v; want a size error", err)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	transient := reply(500, `{"error":{"message":"Service temporarily unavailable","type":"OAuthException","code":2,"is_transient":true,"fbtrace_id":"T1"}}`)
	gateway := reply(502, `<html>bad gateway</html>`)
	badParam := reply(400, `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"fbtrace_id":"T2"}}`)
	ok := reply(200, `{"access_token":"`+canaryMinted+`"}`)
	tests := []struct {
		name      string
		replies   []func(http.ResponseWriter)
		retry     bool
		wantReqs  int
		wantErrOK bool
	}{
		{"no policy, no retry", []func(http.ResponseWriter){transient, ok}, false, 1, false},
		{"transient Graph error is retried, even when minting", []func(http.ResponseWriter){transient, transient, ok}, true, 3, true},
		{"attempts are bounded", []func(http.ResponseWriter){transient}, true, 3, false},
		{"ambiguous 502 while minting is not retried", []func(http.ResponseWriter){gateway, ok}, true, 1, false},
		{"4xx is not retried", []func(http.ResponseWriter){badParam, ok}, true, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ws := newWireServer(t, tt.replies...)
			var opts []mint.Option
			if tt.retry {
				opts = append(opts, fastRetry)
			}
			c := newTestClient(t, ws.URL, opts...)
			_, err := c.CreateAccessToken(t.Context(), tokenRequest())
			if (err == nil) != tt.wantErrOK {
				t.Errorf("CreateAccessToken() error = %v; want success %v", err, tt.wantErrOK)
			}
			if n := len(ws.requests()); n != tt.wantReqs {
				t.Errorf("requests = %d; want %d", n, tt.wantReqs)
			}
		})
	}
}

func TestIdempotentCallRetriesGateway(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, reply(503, ``), reply(200, `{"success":true}`))
	c := newTestClient(t, ws.URL, fastRetry)
	err := c.InstallApp(t.Context(), mint.InstallAppRequest{SystemUserID: "4000", App: mint.App{ID: "2000"}, AccessToken: canaryToken})
	if err != nil || len(ws.requests()) != 2 {
		t.Errorf("InstallApp() after a 503 = %v with %d requests; want success after 2", err, len(ws.requests()))
	}
}

func TestConnectionRefusedIsRetriedAndRedacted(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err = l.Close(); err != nil { // nothing listens there now
		t.Fatal(err)
	}
	var dials atomic.Int32
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}}}
	c := newTestClient(t, "http://"+addr, mint.WithHTTPClient(hc), fastRetry)
	_, err = c.DebugToken(t.Context(), mint.App{ID: "2000", Secret: canarySecret}, canaryMinted)
	if err == nil {
		t.Fatal("DebugToken() against a closed port succeeded")
	}
	if dials.Load() != 3 {
		t.Errorf("dials = %d; want 3 (a refused connection is safe to retry)", dials.Load())
	}
	for _, s := range []string{canaryMinted, canarySecret} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("DebugToken() error = %q; contains a secret", err)
		}
	}
	var uerr *url.Error
	if errors.As(err, &uerr) && strings.Contains(uerr.URL, canaryMinted) {
		t.Errorf("*url.Error URL = %q; contains the input token", uerr.URL)
	}
}

func TestContextDeadlineEndsRetries(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, reply(500, `{"error":{"code":2,"is_transient":true,"message":"down"}}`))
	c := newTestClient(t, ws.URL, mint.WithRetry(mint.RetryPolicy{MaxAttempts: 10, BaseDelay: time.Hour, MaxDelay: time.Hour}))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := c.CreateAccessToken(ctx, tokenRequest())
	var gerr *mint.GraphError
	if !errors.As(err, &gerr) || gerr.Code != 2 {
		t.Errorf("CreateAccessToken() = %v; want the Graph error at once, since the backoff passes the deadline", err)
	}
	if n := len(ws.requests()); n != 1 {
		t.Errorf("requests = %d; want 1", n)
	}
}

func TestContextCanceledIsReported(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	// The deadline passes once the server holds the request: by count, so
	// that a slow machine cannot end it before the request is sent.
	ctx := clock.NewCue(time.Hour)
	ws := newWireServer(t, func(w http.ResponseWriter) { ctx.Expire(); <-block })
	t.Cleanup(func() { close(block) }) // runs before the server's Close
	c := newTestClient(t, ws.URL, fastRetry)
	_, err := c.CreateAccessToken(ctx, tokenRequest())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CreateAccessToken() on a hung server = %v; want context.DeadlineExceeded", err)
	}
	if n := len(ws.requests()); n != 1 {
		t.Errorf("requests = %d; want 1 (never retried once sent)", n)
	}
}

func TestGraphErrorRedactsEchoedSecrets(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t, reply(400, `{"error":{"message":"bad token `+canaryToken+` for secret `+canarySecret+`","type":"OAuthException","code":190,"error_user_msg":"`+canaryToken+`","fbtrace_id":"F"}}`))
	c := newTestClient(t, ws.URL)
	_, err := c.CreateAccessToken(t.Context(), tokenRequest())
	var gerr *mint.GraphError
	if !errors.As(err, &gerr) || !errors.Is(err, mint.ErrInvalidToken) {
		t.Fatalf("CreateAccessToken() = %v; want a *GraphError matching ErrInvalidToken", err)
	}
	for _, text := range []string{err.Error(), gerr.Message, gerr.UserMessage} {
		if strings.Contains(text, canaryToken) || strings.Contains(text, canarySecret) {
			t.Errorf("error text %q contains a secret", text)
		}
	}
}

func TestTokenAndAppNeverPrintSecrets(t *testing.T) {
	t.Parallel()
	tok := mint.Token{AccessToken: canaryMinted, ExpiresAt: time.Unix(1900000000, 0)}
	app := mint.App{ID: "2000", Secret: canarySecret}
	for _, s := range []string{
		tok.String(), tok.GoString(), app.String(), app.GoString(),
		fmtAll(tok), fmtAll(&tok), fmtAll(app),
	} {
		if strings.Contains(s, canaryMinted) || strings.Contains(s, canarySecret) {
			t.Errorf("formatted value %q contains a secret", s)
		}
	}
}

func TestDefaultClientReusesConnections(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			t.Errorf("reading the request body: %v", err)
		}
		if _, err := io.WriteString(w, `{"success":true}`); err != nil {
			t.Errorf("writing the answer: %v", err)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL)
	// 16 goroutines, 10 rounds each. With net/http's default of 2 idle
	// connections per host, most calls would open a new connection.
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 10 {
				if err := c.InstallApp(t.Context(), mint.InstallAppRequest{SystemUserID: "4000", App: mint.App{ID: "2000"}, AccessToken: canaryToken}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := conns.Load(); n > 32 {
		t.Errorf("connections opened = %d for 160 calls from 16 goroutines; want at most 32", n)
	}
}

// Meta's "Paginated Results" page: a page may hold fewer items than limit,
// none at all after privacy filtering, and only the absence of next ends the
// list. An empty page with a next link must not end the listing.
func TestSystemUsersEmptyPageWithNext(t *testing.T) {
	t.Parallel()
	ws := newWireServer(t,
		reply(200, `{"data":[],"paging":{"cursors":{"after":"C1"},"next":"https://x/?after=C1"}}`),
		reply(200, `{"data":[{"id":"2","name":"b","role":"EMPLOYEE"}],"paging":{"cursors":{"after":"C2"}}}`))
	c := newTestClient(t, ws.URL)
	users, err := c.SystemUsers(t.Context(), mint.SystemUsersRequest{BusinessID: "1000", AccessToken: canaryToken, PageSize: 1})
	if err != nil {
		t.Fatalf("SystemUsers() error = %v", err)
	}
	if len(users) != 1 || users[0].ID != "2" {
		t.Errorf("SystemUsers() = %+v; want the user of the page after the empty one", users)
	}
}

// A cursor that does not move would have SystemUsers ask for the same page
// until maxPages: it is refused at the first repeat.
func TestSystemUsersCursorThatDoesNotAdvance(t *testing.T) {
	t.Parallel()
	page := `{"data":[],"paging":{"cursors":{"after":"C1"},"next":"https://x/?after=C1"}}`
	ws := newWireServer(t, reply(200, page), reply(200, page), reply(200, page))
	c := newTestClient(t, ws.URL)
	_, err := c.SystemUsers(t.Context(), mint.SystemUsersRequest{BusinessID: "1000", AccessToken: canaryToken, PageSize: 1})
	if err == nil || !strings.Contains(err.Error(), "cursor") {
		t.Fatalf("SystemUsers() error = %v; want an error naming the cursor that did not advance", err)
	}
	if n := len(ws.requests()); n != 2 {
		t.Errorf("SystemUsers() sent %d requests; want 2 (stop at the first repeated cursor)", n)
	}
}
