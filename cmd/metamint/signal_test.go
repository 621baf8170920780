package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint/minttest"
)

// TestMintInterruptedAfterCreate: SIGINT (the run's context canceled) once
// the token exists, while mint waits out a throttle before inspecting it:
// the token is revoked, nothing is printed on standard output, and the exit
// status is not 0.
func TestMintInterruptedAfterCreate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	env := w.env()
	// Meta asks for a wait on debug_token (the calling token's check, then
	// the new token's inspection): the wait after the create is interrupted.
	w.s.FailNext(minttest.EndpointDebugToken, minttest.Fault{
		Times:  20, // more than the calling token's check retries
		Error:  &minttest.Error{Message: "(#80004) There have been too many calls to this ad-account.", Type: "OAuthException", Code: 80004},
		Header: http.Header{"X-Ad-Account-Usage": {`{"acc_id_util_pct":100,"reset_time_duration":5}`}},
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	interrupt := func(c *cli) {
		c.sleep = func(ctx context.Context, _ time.Duration) error {
			if w.s.Minted() > 0 {
				cancel() // SIGINT, as main's signal.NotifyContext does
			}
			return ctx.Err()
		}
	}
	var stdout, stderr bytes.Buffer
	code := run(ctx, mintCmd(w.fx, "--install-app"), func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr, interrupt)
	if code == exitOK || stdout.Len() != 0 {
		t.Errorf("mint interrupted = %d, stdout %q; want an error and nothing printed", code, stdout.String())
	}
	if last := w.lastToken(); w.s.Minted() != 1 || !last.Revoked {
		t.Errorf("minted %d, last token revoked %v; want the one token revoked", w.s.Minted(), last.Revoked)
	}
	if !strings.Contains(stderr.String(), "revoked the new token") {
		t.Errorf("stderr = %q; want it to say the new token was revoked", stderr.String())
	}
}

// exchangeProxy puts a proxy in front of w's emulator and returns its URL.
// Every request is forwarded; once the emulator has answered GET
// /oauth/access_token (the refresh), answered is called before the answer
// is sent on.
func exchangeProxy(t *testing.T, w *world, answered func()) string {
	t.Helper()
	target, err := url.Parse(w.s.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = w.s.Client().Transport
	rp.ModifyResponse = func(resp *http.Response) error {
		if strings.HasSuffix(resp.Request.URL.Path, "/oauth/access_token") {
			answered()
		}
		return nil
	}
	p := httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p.URL
}

// TestRefreshInterruptedInFlight: SIGINT (the run's context canceled) while
// Graph answers the refresh, after it made the new token: the refresh is
// let finish and the new token is revoked rather than left live with nobody
// holding it; nothing is printed and the old token is kept.
func TestRefreshInterruptedInFlight(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	env := w.env()
	old := w.issue(dueLife)
	env[envToken] = old
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// SIGINT, as main's signal.NotifyContext does, once Graph made the
	// token and before its answer is on its way.
	env[envGraphURL] = exchangeProxy(t, w, cancel)
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"refresh", "--app-id", w.fx.AppID}, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	if code == exitOK || stdout.Len() != 0 {
		t.Errorf("refresh interrupted = %d, stdout %q; want an error and nothing printed", code, stdout.String())
	}
	if w.s.Minted() != 1 {
		t.Fatalf("refreshed %d times; want 1", w.s.Minted())
	}
	for _, st := range w.s.Tokens() {
		switch {
		case st.Value == old && st.Revoked:
			t.Errorf("the old token was revoked")
		case st.Value != old && st.UserID == w.fx.SystemUserID && !st.Revoked:
			t.Errorf("the refreshed token was left live; stderr:\n%s", stderr.String())
		}
	}
}

// TestRefreshProvesTheNewToken: Graph answers the refresh with a token that
// is not the old one's renewal (here a token of the same system user with
// other scopes): refresh inspects the new token, refuses it, revokes it and
// prints nothing, so a script never deploys it in the old one's place.
func TestRefreshProvesTheNewToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	env := w.env()
	old := w.issue(dueLife)
	env[envToken] = old
	other := w.s.IssueToken(minttest.TokenSpec{UserID: w.fx.SystemUserID, AppID: w.fx.AppID,
		Scopes: []string{"business_management"}, ExpiresAt: w.s.Now().Add(60 * 24 * time.Hour)})
	w.s.FailNext(minttest.EndpointExchange, minttest.Fault{Status: http.StatusOK,
		Body: fmt.Appendf(nil, `{"access_token":%q,"token_type":"bearer","expires_in":5184000}`, other)})
	r := runCLI(t, env, "", "refresh", "--app-id", w.fx.AppID)
	if r.code != exitError || r.stdout != "" {
		t.Errorf("refresh answered another token = %d, stdout %q; want %d and nothing printed", r.code, r.stdout, exitError)
	}
	if !strings.Contains(r.stderr, "revoked the new token") {
		t.Errorf("stderr = %q; want it to say the new token was revoked", r.stderr)
	}
	if st, _ := w.s.Token(other); !st.Revoked {
		t.Errorf("the token Graph answered was not revoked")
	}
	if st, _ := w.s.Token(old); st.Revoked {
		t.Errorf("the old token was revoked")
	}
}

// TestRefreshExtendedInPlace: Graph answers the refresh with the token
// itself and a later expiry: it extended the token in place. refresh prints
// it and says so; it must not advise revoking "the old one", which is the
// token just printed.
func TestRefreshExtendedInPlace(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	env := w.env()
	old := w.issue(dueLife)
	env[envToken] = old
	before := w.s.Now().Add(dueLife).Truncate(time.Second)
	after := w.s.Now().Add(tokenLife).Truncate(time.Second)
	debug := func(exp time.Time) minttest.Fault {
		return minttest.Fault{Status: http.StatusOK, Body: fmt.Appendf(nil,
			`{"data":{"app_id":%q,"type":"SYSTEM_USER","expires_at":%d,"is_valid":true,"issued_at":1,"scopes":["ads_read"],"user_id":%q}}`,
			w.fx.AppID, exp.Unix(), w.fx.SystemUserID)}
	}
	w.s.FailNext(minttest.EndpointDebugToken, debug(before))
	w.s.FailNext(minttest.EndpointExchange, minttest.Fault{Status: http.StatusOK,
		Body: fmt.Appendf(nil, `{"access_token":%q,"token_type":"bearer","expires_in":5184000}`, old)})
	w.s.FailNext(minttest.EndpointDebugToken, debug(after))
	r := runCLI(t, env, "", "refresh", "--app-id", w.fx.AppID)
	if r.code != exitOK || r.stdout != old+"\n" {
		t.Fatalf("refresh extended in place = %d, stdout %q; want 0 and the token\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "revoke it") || !strings.Contains(r.stderr, "in place") {
		t.Errorf("stderr = %q; want it to say Graph extended the token in place, and no advice to revoke it", r.stderr)
	}
	if st, _ := w.s.Token(old); st.Revoked {
		t.Errorf("the token was revoked")
	}
}
