package main

import (
	"strings"
	"testing"

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
			fields["minting_token_ref"] = w.putRaw("minting-token", `{"access_token":"`+caller+`"}`)
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
