package mint_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// world is an emulator with its seed and a client pointed at it.
type world struct {
	srv *minttest.Server
	fx  minttest.Fixture
	c   *mint.Client
	app mint.App
}

func newWorld(t *testing.T, opts ...mint.Option) *world {
	t.Helper()
	srv := minttest.NewServer()
	t.Cleanup(srv.Close)
	fx := srv.Seed()
	c := newTestClient(t, srv.URL, append([]mint.Option{mint.WithHTTPClient(srv.Client())}, opts...)...)
	return &world{srv: srv, fx: fx, c: c, app: mint.App{ID: fx.AppID, Secret: fx.AppSecret}}
}

func (w *world) request(scopes ...string) mint.TokenRequest {
	return mint.TokenRequest{SystemUserID: w.fx.SystemUserID, App: w.app, AccessToken: w.fx.AdminToken, Scopes: scopes}
}

func (w *world) install(t *testing.T) {
	t.Helper()
	if err := w.c.InstallApp(t.Context(), mint.InstallAppRequest{SystemUserID: w.fx.SystemUserID, App: w.app, AccessToken: w.fx.AdminToken}); err != nil {
		t.Fatalf("InstallApp() error = %v", err)
	}
}

func (w *world) mint(t *testing.T, r mint.TokenRequest) *mint.Token {
	t.Helper()
	tok, err := w.c.CreateAccessToken(t.Context(), r)
	if err != nil {
		t.Fatalf("CreateAccessToken() error = %v", err)
	}
	return tok
}

func TestMintLifecycle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.install(t)
	w.install(t) // idempotent
	tok := w.mint(t, w.request("ads_read"))

	info, err := w.c.DebugToken(t.Context(), w.app, tok.AccessToken)
	if err != nil {
		t.Fatalf("DebugToken() error = %v", err)
	}
	if err = info.Check(mint.Expectation{AppID: w.fx.AppID, SystemUserID: w.fx.SystemUserID, Scopes: []string{"ads_read"}}); err != nil {
		t.Errorf("Check() = %v; want nil", err)
	}
	if want := w.srv.Now().Add(60 * 24 * time.Hour); info.ExpiresAt.Sub(want).Abs() > 2*time.Second {
		t.Errorf("ExpiresAt = %v; want about %v", info.ExpiresAt, want)
	}

	refreshed, err := w.c.RefreshAccessToken(t.Context(), mint.RefreshRequest{App: w.app, AccessToken: tok.AccessToken, Info: info})
	if err != nil {
		t.Fatalf("RefreshAccessToken() error = %v", err)
	}
	if refreshed.AccessToken == tok.AccessToken || refreshed.ExpiresAt.IsZero() {
		t.Errorf("RefreshAccessToken() = %v; want a new token with an expiry", refreshed)
	}
	if old, _ := w.srv.Token(tok.AccessToken); old.Revoked {
		t.Errorf("the refreshed token was revoked; want it valid until its own expiry")
	}

	if err = w.c.RevokeAccessToken(t.Context(), mint.RevokeRequest{App: w.app, Token: tok.AccessToken}); err != nil {
		t.Fatalf("RevokeAccessToken() error = %v", err)
	}
	info, err = w.c.DebugToken(t.Context(), w.app, tok.AccessToken)
	if err != nil || info.IsValid {
		t.Errorf("DebugToken(revoked) = %+v, %v; want is_valid false", info, err)
	}
	if err := info.Check(mint.Expectation{}); !errors.Is(err, mint.ErrInvalidToken) {
		t.Errorf("Check(revoked) = %v; want ErrInvalidToken", err)
	}

	if err := w.c.RevokeAllAccessTokens(t.Context(), mint.RevokeAllRequest{SystemUserID: w.fx.SystemUserID, AccessToken: w.fx.AdminToken, App: w.app}); err != nil {
		t.Fatalf("RevokeAllAccessTokens() error = %v", err)
	}
	if st, _ := w.srv.Token(refreshed.AccessToken); !st.Revoked {
		t.Errorf("after RevokeAllAccessTokens the refreshed token is not revoked")
	}
	for _, r := range w.srv.Requests() {
		if strings.Contains(r.Path, "ads_access_token") {
			t.Errorf("request to the retired ads_access_token edge: %s %s", r.Method, r.Path)
		}
		if r.Method == http.MethodPost && r.Form.Has("method") {
			t.Errorf("request with a method override: %s %s", r.Method, r.Path)
		}
	}
}

func TestPermanentToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.install(t)
	r := w.request("ads_read")
	r.Permanent = true
	tok := w.mint(t, r)
	info, err := w.c.DebugToken(t.Context(), w.app, tok.AccessToken)
	if err != nil || !info.NeverExpires() {
		t.Fatalf("DebugToken(permanent) = %+v, %v; want expires_at 0", info, err)
	}
	before := w.srv.Minted()
	_, err = w.c.RefreshAccessToken(t.Context(), mint.RefreshRequest{App: w.app, AccessToken: tok.AccessToken})
	if !errors.Is(err, mint.ErrInvalidRequest) {
		t.Errorf("RefreshAccessToken(permanent) = %v; want a refusal", err)
	}
	if st, _ := w.srv.Token(tok.AccessToken); !st.ExpiresAt.IsZero() || w.srv.Minted() != before {
		t.Errorf("refusing to refresh still changed the emulator's tokens")
	}
}

func TestGraphFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    func(w *world) mint.TokenRequest
		wantCode int
		wantSub  int
		wantHint string
	}{
		{
			name:     "not installed",
			setup:    func(w *world) mint.TokenRequest { return w.request("ads_read") },
			wantCode: 200, wantHint: "install it first",
		},
		{
			name: "wrong app secret",
			setup: func(w *world) mint.TokenRequest {
				w.srv.InstallApp(w.fx.SystemUserID, w.fx.AppID)
				r := w.request("ads_read")
				r.App.Secret = "not-the-secret"
				return r
			},
			wantCode: 100, wantHint: "appsecret_proof",
		},
		{
			name: "expired calling token",
			setup: func(w *world) mint.TokenRequest {
				w.srv.InstallApp(w.fx.SystemUserID, w.fx.AppID)
				r := w.request("ads_read")
				r.AccessToken = w.srv.IssueToken(minttest.TokenSpec{UserID: w.fx.AdminSystemUserID, BusinessID: w.fx.BusinessID,
					AppID: w.fx.AppID, Scopes: []string{"business_management"}, ExpiresAt: w.srv.Now().Add(time.Hour)})
				w.srv.Advance(2 * time.Hour)
				return r
			},
			wantCode: 190, wantSub: 463, wantHint: "expired",
		},
		{
			name: "unknown calling token",
			setup: func(w *world) mint.TokenRequest {
				r := w.request("ads_read")
				r.AccessToken = "EAAnot-a-real-token"
				return r
			},
			wantCode: 190, wantHint: "invalid",
		},
		{
			name: "scope unknown to Graph, allowed locally",
			setup: func(w *world) mint.TokenRequest {
				w.srv.InstallApp(w.fx.SystemUserID, w.fx.AppID)
				r := w.request("ads_read", "brand_new_scope")
				r.AllowUnlistedScopes = true
				return r
			},
			wantCode: 100,
		},
		{
			name: "two-factor required",
			setup: func(w *world) mint.TokenRequest {
				w.srv.InstallApp(w.fx.SystemUserID, w.fx.AppID)
				w.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Error: &minttest.Error{
					Message: "Two factor authentication required.", Type: "OAuthException", Code: 415, Subcode: 2859009}})
				return w.request("ads_read")
			},
			wantCode: 415, wantSub: 2859009, wantHint: "two-factor",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, fastRetry)
			r := tt.setup(w)
			_, err := w.c.CreateAccessToken(t.Context(), r)
			var gerr *mint.GraphError
			if !errors.As(err, &gerr) {
				t.Fatalf("CreateAccessToken() = %v; want a *GraphError", err)
			}
			if gerr.Code != tt.wantCode || gerr.Subcode != tt.wantSub {
				t.Errorf("CreateAccessToken() code, subcode = %d, %d; want %d, %d (%v)", gerr.Code, gerr.Subcode, tt.wantCode, tt.wantSub, err)
			}
			if gerr.FBTraceID == "" {
				t.Errorf("CreateAccessToken() error has no fbtrace_id")
			}
			if !strings.Contains(strings.ToLower(gerr.Hint()), strings.ToLower(tt.wantHint)) {
				t.Errorf("Hint() = %q; want it to mention %q", gerr.Hint(), tt.wantHint)
			}
			if n := w.srv.Minted(); n != 0 {
				t.Errorf("Minted() = %d; want 0", n)
			}
			if n := len(w.srv.Requests()); n != 1 {
				t.Errorf("requests = %d; want 1 (none of these failures is retried)", n)
			}
		})
	}
}

func TestMintRetriesTransientButNotLostAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      minttest.Fault
		wantErr    bool
		wantMinted int
		wantReqs   int
	}{
		{
			name:       "transient error is retried",
			fault:      minttest.Fault{Status: 500, Error: &minttest.Error{Message: "Service temporarily unavailable", Type: "OAuthException", Code: 2, IsTransient: true}, Times: 2},
			wantMinted: 1, wantReqs: 3,
		},
		{
			name:    "answer lost after minting is not retried",
			fault:   minttest.Fault{Status: 502, Body: []byte("<html>Bad Gateway</html>"), AfterEffect: true},
			wantErr: true, wantMinted: 1, wantReqs: 1,
		},
		{
			name:       "throttled with a short regain estimate is retried",
			fault:      minttest.Fault{Error: &minttest.Error{Message: "(#4) Application request limit reached", Type: "OAuthException", Code: 4, IsTransient: true}},
			wantMinted: 1, wantReqs: 2,
		},
		{
			name:       "code 1 OAuthException is retried",
			fault:      minttest.Fault{Error: &minttest.Error{Message: "An unknown error has occurred.", Type: "OAuthException", Code: 1}},
			wantMinted: 1, wantReqs: 2,
		},
		{
			name:    "code 368 policy block is not retried",
			fault:   minttest.Fault{Error: &minttest.Error{Message: "It looks like you were misusing this feature by going too fast.", Type: "OAuthException", Code: 368}},
			wantErr: true, wantMinted: 0, wantReqs: 1,
		},
		{
			name:    "outage exhausts the attempts",
			fault:   minttest.Fault{Status: 500, Error: &minttest.Error{Message: "down", Type: "OAuthException", Code: 2, IsTransient: true}, Times: 10},
			wantErr: true, wantMinted: 0, wantReqs: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, fastRetry)
			w.srv.InstallApp(w.fx.SystemUserID, w.fx.AppID)
			w.srv.FailNext(minttest.EndpointAccessTokens, tt.fault)
			_, err := w.c.CreateAccessToken(t.Context(), w.request("ads_read"))
			if (err != nil) != tt.wantErr {
				t.Errorf("CreateAccessToken() error = %v; want error %v", err, tt.wantErr)
			}
			if n := w.srv.Minted(); n != tt.wantMinted {
				t.Errorf("Minted() = %d; want %d", n, tt.wantMinted)
			}
			if n := len(w.srv.Requests()); n != tt.wantReqs {
				t.Errorf("requests = %d; want %d", n, tt.wantReqs)
			}
		})
	}
}

func TestThrottleWaitBeyondPolicyGivesUp(t *testing.T) {
	t.Parallel()
	w := newWorld(t, fastRetry)
	w.srv.InstallApp(w.fx.SystemUserID, w.fx.AppID)
	w.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{
		Error:  &minttest.Error{Message: "(#80004) There have been too many calls", Type: "OAuthException", Code: 80004},
		Header: http.Header{"X-Business-Use-Case-Usage": {`{"` + w.fx.BusinessID + `":[{"type":"ads_management","call_count":100,"estimated_time_to_regain_access":7}]}`}},
	})
	_, err := w.c.CreateAccessToken(t.Context(), w.request("ads_read"))
	var gerr *mint.GraphError
	if !errors.As(err, &gerr) || gerr.RetryAfter() != 7*time.Minute {
		t.Fatalf("CreateAccessToken() = %v; want a throttle error asking for 7m", err)
	}
	if !strings.Contains(gerr.Hint(), "7m") {
		t.Errorf("Hint() = %q; want the wait", gerr.Hint())
	}
	if n := len(w.srv.Requests()); n != 1 {
		t.Errorf("requests = %d; want 1 (a 7 minute wait exceeds MaxDelay)", n)
	}
}

func TestDebugTokenNeedsAppToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	_, err := w.c.DebugToken(t.Context(), mint.App{ID: w.fx.AppID, Secret: "wrong"}, w.fx.AdminToken)
	var gerr *mint.GraphError
	if !errors.As(err, &gerr) || gerr.Code != 190 {
		t.Errorf("DebugToken(wrong app secret) = %v; want code 190", err)
	}
}

func TestSystemUsersAgainstEmulator(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for i := range 5 {
		w.srv.AddSystemUser(minttest.SystemUser{ID: "50000000000000" + string(rune('1'+i)), BusinessID: w.fx.BusinessID, Name: "bot", Role: "EMPLOYEE"})
	}
	users, err := w.c.SystemUsers(t.Context(), mint.SystemUsersRequest{BusinessID: w.fx.BusinessID, AccessToken: w.fx.AdminToken, App: w.app, PageSize: 2})
	if err != nil {
		t.Fatalf("SystemUsers() error = %v", err)
	}
	if len(users) != 7 {
		t.Errorf("SystemUsers() = %d users; want 7 (2 seeded + 5 added)", len(users))
	}
	if n := len(w.srv.Requests()); n != 4 {
		t.Errorf("requests = %d; want 4 pages of 2", n)
	}
}

// TestPacingAvoidsThrottling sends 40 debug_token calls from 4 goroutines to
// an emulator that allows 20 calls an hour. Without pacing, Graph throttles
// every call past the 20th; with it, the usage headers slow the client down
// before that happens. Every wait goes by the emulator's clock (WithSleep),
// so the hour passes by count, whatever the machine's speed.
func TestPacingAvoidsThrottling(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, pacing bool) (failed int) {
		t.Helper()
		var w *world
		var mu sync.Mutex
		// Each wait moves the emulator's clock on by its length. Waits of
		// goroutines that would overlap in time add up here: time passes
		// faster than it would, never slower.
		sleep := func(_ context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			w.srv.Advance(d)
			return nil
		}
		opts := []mint.Option{mint.WithSleep(sleep)}
		if pacing {
			opts = append(opts, mint.WithPacing(mint.Pacing{Threshold: 25, MaxInterval: time.Hour}))
		}
		w = newWorld(t, opts...)
		opts = append(opts, mint.WithClock(w.srv.Now))
		w.c = newTestClient(t, w.srv.URL, append([]mint.Option{mint.WithHTTPClient(w.srv.Client())}, opts...)...)
		w.srv.SetRateLimit(20, time.Hour)
		var wg sync.WaitGroup
		jobs := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				for range jobs {
					if _, err := w.c.DebugToken(t.Context(), w.app, w.fx.AdminToken); err != nil {
						mu.Lock()
						failed++
						mu.Unlock()
					}
				}
			})
		}
		for range 40 {
			jobs <- struct{}{}
		}
		close(jobs)
		wg.Wait()
		return failed
	}
	if failed := run(t, false); failed != 20 {
		t.Fatalf("without pacing %d of 40 calls were throttled; want the 20 past the limit", failed)
	}
	if failed := run(t, true); failed != 0 {
		t.Errorf("with pacing %d of 40 calls failed; want 0", failed)
	}
}

// TestThrottleIsTemporaryByCode: Meta's rate-limiting page shows throttle
// errors (code 4 for an app, 80004 with subcode 2446079 for Ads Management)
// without is_transient, as the emulator answers them. The Client must still
// take them as temporary, by code, and read the regain estimate.
func TestThrottleIsTemporaryByCode(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.srv.SetRateLimit(1, time.Hour)
	info, err := w.c.DebugToken(t.Context(), w.app, w.fx.AdminToken)
	if err != nil || !info.IsValid {
		t.Fatalf("first DebugToken() = %+v, %v; want a valid token", info, err)
	}
	_, err = w.c.DebugToken(t.Context(), w.app, w.fx.AdminToken)
	var gerr *mint.GraphError
	if !errors.As(err, &gerr) || gerr.Code != 4 || gerr.IsTransient {
		t.Fatalf("DebugToken() over the limit error = %v; want Graph code 4 without is_transient", err)
	}
	if !gerr.Temporary() || !gerr.Throttled() {
		t.Errorf("code 4 Temporary() = %v, Throttled() = %v; want both true", gerr.Temporary(), gerr.Throttled())
	}
	err = w.c.InstallApp(t.Context(), mint.InstallAppRequest{SystemUserID: w.fx.SystemUserID, App: w.app, AccessToken: w.fx.AdminToken})
	if !errors.As(err, &gerr) || gerr.Code != 80004 || gerr.Subcode != 2446079 || gerr.IsTransient {
		t.Fatalf("InstallApp() over the limit error = %v; want Graph code 80004 subcode 2446079 without is_transient", err)
	}
	if !gerr.Temporary() || gerr.RetryAfter() <= 0 {
		t.Errorf("code 80004 Temporary() = %v, RetryAfter() = %v; want true and the header's estimate", gerr.Temporary(), gerr.RetryAfter())
	}
}

// advancingTransport moves the emulator's clock (which is also the client's)
// by step after each answer: the time a retry's wait, or a pacing wait, takes.
type advancingTransport struct {
	rt   http.RoundTripper
	srv  *minttest.Server
	step time.Duration
}

func (a advancingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.rt.RoundTrip(r)
	a.srv.Advance(a.step)
	return resp, err
}

// TestTimedProofIsMadeForEachAttempt: Meta's Login Security page says
// "Time-stamped app secret proofs will be considered expired after 5
// minutes, so it's recommended that you generate a new proof in-line when
// making each Graph API call." A retry that comes 6 minutes after the first
// attempt must carry a new proof, not the first attempt's stale one.
func TestTimedProofIsMadeForEachAttempt(t *testing.T) {
	t.Parallel()
	srv := minttest.NewServer()
	t.Cleanup(srv.Close)
	fx := srv.Seed()
	hc := &http.Client{Transport: advancingTransport{rt: srv.Client().Transport, srv: srv, step: 6 * time.Minute}}
	c := newTestClient(t, srv.URL, mint.WithHTTPClient(hc), mint.WithTimedProof(), mint.WithClock(srv.Now), fastRetry)
	app := mint.App{ID: fx.AppID, Secret: fx.AppSecret}
	srv.FailNext(minttest.EndpointApplications, minttest.Fault{Status: 500, Error: &minttest.Error{Message: "Service temporarily unavailable", Code: 2, IsTransient: true}})
	if err := c.InstallApp(t.Context(), mint.InstallAppRequest{SystemUserID: fx.SystemUserID, App: app, AccessToken: fx.AdminToken}); err != nil {
		t.Fatalf("InstallApp() after one transient failure and 6 minutes = %v; want success with a fresh proof", err)
	}
	tok, err := c.CreateAccessToken(t.Context(), mint.TokenRequest{SystemUserID: fx.SystemUserID, App: app, AccessToken: fx.AdminToken, Scopes: []string{"ads_read"}})
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("CreateAccessToken() = %v; want a token", err)
	}
}

// TestWithSleep waits out a throttle by an injected sleep that moves the
// emulator's clock, as a program's own tests would: Meta's estimate (7
// minutes) is waited when the policy and the deadline allow it, and never
// started when the deadline falls inside it.
func TestWithSleep(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		deadline time.Duration
		want     []time.Duration // the waits asked for
		wantErr  bool
	}{
		{name: "the wait ends before the deadline", deadline: 10 * time.Minute, want: []time.Duration{7 * time.Minute}},
		{name: "the deadline falls inside the wait", deadline: 5 * time.Minute, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu    sync.Mutex
				slept []time.Duration
				w     *world
			)
			sleep := func(_ context.Context, d time.Duration) error {
				mu.Lock()
				defer mu.Unlock()
				slept = append(slept, d)
				w.srv.Advance(d)
				return nil
			}
			policy := mint.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 15 * time.Minute}
			w = newWorld(t, mint.WithRetry(policy), mint.WithSleep(sleep))
			w.srv.InstallApp(w.fx.SystemUserID, w.fx.AppID)
			w.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{
				Error:  &minttest.Error{Message: "(#80004) There have been too many calls", Type: "OAuthException", Code: 80004},
				Header: http.Header{"X-Business-Use-Case-Usage": {`{"` + w.fx.BusinessID + `":[{"type":"ads_management","call_count":100,"estimated_time_to_regain_access":7}]}`}},
			})
			ctx, cancel := context.WithTimeout(t.Context(), tt.deadline)
			defer cancel()
			_, err := w.c.CreateAccessToken(ctx, w.request("ads_read"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("CreateAccessToken() = %v; want an error: %v", err, tt.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(slept, tt.want) {
				t.Errorf("waits = %v; want %v", slept, tt.want)
			}
		})
	}
	if _, err := mint.NewClient(mint.WithSleep(nil)); err == nil {
		t.Errorf("NewClient(WithSleep(nil)) = nil error; want a refusal")
	}
}

// TestRequireAppSecret runs every call against an app with Meta's "Require App
// Secret" setting on: each call made with a user or system user token must
// carry appsecret_proof (Meta's Login Security page, "Require the Proof").
func TestRequireAppSecret(t *testing.T) {
	t.Parallel()
	srv := minttest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddBusiness(minttest.Business{ID: "5100"})
	srv.AddApp(minttest.App{ID: "5200", Secret: "s5200", BusinessID: "5100", RequireProof: true})
	srv.AddSystemUser(minttest.SystemUser{ID: "5300", BusinessID: "5100", Role: "ADMIN"})
	srv.AddSystemUser(minttest.SystemUser{ID: "5400", BusinessID: "5100"})
	srv.InstallApp("5300", "5200")
	admin := srv.IssueToken(minttest.TokenSpec{UserID: "5300", AppID: "5200", Scopes: []string{"business_management"}})
	c := newTestClient(t, srv.URL, mint.WithHTTPClient(srv.Client()))
	app := mint.App{ID: "5200", Secret: "s5200"}
	ctx := t.Context()

	if err := c.InstallApp(ctx, mint.InstallAppRequest{SystemUserID: "5400", App: app, AccessToken: admin}); err != nil {
		t.Fatalf("InstallApp() error = %v", err)
	}
	tok, err := c.CreateAccessToken(ctx, mint.TokenRequest{SystemUserID: "5400", App: app, AccessToken: admin, Scopes: []string{"ads_read"}})
	if err != nil {
		t.Fatalf("CreateAccessToken() error = %v", err)
	}
	if _, err := c.SystemUsers(ctx, mint.SystemUsersRequest{BusinessID: "5100", App: app, AccessToken: admin}); err != nil {
		t.Errorf("SystemUsers() error = %v", err)
	}
	if err := c.RevokeAccessToken(ctx, mint.RevokeRequest{App: app, Token: tok.AccessToken, AccessToken: admin}); err != nil {
		t.Errorf("RevokeAccessToken() error = %v; want nil", err)
	}
	if got, _ := srv.Token(tok.AccessToken); !got.Revoked {
		t.Errorf("Token(minted).Revoked = false; want true")
	}
	if err := c.RevokeAllAccessTokens(ctx, mint.RevokeAllRequest{SystemUserID: "5400", App: app, AccessToken: admin}); err != nil {
		t.Errorf("RevokeAllAccessTokens() error = %v", err)
	}
}
