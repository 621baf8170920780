package minttest

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// apiCase is one request against a fresh world and what it must answer.
type apiCase struct {
	name string
	opts []Option
	// req builds the request; it may seed the world first.
	req func(t *testing.T, w *world) request
	// wantCode is the Graph error code the answer must carry, with
	// wantSubcode, in an HTTP 400; 0 means the answer must be HTTP 200.
	wantCode    int
	wantSubcode int
	// wantMessage, when set, must appear in the error message.
	wantMessage string
	// check makes further checks.
	check func(t *testing.T, w *world, res result)
}

func runCases(t *testing.T, cases []apiCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tc.opts...)
			req := tc.req(t, w)
			res := w.send(t, req)
			if tc.wantCode != 0 {
				e := wantError(t, res, http.StatusBadRequest, tc.wantCode, tc.wantSubcode)
				if !strings.Contains(e.Message, tc.wantMessage) {
					t.Errorf("%s %s: message = %q; want it to contain %q", req.method, req.path, e.Message, tc.wantMessage)
				}
			} else if res.status != http.StatusOK {
				t.Fatalf("%s %s = HTTP %d %s; want 200", req.method, req.path, res.status, res.body)
			}
			if tc.check != nil {
				tc.check(t, w, res)
			}
		})
	}
}

func TestProofVectors(t *testing.T) {
	t.Parallel()
	// Computed with: printf 'token' | openssl dgst -sha256 -hmac secret
	// and: printf 'token|1700000000' | openssl dgst -sha256 -hmac secret
	tests := []struct {
		name, key, msg, want string
	}{
		{"classic", "secret", "token", "e941110e3d2bfe82621f0e3e1434730d7305d106c5f68c87165d0b27a4611a4a"},
		{"timed", "secret", "token|1700000000", "3c81f1bf0544f53adccadbaf135235bf73451aadede41a90a122c46e93dcae64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := proof(tc.key, tc.msg); got != tc.want {
				t.Errorf("proof(%q, %q) = %s; want %s", tc.key, tc.msg, got, tc.want)
			}
			if got := hmacSHA256Hex(tc.key, tc.msg); got != tc.want {
				t.Errorf("hmacSHA256Hex(%q, %q) = %s; want %s", tc.key, tc.msg, got, tc.want)
			}
		})
	}
}

func TestInstallApp(t *testing.T) {
	t.Parallel()
	install := func(systemUserID string, params url.Values) request {
		return request{method: http.MethodPost, path: "/v27.0/" + systemUserID + "/applications", params: params}
	}
	// installWith asks to install appID for systemUserID with token.
	installWith := func(systemUserID, appID, token string) request {
		return install(systemUserID, url.Values{"business_app": {appID}, "access_token": {token}})
	}
	// seedProofApp seeds business 51 with app 52, which requires an
	// appsecret_proof, and system user 53, and returns a token of 53 for 52.
	seedProofApp := func(w *world) string {
		w.srv.AddBusiness(Business{ID: "51"})
		w.srv.AddApp(App{ID: "52", Secret: "s52", BusinessID: "51", RequireProof: true})
		w.srv.AddSystemUser(SystemUser{ID: "53", BusinessID: "51"})
		return w.srv.IssueToken(TokenSpec{UserID: "53", AppID: "52"})
	}
	wantInstalled := func(t *testing.T, w *world, _ result) {
		t.Helper()
		if got := w.srv.Installs(w.fx.SystemUserID); !slices.Equal(got, []string{w.fx.AppID}) {
			t.Errorf("Installs(%s) = %v; want [%s]", w.fx.SystemUserID, got, w.fx.AppID)
		}
	}
	wantNotInstalled := func(t *testing.T, w *world, _ result) {
		t.Helper()
		if got := w.srv.Installs(w.fx.SystemUserID); len(got) != 0 {
			t.Errorf("Installs(%s) = %v; want none", w.fx.SystemUserID, got)
		}
	}
	runCases(t, []apiCase{{
		name: "admin system user token",
		req: func(t *testing.T, w *world) request {
			return installWith(w.fx.SystemUserID, w.fx.AppID, w.fx.AdminToken)
		},
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if got := string(res.body); got != `{"success":true}` {
				t.Errorf("body = %s; want {\"success\":true}", got)
			}
			wantInstalled(t, w, res)
		},
	}, {
		name: "twice is idempotent",
		req: func(t *testing.T, w *world) request {
			w.install(t, w.fx.SystemUserID)
			return installWith(w.fx.SystemUserID, w.fx.AppID, w.fx.AdminToken)
		},
		check: wantInstalled,
	}, {
		name: "admin user token",
		req: func(t *testing.T, w *world) request {
			tok := w.srv.IssueToken(TokenSpec{Type: "USER", UserID: "777", BusinessID: w.fx.BusinessID, AppID: w.fx.AppID})
			return installWith(w.fx.SystemUserID, w.fx.AppID, tok)
		},
		check: wantInstalled,
	}, {
		name: "system user token",
		req: func(t *testing.T, w *world) request {
			tok := w.srv.IssueToken(TokenSpec{UserID: w.fx.SystemUserID, AppID: w.fx.AppID})
			return installWith(w.fx.SystemUserID, w.fx.AppID, tok)
		},
		check: wantInstalled,
	}, {
		name: "proof sent and right",
		req: func(t *testing.T, w *world) request {
			return install(w.fx.SystemUserID, url.Values{
				"business_app": {w.fx.AppID}, "access_token": {w.fx.AdminToken}, "appsecret_proof": {w.adminProof()},
			})
		},
		check: wantInstalled,
	}, {
		name: "proof sent and wrong",
		req: func(t *testing.T, w *world) request {
			return install(w.fx.SystemUserID, url.Values{
				"business_app": {w.fx.AppID}, "access_token": {w.fx.AdminToken}, "appsecret_proof": {proof("nope", w.fx.AdminToken)},
			})
		},
		wantCode:    100,
		wantMessage: "Invalid appsecret_proof provided in the API argument",
		check:       wantNotInstalled,
	}, {
		name: "proof required by the app and missing",
		req: func(t *testing.T, w *world) request {
			return installWith("53", "52", seedProofApp(w))
		},
		wantCode:    100,
		wantMessage: "API calls from the server require an appsecret_proof argument",
	}, {
		name: "proof required by the app and sent",
		req: func(t *testing.T, w *world) request {
			tok := seedProofApp(w)
			return install("53", url.Values{"business_app": {"52"}, "access_token": {tok}, "appsecret_proof": {proof("s52", tok)}})
		},
	}, {
		name: "missing business_app",
		req: func(t *testing.T, w *world) request {
			return install(w.fx.SystemUserID, url.Values{"access_token": {w.fx.AdminToken}})
		},
		wantCode:    100,
		wantMessage: "business_app",
	}, {
		name: "unknown app",
		req: func(t *testing.T, w *world) request {
			return installWith(w.fx.SystemUserID, "12345", w.fx.AdminToken)
		},
		wantCode:    100,
		wantMessage: "(#100) Param business_app must be a valid app ID",
		check:       wantNotInstalled,
	}, {
		name: "app of another business",
		req: func(t *testing.T, w *world) request {
			return installWith(w.fx.SystemUserID, w.otherAppID, w.fx.AdminToken)
		},
		wantCode:    200,
		wantMessage: "(#200) The app must belong to the same business as the system user",
		check:       wantNotInstalled,
	}, {
		name: "unknown system user",
		req: func(t *testing.T, w *world) request {
			return installWith("555", w.fx.AppID, w.fx.AdminToken)
		},
		wantCode:    100,
		wantSubcode: 33,
		wantMessage: "Unsupported post request. Object with ID '555' does not exist",
	}, {
		name: "caller of another business",
		req: func(t *testing.T, w *world) request {
			return installWith(w.fx.SystemUserID, w.fx.AppID, w.otherToken)
		},
		wantCode: 200,
		check:    wantNotInstalled,
	}, {
		name: "app token",
		req: func(t *testing.T, w *world) request {
			return installWith(w.fx.SystemUserID, w.fx.AppID, w.appToken())
		},
		wantCode: 200,
	}, {
		name: "no token",
		req: func(t *testing.T, w *world) request {
			return install(w.fx.SystemUserID, url.Values{"business_app": {w.fx.AppID}})
		},
		wantCode:    104,
		wantMessage: "An access token is required to request this resource.",
	}, {
		name: "GET is unsupported",
		req: func(t *testing.T, w *world) request {
			return request{method: http.MethodGet, path: "/v27.0/" + w.fx.SystemUserID + "/applications",
				params: url.Values{"access_token": {w.fx.AdminToken}}}
		},
		wantCode:    100,
		wantSubcode: 33,
		wantMessage: "Unsupported get request.",
	}})
}

func TestCreateAccessToken(t *testing.T) {
	t.Parallel()
	mintPath := func(w *world) string { return "/v27.0/" + w.fx.SystemUserID + "/access_tokens" }
	// mint is a request to mint for the seeded system user, after installing
	// the app, with params changed by edit.
	mint := func(expiring bool, edit func(w *world, v url.Values)) func(t *testing.T, w *world) request {
		return func(t *testing.T, w *world) request {
			w.install(t, w.fx.SystemUserID)
			params := w.mintParams("ads_read,business_management", expiring)
			if edit != nil {
				edit(w, params)
			}
			return request{method: http.MethodPost, path: mintPath(w), params: params}
		}
	}
	// minted checks the answer and the new token, and returns the token.
	minted := func(t *testing.T, w *world, res result) TokenState {
		t.Helper()
		var body map[string]string
		decode(t, res, &body)
		if len(body) != 1 || !strings.HasPrefix(body["access_token"], "EAA") || len(body["access_token"]) < 150 {
			t.Fatalf("body = %s; want only a Graph-looking access_token", res.body)
		}
		if got := w.srv.Minted(); got != 1 {
			t.Errorf("Minted() = %d; want 1", got)
		}
		tok := w.token(t, body["access_token"])
		if tok.Type != "SYSTEM_USER" || tok.AppID != w.fx.AppID || tok.UserID != w.fx.SystemUserID || tok.BusinessID != w.fx.BusinessID {
			t.Errorf("minted token = %+v; want SYSTEM_USER of app %s, user %s, business %s", tok, w.fx.AppID, w.fx.SystemUserID, w.fx.BusinessID)
		}
		return tok
	}
	wantNoMint := func(t *testing.T, w *world, _ result) {
		t.Helper()
		if got := w.srv.Minted(); got != 0 {
			t.Errorf("Minted() = %d; want 0", got)
		}
	}
	requireExpiring := func(value string) func(t *testing.T, w *world) request {
		return func(t *testing.T, w *world) request {
			w.srv.AddBusiness(Business{ID: "61", RequireExpiringTokens: true})
			w.srv.AddApp(App{ID: "62", Secret: "s62", BusinessID: "61"})
			w.srv.AddSystemUser(SystemUser{ID: "63", BusinessID: "61", Role: "ADMIN"})
			w.srv.InstallApp("63", "62")
			tok := w.srv.IssueToken(TokenSpec{UserID: "63", AppID: "62"})
			params := url.Values{"business_app": {"62"}, "scope": {"ads_read"}, "access_token": {tok}, "appsecret_proof": {proof("s62", tok)}}
			if value != "" {
				params.Set("set_token_expires_in_60_days", value)
			}
			return request{method: http.MethodPost, path: "/v27.0/63/access_tokens", params: params}
		}
	}

	runCases(t, []apiCase{{
		name: "permanent",
		req:  mint(false, nil),
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			tok := minted(t, w, res)
			if !tok.ExpiresAt.IsZero() || !slices.Equal(tok.Scopes, []string{"ads_read", "business_management"}) {
				t.Errorf("token = %+v; want no expiry and scopes [ads_read business_management]", tok)
			}
		},
	}, {
		name: "expiring",
		req:  mint(true, nil),
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			tok := minted(t, w, res)
			if got := tok.ExpiresAt.Sub(tok.IssuedAt); got != 60*day {
				t.Errorf("token lifetime = %v; want %v", got, 60*day)
			}
		},
	}, {
		name: "explicitly not expiring",
		req: mint(false, func(w *world, v url.Values) {
			v.Set("set_token_expires_in_60_days", "false")
		}),
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if tok := minted(t, w, res); !tok.ExpiresAt.IsZero() {
				t.Errorf("ExpiresAt = %v; want zero", tok.ExpiresAt)
			}
		},
	}, {
		name: "scopes trimmed and deduplicated",
		req: mint(false, func(w *world, v url.Values) {
			v.Set("scope", " ads_read,ads_read , pages_show_list,")
		}),
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if tok := minted(t, w, res); !slices.Equal(tok.Scopes, []string{"ads_read", "pages_show_list"}) {
				t.Errorf("Scopes = %v; want [ads_read pages_show_list]", tok.Scopes)
			}
		},
	}, {
		name: "token in the Authorization header, proof in the query",
		req: func(t *testing.T, w *world) request {
			w.install(t, w.fx.SystemUserID)
			return request{
				method: http.MethodPost,
				path:   mintPath(w) + "?appsecret_proof=" + w.adminProof(),
				params: url.Values{"business_app": {w.fx.AppID}, "scope": {"ads_read"}},
				header: bearer(w.fx.AdminToken),
			}
		},
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			minted(t, w, res)
			reqs := w.srv.Requests()
			last := reqs[len(reqs)-1]
			if !last.Authorization || last.Endpoint != EndpointAccessTokens {
				t.Errorf("last request = %+v; want Authorization true on %s", last, EndpointAccessTokens)
			}
		},
	}, {
		name: "timed proof",
		req: mint(false, func(w *world, v url.Values) {
			at := strconv.FormatInt(w.srv.Now().Add(-4*time.Minute).Unix(), 10)
			v.Set("appsecret_time", at)
			v.Set("appsecret_proof", proof(w.fx.AppSecret, w.fx.AdminToken+"|"+at))
		}),
		check: func(t *testing.T, w *world, res result) { t.Helper(); minted(t, w, res) },
	}, {
		name: "stale timed proof",
		req: mint(false, func(w *world, v url.Values) {
			at := strconv.FormatInt(w.srv.Now().Add(-6*time.Minute).Unix(), 10)
			v.Set("appsecret_time", at)
			v.Set("appsecret_proof", proof(w.fx.AppSecret, w.fx.AdminToken+"|"+at))
		}),
		wantCode:    100,
		wantMessage: "Invalid appsecret_proof provided in the API argument",
		check:       wantNoMint,
	}, {
		name: "timed proof from the future",
		req: mint(false, func(w *world, v url.Values) {
			at := strconv.FormatInt(w.srv.Now().Add(6*time.Minute).Unix(), 10)
			v.Set("appsecret_time", at)
			v.Set("appsecret_proof", proof(w.fx.AppSecret, w.fx.AdminToken+"|"+at))
		}),
		wantCode:    100,
		wantMessage: "Invalid appsecret_proof",
	}, {
		name: "classic proof sent with appsecret_time",
		req: mint(false, func(w *world, v url.Values) {
			v.Set("appsecret_time", strconv.FormatInt(w.srv.Now().Unix(), 10))
		}),
		wantCode:    100,
		wantMessage: "Invalid appsecret_proof",
	}, {
		name:        "missing proof",
		req:         mint(false, func(w *world, v url.Values) { v.Del("appsecret_proof") }),
		wantCode:    100,
		wantMessage: "API calls from the server require an appsecret_proof argument",
		check:       wantNoMint,
	}, {
		name: "proof keyed by another app's secret",
		req: mint(false, func(w *world, v url.Values) {
			v.Set("appsecret_proof", proof(w.otherAppSecret, w.fx.AdminToken))
		}),
		wantCode:    100,
		wantMessage: "Invalid appsecret_proof",
	}, {
		name: "uppercase proof",
		req: mint(false, func(w *world, v url.Values) {
			v.Set("appsecret_proof", strings.ToUpper(w.adminProof()))
		}),
		wantCode:    100,
		wantMessage: "Invalid appsecret_proof",
	}, {
		name: "app not installed",
		req: func(t *testing.T, w *world) request {
			return request{method: http.MethodPost, path: mintPath(w), params: w.mintParams("ads_read", true)}
		},
		wantCode:    200,
		wantMessage: "is not installed for this system user. Install it with POST /{system-user-id}/applications first.",
		check:       wantNoMint,
	}, {
		name:        "unknown scope",
		req:         mint(false, func(w *world, v url.Values) { v.Set("scope", "ads_read,ads_write") }),
		wantCode:    100,
		wantMessage: "(#100) Invalid scope: ads_write",
		check:       wantNoMint,
	}, {
		name:        "empty scope",
		req:         mint(false, func(w *world, v url.Values) { v.Set("scope", " , ") }),
		wantCode:    100,
		wantMessage: "scope",
	}, {
		name: "extra scope allowed by option",
		opts: []Option{WithExtraScopes("ads_write")},
		req:  mint(false, func(w *world, v url.Values) { v.Set("scope", "ads_write") }),
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if tok := minted(t, w, res); !slices.Equal(tok.Scopes, []string{"ads_write"}) {
				t.Errorf("Scopes = %v; want [ads_write]", tok.Scopes)
			}
		},
	}, {
		name:        "flag not a boolean",
		req:         mint(false, func(w *world, v url.Values) { v.Set("set_token_expires_in_60_days", "soon") }),
		wantCode:    100,
		wantMessage: "set_token_expires_in_60_days",
	}, {
		name:        "unknown business_app",
		req:         mint(false, func(w *world, v url.Values) { v.Set("business_app", "31337") }),
		wantCode:    100,
		wantMessage: "(#100) Param business_app must be a valid app ID",
	}, {
		name: "unknown system user",
		req: func(t *testing.T, w *world) request {
			return request{method: http.MethodPost, path: "/v27.0/555/access_tokens", params: w.mintParams("ads_read", false)}
		},
		wantCode:    100,
		wantSubcode: 33,
		wantMessage: "Object with ID '555' does not exist",
	}, {
		name: "caller of another business",
		req: func(t *testing.T, w *world) request {
			w.install(t, w.fx.SystemUserID)
			params := w.mintParams("ads_read", false)
			params.Set("access_token", w.otherToken)
			params.Set("appsecret_proof", proof(w.otherAppSecret, w.otherToken))
			return request{method: http.MethodPost, path: mintPath(w), params: params}
		},
		wantCode: 200,
		check:    wantNoMint,
	}, {
		name:        "business requires expiring tokens, flag absent",
		req:         requireExpiring(""),
		wantCode:    100,
		wantMessage: "set_token_expires_in_60_days=true",
		check:       wantNoMint,
	}, {
		name:        "business requires expiring tokens, flag false",
		req:         requireExpiring("false"),
		wantCode:    100,
		wantMessage: "requires expiring system user access tokens",
	}, {
		name: "business requires expiring tokens, flag true",
		req:  requireExpiring("true"),
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if got := w.srv.Minted(); got != 1 {
				t.Errorf("Minted() = %d; want 1", got)
			}
		},
	}, {
		name: "ads_access_token no longer works",
		req: func(t *testing.T, w *world) request {
			w.install(t, w.fx.SystemUserID)
			return request{method: http.MethodPost, path: "/v27.0/" + w.fx.SystemUserID + "/ads_access_token",
				params: w.mintParams("ads_read", false)}
		},
		wantCode:    100,
		wantSubcode: 33,
		wantMessage: "Unsupported post request. Object with ID '" + seedSystemUserID + "' does not exist, " +
			"cannot be loaded due to missing permissions, or does not support this operation.",
		check: wantNoMint,
	}})
}

// TestMultipartForm sends a mint as curl -F does, in a multipart body, and
// one padded past the emulator's body limit, which is refused unread.
func TestMultipartForm(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		padding    int // bytes of an extra field
		wantStatus int
		wantMinted int
	}{
		{name: "mint", wantStatus: http.StatusOK, wantMinted: 1},
		{name: "over the body limit", padding: maxBodyBytes, wantStatus: http.StatusBadRequest, wantMinted: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.install(t, w.fx.SystemUserID)
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			fields := w.mintParams("ads_read", true)
			if tt.padding > 0 {
				fields.Set("padding", strings.Repeat("x", tt.padding))
			}
			for k, v := range fields {
				if err := mw.WriteField(k, v[0]); err != nil {
					t.Fatal(err)
				}
			}
			if err := mw.Close(); err != nil {
				t.Fatal(err)
			}
			path := "/v27.0/" + w.fx.SystemUserID + "/access_tokens"
			r, err := http.NewRequestWithContext(t.Context(), http.MethodPost, w.srv.URL+path, &buf)
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Content-Type", mw.FormDataContentType())
			resp, err := w.srv.Client().Do(r)
			if err != nil {
				t.Fatalf("POST %s (multipart) = %v", path, err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || w.srv.Minted() != tt.wantMinted {
				t.Errorf("POST %s (multipart) = HTTP %d, Minted() = %d; want %d and %d",
					path, resp.StatusCode, w.srv.Minted(), tt.wantStatus, tt.wantMinted)
			}
		})
	}
}

func TestRevokeAll(t *testing.T) {
	t.Parallel()
	revokeAll := func(systemUserID, token string) request {
		return request{method: http.MethodDelete, path: "/v27.0/" + systemUserID + "/access_tokens",
			params: url.Values{"access_token": {token}}}
	}
	// twoTokens mints two tokens for the seeded system user and returns the
	// request built by next.
	twoTokens := func(next func(w *world) request) func(t *testing.T, w *world) request {
		return func(t *testing.T, w *world) request {
			w.mint(t, false)
			w.mint(t, true)
			return next(w)
		}
	}
	wantRevoked := func(want bool) func(t *testing.T, w *world, res result) {
		return func(t *testing.T, w *world, res result) {
			t.Helper()
			for _, tok := range w.srv.Tokens() {
				if tok.UserID == w.fx.SystemUserID && tok.Revoked != want {
					t.Errorf("token of %s issued %v: Revoked = %v; want %v", tok.UserID, tok.IssuedAt, tok.Revoked, want)
				}
				if tok.UserID != w.fx.SystemUserID && tok.Revoked {
					t.Errorf("token of %s: Revoked = true; want false (another user)", tok.UserID)
				}
			}
		}
	}
	runCases(t, []apiCase{{
		name: "revokes every token of the system user",
		req:  twoTokens(func(w *world) request { return revokeAll(w.fx.SystemUserID, w.fx.AdminToken) }),
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if got := string(res.body); got != `{"success":true}` {
				t.Errorf("body = %s; want {\"success\":true}", got)
			}
			wantRevoked(true)(t, w, res)
			// A revoked token is refused with subcode 467 (Meta's error-handling page: "Invalid Access Token").
			tok := w.srv.Tokens()[len(w.srv.Tokens())-1].Value
			wantError(t, w.send(t, revokeAll(w.fx.SystemUserID, tok)), http.StatusBadRequest, 190, 467)
		},
	}, {
		name: "method override is refused",
		req: twoTokens(func(w *world) request {
			return request{method: http.MethodPost, path: "/v27.0/" + w.fx.SystemUserID + "/access_tokens",
				params: url.Values{"method": {"delete"}, "access_token": {w.fx.AdminToken}}}
		}),
		wantCode:    100,
		wantMessage: "(#100) HTTP method override is not supported for this app",
		check:       wantRevoked(false),
	}, {
		name: "method override in the query of a GET",
		req: func(t *testing.T, w *world) request {
			return request{method: http.MethodGet, path: "/v27.0/" + w.fx.BusinessID + "/system_users",
				params: url.Values{"method": {"get"}, "access_token": {w.fx.AdminToken}}}
		},
		wantCode:    100,
		wantMessage: "HTTP method override",
	}, {
		name:        "unknown system user",
		req:         func(t *testing.T, w *world) request { return revokeAll("555", w.fx.AdminToken) },
		wantCode:    100,
		wantSubcode: 33,
		wantMessage: "Unsupported delete request.",
	}, {
		name:     "caller of another business",
		req:      twoTokens(func(w *world) request { return revokeAll(w.fx.SystemUserID, w.otherToken) }),
		wantCode: 200,
		check:    wantRevoked(false),
	}})
}

// debugData is the decoded data of a debug_token answer.
type debugData struct {
	AppID               string `json:"app_id"`
	Type                string `json:"type"`
	Application         string `json:"application"`
	DataAccessExpiresAt *int64 `json:"data_access_expires_at"`
	ExpiresAt           *int64 `json:"expires_at"`
	IsValid             bool   `json:"is_valid"`
	IssuedAt            int64  `json:"issued_at"`
	Scopes              []string
	GranularScopes      []struct {
		Scope string `json:"scope"`
	} `json:"granular_scopes"`
	UserID string `json:"user_id"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Subcode int    `json:"subcode"`
	} `json:"error"`
}

func decodeDebug(t *testing.T, res result) debugData {
	t.Helper()
	var body struct {
		Data *debugData `json:"data"`
	}
	decode(t, res, &body)
	if body.Data == nil {
		t.Fatalf("body = %s; want a data object", res.body)
	}
	return *body.Data
}

func TestDebugToken(t *testing.T) {
	t.Parallel()
	debug := func(input, caller string) request {
		return request{method: http.MethodGet, path: "/v27.0/debug_token",
			params: url.Values{"input_token": {input}, "access_token": {caller}}}
	}
	wantInvalid := func(code, subcode int) func(t *testing.T, w *world, res result) {
		return func(t *testing.T, w *world, res result) {
			t.Helper()
			d := decodeDebug(t, res)
			if d.IsValid || d.Error == nil || d.Error.Code != code || d.Error.Subcode != subcode || d.Error.Message == "" {
				t.Errorf("data = %s; want is_valid false and error code %d subcode %d", res.body, code, subcode)
			}
		}
	}
	runCases(t, []apiCase{{
		name: "permanent token",
		req:  func(t *testing.T, w *world) request { return debug(w.fx.AdminToken, w.appToken()) },
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			d := decodeDebug(t, res)
			tok := w.token(t, w.fx.AdminToken)
			if !d.IsValid || d.Type != "SYSTEM_USER" || d.AppID != w.fx.AppID || d.UserID != w.fx.AdminSystemUserID ||
				d.Application != "Metamint Test App" || d.ExpiresAt == nil || *d.ExpiresAt != 0 ||
				d.DataAccessExpiresAt == nil || *d.DataAccessExpiresAt != 0 || d.IssuedAt != tok.IssuedAt.Unix() ||
				!slices.Equal(d.Scopes, []string{"business_management"}) ||
				len(d.GranularScopes) != 1 || d.GranularScopes[0].Scope != "business_management" || d.Error != nil {
				t.Errorf("debug_token(admin token) = %s; want a valid permanent SYSTEM_USER token of %s issued at %d",
					res.body, w.fx.AdminSystemUserID, tok.IssuedAt.Unix())
			}
		},
	}, {
		name: "expiring token",
		req: func(t *testing.T, w *world) request {
			return debug(w.mint(t, true), w.appToken())
		},
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			d := decodeDebug(t, res)
			if !d.IsValid || d.ExpiresAt == nil || *d.ExpiresAt-d.IssuedAt != int64(60*day/time.Second) {
				t.Errorf("data = %s; want valid, expires_at = issued_at + 5184000", res.body)
			}
		},
	}, {
		name: "expired token",
		req: func(t *testing.T, w *world) request {
			tok := w.mint(t, true)
			w.srv.Advance(60*day + time.Second)
			return debug(tok, w.appToken())
		},
		check: wantInvalid(190, 463),
	}, {
		name: "revoked token",
		req: func(t *testing.T, w *world) request {
			w.send(t, request{method: http.MethodDelete, path: "/v27.0/" + w.fx.AdminSystemUserID + "/access_tokens",
				params: url.Values{"access_token": {w.fx.AdminToken}}})
			return debug(w.fx.AdminToken, w.appToken())
		},
		check: wantInvalid(190, 467),
	}, {
		name:  "unknown token",
		req:   func(t *testing.T, w *world) request { return debug("EAAnotatoken", w.appToken()) },
		check: wantInvalid(190, 0),
	}, {
		name: "app token",
		req:  func(t *testing.T, w *world) request { return debug(w.appToken(), w.appToken()) },
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if d := decodeDebug(t, res); !d.IsValid || d.Type != "APP" || d.AppID != w.fx.AppID {
				t.Errorf("data = %s; want a valid APP token of %s", res.body, w.fx.AppID)
			}
		},
	}, {
		name: "token in the Authorization header",
		req: func(t *testing.T, w *world) request {
			return request{method: http.MethodGet, path: "/v27.0/debug_token",
				params: url.Values{"input_token": {w.fx.AdminToken}}, header: bearer(w.appToken())}
		},
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if d := decodeDebug(t, res); !d.IsValid {
				t.Errorf("data = %s; want is_valid true", res.body)
			}
		},
	}, {
		name: "POST is unsupported",
		req: func(t *testing.T, w *world) request {
			r := debug(w.fx.AdminToken, w.appToken())
			r.method = http.MethodPost
			return r
		},
		wantCode:    100,
		wantSubcode: 33,
		wantMessage: "Unsupported post request. Object with ID 'debug_token'",
	}, {
		// Meta's debug_token reference admits "an app developer's user access
		// token for the app associated with the input_token", and its WhatsApp
		// pages call debug_token with a system user token.
		name: "developer system user token of the app",
		req: func(t *testing.T, w *world) request {
			caller, input := developerApp(w)
			return debug(input, caller)
		},
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if d := decodeDebug(t, res); !d.IsValid || d.AppID != "610" || d.UserID != w.fx.SystemUserID {
				t.Errorf("data = %s; want a valid token of app 610 and %s", res.body, w.fx.SystemUserID)
			}
		},
	}, {
		name: "developer user token of the app",
		req: func(t *testing.T, w *world) request {
			_, input := developerApp(w)
			caller := w.srv.IssueToken(TokenSpec{Type: "USER", UserID: "777", BusinessID: w.fx.BusinessID, AppID: "610"})
			return debug(input, caller)
		},
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if d := decodeDebug(t, res); !d.IsValid || d.AppID != "610" {
				t.Errorf("data = %s; want a valid token of app 610", res.body)
			}
		},
	}, {
		name: "developer token of another app",
		req: func(t *testing.T, w *world) request {
			developerApp(w)
			// The admin system user is a developer of 610, not of the
			// seeded app, whose token it holds.
			return debug(w.mint(t, true), w.fx.AdminToken)
		},
		wantCode:    100,
		wantMessage: "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app",
	}, {
		name: "developer token of the app, input of another app",
		req: func(t *testing.T, w *world) request {
			caller, _ := developerApp(w)
			return debug(w.fx.AdminToken, caller)
		},
		wantCode:    100,
		wantMessage: "(#100) The App_id in the input_token did not match the Viewing App",
	}, {
		name:        "system user token cannot inspect itself",
		req:         func(t *testing.T, w *world) request { return debug(w.fx.AdminToken, w.fx.AdminToken) },
		wantCode:    100,
		wantMessage: "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app",
	}, {
		name:        "app token with a wrong secret",
		req:         func(t *testing.T, w *world) request { return debug(w.fx.AdminToken, w.fx.AppID+"|wrong") },
		wantCode:    190,
		wantMessage: "Invalid OAuth access token",
	}, {
		name:        "input token of another app",
		req:         func(t *testing.T, w *world) request { return debug(w.otherToken, w.appToken()) },
		wantCode:    100,
		wantMessage: "(#100) The App_id in the input_token did not match the Viewing App",
	}, {
		name: "missing input_token",
		req: func(t *testing.T, w *world) request {
			return request{method: http.MethodGet, path: "/v27.0/debug_token", params: url.Values{"access_token": {w.appToken()}}}
		},
		wantCode:    100,
		wantMessage: "input_token",
	}})
}

// developerApp adds app 610 to the seeded business, with the admin system
// user and user 777 as its developers, and returns a token of the admin system
// user for 610 and one of the seeded system user for 610.
func developerApp(w *world) (caller, input string) {
	w.srv.AddApp(App{ID: "610", Secret: "s610", BusinessID: w.fx.BusinessID, Developers: []string{w.fx.AdminSystemUserID, "777"}})
	w.srv.InstallApp(w.fx.AdminSystemUserID, "610")
	w.srv.InstallApp(w.fx.SystemUserID, "610")
	caller = w.srv.IssueToken(TokenSpec{UserID: w.fx.AdminSystemUserID, AppID: "610", Scopes: []string{"business_management"}})
	input = w.srv.IssueToken(TokenSpec{UserID: w.fx.SystemUserID, AppID: "610", Scopes: []string{"ads_read"}})
	return caller, input
}

// exchangeBody is the decoded answer of a refresh.
type exchangeBody struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

func TestExchangeToken(t *testing.T) {
	t.Parallel()
	exchange := func(w *world, method, token string) request {
		return request{method: method, path: "/v27.0/oauth/access_token", params: url.Values{
			"grant_type":                   {"fb_exchange_token"},
			"client_id":                    {w.fx.AppID},
			"client_secret":                {w.fx.AppSecret},
			"fb_exchange_token":            {token},
			"set_token_expires_in_60_days": {"true"},
		}}
	}
	// refreshed checks a successful refresh of old and returns the new token.
	refreshed := func(t *testing.T, w *world, res result, old string) TokenState {
		t.Helper()
		var body exchangeBody
		decode(t, res, &body)
		if body.TokenType != "bearer" || body.ExpiresIn != 5184000 || body.AccessToken == old {
			t.Fatalf("body = %s; want a new bearer token with expires_in 5184000", res.body)
		}
		fresh := w.token(t, body.AccessToken)
		prev := w.token(t, old)
		if fresh.ExpiresAt.Sub(fresh.IssuedAt) != 60*day || fresh.UserID != prev.UserID ||
			fresh.AppID != prev.AppID || !slices.Equal(fresh.Scopes, prev.Scopes) {
			t.Errorf("new token = %+v; want a 60-day copy of %+v", fresh, prev)
		}
		if prev.Revoked {
			t.Errorf("old token Revoked = true; want it valid until its own expiry")
		}
		return fresh
	}
	withEdit := func(edit func(w *world, v url.Values)) func(t *testing.T, w *world) request {
		return func(t *testing.T, w *world) request {
			r := exchange(w, http.MethodGet, w.mint(t, true))
			edit(w, r.params)
			return r
		}
	}
	runCases(t, []apiCase{{
		name: "expiring token",
		req: func(t *testing.T, w *world) request {
			tok := w.mint(t, true)
			w.srv.Advance(30 * day)
			return exchange(w, http.MethodGet, tok)
		},
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			reqs := w.srv.Requests()
			old := reqs[len(reqs)-1].Form.Get("fb_exchange_token")
			refreshed(t, w, res, old)
			if got := w.srv.Minted(); got != 2 {
				t.Errorf("Minted() = %d; want 2 (mint and refresh)", got)
			}
			// The old token still expires at its own time.
			if prev := w.token(t, old); prev.ExpiresAt.Sub(prev.IssuedAt) != 60*day {
				t.Errorf("old token lifetime = %v; want 60 days, unchanged", prev.ExpiresAt.Sub(prev.IssuedAt))
			}
		},
	}, {
		name: "permanent token is converted",
		req: func(t *testing.T, w *world) request {
			return exchange(w, http.MethodGet, w.fx.AdminToken)
		},
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			refreshed(t, w, res, w.fx.AdminToken)
			if prev := w.token(t, w.fx.AdminToken); !prev.ExpiresAt.IsZero() {
				t.Errorf("old token ExpiresAt = %v; want it still permanent", prev.ExpiresAt)
			}
		},
	}, {
		// Meta documents GET alone; the emulator refuses a form-body POST.
		name: "POST is refused",
		req: func(t *testing.T, w *world) request {
			return exchange(w, http.MethodPost, w.mint(t, true))
		},
		wantCode:    100,
		wantSubcode: 33,
		wantMessage: "Unsupported post request.",
	}, {
		name:        "unknown client_id",
		req:         withEdit(func(w *world, v url.Values) { v.Set("client_id", "31337") }),
		wantCode:    101,
		wantMessage: "Error validating application. Invalid application ID.",
	}, {
		name:        "wrong client_secret",
		req:         withEdit(func(w *world, v url.Values) { v.Set("client_secret", "wrong") }),
		wantCode:    1,
		wantMessage: "Error validating client secret.",
	}, {
		name:     "token of another app",
		req:      withEdit(func(w *world, v url.Values) { v.Set("fb_exchange_token", w.otherToken) }),
		wantCode: 190,
	}, {
		name:        "unknown token",
		req:         withEdit(func(w *world, v url.Values) { v.Set("fb_exchange_token", "EAAbogus") }),
		wantCode:    190,
		wantMessage: "Invalid OAuth access token - Cannot parse access token",
	}, {
		name: "expired token",
		req: func(t *testing.T, w *world) request {
			r := exchange(w, http.MethodGet, w.mint(t, true))
			w.srv.Advance(61 * day)
			return r
		},
		wantCode:    190,
		wantSubcode: 463,
		wantMessage: "Error validating access token: Session has expired on ",
	}, {
		name: "revoked token",
		req: func(t *testing.T, w *world) request {
			r := exchange(w, http.MethodGet, w.mint(t, true))
			w.send(t, request{method: http.MethodDelete, path: "/v27.0/" + w.fx.SystemUserID + "/access_tokens",
				params: url.Values{"access_token": {w.fx.AdminToken}}})
			return r
		},
		wantCode:    190,
		wantSubcode: 467,
	}, {
		// Meta's system user page lists set_token_expires_in_60_days among
		// the parameters a refresh needs.
		name:        "missing set_token_expires_in_60_days",
		req:         withEdit(func(w *world, v url.Values) { v.Del("set_token_expires_in_60_days") }),
		wantCode:    100,
		wantMessage: "(#100) The parameter set_token_expires_in_60_days is required",
	}, {
		// Meta's "Get long-lived tokens" page exchanges a user token without
		// it.
		name: "user token without set_token_expires_in_60_days",
		req: func(t *testing.T, w *world) request {
			tok := w.srv.IssueToken(TokenSpec{Type: "USER", UserID: "777", BusinessID: w.fx.BusinessID, AppID: w.fx.AppID,
				ExpiresAt: w.srv.Now().Add(time.Hour)})
			r := exchange(w, http.MethodGet, tok)
			r.params.Del("set_token_expires_in_60_days")
			return r
		},
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			reqs := w.srv.Requests()
			refreshed(t, w, res, reqs[len(reqs)-1].Form.Get("fb_exchange_token"))
		},
	}, {
		name:        "missing grant_type",
		req:         withEdit(func(w *world, v url.Values) { v.Del("grant_type") }),
		wantCode:    100,
		wantMessage: "grant_type",
	}, {
		name:        "other grant_type",
		req:         withEdit(func(w *world, v url.Values) { v.Set("grant_type", "client_credentials") }),
		wantCode:    100,
		wantMessage: "client_credentials",
	}})
}

func TestRevokeToken(t *testing.T) {
	t.Parallel()
	// revoke asks to revoke the admin token's successor, minted for the
	// seeded system user, with the admin token calling.
	revoke := func(edit func(w *world, v url.Values)) func(t *testing.T, w *world) request {
		return func(t *testing.T, w *world) request {
			v := url.Values{
				"client_id":     {w.fx.AppID},
				"client_secret": {w.fx.AppSecret},
				"revoke_token":  {w.mint(t, true)},
				"access_token":  {w.fx.AdminToken},
			}
			if edit != nil {
				edit(w, v)
			}
			return request{method: http.MethodGet, path: "/v27.0/oauth/revoke", params: v}
		}
	}
	minted := func(w *world) TokenState { return w.srv.Tokens()[len(w.srv.Tokens())-1] }
	runCases(t, []apiCase{{
		name: "revokes the token",
		req:  revoke(nil),
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if got := string(res.body); got != `{"success":"true"}` {
				t.Errorf("body = %s; want {\"success\":\"true\"}", got)
			}
			tok := minted(w)
			if !tok.Revoked {
				t.Errorf("Revoked = false; want true")
			}
			// It can no longer call, and revoking it again succeeds.
			wantError(t, w.send(t, request{method: http.MethodGet, path: "/v27.0/" + w.fx.BusinessID + "/system_users",
				params: url.Values{"access_token": {tok.Value}}}), http.StatusBadRequest, 190, 467)
			again := w.send(t, request{method: http.MethodGet, path: "/v27.0/oauth/revoke", params: url.Values{
				"client_id": {w.fx.AppID}, "client_secret": {w.fx.AppSecret}, "revoke_token": {tok.Value}, "access_token": {w.fx.AdminToken},
			}})
			if again.status != http.StatusOK {
				t.Errorf("second revoke = HTTP %d %s; want 200", again.status, again.body)
			}
		},
	}, {
		// Meta: "Query the GET oauth/revoke endpoint." Graph answers POST
		// to a GET-only endpoint as unsupported, as for debug_token.
		name: "POST is unsupported",
		req: func(t *testing.T, w *world) request {
			r := revoke(nil)(t, w)
			r.method = http.MethodPost
			return r
		},
		wantCode:    100,
		wantSubcode: 33,
		wantMessage: "Unsupported post request.",
	}, {
		name: "app token calling",
		req:  revoke(func(w *world, v url.Values) { v.Set("access_token", w.appToken()) }),
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if !minted(w).Revoked {
				t.Errorf("Revoked = false; want true")
			}
		},
	}, {
		name: "client of another app",
		req: revoke(func(w *world, v url.Values) {
			v.Set("client_id", w.otherAppID)
			v.Set("client_secret", w.otherAppSecret)
		}),
		wantCode:    100,
		wantMessage: "(#100) client_id, revoke_token and access_token must belong to the same app",
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if minted(w).Revoked {
				t.Errorf("Revoked = true; want false")
			}
		},
	}, {
		name:        "calling token of another app",
		req:         revoke(func(w *world, v url.Values) { v.Set("access_token", w.otherToken) }),
		wantCode:    100,
		wantMessage: "must belong to the same app",
	}, {
		name:        "unknown revoke_token",
		req:         revoke(func(w *world, v url.Values) { v.Set("revoke_token", "EAAbogus") }),
		wantCode:    100,
		wantMessage: "revoke_token",
	}, {
		name:     "wrong client_secret",
		req:      revoke(func(w *world, v url.Values) { v.Set("client_secret", "wrong") }),
		wantCode: 1,
	}, {
		name:     "unknown client_id",
		req:      revoke(func(w *world, v url.Values) { v.Set("client_id", "31337") }),
		wantCode: 101,
	}, {
		name:     "no calling token",
		req:      revoke(func(w *world, v url.Values) { v.Del("access_token") }),
		wantCode: 104,
	}})
}

// usersPage is a decoded system_users answer.
type usersPage struct {
	Data []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Role string `json:"role"`
	} `json:"data"`
	Paging *struct {
		Cursors struct {
			Before string `json:"before"`
			After  string `json:"after"`
		} `json:"cursors"`
		Next string `json:"next"`
	} `json:"paging"`
}

func TestSystemUsersPaging(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for i := range 5 {
		w.srv.AddSystemUser(SystemUser{ID: fmt.Sprint(500 + i), BusinessID: w.fx.BusinessID, Name: fmt.Sprint("user ", i)})
	}
	want := []string{seedAdminSystemUserID, seedSystemUserID, "500", "501", "502", "503", "504"}

	var got []string
	var sizes []int
	res := w.send(t, request{method: http.MethodGet, path: "/v27.0/" + w.fx.BusinessID + "/system_users",
		params: url.Values{"limit": {"3"}, "access_token": {w.fx.AdminToken}, "appsecret_proof": {w.adminProof()}}})
	for page := 1; ; page++ {
		var body usersPage
		decode(t, res, &body)
		sizes = append(sizes, len(body.Data))
		for _, u := range body.Data {
			got = append(got, u.ID)
		}
		if body.Paging == nil || body.Paging.Cursors.Before == "" || body.Paging.Cursors.After == "" {
			t.Fatalf("page %d = %s; want paging cursors", page, res.body)
		}
		if body.Paging.Next == "" {
			break
		}
		if page == 3 {
			t.Fatalf("page 3 = %s; want no next link on the last page", res.body)
		}
		next, err := url.Parse(body.Paging.Next)
		if err != nil {
			t.Fatalf("url.Parse(%q) = %v", body.Paging.Next, err)
		}
		q := next.Query()
		if q.Has("access_token") || q.Has("appsecret_proof") || q.Get("limit") != "3" || q.Get("after") == "" {
			t.Errorf("next = %s; want limit and after, and no access_token or appsecret_proof", body.Paging.Next)
		}
		if !strings.HasPrefix(body.Paging.Next, w.srv.URL+"/v27.0/"+w.fx.BusinessID+"/system_users?") {
			t.Errorf("next = %s; want it under %s", body.Paging.Next, w.srv.URL)
		}
		// Follow the link as a client would: the token in the header.
		res = w.send(t, request{method: http.MethodGet, path: strings.TrimPrefix(body.Paging.Next, w.srv.URL),
			header: bearer(w.fx.AdminToken)})
	}
	if !slices.Equal(got, want) || !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Errorf("pages = %v with sizes %v; want %v in pages of [3 3 1]", got, sizes, want)
	}

	var all usersPage
	decode(t, w.send(t, request{method: http.MethodGet, path: "/v27.0/" + w.fx.BusinessID + "/system_users",
		params: url.Values{"access_token": {w.fx.AdminToken}}}), &all)
	if len(all.Data) != len(want) || all.Paging == nil || all.Paging.Next != "" {
		t.Errorf("system_users without limit = %+v; want all %d users on one page without next", all, len(want))
	}
	if all.Data[0].Role != "ADMIN" || all.Data[1].Role != "EMPLOYEE" || all.Data[0].Name != "Admin System User" {
		t.Errorf("first users = %+v; want the admin system user (ADMIN), then the system user (EMPLOYEE)", all.Data[:2])
	}
}

func TestSystemUsersErrors(t *testing.T) {
	t.Parallel()
	list := func(businessID string, params url.Values) func(t *testing.T, w *world) request {
		return func(t *testing.T, w *world) request {
			if !params.Has("access_token") {
				params.Set("access_token", w.fx.AdminToken)
			}
			return request{method: http.MethodGet, path: "/v27.0/" + businessID + "/system_users", params: params}
		}
	}
	runCases(t, []apiCase{{
		name:        "unknown business",
		req:         list("555", url.Values{}),
		wantCode:    100,
		wantSubcode: 33,
		wantMessage: "Unsupported get request. Object with ID '555'",
	}, {
		name: "caller of another business",
		req: func(t *testing.T, w *world) request {
			return list(w.otherBusinessID, url.Values{})(t, w)
		},
		wantCode: 200,
	}, {
		name:     "limit zero",
		req:      list(seedBusinessID, url.Values{"limit": {"0"}}),
		wantCode: 100,
	}, {
		name:     "unknown cursor",
		req:      list(seedBusinessID, url.Values{"after": {"bm9wZQ"}}),
		wantCode: 100,
	}, {
		name:        "before is not emulated",
		req:         list(seedBusinessID, url.Values{"before": {cursor(seedSystemUserID)}}),
		wantCode:    100,
		wantMessage: "before",
	}, {
		name: "empty business",
		req: func(t *testing.T, w *world) request {
			w.srv.AddBusiness(Business{ID: "71"})
			tok := w.srv.IssueToken(TokenSpec{Type: "USER", UserID: "72", BusinessID: "71", AppID: w.fx.AppID})
			return list("71", url.Values{"access_token": {tok}})(t, w)
		},
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if got := string(res.body); got != `{"data":[]}` {
				t.Errorf("body = %s; want {\"data\":[]}", got)
			}
		},
	}})
}

func TestCallingToken(t *testing.T) {
	t.Parallel()
	path := "/v27.0/" + seedBusinessID + "/system_users"
	get := func(params url.Values, header http.Header) request {
		return request{method: http.MethodGet, path: path, params: params, header: header}
	}
	runCases(t, []apiCase{{
		name: "query parameter",
		req:  func(t *testing.T, w *world) request { return get(url.Values{"access_token": {w.fx.AdminToken}}, nil) },
	}, {
		name: "form parameter",
		req: func(t *testing.T, w *world) request {
			return request{method: http.MethodPost, path: "/v27.0/" + w.fx.SystemUserID + "/applications",
				params: url.Values{"access_token": {w.fx.AdminToken}, "business_app": {w.fx.AppID}}}
		},
	}, {
		name: "Bearer header",
		req:  func(t *testing.T, w *world) request { return get(nil, bearer(w.fx.AdminToken)) },
	}, {
		name: "OAuth header",
		req: func(t *testing.T, w *world) request {
			return get(nil, http.Header{"Authorization": {"OAuth " + w.fx.AdminToken}})
		},
	}, {
		name: "header and parameter agree",
		req: func(t *testing.T, w *world) request {
			return get(url.Values{"access_token": {w.fx.AdminToken}}, bearer(w.fx.AdminToken))
		},
	}, {
		name: "header and parameter differ",
		req: func(t *testing.T, w *world) request {
			return get(url.Values{"access_token": {w.fx.AdminToken}}, bearer(w.otherToken))
		},
		wantCode:    100,
		wantMessage: "(#100) Conflicting access tokens",
	}, {
		name:        "missing",
		req:         func(t *testing.T, w *world) request { return get(nil, nil) },
		wantCode:    104,
		wantMessage: "An access token is required to request this resource.",
	}, {
		name:        "unknown",
		req:         func(t *testing.T, w *world) request { return get(url.Values{"access_token": {"EAAbogus"}}, nil) },
		wantCode:    190,
		wantMessage: "Invalid OAuth access token - Cannot parse access token",
	}, {
		name: "expired",
		req: func(t *testing.T, w *world) request {
			tok := w.srv.IssueToken(TokenSpec{UserID: w.fx.AdminSystemUserID, AppID: w.fx.AppID,
				ExpiresAt: time.Date(2026, 7, 16, 17, 0, 0, 0, time.UTC)})
			return get(url.Values{"access_token": {tok}}, nil)
		},
		wantCode:    190,
		wantSubcode: 463,
		wantMessage: "Error validating access token: Session has expired on Thursday, 16-Jul-26 17:00:00 UTC.",
	}, {
		name: "expired by Advance",
		req: func(t *testing.T, w *world) request {
			tok := w.srv.IssueToken(TokenSpec{UserID: w.fx.AdminSystemUserID, AppID: w.fx.AppID,
				ExpiresAt: w.srv.Now().Add(time.Hour)})
			w.srv.Advance(time.Hour)
			return get(url.Values{"access_token": {tok}}, nil)
		},
		wantCode:    190,
		wantSubcode: 463,
	}, {
		name: "revoked",
		req: func(t *testing.T, w *world) request {
			w.send(t, request{method: http.MethodDelete, path: "/v27.0/" + w.fx.AdminSystemUserID + "/access_tokens",
				params: url.Values{"access_token": {w.fx.AdminToken}}})
			return get(url.Values{"access_token": {w.fx.AdminToken}}, nil)
		},
		wantCode:    190,
		wantSubcode: 467,
		wantMessage: "Error validating access token: The session was invalidated explicitly using an API call.",
	}})
}

func TestVersionsAndPaths(t *testing.T) {
	t.Parallel()
	get := func(path string) func(t *testing.T, w *world) request {
		return func(t *testing.T, w *world) request {
			return request{method: http.MethodGet, path: path, params: url.Values{"access_token": {w.fx.AdminToken}}}
		}
	}
	wantVersionHeader := func(want string) func(t *testing.T, w *world, res result) {
		return func(t *testing.T, w *world, res result) {
			t.Helper()
			if got := res.header.Get("facebook-api-version"); got != want {
				t.Errorf("facebook-api-version = %q; want %q", got, want)
			}
		}
	}
	runCases(t, []apiCase{{
		name:  "current version",
		req:   get("/v27.0/" + seedBusinessID + "/system_users"),
		check: wantVersionHeader("v27.0"),
	}, {
		name:  "minimum version",
		req:   get("/v21.0/" + seedBusinessID + "/system_users"),
		check: wantVersionHeader("v21.0"),
	}, {
		name:        "older than the minimum",
		req:         get("/v20.0/" + seedBusinessID + "/system_users"),
		wantCode:    2635,
		wantMessage: "(#2635) You are calling a deprecated version of the Graph API. Please update to the latest version: v27.0.",
		check:       wantVersionHeader("v20.0"),
	}, {
		name:     "older than a raised minimum",
		opts:     []Option{WithMinVersion("v25.0")},
		req:      get("/v24.9/" + seedBusinessID + "/system_users"),
		wantCode: 2635,
	}, {
		name: "raised minimum itself",
		opts: []Option{WithMinVersion("v25.0")},
		req:  get("/v25.0/" + seedBusinessID + "/system_users"),
	}, {
		name:     "no version",
		req:      get("/" + seedBusinessID + "/system_users"),
		wantCode: 100,
	}, {
		name:     "malformed version",
		req:      get("/v27/" + seedBusinessID + "/system_users"),
		wantCode: 100,
	}, {
		name: "unparsable query",
		req: func(t *testing.T, w *world) request {
			return request{method: http.MethodGet, path: "/v27.0/debug_token?input_token=%zz", header: bearer(w.appToken())}
		},
		wantCode:    100,
		wantMessage: "could not be parsed",
	}, {
		name:        "unknown edge",
		req:         get("/v27.0/me/accounts"),
		wantCode:    100,
		wantSubcode: 33,
		wantMessage: "Unsupported get request. Object with ID 'me' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
	}, {
		name: "common headers",
		req:  get("/v27.0/" + seedBusinessID + "/system_users"),
		check: func(t *testing.T, w *world, res result) {
			t.Helper()
			if got := res.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q; want application/json", got)
			}
			// Meta's rate-limiting page: usage headers come with "most API
			// responses once enough calls have been made to an endpoint", so
			// a client must not count on them; without a limit set, the
			// emulator sends none.
			for _, name := range []string{"X-App-Usage", "X-Business-Use-Case-Usage"} {
				if got, ok := res.header[name]; ok {
					t.Errorf("%s = %q; want no usage header without a rate limit", name, got)
				}
			}
			if res.header.Get("x-fb-trace-id") == "" {
				t.Errorf("x-fb-trace-id is empty; want a trace ID")
			}
		},
	}})
}
