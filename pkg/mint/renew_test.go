package mint_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// renewWorld seeds an emulator with a system user token of the seeded app
// that expires in life (0: never; negative: already expired).
func renewWorld(t *testing.T, life time.Duration) (*minttest.Server, *mint.Client, mint.App, string) {
	t.Helper()
	s := minttest.NewServer()
	t.Cleanup(s.Close)
	fx := s.Seed()
	s.InstallApp(fx.SystemUserID, fx.AppID)
	spec := minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: []string{"ads_read", "business_management"}}
	if life != 0 {
		spec.ExpiresAt = s.Now().Add(life)
	}
	tok := s.IssueToken(spec)
	c, err := mint.NewClient(mint.WithBaseURL(s.URL), mint.WithHTTPClient(s.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return s, c, mint.App{ID: fx.AppID, Secret: fx.AppSecret}, tok
}

func countEndpoint(s *minttest.Server, e minttest.Endpoint) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Endpoint == e {
			n++
		}
	}
	return n
}

func TestRenewAccessToken(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour

	t.Run("due token renewed, old one kept", func(t *testing.T) {
		t.Parallel()
		s, c, app, old := renewWorld(t, 10*day)
		var hidden []string
		rn, err := c.RenewAccessToken(t.Context(), mint.RenewRequest{RefreshRequest: mint.RefreshRequest{App: app, AccessToken: old},
			Refreshed: func(tok string) error { hidden = append(hidden, tok); return nil }})
		if err != nil {
			t.Fatalf("RenewAccessToken() = %v", err)
		}
		if len(hidden) != 1 || hidden[0] != rn.AccessToken {
			t.Errorf("Refreshed got %d tokens; want the new token once", len(hidden))
		}
		if rn.AccessToken == old {
			t.Errorf("the emulator issued a new value; RenewAccessToken returned the old one")
		}
		if !rn.Info.ExpiresAt.After(rn.Previous.ExpiresAt) || rn.Info.UserID != rn.Previous.UserID {
			t.Errorf("Info = %+v; want a later expiry for the same user than %+v", rn.Info, rn.Previous)
		}
		if st, _ := s.Token(old); st.Revoked {
			t.Errorf("the old token was revoked")
		}
	})

	for _, tt := range []struct {
		name string
		life time.Duration
	}{
		{"permanent token refused", 0},
		{"expired token refused", -day},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c, app, old := renewWorld(t, tt.life)
			rn, err := c.RenewAccessToken(t.Context(), mint.RenewRequest{RefreshRequest: mint.RefreshRequest{App: app, AccessToken: old}})
			if !errors.Is(err, mint.ErrInvalidRequest) || rn != nil {
				t.Fatalf("RenewAccessToken() = %v, %v; want nil and ErrInvalidRequest", rn, err)
			}
			if n := countEndpoint(s, minttest.EndpointExchange); n != 0 {
				t.Errorf("refresh calls = %d; want 0", n)
			}
		})
	}

	// Graph answers the new token's debug_token with another system user:
	// the new token is revoked, the old one is not.
	t.Run("new token of another system user", func(t *testing.T) {
		t.Parallel()
		s, c, app, old := renewWorld(t, 10*day)
		prev, err := c.DebugToken(t.Context(), app, old)
		if err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"data":{"app_id":%q,"type":"SYSTEM_USER","is_valid":true,"user_id":"999","scopes":["ads_read","business_management"],"expires_at":%d}}`,
			app.ID, s.Now().Add(60*day).Unix())
		s.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: 200, Body: []byte(body)})
		rn, err := c.RenewAccessToken(t.Context(), mint.RenewRequest{RefreshRequest: mint.RefreshRequest{App: app, AccessToken: old, Info: prev}})
		var ferr *mint.FlowError
		if !errors.Is(err, mint.ErrRenewalMismatch) || !errors.As(err, &ferr) || rn != nil {
			t.Fatalf("RenewAccessToken() = %v, %v; want a *FlowError matching ErrRenewalMismatch", rn, err)
		}
		if !ferr.Minted || ferr.RevokeErr != nil || ferr.Step != mint.StepCheck {
			t.Errorf("FlowError = %+v; want step check, the new token revoked", ferr)
		}
		// The system user's tokens: the old one, kept; the refreshed one,
		// revoked.
		for _, tok := range s.Tokens() {
			if tok.UserID == prev.UserID && tok.Revoked != (tok.Value != old) {
				t.Errorf("token (old: %v) revoked = %v; want %v", tok.Value == old, tok.Revoked, tok.Value != old)
			}
		}
	})

	// The new token's debug_token fails; MayRevoke decides whether the
	// flow revokes it (true) or keeps it for another party that may hold
	// it (false: RevokeErr matches ErrKept, no revoke call).
	for _, may := range []bool{true, false} {
		t.Run(fmt.Sprintf("MayRevoke %v", may), func(t *testing.T) {
			t.Parallel()
			s, c, app, old := renewWorld(t, 10*day)
			prev, err := c.DebugToken(t.Context(), app, old)
			if err != nil {
				t.Fatal(err)
			}
			s.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: 500, Error: &minttest.Error{Message: "down", Code: 2, IsTransient: true}})
			asked := 0
			_, err = c.RenewAccessToken(t.Context(), mint.RenewRequest{RefreshRequest: mint.RefreshRequest{App: app, AccessToken: old, Info: prev},
				MayRevoke: func(ctx context.Context) bool {
					asked++
					if _, ok := ctx.Deadline(); !ok {
						t.Errorf("MayRevoke's context has no deadline; want CleanupTimeout")
					}
					return may
				}})
			var ferr *mint.FlowError
			if !errors.As(err, &ferr) || !ferr.Minted || ferr.Step != mint.StepInspect || asked != 1 {
				t.Fatalf("RenewAccessToken() = %v, MayRevoke asked %d times; want a FlowError at debug_token, a token minted, asked once", err, asked)
			}
			if kept := errors.Is(ferr.RevokeErr, mint.ErrKept); kept == may {
				t.Errorf("RevokeErr = %v; want ErrKept exactly when MayRevoke says false", ferr.RevokeErr)
			}
			if n, want := countEndpoint(s, minttest.EndpointRevoke), map[bool]int{true: 1, false: 0}[may]; n != want {
				t.Errorf("revoke calls = %d; want %d", n, want)
			}
		})
	}

	// Deliver gets the proven renewal; when it fails (a store refused the
	// token, a closed pipe), the new token is revoked and the old one kept.
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("Deliver fails %v", fail), func(t *testing.T) {
			t.Parallel()
			s, c, app, old := renewWorld(t, 10*day)
			var got *mint.Renewal
			deliverErr := errors.New("no space left on device")
			rn, err := c.RenewAccessToken(t.Context(), mint.RenewRequest{RefreshRequest: mint.RefreshRequest{App: app, AccessToken: old},
				Deliver: func(r *mint.Renewal) error {
					got = r
					if fail {
						return deliverErr
					}
					return nil
				}})
			if got == nil || got.Info == nil || got.Previous == nil || got.AccessToken == old {
				t.Fatalf("Deliver got %+v; want the new token with both debug_token answers", got)
			}
			if !fail {
				if err != nil || rn != got {
					t.Fatalf("RenewAccessToken() = %v, %v; want the delivered renewal", rn, err)
				}
				return
			}
			var ferr *mint.FlowError
			if !errors.Is(err, deliverErr) || !errors.As(err, &ferr) || rn != nil {
				t.Fatalf("RenewAccessToken() = %v, %v; want a *FlowError wrapping Deliver's error", rn, err)
			}
			if ferr.Step != mint.StepDeliver || !ferr.Minted || ferr.RevokeErr != nil {
				t.Errorf("FlowError = %+v; want step deliver, the new token revoked", ferr)
			}
			if st, _ := s.Token(got.AccessToken); !st.Revoked {
				t.Errorf("the undelivered token was left live")
			}
			if st, _ := s.Token(old); st.Revoked {
				t.Errorf("the old token was revoked")
			}
		})
	}

	// Graph answers the refresh with the old token's own value: the check
	// refuses it (no later expiry), and it is not revoked.
	t.Run("old token echoed", func(t *testing.T) {
		t.Parallel()
		s, c, app, old := renewWorld(t, 10*day)
		s.FailNext(minttest.EndpointExchange, minttest.Fault{Status: 200,
			Body: fmt.Appendf(nil, `{"access_token":%q,"token_type":"bearer","expires_in":5184000}`, old)})
		_, err := c.RenewAccessToken(t.Context(), mint.RenewRequest{RefreshRequest: mint.RefreshRequest{App: app, AccessToken: old}})
		var ferr *mint.FlowError
		if !errors.Is(err, mint.ErrRenewalMismatch) || !errors.As(err, &ferr) || ferr.Minted {
			t.Fatalf("RenewAccessToken() = %v; want ErrRenewalMismatch, nothing revoked", err)
		}
		if st, _ := s.Token(old); st.Revoked {
			t.Errorf("the old token was revoked")
		}
		if n := countEndpoint(s, minttest.EndpointRevoke); n != 0 {
			t.Errorf("revoke calls = %d; want 0", n)
		}
	})
}

func TestCheckRenewal(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	prev := &mint.TokenInfo{AppID: "1", UserID: "2", Type: "SYSTEM_USER", IsValid: true, Scopes: []string{"ads_read", "business_management"}, ExpiresAt: now}
	good := *prev
	good.ExpiresAt = now.Add(time.Hour)
	mod := func(f func(i *mint.TokenInfo)) *mint.TokenInfo {
		i := good
		i.Scopes = append([]string(nil), good.Scopes...)
		f(&i)
		return &i
	}
	// vague is the old token's debug_token answer with f applied: one
	// that names no app or no system user cannot prove a renewal.
	vague := func(f func(i *mint.TokenInfo)) *mint.TokenInfo {
		i := *prev
		f(&i)
		return &i
	}
	tests := []struct {
		name string
		info *mint.TokenInfo
		ok   bool
		prev *mint.TokenInfo // nil: prev
	}{
		{"renewal", &good, true, nil},
		{"invalid", mod(func(i *mint.TokenInfo) { i.IsValid = false }), false, nil},
		{"another app", mod(func(i *mint.TokenInfo) { i.AppID = "9" }), false, nil},
		{"another system user", mod(func(i *mint.TokenInfo) { i.UserID = "9" }), false, nil},
		{"a scope lost", mod(func(i *mint.TokenInfo) { i.Scopes = i.Scopes[:1] }), false, nil},
		{"a scope added", mod(func(i *mint.TokenInfo) { i.Scopes = append(i.Scopes, "ads_management") }), false, nil},
		{"same expiry", mod(func(i *mint.TokenInfo) { i.ExpiresAt = now }), false, nil},
		{"never expires", mod(func(i *mint.TokenInfo) { i.ExpiresAt = time.Time{} }), false, nil},
		{"user token", mod(func(i *mint.TokenInfo) { i.Type = "USER" }), false, nil},
		{"old token names no system user", mod(func(i *mint.TokenInfo) { i.UserID = "9" }), false, vague(func(i *mint.TokenInfo) { i.UserID = "" })},
		{"old token names no app", mod(func(i *mint.TokenInfo) { i.AppID = "9" }), false, vague(func(i *mint.TokenInfo) { i.AppID = "" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := prev
			if tt.prev != nil {
				p = tt.prev
			}
			err := tt.info.CheckRenewal(p)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckRenewal() = %v; want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, mint.ErrRenewalMismatch) {
				t.Errorf("CheckRenewal() = %v; want it to match ErrRenewalMismatch", err)
			}
		})
	}
}

// TestRenewInterrupted: a context canceled while the refresh is in flight
// does not abandon it (the new token would stay live with nobody holding
// it): the refresh finishes, the step after it sees the context done, and
// the new token is revoked; the old one is kept. A context done before the
// refresh refreshes nothing.
func TestRenewInterrupted(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name        string
		before      bool
		wantRefresh bool
	}{
		{name: "during the refresh", wantRefresh: true},
		{name: "before the refresh", before: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, app, old := renewWorld(t, 10*24*time.Hour)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			hc := s.Client()
			hc.Transport = &cancelAfter{base: hc.Transport, path: "/oauth/access_token", cancel: cancel}
			c, err := mint.NewClient(mint.WithBaseURL(s.URL), mint.WithHTTPClient(hc))
			if err != nil {
				t.Fatal(err)
			}
			info, err := c.DebugToken(t.Context(), app, old)
			if err != nil {
				t.Fatal(err)
			}
			if tt.before {
				cancel()
			}
			rn, err := c.RenewAccessToken(ctx, mint.RenewRequest{RefreshRequest: mint.RefreshRequest{App: app, AccessToken: old, Info: info}})
			if rn != nil || !errors.Is(err, context.Canceled) {
				t.Fatalf("RenewAccessToken(canceled %s) = %v, %v; want no renewal and context.Canceled", tt.name, rn, err)
			}
			if got := countEndpoint(s, minttest.EndpointExchange) > 0; got != tt.wantRefresh {
				t.Fatalf("refreshed %v; want %v", got, tt.wantRefresh)
			}
			for _, st := range s.Tokens() {
				if st.Value == old {
					if st.Revoked {
						t.Errorf("the old token was revoked")
					}
				} else if !st.Revoked && st.Type == "SYSTEM_USER" && st.UserID == info.UserID {
					t.Errorf("a new token of the system user was left live")
				}
			}
		})
	}
}
