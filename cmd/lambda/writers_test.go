package main

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/internal/rotation"
)

// Other writers acting on a secret while a run works on it, at an exact
// point of the run (the fault proxy's Fault.Do): the run judges by
// AWSCURRENT as it is when it acts, and never revokes a token AWSCURRENT
// holds.

// TestRestoredValueNotRevoked: a version marked for revocation is due; a
// run, not due itself, settles it, and just before (between the run's
// first read of AWSCURRENT and its revocations) a person restores that
// version's value as a new AWSCURRENT (PutSecretValue, default stages: a
// rollback). The token is AWSCURRENT's now: it is not revoked.
func TestRestoredValueNotRevoked(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id := s.putSecret("s00", s.baseFields(s.issue(50*day)))
	old, oldV := s.issue(30*day), newUUID()
	s.putVersion(t, id, oldV, s.baseFields(old), fmt.Sprintf("%s%d_%s", rotation.StageRevokePrefix, s.srv.Now().Add(-time.Hour).Unix(), oldV))
	var describes atomic.Int32
	restore := s.c.inject(awstest.Fault{Op: "DescribeSecret", Times: 1,
		Match: func(map[string]any) bool { return describes.Add(1) == 2 }, // the revocations' own describe
		Do:    func() { s.putVersion(t, id, newUUID(), s.baseFields(old)) }})
	if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusNotDue {
		t.Fatalf("result = %+v; want not_due", r)
	}
	if restore.Hits() != 1 {
		t.Fatalf("the restore ran %d times; want once, before the revocations", restore.Hits())
	}
	if s.currentToken(id) != old {
		t.Fatalf("AWSCURRENT does not hold the restored token")
	}
	if s.revoked(old) {
		t.Errorf("the token AWSCURRENT holds was revoked")
	}
	if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusNotDue || s.revoked(old) {
		t.Errorf("next run = %+v, AWSCURRENT's token revoked %v; want not_due, live", r, s.revoked(old))
	}
	assertNoSecrets(t, "the logs", s.logs.String(), secretsOf(s.srv, s.fx))
}

// TestShortLivedPendingNotAdopted: another tool left AWSPENDING holding a
// valid token of the secret's app, system user and scopes, with
// AWSCURRENT's fields, that expires sooner than the due current token (two
// days against five). Finishing it would move AWSCURRENT to a token that
// is due at once, and expires before the one it replaced: the run
// supersedes it, and rotates to a fresh token.
func TestShortLivedPendingNotAdopted(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ids := s.secrets(1)
	id := ids[0]
	initial := initialTokens(s, ids)
	short := s.issue(2 * day)
	s.putVersion(t, id, newUUID(), s.baseFields(short), rotation.StagePending)
	s.baseline[short] = true
	if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusRotated {
		t.Fatalf("result = %+v; want rotated", r)
	}
	if cur := s.currentToken(id); cur == short {
		t.Fatalf("AWSCURRENT holds the short-lived pending token; want a fresh one")
	}
	if tok, _ := s.srv.Token(s.currentToken(id)); !tok.ExpiresAt.After(s.srv.Now().Add(30 * day)) {
		t.Errorf("AWSCURRENT's token expires at %v; want a fresh token", tok.ExpiresAt)
	}
	if again := s.runOnce(t, directEventJSON(false, id)); again.Status != rotation.StatusNotDue {
		t.Errorf("next run = %+v; want not_due", again)
	}
	s.check(t, ids, initial)
}
