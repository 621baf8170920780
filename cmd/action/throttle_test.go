package main

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/internal/front"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// throttled is Graph's answer to an app or business over its limit: code
// 80004 with the usage header that says access returns in regain minutes.
func throttled(w *world, regain int) minttest.Fault {
	return minttest.Fault{
		Error: &minttest.Error{Message: "(#80004) There have been too many calls to this ad-account.", Type: "OAuthException", Code: 80004, Subcode: 2446079},
		Header: http.Header{"X-Business-Use-Case-Usage": {`{"` + w.businessID + `":[{"type":"ads_management","call_count":100,` +
			`"total_cputime":100,"total_time":100,"estimated_time_to_regain_access":` + strconv.Itoa(regain) + `}]}`}},
	}
}

// throttledInspection throttles the new token's inspection (debug_token),
// asking for regain minutes; the calling token's check, the first
// debug_token, is answered.
func throttledInspection(regain int) func(w *world) {
	return func(w *world) {
		w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{}) // the calling token's check, answered
		w.srv.FailNext(minttest.EndpointDebugToken, throttled(w, regain))
	}
}

// TestThrottleIsNotNow: a throttle is Meta's "not now". When its estimate
// ends before the step's deadline, the step waits it out (saying so in the
// log) and goes on with the same token: it never revokes a token it minted,
// nor leaves one live it was to revoke, for a throttle. The waits go
// through an injected sleep, so the test takes no minute.
func TestThrottleIsNotNow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault func(w *world)
		post  bool // throttle the post step's revoke instead
	}{
		{name: "creating the token", fault: func(w *world) { w.srv.FailNext(minttest.EndpointAccessTokens, throttled(w, 1)) }},
		{name: "inspecting the new token", fault: throttledInspection(1)},
		{name: "revoking it in the post step", post: true, fault: func(w *world) { w.srv.FailNext(minttest.EndpointRevoke, throttled(w, 1)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			installed(w)
			fake := clock.NewFake(time.Now())
			opts := asTheStep(fake)
			if !tt.post {
				tt.fault(w)
			}
			in := w.inputs()
			r := runStep(t, w, in, []string{"/metamint-action"}, opts...)
			if r.err != nil {
				t.Fatalf("main step: %v\n%s", r.err, r.stdout)
			}
			tok := onlyMinted(t, w)
			if tok.Revoked || r.outputs[outToken] != tok.Value {
				t.Fatalf("main step: token revoked %v, handed over %v; want it handed over, live", tok.Revoked, r.outputs[outToken] == tok.Value)
			}
			out := r.stdout
			if tt.post {
				tt.fault(w)
				p := runStep(t, w, postEnv(in, r), []string{"/metamint-action", postName}, opts...)
				if p.err != nil {
					t.Fatalf("post step: %v", p.err)
				}
				if tok = onlyMinted(t, w); !tok.Revoked {
					t.Errorf("post step: the token is live; want it revoked once the throttle passed\n%s", p.stdout)
				}
				out = p.stdout
			}
			if got := fake.Slept(); !slices.Contains(got, time.Minute) {
				t.Errorf("waits = %v; want Meta's one minute among them", got)
			}
			const said = "Meta is throttling this app or business: waiting 1m0s before calling Graph again"
			if !strings.Contains(out, said) {
				t.Errorf("log = %q; want %q", out, said)
			}
		})
	}
}

// TestThrottleOutlastingTheStep: a wait Meta asks for that does not end
// before the step's deadline (2 minutes in a step of 2 minutes) or is over
// front.MaxThrottleWait is never started nor announced: the step fails at
// once with the wait in its hint. A token it minted and could not inspect
// is revoked, as after any failed inspection: nobody was handed it.
func TestThrottleOutlastingTheStep(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fault   func(w *world)
		minted  bool
		wantErr string
	}{
		{name: "creating the token, 3 minutes asked", minted: false, wantErr: "wait about 3m0s",
			fault: func(w *world) { w.srv.FailNext(minttest.EndpointAccessTokens, throttled(w, 3)) }},
		{name: "inspecting the new token, 2 minutes asked", minted: true, wantErr: "wait about 2m0s",
			fault: throttledInspection(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			installed(w)
			fake := clock.NewFake(time.Now())
			tt.fault(w)
			r := runStep(t, w, w.inputs(), []string{"/metamint-action"},
				asTheStep(fake)...)
			if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Fatalf("main step = %v; want a failure saying %q", r.err, tt.wantErr)
			}
			for _, d := range fake.Slept() {
				if d >= time.Minute {
					t.Errorf("waits = %v; want none of Meta's minutes", fake.Slept())
				}
			}
			if strings.Contains(r.stdout, "Meta is throttling this app or business: waiting") {
				t.Errorf("log = %q; want no wait announced", r.stdout)
			}
			if tt.minted {
				discarded(t, w, r)
			} else {
				noMint(t, w, r)
			}
		})
	}
}

// TestThrottledCallerCheckHoldsNothing: the calling token's check only
// warns of its expiry, and runs beside the mint "so it adds no wall time";
// the new token is inspected once it ended. A throttle on it asking for a
// minute must not hold the new token for that minute (eating the step's
// time its own inspection may need): the check gives up, the step goes on.
func TestThrottledCallerCheckHoldsNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	installed(w)
	fake := clock.NewFake(time.Now())
	w.srv.FailNext(minttest.EndpointDebugToken, throttled(w, 1)) // the calling token's check: the first debug_token
	r := runStep(t, w, w.inputs(), []string{"/metamint-action"},
		asTheStep(fake)...)
	if r.err != nil {
		t.Fatalf("main step: %v\n%s", r.err, r.stdout)
	}
	if tok := onlyMinted(t, w); tok.Revoked || r.outputs[outToken] != tok.Value {
		t.Fatalf("token revoked %v, handed over %v; want it handed over, live", tok.Revoked, r.outputs[outToken] == tok.Value)
	}
	if got := fake.Slept(); slices.Contains(got, time.Minute) {
		t.Errorf("waits = %v; want none of Meta's minute for the calling token's check", got)
	}
	if strings.Contains(r.stdout, "waiting 1m0s") {
		t.Errorf("log = %q; want no wait announced", r.stdout)
	}
}

// TestPostThrottleOutlastingTheStep: the post step's revoke throttled with
// a wait of 2 minutes, which cannot end before the step's own deadline: no
// wait is started or announced, the step warns that the token stays valid,
// with Meta's wait in the hint, and ends.
func TestPostThrottleOutlastingTheStep(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	installed(w)
	fake := clock.NewFake(time.Now())
	opts := asTheStep(fake)
	in := w.inputs()
	r := runStep(t, w, in, []string{"/metamint-action"}, opts...)
	if r.err != nil {
		t.Fatalf("main step: %v\n%s", r.err, r.stdout)
	}
	w.srv.FailNext(minttest.EndpointRevoke, throttled(w, 2))
	p := runStep(t, w, postEnv(in, r), []string{"/metamint-action", postName}, opts...)
	if p.err != nil {
		t.Fatalf("post step: %v", p.err)
	}
	if tok := onlyMinted(t, w); tok.Revoked {
		t.Errorf("the token is revoked; want it live: Graph refused the only attempt")
	}
	if got := w.count(minttest.EndpointRevoke); got != 1 {
		t.Errorf("revoke requests = %d; want 1", got)
	}
	if got := fake.Slept(); len(got) != 0 {
		t.Errorf("waits = %v; want none", got)
	}
	for _, want := range []string{"::warning::Could not revoke the token (GET /oauth/revoke)", "wait about 2m0s", "It stays valid until it expires"} {
		if !strings.Contains(p.stdout, want) {
			t.Errorf("post log = %q; want %q", p.stdout, want)
		}
	}
	if strings.Contains(p.stdout, "waiting 2m0s") {
		t.Errorf("post log = %q; want no wait announced", p.stdout)
	}
}

// asTheStep are the options of a step that waits as the real one does: its
// own retry policy and timeout, which runStep's defaults shorten, and its
// waits on fake.
func asTheStep(fake *clock.Fake) []option {
	return []option{withRetryPolicy(front.RetryPolicy()), withTimeout(defaultTimeout), withSleep(fake.Sleep)}
}
