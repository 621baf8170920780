package mint_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// TestCreateVerifiedAccessToken injects a fault at each step after the
// token exists, and checks that the token is revoked (or that the error
// says why not), never returned, and never named in the error.
func TestCreateVerifiedAccessToken(t *testing.T) {
	t.Parallel()
	errHook := errors.New("state file full")
	tests := []struct {
		name string
		// setup injects the fault; held returns Held tokens.
		setup       func(s *minttest.Server, fx minttest.Fixture) []string
		created     error
		delivered   error
		wantStep    mint.FlowStep
		wantIs      error
		wantMinted  bool
		wantRevoked bool
	}{
		{name: "verified", setup: func(*minttest.Server, minttest.Fixture) []string { return nil }},
		{
			name: "check fails: another system user",
			setup: func(s *minttest.Server, fx minttest.Fixture) []string {
				s.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: 200, Body: []byte(
					`{"data":{"is_valid":true,"type":"SYSTEM_USER","app_id":"` + fx.AppID + `","user_id":"999","scopes":["ads_read"]}}`)})
				return nil
			},
			wantStep: mint.StepCheck, wantMinted: true, wantRevoked: true,
		},
		{
			name: "debug_token fails",
			setup: func(s *minttest.Server, _ minttest.Fixture) []string {
				s.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: 400, Error: &minttest.Error{Message: "bad", Code: 100}})
				return nil
			},
			wantStep: mint.StepInspect, wantMinted: true, wantRevoked: true,
		},
		{
			name:     "Created fails",
			setup:    func(*minttest.Server, minttest.Fixture) []string { return nil },
			created:  errHook,
			wantStep: mint.StepCreated, wantIs: errHook, wantMinted: true, wantRevoked: true,
		},
		{
			name:      "Deliver fails",
			setup:     func(*minttest.Server, minttest.Fixture) []string { return nil },
			delivered: errHook,
			wantStep:  mint.StepDeliver, wantIs: errHook, wantMinted: true, wantRevoked: true,
		},
		{
			name: "check fails and revoke fails",
			setup: func(s *minttest.Server, _ minttest.Fixture) []string {
				s.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: 200, Body: []byte(`{"data":{"is_valid":false,"scopes":[]}}`)})
				s.FailNext(minttest.EndpointRevoke, minttest.Fault{Status: 400, Error: &minttest.Error{Message: "no", Code: 100}})
				return nil
			},
			wantStep: mint.StepCheck, wantIs: mint.ErrInvalidToken, wantMinted: true,
		},
		{
			name: "Graph answers a held token",
			setup: func(s *minttest.Server, fx minttest.Fixture) []string {
				held := s.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: []string{"ads_read"}})
				s.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Status: 200, Body: []byte(`{"access_token":"` + held + `"}`)})
				return []string{held}
			},
			wantStep: mint.StepCreate, wantIs: mint.ErrHeldTokenEchoed,
		},
		{
			// A padded copy fails CheckTokenValue: revoking it as a
			// malformed new token would name the held one to a Graph that
			// reads past the line break.
			name: "Graph answers a held token with a line break after it",
			setup: func(s *minttest.Server, fx minttest.Fixture) []string {
				held := s.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: []string{"ads_read"}})
				s.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Status: 200, Body: []byte(`{"access_token":"` + held + `\n"}`)})
				return []string{held}
			},
			wantStep: mint.StepCreate, wantIs: mint.ErrMalformedToken,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := minttest.NewServer()
			t.Cleanup(s.Close)
			fx := s.Seed()
			s.InstallApp(fx.SystemUserID, fx.AppID)
			c, err := mint.NewClient(mint.WithBaseURL(s.URL), mint.WithHTTPClient(s.Client()))
			if err != nil {
				t.Fatal(err)
			}
			held := tt.setup(s, fx)
			var got []string
			var delivered []*mint.VerifiedToken
			app := mint.App{ID: fx.AppID, Secret: fx.AppSecret}
			v, err := c.CreateVerifiedAccessToken(t.Context(), mint.VerifiedTokenRequest{
				TokenRequest: mint.TokenRequest{SystemUserID: fx.SystemUserID, App: app, AccessToken: fx.AdminToken, Scopes: []string{"ads_read"}},
				Held:         held,
				Created:      func(tok string) error { got = append(got, tok); return tt.created },
				Deliver:      func(v *mint.VerifiedToken) error { delivered = append(delivered, v); return tt.delivered },
			})
			if tt.wantStep == "" {
				if err != nil || v == nil || len(got) != 1 || v.AccessToken != got[0] || !v.Info.IsValid {
					t.Fatalf("CreateVerifiedAccessToken = %v, %v (Created saw %d tokens); want a verified token handed to Created", v, err, len(got))
				}
				if len(delivered) != 1 || delivered[0] != v {
					t.Fatalf("Deliver saw %v; want the verified token, once", delivered)
				}
				return
			}
			if len(delivered) > 0 && tt.wantStep != mint.StepDeliver {
				t.Errorf("Deliver was called after a failed %s", tt.wantStep)
			}
			var ferr *mint.FlowError
			if !errors.As(err, &ferr) || v != nil {
				t.Fatalf("CreateVerifiedAccessToken = %v, %v; want a *FlowError", v, err)
			}
			if ferr.Step != tt.wantStep || ferr.Minted != tt.wantMinted || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
				t.Errorf("FlowError = step %q minted %v (%v); want step %q minted %v, is %v", ferr.Step, ferr.Minted, err, tt.wantStep, tt.wantMinted, tt.wantIs)
			}
			if tt.wantMinted {
				if len(got) != 1 {
					t.Fatalf("Created saw %d tokens; want 1", len(got))
				}
				st, _ := s.Token(got[0])
				if st.Revoked != tt.wantRevoked || (ferr.RevokeErr == nil) != tt.wantRevoked {
					t.Errorf("token revoked = %v, RevokeErr = %v; want revoked %v", st.Revoked, ferr.RevokeErr, tt.wantRevoked)
				}
				if strings.Contains(err.Error(), got[0]) {
					t.Errorf("the error names the token: %v", err)
				}
			}
			for _, h := range held {
				if st, _ := s.Token(h); st.Revoked {
					t.Errorf("a held token was revoked")
				}
				for _, r := range s.Requests() {
					if r.Endpoint == minttest.EndpointRevoke && strings.TrimSpace(r.Form.Get("revoke_token")) == h {
						t.Errorf("a revocation named a held token, as %q", r.Form.Get("revoke_token"))
					}
				}
			}
		})
	}
}

// TestCreateVerifiedHolder: Holder is asked about the token Graph
// answered, once, before Created. A token it names a holder of is refused
// with ErrHeldTokenEchoed, the holder in the error and the token not, and
// never handed to Created nor revoked; one it does not is minted as usual.
func TestCreateVerifiedHolder(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		held bool // Holder says the answered token is held
	}{
		{name: "held by a stored document", held: true},
		{name: "held by nobody"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := minttest.NewServer()
			t.Cleanup(s.Close)
			fx := s.Seed()
			s.InstallApp(fx.SystemUserID, fx.AppID)
			c, err := mint.NewClient(mint.WithBaseURL(s.URL), mint.WithHTTPClient(s.Client()))
			if err != nil {
				t.Fatal(err)
			}
			// A live token of the request's system user, app and scope:
			// debug_token would pass it.
			answered := s.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: []string{"ads_read"}})
			s.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Status: 200, Body: []byte(`{"access_token":"` + answered + `"}`)})
			const holder = "the pending version of the document"
			var asked, created []string
			app := mint.App{ID: fx.AppID, Secret: fx.AppSecret}
			v, err := c.CreateVerifiedAccessToken(t.Context(), mint.VerifiedTokenRequest{
				TokenRequest: mint.TokenRequest{SystemUserID: fx.SystemUserID, App: app, AccessToken: fx.AdminToken, Scopes: []string{"ads_read"}},
				Holder: func(tok string) string {
					asked = append(asked, tok)
					if tt.held {
						return holder
					}
					return ""
				},
				Created: func(tok string) error { created = append(created, tok); return nil },
			})
			if len(asked) != 1 || asked[0] != answered {
				t.Fatalf("Holder was asked about %d tokens; want once, about the token Graph answered", len(asked))
			}
			if !tt.held {
				if err != nil || v == nil || v.AccessToken != answered || len(created) != 1 {
					t.Fatalf("CreateVerifiedAccessToken = %v, %v; want the token verified and handed to Created", v, err)
				}
				return
			}
			var ferr *mint.FlowError
			if v != nil || !errors.As(err, &ferr) || ferr.Step != mint.StepCreate || ferr.Minted || !errors.Is(err, mint.ErrHeldTokenEchoed) {
				t.Fatalf("CreateVerifiedAccessToken = %v, %v; want a FlowError at %q, not minted, matching ErrHeldTokenEchoed", v, err, mint.StepCreate)
			}
			if !strings.Contains(err.Error(), holder) || strings.Contains(err.Error(), answered) {
				t.Errorf("error = %q; want it to name the holder, never the token", err)
			}
			if len(created) != 0 {
				t.Errorf("Created saw %d tokens; want none", len(created))
			}
			if st, _ := s.Token(answered); st.Revoked {
				t.Errorf("the held token was revoked")
			}
			for _, r := range s.Requests() {
				if r.Endpoint == minttest.EndpointRevoke || r.Endpoint == minttest.EndpointDebugToken {
					t.Errorf("a request to %s followed the refusal", r.Endpoint)
				}
			}
		})
	}
}

// TestDiscardAfterCancel: the clean-up revoke runs although the caller's
// context is done.
func TestDiscardAfterCancel(t *testing.T) {
	t.Parallel()
	s := minttest.NewServer()
	t.Cleanup(s.Close)
	fx := s.Seed()
	tok := s.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: []string{"ads_read"}})
	c, err := mint.NewClient(mint.WithBaseURL(s.URL), mint.WithHTTPClient(s.Client()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Discard(ctx, mint.App{ID: fx.AppID, Secret: fx.AppSecret}, tok); err != nil {
		t.Fatalf("Discard(canceled ctx) = %v; want nil", err)
	}
	if st, _ := s.Token(tok); !st.Revoked {
		t.Errorf("the token is not revoked")
	}
}

// cancelAfter is a transport that cancels a context once a response to
// path has come back, and then fails the call as net/http does when its
// request's context is done: the caller was interrupted (SIGINT) while
// Graph's answer was on its way.
type cancelAfter struct {
	base   http.RoundTripper
	path   string
	cancel context.CancelFunc
}

func (c *cancelAfter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, c.path) {
		return resp, err
	}
	c.cancel()
	if err := req.Context().Err(); err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// TestCreateVerifiedInterrupted: a context canceled while the create is in
// flight does not abandon it (the token Graph made would stay live with
// nobody holding it): the create finishes, the step after it sees the
// context done, and the token is revoked. A context done before the
// create creates nothing.
func TestCreateVerifiedInterrupted(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		before     bool // cancel before the call rather than during the create
		deadline   bool // the context has a deadline too (a Lambda's, a step's)
		wantMinted int
	}{
		{name: "during the create", wantMinted: 1},
		{name: "during the create, with a deadline", deadline: true, wantMinted: 1},
		{name: "before the create", before: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := minttest.NewServer()
			t.Cleanup(s.Close)
			fx := s.Seed()
			s.InstallApp(fx.SystemUserID, fx.AppID)
			ctx, cancel := context.WithCancel(t.Context())
			if tt.deadline {
				ctx, cancel = context.WithTimeout(t.Context(), time.Hour) // canceled long before
			}
			defer cancel()
			hc := s.Client()
			hc.Transport = &cancelAfter{base: hc.Transport, path: "/" + fx.SystemUserID + "/access_tokens", cancel: cancel}
			c, err := mint.NewClient(mint.WithBaseURL(s.URL), mint.WithHTTPClient(hc))
			if err != nil {
				t.Fatal(err)
			}
			if tt.before {
				cancel()
			}
			app := mint.App{ID: fx.AppID, Secret: fx.AppSecret}
			v, err := c.CreateVerifiedAccessToken(ctx, mint.VerifiedTokenRequest{
				TokenRequest: mint.TokenRequest{SystemUserID: fx.SystemUserID, App: app, AccessToken: fx.AdminToken, Scopes: []string{"ads_read"}},
			})
			if v != nil || !errors.Is(err, context.Canceled) {
				t.Fatalf("CreateVerifiedAccessToken(canceled %s) = %v, %v; want no token and context.Canceled", tt.name, v, err)
			}
			if got := s.Minted(); got != tt.wantMinted {
				t.Fatalf("minted %d; want %d", got, tt.wantMinted)
			}
			var ferr *mint.FlowError
			if !errors.As(err, &ferr) || ferr.Minted != (tt.wantMinted > 0) || ferr.RevokeErr != nil {
				t.Errorf("error %v; want a FlowError with Minted %v and no RevokeErr", err, tt.wantMinted > 0)
			}
			for _, st := range s.Tokens() {
				if st.UserID == fx.SystemUserID && !st.Revoked {
					t.Errorf("token of the system user left live: %+v", st.Scopes)
				}
			}
		})
	}
}
