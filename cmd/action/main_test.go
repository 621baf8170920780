package main

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// scenario is one run of the main step against the emulator.
type scenario struct {
	name       string
	serverOpts []minttest.Option
	setup      func(w *world)                       // seed and faults
	inputs     func(w *world, in map[string]string) // changes to the inputs
	opts       []option
	wantErr    []string // substrings of the error; nil means success
	check      func(t *testing.T, w *world, r result)
	golden     bool // pin stdout and the output file under testdata/
}

// start makes the scenario's emulator world and the inputs of its run.
func (sc *scenario) start(t *testing.T) (*world, map[string]string) {
	t.Helper()
	w := newWorld(t, sc.serverOpts...)
	if sc.setup != nil {
		sc.setup(w)
	}
	in := w.inputs()
	if sc.inputs != nil {
		sc.inputs(w, in)
	}
	return w, in
}

// installed installs the app for the system user, as a previous run would.
func installed(w *world) { w.srv.InstallApp(w.systemUserID, w.appID) }

func mainScenarios() []scenario {
	return []scenario{
		{
			name:   "mint_expiring",
			setup:  installed,
			golden: true,
			check: func(t *testing.T, w *world, r result) {
				tok := onlyMinted(t, w)
				want := map[string]string{
					outToken:     tok.Value,
					outExpiresAt: tok.ExpiresAt.UTC().Truncate(time.Second).Format(time.RFC3339),
					outScopes:    "ads_read,business_management",
				}
				if diff := cmp.Diff(want, r.outputs); diff != "" {
					t.Errorf("outputs mismatch (-want +got):\n%s", diff)
				}
				if tok.ExpiresAt.IsZero() {
					t.Errorf("minted token ExpiresAt = zero; want an expiring token")
				}
				wantState := map[string]string{
					stateToken:      tok.Value,
					stateTokenProof: mint.AppSecretProof(w.appSecret, tok.Value),
					stateExpiresAt:  want[outExpiresAt],
					stateAppID:      w.appID,
				}
				if diff := cmp.Diff(wantState, r.saved); diff != "" {
					t.Errorf("state mismatch (-want +got):\n%s", diff)
				}
				form := lastForm(t, w, minttest.EndpointAccessTokens)
				if got := form.Get("set_token_expires_in_60_days"); got != "true" {
					t.Errorf("access_tokens set_token_expires_in_60_days = %q; want %q", got, "true")
				}
				if got := w.count(minttest.EndpointApplications); got != 0 {
					t.Errorf("applications requests = %d; want 0 without install-app", got)
				}
				for _, s := range []string{"revoked by the post step", "`ads_read`, `business_management`", "Canary App", "`v27.0`"} {
					if !strings.Contains(r.summary, s) {
						t.Errorf("summary = %q; want it to contain %q", r.summary, s)
					}
				}
			},
		},
		{
			name:   "install_and_mint",
			inputs: func(_ *world, in map[string]string) { in["INPUT_INSTALL-APP"] = "true" },
			golden: true,
			check: func(t *testing.T, w *world, r result) {
				if got, want := w.srv.Installs(w.systemUserID), []string{w.appID}; !slices.Equal(got, want) {
					t.Errorf("Installs(%s) = %v; want %v", w.systemUserID, got, want)
				}
				if got := w.count(minttest.EndpointApplications); got != 1 {
					t.Errorf("applications requests = %d; want 1", got)
				}
				if got := lastForm(t, w, minttest.EndpointApplications).Get("appsecret_proof"); got != mint.AppSecretProof(w.appSecret, w.adminToken) {
					t.Errorf("install appsecret_proof = %q; want the proof of the calling token", got)
				}
				if r.outputs[outToken] != onlyMinted(t, w).Value {
					t.Errorf("token output is not the minted token")
				}
			},
		},
		{
			name:   "install_already_installed",
			setup:  installed,
			inputs: func(_ *world, in map[string]string) { in["INPUT_INSTALL-APP"] = "true" },
			check: func(t *testing.T, w *world, r result) {
				if got := w.srv.Minted(); got != 1 {
					t.Errorf("Minted() = %d; want 1", got)
				}
			},
		},
		{
			name:   "mint_permanent",
			setup:  installed,
			inputs: func(_ *world, in map[string]string) { in["INPUT_EXPIRING-TOKEN"] = "false" },
			golden: true,
			check: func(t *testing.T, w *world, r result) {
				tok := onlyMinted(t, w)
				if !tok.ExpiresAt.IsZero() {
					t.Errorf("minted token ExpiresAt = %v; want never", tok.ExpiresAt)
				}
				if got, ok := r.outputs[outExpiresAt]; !ok || got != "" {
					t.Errorf("expires-at output = %q (set %v); want set and empty", got, ok)
				}
				if form := lastForm(t, w, minttest.EndpointAccessTokens); form.Has("set_token_expires_in_60_days") {
					t.Errorf("access_tokens form has set_token_expires_in_60_days=%q; want it absent for a permanent token", form.Get("set_token_expires_in_60_days"))
				}
				for _, s := range []string{"| Token | permanent |", "| Expires | never |"} {
					if !strings.Contains(r.summary, s) {
						t.Errorf("summary = %q; want it to contain %q", r.summary, s)
					}
				}
			},
		},
		{
			name:  "custom_version_keep",
			setup: installed,
			inputs: func(_ *world, in map[string]string) {
				in["INPUT_GRAPH-API-VERSION"] = "v26.0"
				in["INPUT_SKIP-TOKEN-REVOKE"] = "true"
				in["INPUT_SCOPES"] = "whatsapp_business_messaging\nwhatsapp_business_management"
			},
			golden: true,
			check: func(t *testing.T, w *world, r result) {
				for _, req := range w.srv.Requests() {
					if !strings.HasPrefix(req.Path, "/v26.0/") {
						t.Errorf("request path = %q; want it under /v26.0/", req.Path)
					}
				}
				if len(r.saved) != 0 {
					t.Errorf("state = %v; want none when skip-token-revoke is true", r.saved)
				}
				if got, want := r.outputs[outScopes], "whatsapp_business_messaging,whatsapp_business_management"; got != want {
					t.Errorf("scopes output = %q; want %q", got, want)
				}
				if !strings.Contains(r.summary, "kept (`skip-token-revoke: true`)") {
					t.Errorf("summary = %q; want it to say the token is kept", r.summary)
				}
			},
		},
		{
			name:       "unlisted_scope_allowed",
			serverOpts: []minttest.Option{minttest.WithExtraScopes("ads_brand_new")},
			setup:      installed,
			inputs: func(_ *world, in map[string]string) {
				in["INPUT_SCOPES"] = "ads_read ads_brand_new"
				in["INPUT_ALLOW-UNLISTED-SCOPES"] = "true"
			},
			golden: true,
			check: func(t *testing.T, w *world, r result) {
				if !strings.Contains(r.stdout, "::warning::scope \"ads_brand_new\" is not on metamint's list") {
					t.Errorf("stdout = %q; want a warning naming the unlisted scope", r.stdout)
				}
				if got := lastForm(t, w, minttest.EndpointAccessTokens).Get("scope"); got != "ads_read,ads_brand_new" {
					t.Errorf("access_tokens scope = %q; want %q", got, "ads_read,ads_brand_new")
				}
			},
		},
		{
			name:    "wrong_app_secret",
			setup:   installed,
			inputs:  func(_ *world, in map[string]string) { in["INPUT_APP-SECRET"] = canaryWrongSecret },
			golden:  true,
			wantErr: []string{"creating the token", "Invalid appsecret_proof", "code 100", "fbtrace_id", "Hint: Graph refused the appsecret_proof", "minting-app-secret"},
			check:   noMint,
		},
		{
			name:    "app_not_installed",
			golden:  true,
			wantErr: []string{"not installed", "code 200", "Hint: The app is not installed for this system user", "install-app"},
			check:   noMint,
		},
		{
			name:    "invalid_calling_token",
			setup:   installed,
			inputs:  func(_ *world, in map[string]string) { in["INPUT_ACCESS-TOKEN"] = canaryBadToken },
			golden:  true,
			wantErr: []string{"code 190", "type OAuthException", "Hint: The access token is invalid"},
			check:   noMint,
		},
		{
			name: "invalid_token_on_install",
			inputs: func(_ *world, in map[string]string) {
				in["INPUT_ACCESS-TOKEN"] = canaryBadToken
				in["INPUT_INSTALL-APP"] = "true"
			},
			wantErr: []string{"installing the app", "code 190"},
			check:   noMint,
		},
		{
			name:  "transient_error_retried",
			setup: installed,
			inputs: func(w *world, _ map[string]string) {
				w.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{
					Status: http.StatusInternalServerError,
					Error:  &minttest.Error{Message: "An unexpected error has occurred. Please retry your request later.", Type: "OAuthException", Code: 2, IsTransient: true},
					Times:  2,
				})
			},
			check: func(t *testing.T, w *world, r result) {
				if got := w.count(minttest.EndpointAccessTokens); got != 3 {
					t.Errorf("access_tokens requests = %d; want 3 (two transient failures, then success)", got)
				}
				if got := w.srv.Minted(); got != 1 {
					t.Errorf("Minted() = %d; want 1", got)
				}
			},
		},
		{
			name:  "throttled_usage_headers",
			setup: installed,
			inputs: func(w *world, _ map[string]string) {
				w.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{
					Error: &minttest.Error{Message: "(#80004) There have been too many calls from this business. Wait a bit and try again.", Type: "OAuthException", Code: 80004, IsTransient: true},
					Header: http.Header{
						"X-App-Usage":               {`{"call_count":100,"total_cputime":12,"total_time":30}`},
						"X-Business-Use-Case-Usage": {`{"100000000000001":[{"type":"ads_management","call_count":100,"total_cputime":5,"total_time":7,"estimated_time_to_regain_access":7}]}`},
					},
				})
			},
			golden:  true,
			wantErr: []string{"code 80004", "Rate-limit usage: 100% of the budget used", "access expected back in 7m0s", "Hint: Meta is throttling"},
			check: func(t *testing.T, w *world, r result) {
				// The wait Meta asks for is longer than the policy allows:
				// no retry.
				if got := w.count(minttest.EndpointAccessTokens); got != 1 {
					t.Errorf("access_tokens requests = %d; want 1", got)
				}
				noMint(t, w, r)
			},
		},
		{
			name:   "rate_limited_by_emulator",
			setup:  func(w *world) { w.srv.SetRateLimit(1, time.Hour) },
			inputs: func(_ *world, in map[string]string) { in["INPUT_INSTALL-APP"] = "true" },
			// The calling token's check (an app token call) runs beside the
			// install, so either the install or the mint is the call over
			// the limit; both are made with the system user token, which
			// Meta throttles by Business Use Case.
			wantErr: []string{"code 80004", "Rate-limit usage: 100%", "access expected back in", "Hint: Meta is throttling"},
			check: func(t *testing.T, w *world, r result) {
				if got := w.count(minttest.EndpointAccessTokens); got > 1 {
					t.Errorf("access_tokens requests = %d; want at most 1", got)
				}
				noMint(t, w, r)
			},
		},
		{
			name:  "graph_outage",
			setup: installed,
			inputs: func(w *world, _ map[string]string) {
				w.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{
					Status: http.StatusServiceUnavailable,
					Error:  &minttest.Error{Message: "Service temporarily unavailable", Type: "OAuthException", Code: 2, IsTransient: true},
					Times:  100,
				})
			},
			golden:  true,
			wantErr: []string{"creating the token", "HTTP 503", "code 2", "Service temporarily unavailable"},
			check: func(t *testing.T, w *world, r result) {
				if got, want := w.count(minttest.EndpointAccessTokens), fastRetry.MaxAttempts; got != want {
					t.Errorf("access_tokens requests = %d; want %d (every attempt of the policy)", got, want)
				}
				noMint(t, w, r)
			},
		},
		{
			name:  "outage_after_mint",
			setup: installed,
			inputs: func(w *world, _ map[string]string) {
				w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{
					Status: http.StatusBadGateway, Body: []byte("<html>502 Bad Gateway</html>"), Times: 100,
				})
			},
			golden:  true,
			wantErr: []string{"inspecting the token (GET /debug_token) failed", "HTTP 502"},
			check: func(t *testing.T, w *world, r result) {
				// Every attempt of the calling token's check, then of the
				// minted token's inspection.
				if got, want := w.count(minttest.EndpointDebugToken), 2*fastRetry.MaxAttempts; got != want {
					t.Errorf("debug_token requests = %d; want %d", got, want)
				}
				discarded(t, w, r)
			},
		},
		{
			name:  "outage_after_mint_revoke_fails",
			setup: installed,
			inputs: func(w *world, _ map[string]string) {
				down := minttest.Fault{Status: http.StatusServiceUnavailable, Body: []byte("down"), Times: 100}
				w.srv.FailNext(minttest.EndpointDebugToken, down)
				w.srv.FailNext(minttest.EndpointRevoke, down)
			},
			golden:  true,
			wantErr: []string{"inspecting the token (GET /debug_token) failed", "HTTP 503"},
			check: func(t *testing.T, w *world, r result) {
				tok := onlyMinted(t, w)
				if tok.Revoked {
					t.Errorf("token revoked; want it alive, since every revoke failed")
				}
				if r.saved[stateToken] != tok.Value {
					t.Errorf("state token is not the minted token; want it kept for the post step to retry")
				}
				if !strings.Contains(r.stdout, "::warning::The step failed after minting a token, and revoking that token failed too") ||
					!strings.Contains(r.stdout, "The post step will try again at the end of the job.") {
					t.Errorf("stdout = %q; want a warning that the post step will retry", r.stdout)
				}
			},
		},
		{
			name:  "outage_after_mint_keep",
			setup: installed,
			inputs: func(w *world, in map[string]string) {
				in["INPUT_SKIP-TOKEN-REVOKE"] = "true"
				down := minttest.Fault{Status: http.StatusServiceUnavailable, Body: []byte("down"), Times: 100}
				w.srv.FailNext(minttest.EndpointDebugToken, down)
				w.srv.FailNext(minttest.EndpointRevoke, down)
			},
			wantErr: []string{"inspecting the token (GET /debug_token) failed"},
			check: func(t *testing.T, w *world, r result) {
				if len(r.saved) != 0 {
					t.Errorf("state = %v; want none with skip-token-revoke", keys(r.saved))
				}
				if !strings.Contains(r.stdout, "The token stays valid until it expires: revoke it in Business Settings.") {
					t.Errorf("stdout = %q; want a warning to revoke the token by hand", r.stdout)
				}
			},
		},
		{
			name:  "token_check_fails",
			setup: installed,
			inputs: func(w *world, _ map[string]string) {
				body := `{"data":{"app_id":"` + w.appID + `","type":"SYSTEM_USER","application":"Canary App","is_valid":true,` +
					`"expires_at":0,"scopes":["ads_read"],"user_id":"` + w.systemUserID + `"}}`
				// The calling token's check comes first and is answered as it is.
				w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{})
				w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: http.StatusOK, Body: []byte(body)})
			},
			golden:  true,
			wantErr: []string{"checking the token with debug_token", `scopes not granted: "business_management"`},
			check:   discarded,
		},
		{
			name:  "timeout_hang",
			setup: installed,
			inputs: func(w *world, _ map[string]string) {
				w.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Hang: true})
				// The step's deadline passes once the mint is held, by count:
				// a short timeout would need the calls before it to be fast.
				w.stepCtx = w.deadlineAtRequest(minttest.EndpointAccessTokens)
			},
			opts:    []option{withTimeout(time.Hour)},
			wantErr: []string{"creating the token", "context deadline exceeded", "gives up after 1h0m0s"},
		},
		{
			name: "output_file_missing",
			inputs: func(_ *world, in map[string]string) {
				in["GITHUB_OUTPUT"] = unset
			},
			wantErr: []string{"GITHUB_OUTPUT is not set"},
			check: func(t *testing.T, w *world, r result) {
				if got := len(w.srv.Requests()); got != 0 {
					t.Errorf("requests = %d; want 0", got)
				}
			},
		},
	}
}

// onlyMinted returns the one token the step minted.
func onlyMinted(t *testing.T, w *world) minttest.TokenState {
	t.Helper()
	m := w.minted()
	if len(m) != 1 {
		t.Fatalf("minted tokens = %d; want 1", len(m))
	}
	return m[0]
}

// lastForm returns the form of the last request to e.
func lastForm(t *testing.T, w *world, e minttest.Endpoint) url.Values {
	t.Helper()
	reqs := w.srv.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Endpoint == e {
			return reqs[i].Form
		}
	}
	t.Fatalf("no request to %s", e)
	return nil
}

func noMint(t *testing.T, w *world, r result) {
	t.Helper()
	if got := w.srv.Minted(); got != 0 {
		t.Errorf("Minted() = %d; want 0", got)
	}
	if len(r.outputs) != 0 || r.saved[stateToken] != "" {
		t.Errorf("outputs = %v, state token set = %v; want none", r.outputs, r.saved[stateToken] != "")
	}
}

// discarded checks that a token minted by a failing step was revoked at
// once and that no output or state hands it on.
func discarded(t *testing.T, w *world, r result) {
	t.Helper()
	tok := onlyMinted(t, w)
	if !tok.Revoked {
		t.Errorf("the token minted by the failed step is not revoked")
	}
	if len(r.outputs) != 0 {
		t.Errorf("outputs = %v; want none after a failure", keys(r.outputs))
	}
	if got := r.saved[stateToken]; got != "" {
		t.Errorf("state token is set after the step revoked it; want it cleared")
	}
	if !strings.Contains(r.stdout, "Revoked the token this step minted, since the step failed.") {
		t.Errorf("stdout = %q; want it to say the token was revoked", r.stdout)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestRunMainGraphCalls pins the minimum of Graph calls per job: one mint
// and one debug_token of the minted token, plus one install with
// install-app, in that order; and beside them one debug_token of the calling
// token (its expiry), which ends before the minted token is inspected.
func TestRunMainGraphCalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inputs map[string]string
		want   []minttest.Endpoint
	}{
		{name: "mint", want: []minttest.Endpoint{minttest.EndpointAccessTokens, minttest.EndpointDebugToken}},
		{
			name:   "install and mint",
			inputs: map[string]string{"INPUT_INSTALL-APP": "true"},
			want:   []minttest.Endpoint{minttest.EndpointApplications, minttest.EndpointAccessTokens, minttest.EndpointDebugToken},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			installed(w)
			in := w.inputs()
			for k, v := range tc.inputs {
				in[k] = v
			}
			if r := runStep(t, w, in, []string{"/metamint-action"}); r.err != nil {
				t.Fatalf("run(main) = %v\nstdout:\n%s", r.err, r.stdout)
			}
			var got []minttest.Endpoint
			callerChecks := 0
			for _, req := range w.srv.Requests() {
				if req.Endpoint == minttest.EndpointDebugToken && req.Form.Get("input_token") == w.adminToken {
					callerChecks++
					if slices.Contains(got, minttest.EndpointDebugToken) {
						t.Errorf("the calling token was inspected after the minted token")
					}
					continue
				}
				got = append(got, req.Endpoint)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Graph calls (-want +got):\n%s", diff)
			}
			if callerChecks != 1 {
				t.Errorf("debug_token calls for the calling token = %d; want 1", callerChecks)
			}
			if form := lastForm(t, w, minttest.EndpointDebugToken); form.Get("input_token") != onlyMinted(t, w).Value {
				t.Errorf("debug_token inspected another token than the minted one")
			}
		})
	}
}

func TestRunMain(t *testing.T) {
	t.Parallel()
	for _, sc := range mainScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			w, in := sc.start(t)
			r := runStep(t, w, in, []string{"/metamint-action"}, sc.opts...)

			if sc.wantErr == nil {
				if r.err != nil {
					t.Fatalf("run(main) = %v; want success\nstdout:\n%s", r.err, r.stdout)
				}
			} else {
				if r.err == nil {
					t.Fatalf("run(main) = nil; want an error containing %q\nstdout:\n%s", sc.wantErr, r.stdout)
				}
				for _, s := range sc.wantErr {
					if !strings.Contains(r.err.Error(), s) {
						t.Errorf("run(main) = %q; want it to contain %q", r.err, s)
					}
				}
				if !strings.Contains(r.stdout, "::error::") {
					t.Errorf("stdout has no ::error:: line:\n%s", r.stdout)
				}
			}
			if sc.check != nil {
				sc.check(t, w, r)
			}
			checkMasksFirst(t, w, in, r)
			checkNoLeaks(t, w.secrets(), r)
			if r.outputs[outToken] != "" && !strings.Contains(r.stdout, "::add-mask::"+r.outputs[outToken]+"\n") {
				t.Errorf("the token output has no ::add-mask:: line")
			}
			if strings.Contains(r.summary, r.outputs[outToken]) && r.outputs[outToken] != "" {
				t.Errorf("the summary holds the token")
			}
			if sc.golden {
				golden(t, sc.name+".stdout", normalize(w, r.stdout))
				golden(t, sc.name+".output", normalize(w, r.output))
			}
		})
	}
}

// TestRunMain_GraphErrorKept checks that the annotation error still carries
// the library's typed error.
func TestRunMain_GraphErrorKept(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	in := w.inputs()
	in["INPUT_APP-SECRET"] = canaryWrongSecret
	installed(w)
	r := runStep(t, w, in, []string{"metamint-action"})
	var gerr *mint.GraphError
	if !errors.As(r.err, &gerr) {
		t.Fatalf("run(main) = %v; want a *mint.GraphError in the chain", r.err)
	}
	if gerr.Code != 100 {
		t.Errorf("GraphError.Code = %d; want 100", gerr.Code)
	}
}

// TestInputErrors runs the main step with each input wrong and checks that
// the error names the input and that nothing reached Graph.
func TestInputErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  map[string]string
		wantErr []string
	}{
		{"missing app-id", map[string]string{"INPUT_APP-ID": ""}, []string{"missing required input: app-id.", "Dependabot", "fork"}},
		{"missing app-secret", map[string]string{"INPUT_APP-SECRET": ""}, []string{"missing required input: app-secret.", "Dependabot"}},
		{"missing access-token", map[string]string{"INPUT_ACCESS-TOKEN": ""}, []string{"missing required input: access-token.", "Dependabot"}},
		{"missing system-user-id", map[string]string{"INPUT_SYSTEM-USER-ID": ""}, []string{"missing required input: system-user-id."}},
		{"missing scopes", map[string]string{"INPUT_SCOPES": "   "}, []string{"missing required input: scopes."}},
		{"unset inputs", map[string]string{"INPUT_APP-ID": unset, "INPUT_APP-SECRET": unset, "INPUT_ACCESS-TOKEN": unset, "INPUT_SYSTEM-USER-ID": unset, "INPUT_SCOPES": unset},
			[]string{"missing required inputs: app-id, app-secret, access-token, system-user-id, scopes.", "secrets"}},
		{"app-id not numeric", map[string]string{"INPUT_APP-ID": "my-app"}, []string{"input app-id must be a numeric Graph ID"}},
		{"system-user-id not numeric", map[string]string{"INPUT_SYSTEM-USER-ID": "12ab"}, []string{"input system-user-id must be a numeric Graph ID"}},
		{"access-token with a space", map[string]string{"INPUT_ACCESS-TOKEN": "EAA one two"}, []string{"input access-token contains white space"}},
		{"app-secret with a newline", map[string]string{"INPUT_APP-SECRET": canaryAppSecret + "\nextra"}, []string{"input app-secret contains a line break"}},
		{"access-token pasted with its quotes", map[string]string{"INPUT_ACCESS-TOKEN": `"EAAquotedTOKEN0123456789"`}, []string{"input access-token is wrapped in quotes"}},
		{"app-secret with a byte order mark", map[string]string{"INPUT_APP-SECRET": "\ufeff" + canaryAppSecret}, []string{"input app-secret starts with a byte order mark"}},
		{"install-app not a boolean", map[string]string{"INPUT_INSTALL-APP": "yes"}, []string{`input install-app must be "true" or "false", got "yes"`}},
		{"expiring-token not a boolean", map[string]string{"INPUT_EXPIRING-TOKEN": "True"}, []string{`input expiring-token must be "true" or "false", got "True"`}},
		{"skip-token-revoke not a boolean", map[string]string{"INPUT_SKIP-TOKEN-REVOKE": "1"}, []string{`input skip-token-revoke must be "true" or "false", got "1"`}},
		{"allow-unlisted-scopes not a boolean", map[string]string{"INPUT_ALLOW-UNLISTED-SCOPES": "on"}, []string{`input allow-unlisted-scopes must be "true" or "false", got "on"`}},
		{"unlisted scope", map[string]string{"INPUT_SCOPES": "ads_read,ads_raed"}, []string{`input scopes: scope "ads_raed" is not on the list`, "allow-unlisted-scopes: true"}},
		{"unlisted scopes", map[string]string{"INPUT_SCOPES": "foo bar"}, []string{`input scopes: scopes "foo", "bar" are not on the list`}},
		{"malformed scope", map[string]string{"INPUT_SCOPES": "ads_read,Ads-Read", "INPUT_ALLOW-UNLISTED-SCOPES": "true"}, []string{`input scopes: scopes: "Ads-Read" is not a valid scope name`}},
		{"only separators in scopes", map[string]string{"INPUT_SCOPES": ", ,"}, []string{"input scopes: scopes: at least one scope is required"}},
		{"http graph-api-url", map[string]string{"INPUT_GRAPH-API-URL": "http://graph.example.com"}, []string{"input graph-api-url:", "non-loopback", "use https"}},
		{"relative graph-api-url", map[string]string{"INPUT_GRAPH-API-URL": "graph.facebook.com"}, []string{"input graph-api-url:", "not an absolute URL"}},
		{"graph-api-url with user info", map[string]string{"INPUT_GRAPH-API-URL": "https://user:pw@graph.example.com"}, []string{"input graph-api-url:", "must not carry user info"}},
		// Short enough to be quoted whole, and unparsable (no port "x"):
		// its password must not be quoted with it.
		{"graph-api-url with a password that does not parse", map[string]string{"INPUT_GRAPH-API-URL": "https://u:" + canaryWrongInput[3:19] + "@h:x"},
			[]string{"input graph-api-url:", `"https://xxxxx@h:x" is not an absolute URL`}},
		{"bad graph-api-version", map[string]string{"INPUT_GRAPH-API-VERSION": "27"}, []string{`input graph-api-version: graph API version "27" is not of the form v27.0`}},
		{"several problems", map[string]string{"INPUT_APP-SECRET": "", "INPUT_INSTALL-APP": "maybe", "INPUT_GRAPH-API-VERSION": "latest"},
			[]string{"missing required input: app-secret.", "input install-app", "input graph-api-version"}},
		// A secret pasted into the wrong input is not echoed, not even cut
		// short: the runner masks a secret whole, never a piece of it.
		{"a token in a boolean input", map[string]string{"INPUT_INSTALL-APP": canaryWrongInput},
			[]string{`input install-app must be "true" or "false", got a value of 89 bytes that is not shown`}},
		{"a token in scopes", map[string]string{"INPUT_SCOPES": "ads_read," + canaryWrongInput},
			[]string{"input scopes: scopes: a value of 89 bytes that is not shown", "is not a valid scope name"}},
		{"a lowercase secret in scopes", map[string]string{"INPUT_SCOPES": "ads_read " + strings.ToLower(canaryWrongInput)},
			[]string{"input scopes: scope a value of 89 bytes that is not shown", "is not on the list"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			installed(w)
			in := w.inputs()
			for k, v := range tt.change {
				in[k] = v
			}
			r := runStep(t, w, in, []string{"metamint-action"})
			if r.err == nil {
				t.Fatalf("run(main) with %v = nil; want an error", tt.change)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(r.err.Error(), s) {
					t.Errorf("run(main) with %s = %q; want it to contain %q", tt.name, r.err, s)
				}
			}
			if got := len(w.srv.Requests()); got != 0 {
				t.Errorf("requests = %d; want 0: inputs are checked before any call", got)
			}
			if !strings.Contains(r.stdout, "::error::") {
				t.Errorf("stdout = %q; want an ::error:: line", r.stdout)
			}
			checkMasksFirst(t, w, in, r)
			checkNoLeaks(t, w.secrets(), r)
			if piece := canaryWrongInput[3:19]; strings.Contains(strings.ToLower(r.stdout), strings.ToLower(piece)) ||
				strings.Contains(strings.ToLower(r.err.Error()), strings.ToLower(piece)) {
				t.Errorf("run(main) with %s echoed a piece of the value: %q", tt.name, r.err)
			}
		})
	}
}

// canaryWrongInput is a token pasted into an input that takes no secret.
const canaryWrongInput = "EAACANARYwrongINPUT0token0000000000000000000000000000000000000000000000000000000000000001"

func TestInputErrors_Golden(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	in := w.inputs()
	for _, k := range []string{"INPUT_APP-SECRET", "INPUT_ACCESS-TOKEN"} {
		in[k] = ""
	}
	in["INPUT_EXPIRING-TOKEN"] = "yes"
	r := runStep(t, w, in, []string{"metamint-action"})
	if r.err == nil {
		t.Fatal("run(main) = nil; want an input error")
	}
	golden(t, "input_errors.stdout", normalize(w, r.stdout))
}

func TestIsPost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		want    bool
		wantErr bool
	}{
		{args: nil, want: false},
		{args: []string{"/metamint-action"}, want: false},
		{args: []string{"/post"}, want: true},
		{args: []string{"post"}, want: true},
		{args: []string{"/metamint-action", "post"}, want: true},
		{args: []string{"/metamint-action", "main"}, wantErr: true},
		{args: []string{"/metamint-action", "post", "x"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := isPost(tt.args)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("isPost(%q) = %v, %v; want %v, error %v", tt.args, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestUnexpectedArguments(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	in := w.inputs()
	r := runStep(t, w, in, []string{"/metamint-action", "--help"})
	if r.err == nil || !strings.Contains(r.err.Error(), "unexpected arguments") {
		t.Fatalf("run(--help) = %v; want an unexpected-arguments error", r.err)
	}
	checkMasksFirst(t, w, in, r)
	if got := len(w.srv.Requests()); got != 0 {
		t.Errorf("requests = %d; want 0", got)
	}
}

func TestSetFileValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, value string
		wantErr          bool
	}{
		{name: "plain", key: "token", value: "EAAB"},
		{name: "empty", key: "expires-at", value: ""},
		{name: "one-line value with file command syntax", key: "x", value: "b=c _GitHubActionsFileCommandDelimeter_ y<<EOF"},
		{name: "multi-line value is refused", key: "x", value: "a\nb=c\n_GitHubActionsFileCommandDelimeter_\ny<<EOF", wantErr: true},
		{name: "carriage return is refused", key: "x", value: "a\rb", wantErr: true},
		{name: "name with a newline", key: "a\nb", value: "v", wantErr: true},
		{name: "name with =", key: "a=b", value: "v", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := dir + "/out"
			a, _ := newTestAction(map[string]string{"GITHUB_OUTPUT": file})
			err := setFileValue(a, "GITHUB_OUTPUT", tt.key, tt.value)
			if (err != nil) != tt.wantErr {
				t.Fatalf("setFileValue(%q, %q) = %v; want error %v", tt.key, tt.value, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			got := parseFileCommands(t, readFile(t, file))
			if diff := cmp.Diff(map[string]string{tt.key: tt.value}, got); diff != "" {
				t.Errorf("setFileValue(%q, %q) wrote (-want +got):\n%s", tt.key, tt.value, diff)
			}
		})
	}
}

// TestNoSecretLeaks is the canary test: the secrets are canary strings (and
// the emulator's unique tokens), and on every path of the main step, and of
// the post step that follows it, none appears unmasked on stdout, in the
// error, in the summary, or in the output and state files other than as the
// token itself.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	for _, sc := range mainScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			w, in := sc.start(t)
			m := runStep(t, w, in, []string{"/metamint-action"}, sc.opts...)
			p := runStep(t, w, postEnv(in, m), []string{"/post"}, sc.opts...)
			if p.err != nil {
				t.Errorf("run(post) = %v; want nil", p.err)
			}
			secrets := w.secrets()
			if len(secrets) < 5 {
				t.Fatalf("secrets() = %d values; want the canaries and the tokens", len(secrets))
			}
			checkNoLeaks(t, secrets, m)
			checkNoLeaks(t, secrets, p)
		})
	}
}
