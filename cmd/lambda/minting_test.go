package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// TestMintingAppSecret: the minting token (minting_token_ref) was generated
// with another app of the business. Its proofs need that app's secret
// (minting_app_secret_ref); without it Graph refuses the mint. Revoking the
// token two generations old uses the token itself as the caller, never the
// minting token, whose app differs.
func TestMintingAppSecret(t *testing.T) {
	t.Parallel()
	const mintingID, mintingSecret = "200000000000077", "CANARY-minting-secret-77"
	tests := []struct {
		name     string
		withRef  bool
		wantType string
	}{
		{name: "with minting_app_secret_ref", withRef: true},
		{name: "without", wantType: "GraphRefusedError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.srv.AddApp(minttest.App{ID: mintingID, Name: "Minting", Secret: mintingSecret, BusinessID: w.fx.BusinessID})
			caller := w.srv.IssueToken(minttest.TokenSpec{UserID: w.fx.AdminSystemUserID, AppID: mintingID, Scopes: []string{"business_management"}})
			fields := w.baseFields(w.issue(50 * day))
			fields["expiring_token"] = false // permanent: every rotation mints with the minting token
			fields["minting_token_ref"] = w.putMintingToken("minting-token", `{"access_token":"`+caller+`"}`)
			if tc.withRef {
				fields["minting_app_secret_ref"] = w.putRaw("minting-app", mintingSecret)
			}
			id := w.putSecret("managed", fields)
			for range 3 { // three rotations: the second and third revoke the token two generations old
				resp, err := w.h.Handle(t.Context(), directEventJSON(true, id))
				checkRunErr(t, resp, err)
				r := resp.Results[0]
				if tc.wantType != "" {
					if r.ErrorType != tc.wantType || !strings.Contains(r.Error, "minting-app-secret") {
						t.Fatalf("result = %+v; want a %s whose hint names the minting app secret", r, tc.wantType)
					}
					return
				}
				if r.Status != rotation.StatusRotated || r.Method != "minted" {
					t.Fatalf("result = %+v; want rotated by a mint", r)
				}
			}
			// Past the grace period, a run revokes both marked versions'
			// tokens, each by itself.
			w.srv.Advance(rotation.DefaultRevokeGrace + time.Hour)
			resp, err := w.h.Handle(t.Context(), directEventJSON(false, id))
			checkRunErr(t, resp, err)
			revoked := 0
			for _, tok := range w.srv.Tokens() {
				if tok.Revoked {
					revoked++
				}
			}
			if revoked != 2 {
				t.Errorf("%d tokens revoked; want 2 (each by itself)", revoked)
			}
			assertNoSecrets(t, "the logs", w.logs.String(), append(secretsOf(w.srv, w.fx), mintingSecret))
		})
	}
}

// TestAnsweredHeldTokenIsRefused: Graph answers, as the "new" token, a token
// the secret already holds (the minting token, or the current token a
// refresh hands back unchanged). The run refuses it: nothing is stored and
// nothing is revoked, so every secret that mints with it, and AWSCURRENT,
// keep working.
func TestAnsweredHeldTokenIsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// prepare builds the secret and makes Graph answer a held token; it
		// returns the secret and the token answered.
		prepare func(s *scenario) (id, held string)
		// fallback: a refresh answered the held token, so the rotation
		// minted instead and met the refused write.
		fallback bool
	}{
		{name: "the minting token answered by access_tokens", prepare: func(s *scenario) (string, string) {
			admin := s.srv.IssueToken(minttest.TokenSpec{UserID: s.fx.AdminSystemUserID, AppID: s.fx.AppID, Scopes: []string{"business_management"}})
			fields := s.baseFields(s.issue(0))
			fields["expiring_token"] = false
			fields["minting_token_ref"] = s.putMintingToken("minting-token", `{"access_token":"`+admin+`"}`)
			id := s.putSecret("managed", fields)
			s.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Status: 200, Body: []byte(`{"access_token":"` + admin + `"}`)})
			return id, admin
		}},
		{name: "the managed token answered by access_tokens", prepare: func(s *scenario) (string, string) {
			cur := s.issue(0)
			fields := s.baseFields(cur)
			fields["expiring_token"] = false
			id := s.putSecret("managed", fields)
			s.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Status: 200, Body: []byte(`{"access_token":"` + cur + `"}`)})
			return id, cur
		}},
		{name: "the current token answered by a refresh, then a refused write", prepare: func(s *scenario) (string, string) {
			cur := s.issue(5 * day)
			id := s.putSecret("managed", s.baseFields(cur))
			s.srv.FailNext(minttest.EndpointExchange, minttest.Fault{Status: 200,
				Body: []byte(`{"access_token":"` + cur + `","token_type":"bearer","expires_in":5184000}`)})
			s.c.inject(awstest.Fault{Op: "PutSecretValue", Stage: awstest.BeforeCommit, Status: 400, ErrorType: "ValidationException", Times: awstest.Forever})
			return id, cur
		}, fallback: true},
		{name: "the minting token answered by a refresh", prepare: func(s *scenario) (string, string) {
			minter := s.issue(50 * day) // the system user's own token, with the secret's scopes
			fields := s.baseFields(s.issue(5 * day))
			fields["minting_token_ref"] = s.putMintingToken("minting-token", `{"access_token":"`+minter+`"}`)
			id := s.putSecret("managed", fields)
			s.srv.FailNext(minttest.EndpointExchange, minttest.Fault{Status: 200,
				Body: []byte(`{"access_token":"` + minter + `","token_type":"bearer","expires_in":5184000}`)})
			return id, minter
		}},
		{name: "AWSPREVIOUS's token answered by a refresh", prepare: func(s *scenario) (string, string) {
			prev := s.issue(50 * day)
			id := s.putSecret("managed", s.baseFields(prev))
			s.srv.Advance(day) // prev was issued a day before the token the run makes
			if r := s.runOnce(s.t, directEventJSON(true, id)); r.Status != rotation.StatusRotated {
				s.t.Fatalf("first run = %+v; want rotated", r)
			}
			s.srv.Advance(day)
			s.srv.FailNext(minttest.EndpointExchange, minttest.Fault{Status: 200,
				Body: []byte(`{"access_token":"` + prev + `","token_type":"bearer","expires_in":5184000}`)})
			return id, prev
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			id, held := tc.prepare(s)
			before, curBefore, putsBefore := s.stages(id), s.currentToken(id), s.c.Calls("PutSecretValue")
			resp, err := s.run(t.Context(), directEventJSON(true, id))
			checkRunErr(t, resp, err)
			r := resp.Results[0]
			wantErr, wantPuts := "refusing it", 0
			if tc.fallback {
				wantErr, wantPuts = "PutSecretValue", 1
				if got := s.srv.Minted(); got != 1 {
					t.Errorf("Minted() = %d; want 1 (the fallback)", got)
				}
			}
			if r.Status != rotation.StatusFailed || !strings.Contains(r.Error, wantErr) {
				t.Errorf("result = %+v; want failed with %q", r, wantErr)
			}
			if tok, ok := s.srv.Token(held); !ok || tok.Revoked {
				t.Errorf("the held token: known %v, revoked %v; want it live", ok, tok.Revoked)
			}
			if got := s.currentToken(id); got != curBefore {
				t.Errorf("AWSCURRENT's token changed; want it kept")
			}
			if diff := cmp.Diff(before, s.stages(id)); diff != "" {
				t.Errorf("stages changed (-before +after):\n%s", diff)
			}
			if n := s.c.Calls("PutSecretValue") - putsBefore; n != wantPuts {
				t.Errorf("PutSecretValue attempts = %d; want %d", n, wantPuts)
			}
			assertNoSecrets(t, "the logs", s.logs.String(), secretsOf(s.srv, s.fx))
			assertNoSecrets(t, "the answers", s.answers.String(), secretsOf(s.srv, s.fx))
		})
	}
}
