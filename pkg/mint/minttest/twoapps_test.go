package minttest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// twoApps adds a second app of the seeded business, the "minting app", and an
// admin system user token generated with it: one admin token minting for
// another app, the case Meta keys appsecret_proof for with the minting app's
// secret.
func twoApps(t *testing.T, w *world) (mintingSecret, mintingToken string) {
	t.Helper()
	const mintingAppID = "200000000000099"
	mintingSecret = "minting-app-secret"
	w.srv.AddApp(App{ID: mintingAppID, Name: "Minting App", Secret: mintingSecret, BusinessID: w.fx.BusinessID})
	mintingToken = w.srv.IssueToken(TokenSpec{UserID: w.fx.AdminSystemUserID, AppID: mintingAppID, Scopes: []string{"business_management"}})
	return mintingSecret, mintingToken
}

func TestTwoAppProof(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		proofKey func(w *world, mintingSecret string) string
		wantOK   bool
	}{
		{"proof keyed with the calling token's app secret", func(w *world, ms string) string { return ms }, true},
		{"proof keyed with the business app's secret", func(w *world, ms string) string { return w.fx.AppSecret }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			ms, caller := twoApps(t, w)
			key := tt.proofKey(w, ms)
			install := w.send(t, request{method: http.MethodPost, path: "/v27.0/" + w.fx.SystemUserID + "/applications", params: url.Values{
				"business_app": {w.fx.AppID}, "access_token": {caller}, "appsecret_proof": {proof(key, caller)},
			}})
			mint := w.send(t, request{method: http.MethodPost, path: "/v27.0/" + w.fx.SystemUserID + "/access_tokens", params: url.Values{
				"business_app": {w.fx.AppID}, "scope": {"ads_read"}, "access_token": {caller}, "appsecret_proof": {proof(key, caller)},
			}})
			list := w.send(t, request{method: http.MethodGet, path: "/v27.0/" + w.fx.BusinessID + "/system_users", params: url.Values{
				"access_token": {caller}, "appsecret_proof": {proof(key, caller)},
			}})
			for name, res := range map[string]result{"install": install, "mint": mint, "system_users": list} {
				if tt.wantOK {
					if res.status != http.StatusOK {
						t.Errorf("%s = HTTP %d %s; want 200", name, res.status, res.body)
					}
					continue
				}
				if e := wantError(t, res, http.StatusBadRequest, 100, 0); e.Message != "Invalid appsecret_proof provided in the API argument" {
					t.Errorf("%s error = %+v; want Invalid appsecret_proof", name, e)
				}
			}
			if tt.wantOK {
				var body struct {
					AccessToken string `json:"access_token"`
				}
				if err := json.Unmarshal(mint.body, &body); err != nil {
					t.Fatal(err)
				}
				if tok := w.token(t, body.AccessToken); tok.AppID != w.fx.AppID {
					t.Errorf("minted token's app = %s; want business_app %s", tok.AppID, w.fx.AppID)
				}
			} else if n := w.srv.Minted(); n != 0 {
				t.Errorf("Minted() = %d; want 0", n)
			}
		})
	}
}

// TestTwoAppRevoke: Meta requires client_id, the app of revoke_token and the
// app of the calling token to be one app, so a minting token of another app
// cannot revoke; the token itself can.
func TestTwoAppRevoke(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	_, mintingToken := twoApps(t, w)
	minted := w.mint(t, true)
	revoke := func(caller string) result {
		return w.send(t, request{method: http.MethodGet, path: "/v27.0/oauth/revoke", params: url.Values{
			"client_id": {w.fx.AppID}, "client_secret": {w.fx.AppSecret}, "revoke_token": {minted}, "access_token": {caller},
		}})
	}
	if e := wantError(t, revoke(mintingToken), http.StatusBadRequest, 100, 0); e.Message != "(#100) client_id, revoke_token and access_token must belong to the same app" {
		t.Errorf("revoke with the minting app's token = %+v; want the same-app refusal", e)
	}
	if w.token(t, minted).Revoked {
		t.Fatalf("token revoked by a caller of another app")
	}
	wantOK(t, revoke(minted))
	if !w.token(t, minted).Revoked {
		t.Errorf("token not revoked by itself as the caller")
	}
}

// TestMintNextAsAndAssets: a queued hostile value is issued as a real token
// that can be revoked (carried in the query), and assigned assets show in
// debug_token's granular_scopes.
func TestMintNextAsAndAssets(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const hostile = "EAA\n::warning::INJECTED"
	w.srv.MintNextAs(hostile)
	w.srv.AssignAssets(w.fx.SystemUserID, "ads_read", "act_1", "act_2")
	minted := w.mint(t, true)
	if minted != hostile {
		t.Fatalf("minted = %q; want the queued value", minted)
	}
	res := w.send(t, request{method: http.MethodGet, path: "/v27.0/debug_token", params: url.Values{"input_token": {minted}, "access_token": {w.appToken()}}})
	var body struct {
		Data struct {
			GranularScopes []granularItem `json:"granular_scopes"`
		} `json:"data"`
	}
	decode(t, res, &body)
	i := slices.IndexFunc(body.Data.GranularScopes, func(g granularItem) bool { return g.Scope == "ads_read" })
	if i < 0 || !slices.Equal(body.Data.GranularScopes[i].TargetIDs, []string{"act_1", "act_2"}) {
		t.Errorf("granular_scopes = %+v; want ads_read reaching act_1, act_2", body.Data.GranularScopes)
	}
	wantOK(t, w.send(t, request{method: http.MethodGet, path: "/v27.0/oauth/revoke", params: url.Values{
		"client_id": {w.fx.AppID}, "client_secret": {w.fx.AppSecret}, "revoke_token": {minted}, "access_token": {minted},
	}}))
	if !w.token(t, minted).Revoked {
		t.Errorf("hostile token not revoked")
	}
}
