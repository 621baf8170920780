package main

import (
	"testing"

	"github.com/metamint/metamint/internal/awstest"
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
