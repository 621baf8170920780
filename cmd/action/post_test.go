package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// TestRunPost runs the main step, then the post step with the state the main
// step saved, as the runner does.
func TestRunPost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// main changes the main step's inputs; nil means the post step runs
		// without a main step's state.
		main func(w *world, in map[string]string)
		// before runs between the steps.
		before func(w *world, env map[string]string)
		args   []string
		opts   func(w *world) []option
		// wantStdout is a substring of the post step's stdout.
		wantStdout  string
		wantRevoked bool
		wantRevokes int // requests to /oauth/revoke
		golden      bool
	}{
		{
			name:        "revokes",
			main:        func(*world, map[string]string) {},
			wantStdout:  "Revoked the token the main step minted.",
			wantRevoked: true,
			wantRevokes: 1,
			golden:      true,
		},
		{
			name:        "revokes by argument",
			main:        func(*world, map[string]string) {},
			args:        []string{"/metamint-action", "post"},
			wantStdout:  "Revoked the token the main step minted.",
			wantRevoked: true,
			wantRevokes: 1,
		},
		{
			name:        "revokes at a custom version",
			main:        func(_ *world, in map[string]string) { in["INPUT_GRAPH-API-VERSION"] = "v25.0" },
			wantStdout:  "Revoked the token the main step minted.",
			wantRevoked: true,
			wantRevokes: 1,
		},
		{
			name:        "already revoked",
			main:        func(*world, map[string]string) {},
			before:      func(w *world, env map[string]string) { revokeNow(w, env["STATE_token"]) },
			wantStdout:  "The token is no longer valid (already revoked or expired): nothing to revoke.",
			wantRevoked: true,
			wantRevokes: 1,
		},
		{
			name:       "no state",
			wantStdout: "No token to revoke: the main step did not hand one over.",
			golden:     true,
		},
		{
			name:        "main failed",
			main:        func(_ *world, in map[string]string) { in["INPUT_APP-SECRET"] = canaryWrongSecret },
			wantStdout:  "No token to revoke",
			wantRevokes: 0,
		},
		{
			name:       "skip-token-revoke",
			main:       func(_ *world, in map[string]string) { in["INPUT_SKIP-TOKEN-REVOKE"] = "true" },
			wantStdout: "skip-token-revoke is true: the token stays valid after the job.",
			golden:     true,
		},
		{
			// The runner evaluates the inputs again for the post step: an
			// expression may give skip-token-revoke another value than the
			// main step had. The inputs decide, but the main step said the
			// token would be revoked (its log line and job summary), so
			// the post step warns rather than says so in passing.
			name: "skip-token-revoke set only for the post step",
			main: func(*world, map[string]string) {},
			before: func(_ *world, env map[string]string) {
				env["INPUT_SKIP-TOKEN-REVOKE"] = "true"
			},
			wantStdout: "::warning::skip-token-revoke is true in the post step, but was not when the main step minted the token",
		},
		{
			// Graph, not the runner's clock, says the token expired: the
			// revocation is tried, and Graph refuses the token as caller.
			name: "expired",
			main: func(*world, map[string]string) {},
			before: func(w *world, _ map[string]string) {
				w.srv.Advance(61 * 24 * time.Hour)
			},
			opts:        func(w *world) []option { return []option{withClock(w.srv.Now)} },
			wantStdout:  "The token is no longer valid (already revoked or expired): nothing to revoke.",
			wantRevokes: 1,
			golden:      true,
		},
		{
			// A runner whose clock runs ahead (a self-hosted machine
			// without time sync) must not leave a live token unrevoked
			// because it believes the token expired.
			name: "the runner's clock past the expiry",
			main: func(*world, map[string]string) {},
			opts: func(w *world) []option {
				return []option{withClock(func() time.Time { return w.srv.Now().Add(61 * 24 * time.Hour) })}
			},
			wantStdout:  "Revoked the token the main step minted.",
			wantRevoked: true,
			wantRevokes: 1,
		},
		{
			// debug_token's expires_at, saved by the main step, is
			// Graph's word at minting time, and any step of the job may
			// write GITHUB_STATE: a past expiry there is no reason to
			// keep a live token.
			name: "a saved expiry in the past",
			main: func(*world, map[string]string) {},
			before: func(_ *world, env map[string]string) {
				env["STATE_"+stateExpiresAt] = "2001-01-01T00:00:00Z"
			},
			wantStdout:  "Revoked the token the main step minted.",
			wantRevoked: true,
			wantRevokes: 1,
		},
		{
			name: "permanent token is revoked",
			main: func(_ *world, in map[string]string) { in["INPUT_EXPIRING-TOKEN"] = "false" },
			before: func(w *world, _ map[string]string) {
				w.srv.Advance(10 * 365 * 24 * time.Hour)
			},
			opts:        func(w *world) []option { return []option{withClock(w.srv.Now)} },
			wantStdout:  "Revoked the token",
			wantRevoked: true,
			wantRevokes: 1,
		},
		{
			name: "revoke fails softly",
			main: func(*world, map[string]string) {},
			before: func(w *world, _ map[string]string) {
				w.srv.FailNext(minttest.EndpointRevoke, minttest.Fault{
					Status: http.StatusServiceUnavailable,
					Error:  &minttest.Error{Message: "Service temporarily unavailable", Code: 2, IsTransient: true},
					Times:  100,
				})
			},
			wantStdout:  "::warning::Could not revoke the token (GET /oauth/revoke): Graph API error: Service temporarily unavailable (HTTP 503, type OAuthException, code 2",
			wantRevokes: fastRetry.MaxAttempts,
			golden:      true,
		},
		{
			// A hostile Graph echoes the token, the app secret and the
			// app token in every text of its error; none reaches the log.
			name: "revoke fails echoing secrets",
			main: func(*world, map[string]string) {},
			before: func(w *world, env map[string]string) {
				tok := env["STATE_"+stateToken]
				echo := "bad " + tok + " " + url.QueryEscape(tok) + " " + canaryAppSecret + " " + w.appID + "|" + canaryAppSecret + "\n::warning::INJECTED"
				w.srv.FailNext(minttest.EndpointRevoke, minttest.Fault{
					Error: &minttest.Error{Message: echo, Code: 100, UserTitle: echo, UserMessage: echo},
				})
			},
			wantStdout:  "::warning::Could not revoke the token (GET /oauth/revoke): Graph API error: bad [REDACTED]",
			wantRevokes: 1,
		},
		{
			// The saved proof does not match the post step's app secret:
			// nothing is sent to Graph.
			name: "wrong secret in the post step",
			main: func(*world, map[string]string) {},
			before: func(_ *world, env map[string]string) {
				env["INPUT_APP-SECRET"] = canaryWrongSecret
			},
			wantStdout: "::warning::Not revoking the token the saved state names: the main step did not mint it (its saved proof does not match the app secret)",
		},
		{
			name: "empty secret in the post step",
			main: func(*world, map[string]string) {},
			before: func(_ *world, env map[string]string) {
				env["INPUT_APP-SECRET"] = ""
			},
			wantStdout: "::warning::Could not revoke the token: the app-secret input is empty",
		},
		{
			name: "bad saved expiry",
			main: func(*world, map[string]string) {},
			before: func(_ *world, env map[string]string) {
				env["STATE_expires_at"] = "next week"
			},
			wantStdout:  "::warning::The saved expiry \"next week\" is not an RFC 3339 time; revoking the token anyway",
			wantRevoked: true,
			wantRevokes: 1,
		},
		{
			name: "bad skip-token-revoke in the post step",
			main: func(*world, map[string]string) {},
			before: func(_ *world, env map[string]string) {
				env["INPUT_SKIP-TOKEN-REVOKE"] = "yes"
			},
			wantStdout:  "revoking the token anyway",
			wantRevoked: true,
			wantRevokes: 1,
		},
		{
			// Another step of the job puts in GITHUB_STATE a token of the
			// same app that the action never minted (a token it holds, or
			// found): the post step would revoke it with the app secret,
			// which that step may not have. It revokes only a token whose
			// saved proof the main step wrote with the app secret.
			name: "a token the main step did not mint",
			main: func(*world, map[string]string) {},
			before: func(w *world, env map[string]string) {
				env["STATE_"+stateToken] = w.srv.IssueToken(minttest.TokenSpec{UserID: w.systemUserID, AppID: w.appID, Scopes: []string{"ads_read"}})
			},
			wantStdout: "::warning::Not revoking the token the saved state names: the main step did not mint it",
		},
		{
			name: "graph unreachable",
			main: func(*world, map[string]string) {},
			before: func(_ *world, env map[string]string) {
				env["INPUT_GRAPH-API-URL"] = "http://127.0.0.1:1"
			},
			wantStdout: "::warning::Could not revoke the token (GET /oauth/revoke): GET /oauth/revoke:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			installed(w)
			in := w.inputs()
			env := map[string]string{}
			for k, v := range in {
				env[k] = v
			}
			if tt.main != nil {
				tt.main(w, in)
				mr := runStep(t, w, in, []string{"/metamint-action"})
				env = postEnv(in, mr)
				// The post step gets the workflow's inputs again, not the
				// main step's changes, except where before says otherwise.
				for k := range in {
					env[k] = in[k]
				}
			}
			if tt.before != nil {
				tt.before(w, env)
			}
			w.srv.ResetRequests()
			args := tt.args
			if args == nil {
				args = []string{"/post"}
			}
			var opts []option
			if tt.opts != nil {
				opts = tt.opts(w)
			}
			r := runStep(t, w, env, args, opts...)
			if r.err != nil {
				t.Fatalf("run(post) = %v; want nil: the post step never fails", r.err)
			}
			if !strings.Contains(r.stdout, tt.wantStdout) {
				t.Errorf("run(post) stdout = %q; want it to contain %q", r.stdout, tt.wantStdout)
			}
			if strings.Contains(r.stdout, "::error") {
				t.Errorf("run(post) stdout = %q; want no error annotation", r.stdout)
			}
			if got := w.count(minttest.EndpointRevoke); got != tt.wantRevokes {
				t.Errorf("revoke requests = %d; want %d", got, tt.wantRevokes)
			}
			if tok := env["STATE_token"]; tok != "" {
				st, ok := w.srv.Token(tok)
				if !ok {
					t.Fatalf("the saved token is unknown to the emulator")
				}
				if st.Revoked != tt.wantRevoked {
					t.Errorf("token revoked = %v; want %v", st.Revoked, tt.wantRevoked)
				}
			} else if tt.wantRevoked {
				t.Errorf("no token was saved; want one revoked")
			}
			if len(r.outputs) != 0 || len(r.saved) != 0 || r.summary != "" {
				t.Errorf("post step wrote outputs %v, state %v, summary %q; want none", keys(r.outputs), keys(r.saved), r.summary)
			}
			checkMasksFirst(t, w, env, r)
			checkNoLeaks(t, w.secrets(), r)
			if tt.golden {
				golden(t, "post_"+strings.ReplaceAll(tt.name, "-", "_")+".stdout", normalize(w, r.stdout))
			}
		})
	}
}

// revokeNow revokes a token out of band, as another job might.
func revokeNow(w *world, token string) {
	c, err := mint.NewClient(mint.WithBaseURL(w.srv.URL), mint.WithHTTPClient(w.srv.Client()))
	if err == nil {
		err = c.RevokeAccessToken(context.Background(), mint.RevokeRequest{App: mint.App{ID: w.appID, Secret: w.appSecret}, Token: token})
	}
	if err != nil {
		panic(fmt.Sprintf("revoking out of band: %v", err))
	}
}
