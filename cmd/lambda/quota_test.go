package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/awstest"
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
// before the quota is put in force.
func quotaWorld(t *testing.T, n int, proxyRate, writeRate float64, opts ...worldOption) (*world, *awstest.Limit, *pace.Pacer, []string) {
	t.Helper()
	proxy := awstest.NewProxy(t, motoURL(t))
	p := pace.New(writeRate)
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
	limit := proxy.Limit(awstest.Quota{Ops: awstest.WriteOps, Rate: proxyRate})
	proxy.Limit(awstest.Quota{Ops: []string{"RotateSecret"}, Rate: proxyRate})
	return w, limit, p, ids
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
// throttled (by count: the ordinal of the last throttled write).
func TestQuotaPacedRun(t *testing.T) {
	t.Parallel()
	const n, rate = 24, 12
	w, limit, p, ids := quotaWorld(t, n, rate, rate)
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
func TestQuotaSqueezed(t *testing.T) {
	t.Parallel()
	const n = 30
	w, limit, p, ids := quotaWorld(t, n, 4, 10, withConfig(func(c *config) { c.concurrency = 4 }))
	w.h.fleet.Margin, w.h.fleet.Reserve, w.h.rot.Headroom = 3*time.Second, 500*time.Millisecond, time.Second
	ctx, cancel := context.WithTimeout(t.Context(), 9*time.Second)
	defer cancel()
	resp, err := w.h.Handle(ctx, directEventJSON(false, ids...))
	if err != nil {
		t.Fatalf("Handle() = %v; want no error: nothing fails", err)
	}
	s := resp.Summary
	if s.Failed != 0 || s.Rotated == 0 || s.Deferred == 0 || s.Rotated+s.Deferred != n {
		t.Fatalf("summary = %+v; want some rotated, the rest deferred, none failed\nresults: %+v", s, resp.Results)
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
