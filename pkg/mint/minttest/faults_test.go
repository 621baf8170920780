package minttest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// debugRequest is a valid debug_token call on the seeded world.
func (w *world) debugRequest() request {
	return request{method: http.MethodGet, path: "/v27.0/debug_token",
		params: url.Values{"input_token": {w.fx.AdminToken}, "access_token": {w.appToken()}}}
}

// mintRequest installs the app for the seeded system user and returns a valid
// mint call for it.
func (w *world) mintRequest(t *testing.T) request {
	t.Helper()
	w.install(t, w.fx.SystemUserID)
	return request{method: http.MethodPost, path: "/v27.0/" + w.fx.SystemUserID + "/access_tokens",
		params: w.mintParams("ads_read", true)}
}

// wantOK checks that res is HTTP 200.
func wantOK(t *testing.T, res result) {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("answer = HTTP %d %s; want 200", res.status, res.body)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, w *world)
	}{{
		name: "Graph error body, then the real answer",
		run: func(t *testing.T, w *world) {
			w.srv.FailNext(EndpointDebugToken, Fault{Error: &Error{
				Message: "An unexpected error has occurred. Please retry your request later.", Code: 2,
				IsTransient: true, UserTitle: "Try again", UserMessage: "Something went wrong.",
			}})
			e := wantError(t, w.send(t, w.debugRequest()), http.StatusBadRequest, 2, 0)
			if e.Type != "OAuthException" || !e.IsTransient || e.UserTitle != "Try again" || e.UserMessage != "Something went wrong." {
				t.Errorf("error = %+v; want type OAuthException, transient, with the user title and message", e)
			}
			wantOK(t, w.send(t, w.debugRequest()))
		},
	}, {
		name: "error with a status",
		run: func(t *testing.T, w *world) {
			w.srv.FailNext(EndpointSystemUsers, Fault{Status: http.StatusServiceUnavailable,
				Error: &Error{Message: "Service temporarily unavailable", Type: "FacebookApiException", Code: 2, Subcode: 1234}})
			res := w.send(t, request{method: http.MethodGet, path: "/v27.0/" + w.fx.BusinessID + "/system_users",
				header: bearer(w.fx.AdminToken)})
			if e := wantError(t, res, http.StatusServiceUnavailable, 2, 1234); e.Type != "FacebookApiException" {
				t.Errorf("type = %q; want FacebookApiException", e.Type)
			}
		},
	}, {
		name: "applies before any check of the request",
		run: func(t *testing.T, w *world) {
			w.srv.FailNext(EndpointDebugToken, Fault{Error: &Error{Message: "boom", Code: 1}})
			wantError(t, w.send(t, request{method: http.MethodGet, path: "/v1.0/debug_token"}), http.StatusBadRequest, 1, 0)
		},
	}, {
		name: "malformed body",
		run: func(t *testing.T, w *world) {
			req := w.mintRequest(t)
			w.srv.FailNext(EndpointAccessTokens, Fault{Status: http.StatusOK, Body: []byte(`{"access_token":"EAA`)})
			res := w.send(t, req)
			if res.status != http.StatusOK || string(res.body) != `{"access_token":"EAA` || res.header.Get("Content-Type") != "application/json" {
				t.Errorf("answer = HTTP %d %q (%s); want 200 with the malformed JSON", res.status, res.body, res.header.Get("Content-Type"))
			}
			if got := w.srv.Minted(); got != 0 {
				t.Errorf("Minted() = %d; want 0: the fault replaced the operation", got)
			}
		},
	}, {
		name: "bare true",
		run: func(t *testing.T, w *world) {
			w.srv.FailNext(EndpointApplications, Fault{Status: http.StatusOK, Body: []byte("true")})
			res := w.send(t, request{method: http.MethodPost, path: "/v27.0/" + w.fx.SystemUserID + "/applications",
				params: url.Values{"business_app": {w.fx.AppID}, "access_token": {w.fx.AdminToken}}})
			if res.status != http.StatusOK || string(res.body) != "true" {
				t.Errorf("answer = HTTP %d %s; want 200 true", res.status, res.body)
			}
		},
	}, {
		name: "body without status is a 500",
		run: func(t *testing.T, w *world) {
			w.srv.FailNext(EndpointDebugToken, Fault{Body: []byte("<html>Oops</html>")})
			if res := w.send(t, w.debugRequest()); res.status != http.StatusInternalServerError || string(res.body) != "<html>Oops</html>" {
				t.Errorf("answer = HTTP %d %s; want 500 with the HTML body", res.status, res.body)
			}
		},
	}, {
		name: "status alone",
		run: func(t *testing.T, w *world) {
			w.srv.FailNext(EndpointDebugToken, Fault{Status: http.StatusBadGateway})
			if res := w.send(t, w.debugRequest()); res.status != http.StatusBadGateway || len(res.body) != 0 {
				t.Errorf("answer = HTTP %d %q; want 502 with no body", res.status, res.body)
			}
		},
	}, {
		name: "headers on the real answer",
		run: func(t *testing.T, w *world) {
			buc := `{"` + w.fx.BusinessID + `":[{"type":"ads_management","call_count":95,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":0}]}`
			w.srv.FailNext(EndpointDebugToken, Fault{Header: http.Header{
				"X-Business-Use-Case-Usage": {buc},
				"x-app-usage":               {`{"call_count":95,"total_cputime":10,"total_time":10}`},
			}})
			res := w.send(t, w.debugRequest())
			if d := decodeDebug(t, res); !d.IsValid {
				t.Errorf("data = %s; want the real, valid answer", res.body)
			}
			if got := res.header.Get("X-Business-Use-Case-Usage"); got != buc {
				t.Errorf("X-Business-Use-Case-Usage = %q; want %q", got, buc)
			}
			if got := res.header.Get("X-App-Usage"); !strings.Contains(got, `"call_count":95`) {
				t.Errorf("X-App-Usage = %q; want the fault's", got)
			}
		},
	}, {
		name: "delay",
		run: func(t *testing.T, w *world) {
			const delay = 100 * time.Millisecond
			w.srv.FailNext(EndpointDebugToken, Fault{Delay: delay, Error: &Error{Message: "slow", Code: 2}})
			start := time.Now()
			wantError(t, w.send(t, w.debugRequest()), http.StatusBadRequest, 2, 0)
			if got := time.Since(start); got < delay {
				t.Errorf("answered after %v; want at least %v", got, delay)
			}
		},
	}, {
		name: "delay past the client's deadline",
		run: func(t *testing.T, w *world) {
			w.srv.FailNext(EndpointDebugToken, Fault{Delay: time.Minute})
			_, err := trySend(expireOnArrival(t, w.srv), w.srv.Client(), w.srv.URL, w.debugRequest())
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("debug_token whose deadline passed during the delay = %v; want context.DeadlineExceeded", err)
			}
			wantOK(t, w.send(t, w.debugRequest()))
		},
	}, {
		name: "hang released when the client gives up",
		run: func(t *testing.T, w *world) {
			w.srv.FailNext(EndpointDebugToken, Fault{Hang: true})
			_, err := trySend(expireOnArrival(t, w.srv), w.srv.Client(), w.srv.URL, w.debugRequest())
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("hung debug_token = %v; want the client's deadline", err)
			}
			wantOK(t, w.send(t, w.debugRequest()))
		},
	}, {
		name: "after effect with an error",
		run: func(t *testing.T, w *world) {
			req := w.mintRequest(t)
			w.srv.FailNext(EndpointAccessTokens, Fault{AfterEffect: true, Status: http.StatusInternalServerError,
				Error: &Error{Message: "An unknown error has occurred.", Code: 1}})
			wantError(t, w.send(t, req), http.StatusInternalServerError, 1, 0)
			if got := w.srv.Minted(); got != 1 {
				t.Errorf("Minted() = %d; want 1: the token was minted before the error", got)
			}
			toks := w.srv.Tokens()
			if orphan := toks[len(toks)-1]; orphan.UserID != w.fx.SystemUserID || orphan.Revoked {
				t.Errorf("last token = %+v; want a live token of %s, the orphan", orphan, w.fx.SystemUserID)
			}
		},
	}, {
		name: "after effect with a hang: the answer is lost",
		run: func(t *testing.T, w *world) {
			req := w.mintRequest(t)
			w.srv.FailNext(EndpointAccessTokens, Fault{AfterEffect: true, Hang: true})
			if _, err := trySend(expireOnArrival(t, w.srv), w.srv.Client(), w.srv.URL, req); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("mint = %v; want context.DeadlineExceeded", err)
			}
			if got := w.srv.Minted(); got != 1 {
				t.Errorf("Minted() = %d; want 1", got)
			}
		},
	}, {
		name: "times",
		run: func(t *testing.T, w *world) {
			w.srv.FailNext(EndpointDebugToken, Fault{Times: 2, Error: &Error{Message: "busy", Code: 17, IsTransient: true}})
			for range 2 {
				wantError(t, w.send(t, w.debugRequest()), http.StatusBadRequest, 17, 0)
			}
			wantOK(t, w.send(t, w.debugRequest()))
		},
	}, {
		name: "faults queue per endpoint",
		run: func(t *testing.T, w *world) {
			w.srv.FailNext(EndpointDebugToken, Fault{Error: &Error{Message: "first", Code: 1}})
			w.srv.FailNext(EndpointDebugToken, Fault{Error: &Error{Message: "second", Code: 2}})
			list := request{method: http.MethodGet, path: "/v27.0/" + w.fx.BusinessID + "/system_users", header: bearer(w.fx.AdminToken)}
			wantOK(t, w.send(t, list))
			wantError(t, w.send(t, w.debugRequest()), http.StatusBadRequest, 1, 0)
			wantError(t, w.send(t, w.debugRequest()), http.StatusBadRequest, 2, 0)
			wantOK(t, w.send(t, w.debugRequest()))
		},
	}, {
		name: "fault changed by the caller afterwards",
		run: func(t *testing.T, w *world) {
			e := &Error{Message: "kept", Code: 1}
			w.srv.FailNext(EndpointDebugToken, Fault{Error: e})
			e.Code = 99
			wantError(t, w.send(t, w.debugRequest()), http.StatusBadRequest, 1, 0)
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newWorld(t))
		})
	}
}

func TestSetLatency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		latency time.Duration
		givesUp bool // the client's deadline passes once the request arrived
		wantErr error
	}{
		{name: "slows every call", latency: 100 * time.Millisecond},
		{name: "client gives up", latency: time.Minute, givesUp: true, wantErr: context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.srv.SetLatency(tc.latency)
			ctx := t.Context()
			if tc.givesUp {
				ctx = expireOnArrival(t, w.srv)
			}
			start := time.Now()
			_, err := trySend(ctx, w.srv.Client(), w.srv.URL, w.debugRequest())
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("debug_token with latency %v = %v; want %v", tc.latency, err, tc.wantErr)
			}
			if got := time.Since(start); err == nil && got < tc.latency {
				t.Errorf("answered after %v; want at least %v", got, tc.latency)
			}
		})
	}
}

func TestCloseReleasesHungRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.srv.FailNext(EndpointDebugToken, Fault{Hang: true})
	done := make(chan error, 1)
	go func() {
		_, err := trySend(t.Context(), w.srv.Client(), w.srv.URL, w.debugRequest())
		done <- err
	}()
	for len(w.srv.Requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() {
		w.srv.Close()
		close(closed)
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("hung request = nil error; want the connection aborted")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hung request still waiting 10s after Close")
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close() still running after 10s")
	}
}

// bucEntry is one entry of X-Business-Use-Case-Usage.
type bucEntry struct {
	Type                        string `json:"type"`
	CallCount                   int    `json:"call_count"`
	EstimatedTimeToRegainAccess int    `json:"estimated_time_to_regain_access"`
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	list := func(w *world, token string) request {
		return request{method: http.MethodGet, path: "/v27.0/" + w.tokenBusiness(token) + "/system_users", header: bearer(token)}
	}
	callCount := func(t *testing.T, res result) int {
		t.Helper()
		var usage struct {
			CallCount int `json:"call_count"`
		}
		if err := json.Unmarshal([]byte(res.header.Get("X-App-Usage")), &usage); err != nil {
			t.Fatalf("X-App-Usage = %q: %v", res.header.Get("X-App-Usage"), err)
		}
		return usage.CallCount
	}
	// wantThrottled checks a Business Use Case throttle: code 80004 with
	// subcode 2446079 and X-Business-Use-Case-Usage, for calls made with a
	// system user token. Meta's rate-limiting page lists "error code 80004,
	// error subcode 2446079" for Ads Management, and its sample throttle
	// errors carry no is_transient: a client must classify them by code.
	wantThrottled := func(t *testing.T, w *world, res result, regain int) {
		t.Helper()
		if e := wantError(t, res, http.StatusBadRequest, 80004, 2446079); e.IsTransient || !strings.HasPrefix(e.Message, "(#80004) There have been too many calls") {
			t.Errorf("error = %+v; want (#80004) There have been too many calls, without is_transient", e)
		}
		if got := callCount(t, res); got != 100 {
			t.Errorf("X-App-Usage call_count = %d; want 100", got)
		}
		var buc map[string][]bucEntry
		if err := json.Unmarshal([]byte(res.header.Get("X-Business-Use-Case-Usage")), &buc); err != nil {
			t.Fatalf("X-Business-Use-Case-Usage = %q: %v", res.header.Get("X-Business-Use-Case-Usage"), err)
		}
		if e := buc[w.fx.BusinessID]; len(e) != 1 || e[0].EstimatedTimeToRegainAccess != regain || e[0].CallCount != 100 || e[0].Type != "ads_management" {
			t.Errorf("X-Business-Use-Case-Usage = %v; want business %s at 100%% of ads_management regaining access in %d minutes", buc, w.fx.BusinessID, regain)
		}
	}
	// wantAppThrottled checks an app throttle: code 4 with X-App-Usage at
	// 100 percent and no Business Use Case header, for app token calls.
	wantAppThrottled := func(t *testing.T, res result) {
		t.Helper()
		if e := wantError(t, res, http.StatusBadRequest, 4, 0); e.IsTransient || e.Message != "(#4) Application request limit reached" {
			t.Errorf("error = %+v; want (#4) Application request limit reached, without is_transient", e)
		}
		if got := callCount(t, res); got != 100 {
			t.Errorf("X-App-Usage call_count = %d; want 100", got)
		}
		if h := res.header.Get("X-Business-Use-Case-Usage"); h != "" {
			t.Errorf("X-Business-Use-Case-Usage = %q; want none with code 4", h)
		}
	}

	tests := []struct {
		name string
		run  func(t *testing.T, w *world)
	}{{
		name: "counts calls per app and refuses the one over the limit",
		run: func(t *testing.T, w *world) {
			w.srv.SetRateLimit(3, 90*time.Second)
			for i, want := range []int{33, 66, 100} {
				res := w.send(t, list(w, w.fx.AdminToken))
				wantOK(t, res)
				if got := callCount(t, res); got != want {
					t.Errorf("call %d: X-App-Usage call_count = %d; want %d", i+1, got, want)
				}
				// Meta: "All API responses made by your app that are rate
				// limited using the BUC logic include an
				// X-Business-Use-Case-Usage" header, not only the refused one.
				var buc map[string][]bucEntry
				if err := json.Unmarshal([]byte(res.header.Get("X-Business-Use-Case-Usage")), &buc); err != nil {
					t.Fatalf("call %d: X-Business-Use-Case-Usage = %q: %v", i+1, res.header.Get("X-Business-Use-Case-Usage"), err)
				}
				if e := buc[w.fx.BusinessID]; len(e) != 1 || e[0].CallCount != want || e[0].EstimatedTimeToRegainAccess != 0 {
					t.Errorf("call %d: X-Business-Use-Case-Usage = %v; want business %s at %d%%, regain 0", i+1, buc, w.fx.BusinessID, want)
				}
			}
			wantThrottled(t, w, w.send(t, list(w, w.fx.AdminToken)), 2)
			// An app token of the same app counts for the same app, and so
			// does a refresh, by its client_id.
			wantAppThrottled(t, w.send(t, w.debugRequest()))
			wantAppThrottled(t, w.send(t, request{method: http.MethodGet, path: "/v27.0/oauth/access_token", params: url.Values{
				"grant_type": {"fb_exchange_token"}, "client_id": {w.fx.AppID}, "client_secret": {w.fx.AppSecret},
				"fb_exchange_token": {w.fx.AdminToken},
			}}))
			// Another app has its own budget.
			if res := w.send(t, list(w, w.otherToken)); res.status != http.StatusOK || callCount(t, res) != 33 {
				t.Errorf("other app's call = HTTP %d, call_count %d; want 200 and 33", res.status, callCount(t, res))
			}
		},
	}, {
		name: "a refused call does nothing",
		run: func(t *testing.T, w *world) {
			req := w.mintRequest(t)
			w.srv.SetRateLimit(1, time.Minute)
			wantOK(t, w.send(t, w.debugRequest()))
			wantThrottled(t, w, w.send(t, req), 1)
			if got := w.srv.Minted(); got != 0 {
				t.Errorf("Minted() = %d; want 0", got)
			}
		},
	}, {
		name: "the window slides on the emulator clock",
		run: func(t *testing.T, w *world) {
			const window = time.Hour
			w.srv.SetRateLimit(1, window)
			wantOK(t, w.send(t, list(w, w.fx.AdminToken)))
			wantThrottled(t, w, w.send(t, list(w, w.fx.AdminToken)), 60)
			w.srv.Advance(window / 2) // the first call still counts
			wantThrottled(t, w, w.send(t, list(w, w.fx.AdminToken)), 30)
			w.srv.Advance(window / 2) // now it has left the window
			wantOK(t, w.send(t, list(w, w.fx.AdminToken)))
		},
	}, {
		name: "a zero limit removes it",
		run: func(t *testing.T, w *world) {
			w.srv.SetRateLimit(1, time.Minute)
			wantOK(t, w.send(t, list(w, w.fx.AdminToken)))
			w.srv.SetRateLimit(0, 0)
			for range 3 {
				if res := w.send(t, list(w, w.fx.AdminToken)); res.status != http.StatusOK || res.header.Get("X-App-Usage") != "" {
					t.Errorf("call without limit = HTTP %d, X-App-Usage %q; want 200 and none", res.status, res.header.Get("X-App-Usage"))
				}
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newWorld(t))
		})
	}
}

// tokenBusiness returns the business of a token the server knows.
func (w *world) tokenBusiness(token string) string {
	ts, _ := w.srv.Token(token)
	return ts.BusinessID
}
