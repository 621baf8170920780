package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/internal/pace"
	"github.com/metamint/metamint/internal/rotation"
)

// Tests of a run at Secrets Manager's quotas: throttles waited out, never
// a revoked token or a failed secret.

// revokedTokens counts the fixture system user's revoked tokens.
func revokedTokens(w *world) int {
	n := 0
	for _, tok := range w.srv.Tokens() {
		if tok.UserID == w.fx.SystemUserID && tok.Revoked {
			n++
		}
	}
	return n
}

// TestThrottledStoreNotRevoked: the PutSecretValue of a run's new token is
// answered ThrottlingException (as when a throttle outlasts the pacing's
// backoffs). A throttle is "not now": the same write is sent again, the
// token is stored, not revoked, and the secret rotates.
func TestThrottledStoreNotRevoked(t *testing.T) {
	t.Parallel()
	proxy := awstest.NewProxy(t, motoURL(t))
	w := newWorld(t, withEndpoint(proxy.URL))
	id := w.putSecret("throttled", w.baseFields(w.issue(5*day)))
	throttle := proxy.Inject(awstest.Fault{Op: "PutSecretValue", Times: 1, Status: 400, ErrorType: "ThrottlingException", Message: "Rate exceeded"})
	resp, err := w.h.Handle(t.Context(), directEventJSON(false, id))
	if err != nil {
		t.Fatal(err)
	}
	if throttle.Hits() != 1 {
		t.Fatalf("throttled PutSecretValue = %d; want 1", throttle.Hits())
	}
	if r := resp.Results[0]; r.Status != rotation.StatusRotated {
		t.Errorf("result = %+v; want rotated", r)
	}
	if n := revokedTokens(w); n != 0 {
		t.Errorf("revoked tokens = %d; want 0: a throttle never costs a token", n)
	}
	if o := orphanTokens(t, w, id); len(o) != 0 {
		t.Errorf("orphan live tokens = %d; want 0", len(o))
	}
}

// TestThrottledMoveDeferred: every UpdateSecretVersionStage is throttled
// (a throttle that outlasts the retries). The secret is deferred, not
// failed; its new token stays AWSPENDING, usable, and the next run moves
// AWSCURRENT to it without minting again; nothing is revoked.
func TestThrottledMoveDeferred(t *testing.T) {
	t.Parallel()
	proxy := awstest.NewProxy(t, motoURL(t))
	w := newWorld(t, withEndpoint(proxy.URL))
	id := w.putSecret("throttled", w.baseFields(w.issue(5*day)))
	throttle := proxy.Inject(awstest.Fault{Op: "UpdateSecretVersionStage", Times: awstest.Forever, Status: 400, ErrorType: "ThrottlingException", Message: "Rate exceeded"})
	resp, err := w.h.Handle(t.Context(), directEventJSON(false, id))
	if err != nil {
		t.Fatalf("Handle() = %v; want no error: a throttled secret is deferred, and the run does not fail", err)
	}
	if r := resp.Results[0]; r.Status != rotation.StatusDeferred {
		t.Fatalf("result = %+v; want deferred", r)
	}
	pending := w.versionWith(id, rotation.StagePending)
	if pending == "" {
		t.Fatalf("no AWSPENDING after the deferred run; want the new token kept pending")
	}
	throttle.Remove()
	minted := w.srv.Minted()
	next, err := w.h.Handle(t.Context(), directEventJSON(false, id))
	if err != nil {
		t.Fatal(err)
	}
	if r := next.Results[0]; r.Status != rotation.StatusRotated || r.VersionID != pending {
		t.Errorf("next run = %+v; want rotated to the pending version %s", r, pending)
	}
	if got := w.srv.Minted(); got != minted {
		t.Errorf("tokens minted by the next run = %d; want 0 (it resumes)", got-minted)
	}
	if n := revokedTokens(w); n != 0 {
		t.Errorf("revoked tokens = %d; want 0", n)
	}
}

// quotaWorld is a world behind a proxy whose Secrets Manager writes (and
// RotateSecret) are limited to proxyRate a second, burst proxyRate, with
// the function's writes paced at writeRate; n due secrets are created
// before the quota is put in force. With clk, the quota and the pacer run
// on it (the pacer's waits move it on at once), so throttles come by
// count; nil means the real clock.
func quotaWorld(t *testing.T, n int, proxyRate, writeRate float64, clk *clock.Fake, opts ...worldOption) (*world, *awstest.Proxy, *awstest.Limit, *pace.Pacer, []string) {
	t.Helper()
	proxy := awstest.NewProxy(t, motoURL(t))
	p := pace.New(writeRate)
	var quotaNow func() time.Time
	if clk != nil {
		p.Now, p.Sleep, p.Rand, quotaNow = clk.Now, clk.Sleep, func() float64 { return 0.5 }, clk.Now
	}
	w := newWorld(t, append([]worldOption{withEndpoint(proxy.URL), withPacing(p)}, opts...)...)
	ids := make([]string, n)
	now := w.srv.Now()
	for i := range ids {
		f := w.baseFields(w.issue(5 * day))
		// The stored expiry: the later a secret is created, the sooner.
		f["expires_at"] = now.Add(5*day + time.Duration(n-i)*time.Hour).UTC().Format(time.RFC3339)
		f["issued_at"] = now.Add(-55 * day).UTC().Format(time.RFC3339)
		ids[i] = w.putSecret(fmt.Sprintf("s%03d", i), f)
	}
	limit := proxy.Limit(awstest.Quota{Ops: awstest.WriteOps, Rate: proxyRate, Now: quotaNow})
	proxy.Limit(awstest.Quota{Ops: []string{"RotateSecret"}, Rate: proxyRate, Now: quotaNow})
	return w, proxy, limit, p, ids
}

// unfinishable returns the secrets left with an AWSPENDING version (other
// than AWSCURRENT's) whose token is not a live token of the system user: a
// pending version no later run can finish.
func unfinishable(w *world, ids []string) []string {
	w.t.Helper()
	var bad []string
	now := w.srv.Now()
	for _, id := range ids {
		v := w.versionWith(id, rotation.StagePending)
		if v == "" || v == w.versionWith(id, rotation.StageCurrent) {
			continue
		}
		tok, _ := w.value(id, v, "")["access_token"].(string)
		st, ok := w.srv.Token(tok)
		if !ok || st.Revoked || st.UserID != w.fx.SystemUserID || (!st.ExpiresAt.IsZero() && !st.ExpiresAt.After(now)) {
			bad = append(bad, id)
		}
	}
	return bad
}

// TestQuotaPacedRun: a run paced at the proxy's quota (12 writes a second)
// rotates every secret, and no write after the quota's first burst is
// throttled (by count: the ordinal of the last throttled write). The quota
// and the pacer share a fake clock that only the pacer's waits move on, so
// how late a write reaches the proxy, on a busy machine, changes nothing:
// only the pacing does.
func TestQuotaPacedRun(t *testing.T) {
	t.Parallel()
	const n, rate = 24, 12
	w, _, limit, p, ids := quotaWorld(t, n, rate, rate, clock.NewFake(time.Now()))
	resp, err := w.h.Handle(t.Context(), directEventJSON(false, ids...))
	if err != nil {
		t.Fatalf("Handle() = %v", err)
	}
	if s := resp.Summary; s.Rotated != n || s.Failed != 0 {
		t.Fatalf("summary = %+v; want %d rotated", s, n)
	}
	st := limit.Stats()
	if st.LastThrottled > rate {
		t.Errorf("write quota: %+v; want no throttled write after the first burst of %d", st, rate)
	}
	if st.Admitted < 2*n {
		t.Errorf("writes admitted = %d; want at least 2 per secret", st.Admitted)
	}
	if n := revokedTokens(w); n != 0 {
		t.Errorf("revoked tokens = %d; want 0", n)
	}
	t.Logf("writes: %+v; pacer: %+v", st, p.Stats())
}

// TestQuotaSqueezed: the function is told it may write at 2.5 times what
// the proxy allows (another writer has the rest of the account's quota),
// and the invocation's deadline comes before every secret is done. No
// secret fails, no token is revoked, the run slows down, the rest are
// deferred, and no secret is left with an AWSPENDING it cannot finish: the
// next run, the quota lifted, rotates every deferred secret.
//
// Nothing depends on the machine's speed: the quota and the pacer share a
// fake clock that the pacer's waits move on, and the deadline's margin is
// reached by count: once the run has moved AWSCURRENT moveBudget times
// (throttled attempts included), the run's clock says less than the
// margin is left, and no other secret starts. The secrets already started
// finish, as they do within the margin.
func TestQuotaSqueezed(t *testing.T) {
	t.Parallel()
	const n, concurrency, moveBudget = 30, 4, 8
	clk := clock.NewFake(time.Now())
	w, proxy, limit, p, ids := quotaWorld(t, n, 4, 10, clk, withConfig(func(c *config) { c.concurrency = concurrency }))
	w.h.fleet.Margin, w.h.fleet.Reserve, w.h.rot.Headroom = 3*time.Second, 500*time.Millisecond, time.Second
	var moves atomic.Int32
	proxy.Inject(awstest.Fault{Op: "UpdateSecretVersionStage", Times: awstest.Forever, Match: func(body map[string]any) bool {
		if body["VersionStage"] == rotation.StageCurrent {
			moves.Add(1)
		}
		return false // counts, never strikes
	}})
	w.h.fleet.TimeLeft = func(deadline time.Time) time.Duration {
		if moves.Load() >= moveBudget {
			return 0
		}
		return time.Until(deadline)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	resp, err := w.h.Handle(ctx, directEventJSON(false, ids...))
	if err != nil {
		t.Fatalf("Handle() = %v; want no error: nothing fails", err)
	}
	s := resp.Summary
	// At most moveBudget secrets moved AWSCURRENT before the margin was
	// reached, and at most concurrency others had started by then.
	if s.Failed != 0 || s.Rotated == 0 || s.Rotated > moveBudget+concurrency || s.Rotated+s.Deferred != n {
		t.Fatalf("summary = %+v; want 1 to %d rotated, the rest deferred, none failed\nresults: %+v", s, moveBudget+concurrency, resp.Results)
	}
	for _, r := range resp.Results {
		if r.Status == rotation.StatusDeferred && !strings.Contains(r.Reason, "less than 3s of the invocation was left") {
			t.Errorf("deferred result %+v; want the deadline's margin as its reason", r)
		}
	}
	// Most urgent first: the last created (soonest stored expiry) rotated,
	// the first created (latest) deferred.
	if first, last := resp.Results[n-1], resp.Results[0]; first.Status != rotation.StatusRotated || last.Status != rotation.StatusDeferred {
		t.Errorf("the most urgent secret %s, the least %s; want rotated and deferred", first.Status, last.Status)
	}
	st := limit.Stats()
	if st.Throttled == 0 {
		t.Errorf("write quota: %+v; want throttled writes: the run was told 2.5 times the quota", st)
	}
	if ps := p.Stats(); ps.Cuts == 0 {
		t.Errorf("pacer: %+v; want the rate cut after throttles", ps)
	}
	if n := revokedTokens(w); n != 0 {
		t.Errorf("revoked tokens = %d; want 0: a throttle never costs a token", n)
	}
	if bad := unfinishable(w, ids); len(bad) != 0 {
		t.Errorf("secrets with an AWSPENDING no run can finish: %q", bad)
	}
	t.Logf("squeezed run: %+v; writes %+v; pacer %+v, rate now %.2f", s, st, p.Stats(), p.Rate())

	limit.Remove()
	next, err := w.h.Handle(t.Context(), directEventJSON(false, ids...))
	if err != nil {
		t.Fatalf("next Handle() = %v", err)
	}
	if ns := next.Summary; ns.Rotated != s.Deferred || ns.Failed != 0 || ns.NotDue != s.Rotated {
		t.Errorf("next run = %+v; want the %d deferred rotated and the %d rotated not due", ns, s.Deferred, s.Rotated)
	}
	if n := revokedTokens(w); n != 0 {
		t.Errorf("revoked tokens after the next run = %d; want 0", n)
	}
}
