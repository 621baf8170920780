package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// TestThrottleWaitIsSaid: when Meta throttles and its usage headers ask for
// a wait (here X-Ad-Account-Usage's reset_time_duration, 5 seconds: the
// shortest wait that is announced), the command says so on standard error,
// once, with no secret, waits it (on a fake clock), then calls Graph again
// and succeeds.
func TestThrottleWaitIsSaid(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	env := w.env()
	env[envToken] = w.issue(tokenLife)
	w.s.FailNext(minttest.EndpointDebugToken, minttest.Fault{
		Error:  &minttest.Error{Message: "(#80004) There have been too many calls to this ad-account.", Type: "OAuthException", Code: 80004},
		Header: http.Header{"X-Ad-Account-Usage": {`{"acc_id_util_pct":100,"reset_time_duration":5}`}},
	})
	fake := clock.NewFake(time.Now())
	sleep := func(c *cli) { c.sleep = fake.Sleep }
	r := runCLIWith(t, env, "", []func(*cli){sleep}, "inspect", "--app-id", w.fx.AppID)
	if r.code != 0 {
		t.Fatalf("inspect = %d, %q; want 0 once the wait passed", r.code, r.stderr)
	}
	if got := fake.Slept(); !slices.Equal(got, []time.Duration{5 * time.Second}) {
		t.Errorf("waits = %v; want Meta's 5s, once", got)
	}
	const said = "metamint inspect: Meta is throttling this app or business: waiting 5s before calling Graph again"
	if n := strings.Count(r.stderr, said); n != 1 {
		t.Errorf("stderr = %q; want %q once", r.stderr, said)
	}
	if got := len(w.s.Requests()); got != 2 {
		t.Errorf("requests = %d; want 2 (the throttled one, then the answered one)", got)
	}
	for _, secret := range []string{env[envToken], w.fx.AppSecret, w.fx.AdminToken} {
		if strings.Contains(r.stderr+r.stdout, secret) {
			t.Errorf("output holds a secret: %q", r.stderr+r.stdout)
		}
	}
}

// TestMintCallerCheckThrottled: the calling token's check, which runs beside
// the install and the create, is throttled: its wait is said on standard
// error while the install is said there too, from another goroutine, and
// the mint succeeds. Run with -race: standard error is shared.
func TestMintCallerCheckThrottled(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.s.FailNext(minttest.EndpointDebugToken, minttest.Fault{
		Error:  &minttest.Error{Message: "(#80004) There have been too many calls to this ad-account.", Type: "OAuthException", Code: 80004},
		Header: http.Header{"X-Ad-Account-Usage": {`{"acc_id_util_pct":100,"reset_time_duration":5}`}},
	})
	fake := clock.NewFake(time.Now())
	sleep := func(c *cli) { c.sleep = fake.Sleep }
	r := runCLIWith(t, w.env(), "", []func(*cli){sleep}, mintCmd(w.fx, "--install-app")...)
	if r.code != exitOK || r.stdout == "" {
		t.Fatalf("mint = %d, stdout %q, stderr %q; want 0 and the token", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"metamint mint: Meta is throttling", "metamint mint: app " + w.fx.AppID + " is installed"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr = %q; want it to contain %q", r.stderr, want)
		}
	}
}
