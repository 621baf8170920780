package front

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/pkg/mint"
)

func TestGraphURLAndVersion(t *testing.T) {
	t.Parallel()
	if got, err := GraphURL(""); err != nil || got != mint.DefaultBaseURL {
		t.Errorf(`GraphURL("") = %q, %v; want %q`, got, err, mint.DefaultBaseURL)
	}
	if _, err := GraphURL("http://graph.example.com"); err == nil {
		t.Errorf("GraphURL(http non-loopback) = nil error; want a refusal")
	}
	if got, err := GraphVersion(""); err != nil || got != mint.DefaultVersion {
		t.Errorf(`GraphVersion("") = %q, %v; want %q`, got, err, mint.DefaultVersion)
	}
	if _, err := GraphVersion("27"); err == nil {
		t.Errorf(`GraphVersion("27") = nil error; want a refusal`)
	}
}

func TestParseScopes(t *testing.T) {
	t.Parallel()
	scopes, unlisted, err := ParseScopes("ads_read, brand_new", true)
	if err != nil || !slices.Equal(scopes, []string{"ads_read", "brand_new"}) || !slices.Equal(unlisted, []string{"brand_new"}) {
		t.Errorf("ParseScopes(allowed) = %v, %v, %v; want both scopes, brand_new unlisted", scopes, unlisted, err)
	}
	var uerr *mint.UnlistedScopeError
	if _, _, err := ParseScopes("ads_read brand_new", false); !errors.As(err, &uerr) || !slices.Equal(uerr.Scopes, []string{"brand_new"}) {
		t.Errorf("ParseScopes(not allowed) = %v; want an UnlistedScopeError naming brand_new", err)
	}
	if _, _, err := ParseScopes("Ads-Read", true); err == nil || errors.As(err, &uerr) {
		t.Errorf("ParseScopes(malformed) = %v; want a refusal that allowing cannot lift", err)
	}
}

// TestWaiting checks that a front end's Graph client says each wait Meta
// asked for before it starts, and no backoff between two attempts.
func TestWaiting(t *testing.T) {
	t.Parallel()
	if p := RetryPolicy(); p.MaxDelay != MaxThrottleWait || p.MaxAttempts != mint.DefaultRetryPolicy().MaxAttempts {
		t.Errorf("RetryPolicy() = %+v; want mint's default with MaxDelay %s", p, MaxThrottleWait)
	}
	var said []string
	fake := clock.NewFake(time.Now())
	c := waitingClient(t, throttleOnce(), fake, &said)
	if _, err := c.DebugToken(t.Context(), mint.App{ID: "1", Secret: "s"}, "EAAtoken"); err != nil {
		t.Fatalf("DebugToken() = %v; want the second attempt's answer", err)
	}
	if got := fake.Slept(); !slices.Equal(got, []time.Duration{time.Minute}) {
		t.Errorf("waits = %v; want Meta's minute", got)
	}
	if len(said) != 1 || !strings.Contains(said[0], "waiting 1m0s before calling Graph again") {
		t.Errorf("said %q; want the minute's wait, once", said)
	}
}

// throttleOnce answers a throttle whose usage header asks for a minute,
// then a valid debug_token answer.
func throttleOnce() roundTripper {
	n := 0
	return func(r *http.Request) (*http.Response, error) {
		n++
		if n == 1 {
			h := http.Header{"X-Business-Use-Case-Usage": {`{"1":[{"type":"ads_management","call_count":100,"estimated_time_to_regain_access":1}]}`}}
			return answer(r, 400, h, `{"error":{"message":"(#80004) There have been too many calls","type":"OAuthException","code":80004}}`), nil
		}
		return answer(r, 200, http.Header{}, `{"data":{"app_id":"1","type":"SYSTEM_USER","is_valid":true,"expires_at":0,"scopes":[]}}`), nil
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// answer is Graph's answer to r: status, header h and body.
func answer(r *http.Request, status int, h http.Header, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: h, Request: r, Body: io.NopCloser(strings.NewReader(body))}
}

// waitingClient is a front end's Graph client (NewClient) that sends
// through rt and waits with fake (Waiting), appending each notice of a
// wait to said. Its calls must come one at a time.
func waitingClient(t *testing.T, rt roundTripper, fake *clock.Fake, said *[]string) *mint.Client {
	t.Helper()
	c, err := NewClient("", "", Waiting(func(s string) { *said = append(*said, s) }, fake.Sleep), mint.WithHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWaitingHostileEstimates: whatever estimated_time_to_regain_access a
// hostile Graph sends on every attempt, a front end's client waits at most
// MaxThrottleWait a time, and once between two of its attempts (without a
// deadline, as the CLI runs: (attempts-1) x 2 minutes a call), says each
// such wait, and waits nothing it would not say but the short backoffs.
func TestWaitingHostileEstimates(t *testing.T) {
	t.Parallel()
	attempts := RetryPolicy().MaxAttempts
	for _, tt := range []struct {
		regain    string
		wantWaits int // of the estimate, each said
		wantWait  time.Duration
	}{
		{regain: "2", wantWaits: attempts - 1, wantWait: 2 * time.Minute},
		{regain: "3"},
		{regain: "-5"},
		{regain: "1e300"},
		{regain: `"99999999999999999999"`},
	} {
		t.Run(tt.regain, func(t *testing.T) {
			t.Parallel()
			var said []string
			fake := clock.NewFake(time.Now())
			calls := 0
			rt := roundTripper(func(r *http.Request) (*http.Response, error) {
				calls++
				h := http.Header{"X-Business-Use-Case-Usage": {`{"1":[{"type":"ads_management","call_count":100,"estimated_time_to_regain_access":` + tt.regain + `}]}`}}
				return answer(r, 400, h, `{"error":{"message":"(#80004) There have been too many calls","type":"OAuthException","code":80004}}`), nil
			})
			c := waitingClient(t, rt, fake, &said)
			if _, err := c.DebugToken(t.Context(), mint.App{ID: "1", Secret: "s"}, "EAAtoken"); err == nil {
				t.Fatal("DebugToken() = nil error; want the throttle")
			}
			var long []time.Duration
			for _, d := range fake.Slept() {
				if d >= noticeWait {
					long = append(long, d)
				}
			}
			if len(long) != tt.wantWaits || len(said) != tt.wantWaits {
				t.Fatalf("waits = %v, said %q; want %d of %s, each said", fake.Slept(), said, tt.wantWaits, tt.wantWait)
			}
			for _, d := range long {
				if d != tt.wantWait {
					t.Errorf("waits = %v; want %s each", long, tt.wantWait)
				}
			}
			if wantCalls := tt.wantWaits + 1; tt.wantWaits > 0 && calls != wantCalls {
				t.Errorf("calls = %d; want %d", calls, wantCalls)
			}
		})
	}
}

// TestWaitingOnlyForAThrottle: a usage header asking for a wait on an
// answer that is not a throttle (a transient code 2, whose header reports a
// budget another use case exhausted) makes no wait of Meta's minutes, and no
// notice saying Meta throttles: the retry backs off as for any transient
// error.
func TestWaitingOnlyForAThrottle(t *testing.T) {
	t.Parallel()
	var said []string
	fake := clock.NewFake(time.Now())
	n := 0
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		n++
		h := http.Header{"X-Business-Use-Case-Usage": {`{"1":[{"type":"whatsapp_business_management","call_count":100,"estimated_time_to_regain_access":2}]}`}}
		if n == 1 {
			return answer(r, 500, h, `{"error":{"message":"Service temporarily unavailable","type":"OAuthException","code":2,"is_transient":true}}`), nil
		}
		return answer(r, 200, h, `{"data":{"app_id":"1","type":"SYSTEM_USER","is_valid":true,"expires_at":0,"scopes":[]}}`), nil
	})
	c := waitingClient(t, rt, fake, &said)
	if _, err := c.DebugToken(t.Context(), mint.App{ID: "1", Secret: "s"}, "EAAtoken"); err != nil {
		t.Fatalf("DebugToken() = %v; want the second attempt's answer", err)
	}
	if got := fake.Slept(); len(got) != 1 || got[0] >= noticeWait || len(said) != 0 {
		t.Errorf("waits = %v, said %q; want one short backoff, unsaid", got, said)
	}
}
