package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// States metamint did not create and an account busy with other writers:
// a person or another tool writing at an exact point of a run (the fault
// proxy's Fault.Do), versions other tools left, throttles and lost answers
// around revocations, the staging-label quota. The run judges by AWSCURRENT
// as it is when it acts, never revokes a token AWSCURRENT (or a pending
// version) holds, and never wedges the secret.

// writeAside is the other writer's PutSecretValue, for a Fault.Do: it runs
// on the proxy's goroutine, so it reports its error instead of failing the
// test there.
func (s *scenario) writeAside(errp *error, id string, fields map[string]any, stages ...string) func() {
	return func() {
		b, err := json.Marshal(fields)
		if err == nil {
			_, err = s.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(id),
				ClientRequestToken: aws.String(newUUID()), SecretString: aws.String(string(b)), VersionStages: stages})
		}
		*errp = err
	}
}

// isRevokeMark reports whether an UpdateSecretVersionStage body moves a
// revocation label onto a version: a mark, for a Fault's Match.
func isRevokeMark(body map[string]any) bool {
	label, _ := body["VersionStage"].(string)
	_, move := body["MoveToVersionId"]
	return strings.HasPrefix(label, rotation.StageRevokePrefix) && move
}

// beforeRevocations runs do once, just before a run's second
// DescribeSecret: the one its revocations make, after the run's own.
func (s *scenario) beforeRevocations(do func()) *awstest.Rule {
	var describes atomic.Int32
	return s.c.inject(awstest.Fault{Op: "DescribeSecret", Times: 1,
		Match: func(map[string]any) bool { return describes.Add(1) == 2 }, // the revocations' own describe
		Do:    do})
}

// TestRestoredValueNotRevoked: a version marked for revocation is due; a
// run, not due itself, settles it, and just before (between the run's
// first read of AWSCURRENT and its revocations) a person restores that
// version's value as a new AWSCURRENT (PutSecretValue, default stages: a
// rollback). The token is AWSCURRENT's now: it is not revoked.
func TestRestoredValueNotRevoked(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id, _, old, _ := s.dueRevocation(t)
	var putErr error
	restore := s.beforeRevocations(s.writeAside(&putErr, id, s.baseFields(old)))
	if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusNotDue {
		t.Fatalf("result = %+v; want not_due", r)
	}
	if restore.Hits() != 1 || putErr != nil {
		t.Fatalf("the restore ran %d times (error %v); want once, before the revocations", restore.Hits(), putErr)
	}
	s.restoredKept(t, id, old)
}

// TestRestoredAfterDescribeNotRevoked: as TestRestoredValueNotRevoked, but
// the person restores the marked version's token as AWSCURRENT after the
// revocations' own describe, while the run reads that version to judge it
// (debug_token, a revoke confirmed by debug_token, Graph's waits: seconds or
// minutes go by before the revoke). Both ways a rollback is made: a new
// version holding the old value, and AWSCURRENT moved back onto the marked
// version itself. The token is AWSCURRENT's when the revoke would go out:
// it is not revoked.
func TestRestoredAfterDescribeNotRevoked(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"value put again", "label moved back"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			id, _, old, oldV := s.dueRevocation(t)
			curV := s.versionWith(id, rotation.StageCurrent)
			var restoreErr error
			do := s.writeAside(&restoreErr, id, s.baseFields(old))
			if how == "label moved back" {
				do = func() {
					_, restoreErr = s.sm.UpdateSecretVersionStage(context.Background(), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(id),
						VersionStage: aws.String(rotation.StageCurrent), MoveToVersionId: aws.String(oldV), RemoveFromVersionId: aws.String(curV)})
				}
			}
			restore := s.c.inject(awstest.Fault{Op: "GetSecretValue", Times: 1,
				Match: func(body map[string]any) bool { return body["VersionId"] == oldV }, // settling reads the version it judges
				Do:    do})
			if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusNotDue {
				t.Fatalf("result = %+v; want not_due", r)
			}
			if restore.Hits() != 1 || restoreErr != nil {
				t.Fatalf("the restore ran %d times (error %v); want once, while the marked version is judged", restore.Hits(), restoreErr)
			}
			s.restoredKept(t, id, old)
		})
	}
}

// TestMintingRefSetDuringRunNotRevoked: a version marked for revocation is
// due, and during the run (just before its revocations' describe) a person
// edits AWSCURRENT to mint with that very token: minting_token_ref now names
// a secret holding it. A token behind AWSCURRENT's minting_token_ref is
// never revoked, AWSCURRENT's as it is when settled, not as the run first
// read it.
func TestMintingRefSetDuringRunNotRevoked(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id, current, old, _ := s.dueRevocation(t)
	fields := s.baseFields(current)
	fields["minting_token_ref"] = s.putMintingToken("minting-token", `{"access_token":"`+old+`"}`)
	var putErr error
	edit := s.beforeRevocations(s.writeAside(&putErr, id, fields))
	if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusNotDue {
		t.Fatalf("result = %+v; want not_due", r)
	}
	if edit.Hits() != 1 || putErr != nil {
		t.Fatalf("the edit ran %d times (error %v); want once, before the revocations", edit.Hits(), putErr)
	}
	if s.revoked(old) || s.revoked(current) {
		t.Errorf("revoked: the token behind AWSCURRENT's minting_token_ref %v, AWSCURRENT's %v; want neither", s.revoked(old), s.revoked(current))
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

// TestThrottledRevocationWaits: Graph throttles (codes 4, 17, 32, 613,
// every attempt of the call) the debug_token or the oauth/revoke of a
// version due for revocation, as a retried finishSecret settles it. A
// throttle is "not now": the step succeeds, nothing is revoked, the
// version keeps its label and the failure is counted; the next attempt,
// once Graph answers, revokes it.
func TestThrottledRevocationWaits(t *testing.T) {
	t.Parallel()
	throttles := map[int]string{4: "Application request limit reached", 17: "User request limit reached",
		32: "Page request limit reached", 613: "Calls to this api have exceeded the rate limit."}
	for _, e := range []minttest.Endpoint{minttest.EndpointDebugToken, minttest.EndpointRevoke} {
		for code, msg := range throttles {
			t.Run(fmt.Sprintf("%s %d", e, code), func(t *testing.T) {
				t.Parallel()
				s := newScenario(t)
				id, current, old, oldV := s.dueRevocation(t)
				curV := s.versionWith(id, rotation.StageCurrent)
				s.srv.FailNext(e, minttest.Fault{Times: 3, // every attempt of the call
					Error: &minttest.Error{Message: fmt.Sprintf("(#%d) %s", code, msg), Type: "OAuthException", Code: code}})
				if _, err := s.run(t.Context(), rotationEvent(rotation.StepFinish, id, curV)); err != nil {
					t.Fatalf("finishSecret = %v; want success (a throttled revocation fails nothing)", err)
				}
				if s.revoked(old) || s.revoked(current) {
					t.Fatalf("revoked: the throttled token %v, AWSCURRENT's %v; want neither", s.revoked(old), s.revoked(current))
				}
				if got := s.revokeLabelled(id); !slices.Equal(got, []string{oldV}) {
					t.Errorf("versions waiting for revocation = %v; want [%s]", got, oldV)
				}
				if !strings.Contains(s.metrics.String(), `"RevocationsFailed":1`) {
					t.Errorf("metrics hold no RevocationsFailed 1:\n%s", s.metrics.String())
				}
				if _, err := s.run(t.Context(), rotationEvent(rotation.StepFinish, id, curV)); err != nil {
					t.Fatalf("finishSecret again = %v", err)
				}
				if !s.revoked(old) || s.revoked(current) || len(s.revokeLabelled(id)) != 0 {
					t.Errorf("after the throttle: the old token revoked %v, AWSCURRENT's %v, waiting %v; want revoked, live, none",
						s.revoked(old), s.revoked(current), s.revokeLabelled(id))
				}
			})
		}
	}
}

// labelQuotaReached is f answering, every time, as Secrets Manager does a
// write that adds a label beyond the secret's staging-label quota.
func labelQuotaReached(f awstest.Fault) awstest.Fault {
	f.Times, f.Status, f.ErrorType = awstest.Forever, 400, "LimitExceededException"
	f.Message = "You have exceeded the quota of staging labels for this secret."
	return f
}

// TestLabelQuotaDoesNotWedge: Secrets Manager allows 20 staging labels
// across a secret's versions; other tools' labels, and revocations that
// keep failing, can use them up. Marking the version that loses
// AWSPREVIOUS is then refused (LimitExceededException, every time). The
// mark must not block the rotation on every run: its revocation is due
// already (the grace period has passed since its token stopped being
// current), so the run moves AWSCURRENT and revokes it at its end.
func TestLabelQuotaDoesNotWedge(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"rotation", "direct"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			ids := s.secrets(1)
			id := ids[0]
			initial := initialTokens(s, ids)
			if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusRotated {
				t.Fatalf("first run = %+v; want rotated", r)
			}
			s.srv.Advance(rotation.DefaultRevokeGrace + time.Hour)
			quota := s.c.inject(labelQuotaReached(awstest.Fault{Op: "UpdateSecretVersionStage", Match: isRevokeMark}))
			second := s.currentToken(id)
			if path == "rotation" {
				s.rotate(t, noDeadline, id)
			} else if r := s.runOnce(t, directEventJSON(true, id)); r.Status != rotation.StatusRotated {
				t.Fatalf("forced run with the label quota reached = %+v; want rotated", r)
			}
			if s.currentToken(id) == second {
				t.Fatalf("AWSCURRENT did not move")
			}
			if quota.Hits() == 0 {
				t.Fatalf("no revocation label was refused; the scenario did not happen")
			}
			if !s.revoked(initial[id]) {
				t.Errorf("the token two generations old is live past its grace period; want it revoked")
			}
			s.check(t, ids, initial)
		})
	}
}

// TestLostLabelAnswers: in a second-generation rotation every
// UpdateSecretVersionStage commits and loses its answer: the revocation
// mark of the version losing AWSPREVIOUS, the move of AWSCURRENT, and the
// removal of the mark after the revocation. The secret rotates in that run
// or the next (a retried finishSecret), the mark written once is reused, the
// token two generations old is revoked, and no live token is left outside
// AWSCURRENT and AWSPREVIOUS.
func TestLostLabelAnswers(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"rotation", "direct"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			ids := s.secrets(1)
			id := ids[0]
			initial := initialTokens(s, ids)
			if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusRotated {
				t.Fatalf("first run = %+v; want rotated", r)
			}
			s.srv.Advance(rotation.DefaultRevokeGrace + time.Hour)
			second := s.currentToken(id)
			var token string
			if path == "rotation" {
				token = s.placeholder(id)
			}
			mark := s.c.inject(awstest.Fault{Op: "UpdateSecretVersionStage", Stage: awstest.AfterCommit, Times: awstest.Forever, Match: isRevokeMark})
			lost := s.c.inject(awstest.Fault{Op: "UpdateSecretVersionStage", Stage: awstest.AfterCommit, Times: awstest.Forever})
			if path == "rotation" {
				for _, step := range rotation.Steps {
					_, err := s.run(t.Context(), rotationEvent(step, id, token))
					if err != nil { // Secrets Manager retries a failed step
						_, err = s.run(t.Context(), rotationEvent(step, id, token))
					}
					if err != nil {
						t.Fatalf("Handle(%s) twice = %v", step, err)
					}
				}
			} else {
				resps := s.runUntilRotated(t, noDeadline, directEventJSON(true, id), 1)
				if last := resps[len(resps)-1]; last.Summary == nil || last.Summary.Rotated != 1 {
					t.Fatalf("runs = %+v; want rotated in the first or second", resps)
				}
			}
			mark.Remove()
			lost.Remove()
			if path == "rotation" {
				s.endRotation(id, token)
			}
			if mark.Hits() == 0 || lost.Hits() == 0 {
				t.Fatalf("answers lost: %d of marks, %d of other label writes; want both: the scenario did not happen", mark.Hits(), lost.Hits())
			}
			if s.currentToken(id) == second {
				t.Fatalf("AWSCURRENT did not move")
			}
			if !s.revoked(initial[id]) {
				t.Errorf("the token two generations old is live past its grace period; want it revoked")
			}
			for v := range s.stages(id) {
				if n := len(s.stages(id)[v]); n > 4 {
					t.Errorf("version %s holds %d labels (%v); want no label piling up", v, n, s.stages(id)[v])
				}
			}
			s.check(t, ids, initial)
		})
	}
}

// TestCurrentPutDuringRun: a person puts a new AWSCURRENT (PutSecretValue
// with default stages, a token of their own) after a run stored its new
// version and before it moves AWSCURRENT. The move names the version that
// no longer holds AWSCURRENT and is refused: the person's value stays
// current, nothing is revoked (neither their token nor the run's pending
// one), and the next run finds the secret not due and fails nothing.
func TestCurrentPutDuringRun(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id := s.secrets(1)[0]
	theirs := s.issue(50 * day)
	s.baseline[theirs] = true
	var putErr error
	put := s.c.inject(awstest.Fault{Op: "UpdateSecretVersionStage", Times: 1,
		Match: func(body map[string]any) bool { return body["VersionStage"] == rotation.StageCurrent },
		Do:    s.writeAside(&putErr, id, s.baseFields(theirs))})
	r := s.runOnce(t, directEventJSON(false, id))
	if put.Hits() != 1 || putErr != nil {
		t.Fatalf("the put ran %d times (error %v); want once, before the move", put.Hits(), putErr)
	}
	if r.Status != rotation.StatusFailed || r.ErrorType != "ConcurrentChangeError" {
		t.Fatalf("result = %+v; want failed, ConcurrentChangeError (the move refused)", r)
	}
	for _, want := range []string{"another writer moved AWSCURRENT", "kept", "not revoked", "next run"} {
		if !strings.Contains(r.Error, want) || !strings.Contains(s.logs.String(), want) {
			t.Errorf("the result's error %q, or the log, does not say %q", r.Error, want)
		}
	}
	if s.currentToken(id) != theirs || s.revoked(theirs) {
		t.Fatalf("AWSCURRENT holds their token %v, revoked %v; want theirs, live", s.currentToken(id) == theirs, s.revoked(theirs))
	}
	pending, _ := s.value(id, s.versionWith(id, rotation.StagePending), rotation.StagePending)["access_token"].(string)
	if pending == "" || s.revoked(pending) {
		t.Errorf("the run's stored token: %q, revoked %v; want it kept in AWSPENDING", pending, s.revoked(pending))
	}
	if again := s.runOnce(t, directEventJSON(false, id)); again.Status != rotation.StatusNotDue {
		t.Errorf("next run = %+v; want not_due", again)
	}
	if s.currentToken(id) != theirs || s.revoked(theirs) {
		t.Errorf("after the next run AWSCURRENT holds their token %v, revoked %v; want theirs, live", s.currentToken(id) == theirs, s.revoked(theirs))
	}
	assertNoSecrets(t, "the logs", s.logs.String(), secretsOf(s.srv, s.fx))
}

// TestPendingCopyOfCurrentNotAdopted: another tool left AWSPENDING on a
// copy of AWSCURRENT's value: its token is the current token. A forced run
// must not finish it (AWSCURRENT would move and the token stay the same):
// it supersedes it, without revoking the token AWSCURRENT holds, and
// rotates to a new token.
func TestPendingCopyOfCurrentNotAdopted(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	current := s.issue(50 * day)
	id := s.putSecret("s00", s.baseFields(current))
	ids := []string{id}
	s.secrets(0)
	s.putVersion(t, id, newUUID(), s.current(id), rotation.StagePending)
	r := s.runOnce(t, directEventJSON(true, id))
	if r.Status != rotation.StatusRotated {
		t.Fatalf("result = %+v; want rotated", r)
	}
	if s.currentToken(id) == current {
		t.Fatalf("AWSCURRENT still holds the token it held before the forced run")
	}
	if s.revoked(current) {
		t.Errorf("the token current until the run was revoked; want it kept as AWSPREVIOUS")
	}
	s.check(t, ids, map[string]string{id: current})
}

// TestThrottledJudgingDefers: another tool's AWSPENDING holds a usable
// token, and Graph throttles (code 613, every attempt) the debug_token that
// judges it. A throttle is "not now": the run defers the secret instead of
// superseding the version it could not judge, so the stored token is
// neither given up nor revoked; the next run finishes it.
func TestThrottledJudgingDefers(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ids := s.secrets(1)
	id := ids[0]
	initial := initialTokens(s, ids)
	theirs := s.issue(50 * day)
	s.putVersion(t, id, newUUID(), s.baseFields(theirs), rotation.StagePending)
	s.baseline[theirs] = true
	s.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{Header: map[string][]string{"X-Ok": {"1"}}}) // the current token's
	s.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{Times: 3,                                    // every attempt of the pending token's
		Error: &minttest.Error{Message: "(#613) Calls to this api have exceeded the rate limit.", Type: "OAuthException", Code: 613}})
	if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusDeferred {
		t.Errorf("result = %+v; want deferred", r)
	}
	if s.revoked(theirs) {
		t.Fatalf("the pending token was revoked after a throttle")
	}
	if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusRotated {
		t.Fatalf("next run = %+v; want rotated", r)
	}
	if s.currentToken(id) != theirs || s.revoked(theirs) {
		t.Errorf("AWSCURRENT holds the pending token %v, revoked %v; want it finished, live", s.currentToken(id) == theirs, s.revoked(theirs))
	}
	if got := s.srv.Minted(); got != 0 {
		t.Errorf("Minted() = %d; want 0 (nothing made while a usable token waited)", got)
	}
	s.check(t, ids, initial)
}

// TestOrphanHeldMeanwhileNotRevoked: a run's new token X cannot be stored
// (PutSecretValue and its repeat both throttled: provably not stored by
// this run). Meanwhile another rotation, answered the same token by the
// same refresh (Meta does not promise a new token per call), stored X as
// AWSCURRENT. The run must not revoke X as an orphan: it compares with
// AWSCURRENT as it is then, not as the run first read it.
func TestOrphanHeldMeanwhileNotRevoked(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id := s.secrets(1)[0]
	version := rotation.VersionToken(id, s.versionWith(id, rotation.StageCurrent), "")
	x := "EAAX" + randHex(24)
	s.srv.MintNextAs(x) // the run's refresh answers x
	ours := func(key string) func(map[string]any) bool {
		return func(body map[string]any) bool { return body[key] == version }
	}
	throttled := s.c.inject(awstest.Fault{Op: "PutSecretValue", Times: 2, Status: 400, ErrorType: "ThrottlingException", Message: "Rate exceeded",
		Match: ours("ClientRequestToken")})
	var putErr error
	other := s.c.inject(awstest.Fault{Op: "GetSecretValue", Times: 1, Match: ours("VersionId"), // the read-back
		Do: s.writeAside(&putErr, id, s.baseFields(x))})
	r := s.runOnce(t, directEventJSON(false, id))
	if throttled.Hits() != 2 || other.Hits() != 1 || putErr != nil {
		t.Fatalf("throttled writes %d, other writer %d (error %v); want 2, 1: the scenario did not happen (result %+v)",
			throttled.Hits(), other.Hits(), putErr, r)
	}
	if s.currentToken(id) != x {
		t.Fatalf("AWSCURRENT does not hold the token the other rotation stored")
	}
	if s.revoked(x) {
		t.Errorf("the token AWSCURRENT holds was revoked as an orphan")
	}
	assertNoSecrets(t, "the logs", s.logs.String(), append(secretsOf(s.srv, s.fx), x))
}

// staleLabel is a label another tool left on an old version of the
// secret: what a person must remove when the label quota is reached.
const staleLabel = "legacy-deploy-2019"

// TestLabelQuotaNamesTheLabels: the staging-label quota (20 across a
// secret's versions) refuses, every time, a write that adds a label: the
// PutSecretValue that stores AWSPENDING, the revocation mark of the
// version losing AWSPREVIOUS (not yet due), or the move of AWSCURRENT.
// The run fails naming the quota and the labels to remove; no stored
// token is revoked, a token made and not stored is revoked (or a log line
// says why not); once a label is removed, the next run rotates.
func TestLabelQuotaNamesTheLabels(t *testing.T) {
	t.Parallel()
	cases := map[string]awstest.Fault{
		"store": {Op: "PutSecretValue", Match: func(body map[string]any) bool {
			stages, _ := body["VersionStages"].([]any)
			return slices.Contains(stages, any(rotation.StagePending))
		}},
		"mark": {Op: "UpdateSecretVersionStage", Match: isRevokeMark},
		"move": {Op: "UpdateSecretVersionStage", Match: func(body map[string]any) bool { return body["VersionStage"] == rotation.StageCurrent }},
	}
	for name, fault := range cases {
		for _, path := range []string{"rotation", "direct"} {
			t.Run(name+" "+path, func(t *testing.T) {
				t.Parallel()
				s := newScenario(t)
				ids := s.secrets(1)
				id := ids[0]
				initial := initialTokens(s, ids)
				if name == "mark" { // a second generation, inside the grace period
					if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusRotated {
						t.Fatalf("first run = %+v; want rotated", r)
					}
				}
				stale := s.issue(time.Hour)
				s.baseline[stale] = true
				s.putVersion(t, id, newUUID(), s.baseFields(stale), staleLabel)
				held := map[string]bool{}
				for v := range s.stages(id) {
					if tok, _ := s.value(id, v, "")["access_token"].(string); tok != "" {
						held[tok] = true
					}
				}
				quota := s.c.inject(labelQuotaReached(fault))
				var msg, token string
				if path == "rotation" {
					token = s.placeholder(id)
					for _, step := range rotation.Steps {
						if _, err := s.run(t.Context(), rotationEvent(step, id, token)); err != nil {
							msg = err.Error()
							break
						}
					}
				} else {
					r := s.runOnce(t, directEventJSON(true, id))
					if r.Status != rotation.StatusFailed {
						t.Fatalf("result = %+v; want failed", r)
					}
					msg = r.Error
				}
				if quota.Hits() == 0 {
					t.Fatalf("no write was refused for the quota; the scenario did not happen")
				}
				for _, want := range []string{"20 staging labels", staleLabel} {
					if !strings.Contains(msg, want) {
						t.Errorf("the error %q does not name %q", msg, want)
					}
				}
				for tok := range held {
					if s.revoked(tok) {
						t.Errorf("a token the secret held before the run was revoked")
					}
				}
				for _, tok := range s.srv.Tokens() {
					if !tok.Revoked && !s.baseline[tok.Value] && !held[tok.Value] && !s.storedAnywhere(id, tok.Value) &&
						!strings.Contains(s.logs.String(), "it stays valid until it expires") {
						t.Errorf("a token made in the run is live, unstored, and no log line says so")
					}
				}
				quota.Remove()
				s.removeStage(id, staleLabel)
				if path == "rotation" { // Secrets Manager retries the rotation, under the same token
					for _, step := range rotation.Steps {
						if _, err := s.run(t.Context(), rotationEvent(step, id, token)); err != nil {
							t.Fatalf("Handle(%s) after the label was removed = %v", step, err)
						}
					}
					s.endRotation(id, token)
				} else if r := s.runOnce(t, directEventJSON(true, id)); r.Status != rotation.StatusRotated {
					t.Fatalf("run after the label was removed = %+v; want rotated", r)
				}
				for v := range s.stages(id) {
					if tok, _ := s.value(id, v, "")["access_token"].(string); tok != "" {
						s.baseline[tok] = true // kept by a label (a pending or marked version)
					}
				}
				s.check(t, ids, initial)
			})
		}
	}
}

// storedAnywhere reports whether a labelled version of id holds tok.
func (s *scenario) storedAnywhere(id, tok string) bool {
	for v := range s.stages(id) {
		if got, _ := s.value(id, v, "")["access_token"].(string); got == tok {
			return true
		}
	}
	return false
}

// removeStage takes label off the version of id that holds it.
func (s *scenario) removeStage(id, label string) {
	s.t.Helper()
	if _, err := s.sm.UpdateSecretVersionStage(s.t.Context(), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(id),
		VersionStage: aws.String(label), RemoveFromVersionId: aws.String(s.versionWith(id, label))}); err != nil {
		s.t.Fatalf("UpdateSecretVersionStage(%s off) = %v", label, err)
	}
}

// TestPendingMovedDuringRotation: during a rotation Secrets Manager drives,
// after createSecret stored the new token, another writer puts its own
// version as AWSPENDING, which leaves the rotation's version without
// labels. finishSecret fails (ConcurrentChangeError); the rotation's token
// is revoked when neither AWSCURRENT nor AWSPENDING holds it ("theirs": the
// other version holds its own token), and kept when the other writer's
// version holds it ("copy": it copied the rotation's value).
func TestPendingMovedDuringRotation(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"theirs", "copy"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			ids := s.secrets(1)
			id := ids[0]
			initial := initialTokens(s, ids)
			token := s.placeholder(id)
			if _, err := s.run(t.Context(), rotationEvent(rotation.StepCreate, id, token)); err != nil {
				t.Fatalf("createSecret = %v", err)
			}
			ours, _ := s.value(id, token, "")["access_token"].(string)
			fields := s.value(id, token, "")
			if kind == "theirs" {
				theirs := s.issue(50 * day)
				s.baseline[theirs] = true
				fields = s.baseFields(theirs)
			}
			other := newUUID()
			s.putVersion(t, id, other, fields, rotation.StagePending)
			if labels := s.stages(id)[token]; len(labels) != 0 {
				t.Fatalf("the rotation's version still holds %v; the scenario did not happen", labels)
			}
			_, err := s.run(t.Context(), rotationEvent(rotation.StepFinish, id, token))
			var changed *rotation.ConcurrentChangeError
			if !errors.As(err, &changed) || !strings.Contains(err.Error(), "another writer moved AWSPENDING") {
				t.Fatalf("finishSecret = %v; want a ConcurrentChangeError saying another writer moved AWSPENDING", err)
			}
			if s.currentToken(id) != initial[id] || s.revoked(initial[id]) {
				t.Fatalf("AWSCURRENT changed or its token was revoked")
			}
			if want := kind == "theirs"; s.revoked(ours) != want {
				t.Errorf("the rotation's token revoked = %v; want %v", s.revoked(ours), want)
			}
			if tok, _ := s.value(id, other, "")["access_token"].(string); s.revoked(tok) && kind == "theirs" {
				t.Errorf("the other writer's token was revoked")
			}
			assertNoSecrets(t, "the logs", s.logs.String(), secretsOf(s.srv, s.fx))
		})
	}
}

// TestLateEventOnFormerCurrentNotRevoked: a finishSecret event arrives
// late for a version that was current two rotations ago and has lost its
// labels since (revoke_previous off: its token is to live until it
// expires). The version is unlabelled as in TestPendingMovedDuringRotation,
// but its token may be in use: the step fails and revokes nothing.
func TestLateEventOnFormerCurrentNotRevoked(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	fields := s.baseFields(s.issue(5 * day))
	fields["revoke_previous"], fields["issued_at"] = false, s.srv.Now().UTC().Format(time.RFC3339)
	id := s.putSecret("s00", fields)
	ids := []string{id}
	s.secrets(0)
	initial := initialTokens(s, ids)
	first := s.versionWith(id, rotation.StageCurrent)
	for range 2 {
		s.srv.Advance(time.Hour)
		if r := s.runOnce(t, directEventJSON(true, id)); r.Status != rotation.StatusRotated {
			t.Fatalf("forced run = %+v; want rotated", r)
		}
	}
	if labels := s.stages(id)[first]; len(labels) != 0 {
		t.Fatalf("the first version still holds %v; the scenario did not happen", labels)
	}
	if _, err := s.run(t.Context(), rotationEvent(rotation.StepFinish, id, first)); err == nil {
		t.Fatalf("finishSecret of an unlabelled former current version succeeded")
	}
	if s.revoked(initial[id]) {
		t.Errorf("the token current two rotations ago was revoked by a late event")
	}
}

// TestPendingCopyOfPreviousNotRevoked: AWSCURRENT was put an hour ago
// (its token due), and the token it replaced, now AWSPREVIOUS's, expires
// within the refresh window. Another tool left AWSPENDING on a copy of
// AWSPREVIOUS's value. The due run supersedes that copy (its token is due
// itself) and rotates; AWSPREVIOUS's token, which consumers may still hold
// within the grace period, must not be revoked as the copy's: the version
// it came from is marked for revocation after the grace period, and the
// copy's token is that one.
func TestPendingCopyOfPreviousNotRevoked(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	prev := s.issue(3 * day)
	id := s.putSecret("s00", s.baseFields(prev))
	ids := []string{id}
	prevV := s.versionWith(id, rotation.StageCurrent)
	s.srv.Advance(time.Hour)
	current := s.issue(5 * day)
	s.putVersion(t, id, newUUID(), s.baseFields(current)) // default stages: AWSCURRENT, and prev becomes AWSPREVIOUS
	s.putVersion(t, id, newUUID(), s.baseFields(prev), rotation.StagePending)
	s.secrets(0)
	if s.versionWith(id, rotation.StagePrevious) != prevV {
		t.Fatalf("stages %v: AWSPREVIOUS is not on the first version; the scenario did not happen", s.stages(id))
	}
	if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusRotated {
		t.Fatalf("result = %+v; want rotated", r)
	}
	if s.revoked(prev) {
		t.Errorf("the token AWSPREVIOUS held until the run (its grace period not over) was revoked as a superseded copy's")
	}
	marked := slices.ContainsFunc(s.stages(id)[prevV], func(l string) bool { return strings.HasPrefix(l, rotation.StageRevokePrefix) })
	if !marked {
		t.Errorf("the version that lost AWSPREVIOUS holds %v; want its revocation mark, due after the grace period", s.stages(id)[prevV])
	}
	if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusNotDue || s.revoked(prev) {
		t.Errorf("next run = %+v, the former AWSPREVIOUS token revoked %v; want not_due, live until its grace period ends", r, s.revoked(prev))
	}
	s.check(t, ids, map[string]string{id: current})
}

// TestFailedMoveKeepsPrevious: the token AWSPREVIOUS holds stopped being
// current more than the grace period ago, so a rotation marks its version
// due at once before it moves AWSCURRENT; Secrets Manager then refuses the
// move (every time). The version keeps AWSPREVIOUS, and its token must
// stay live: the run fails, revoking nothing. Once the move succeeds the
// version loses AWSPREVIOUS and its token is revoked.
func TestFailedMoveKeepsPrevious(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	prev := s.issue(3 * day)
	id := s.putSecret("s00", s.baseFields(prev))
	ids := []string{id}
	prevV := s.versionWith(id, rotation.StageCurrent)
	current := s.issue(5 * day)
	fields := s.baseFields(current)
	fields["issued_at"] = s.srv.Now().Add(-3 * day).UTC().Format(time.RFC3339)
	s.putVersion(t, id, newUUID(), fields) // default stages: AWSCURRENT, and prev becomes AWSPREVIOUS
	s.secrets(0)
	refused := s.c.inject(awstest.Fault{Op: "UpdateSecretVersionStage", Times: awstest.Forever, Status: 400, ErrorType: "InvalidRequestException",
		Message: "refused", Match: func(body map[string]any) bool { return body["VersionStage"] == rotation.StageCurrent }})
	resp, _ := s.run(t.Context(), directEventJSON(false, id))
	if len(resp.Results) != 1 || resp.Results[0].Status != rotation.StatusFailed || refused.Hits() == 0 {
		t.Fatalf("results %+v, refused moves %d; want failed after a refused move", resp.Results, refused.Hits())
	}
	if s.versionWith(id, rotation.StagePrevious) != prevV {
		t.Fatalf("stages %v: AWSPREVIOUS left the first version without a move", s.stages(id))
	}
	if s.revoked(prev) {
		t.Errorf("the token AWSPREVIOUS holds was revoked after the move of AWSCURRENT failed")
	}
	refused.Remove()
	if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusRotated {
		t.Fatalf("next run = %+v; want rotated", r)
	}
	if !s.revoked(prev) {
		t.Errorf("the token two generations old, past its grace period, is live after the move")
	}
	s.check(t, ids, map[string]string{id: current})
}

// TestWrongAppSecretKeepsRevocations: a version marked for revocation is
// due, and a person has put a wrong app secret in AWSCURRENT (the secret
// itself edited, or the secret its app_secret_ref names; as after a reset
// of the app secret in Meta's dashboard). Graph then refuses every
// debug_token for good (code 190), the version's token included: that is
// about the credential, not the token. The revocation waits: the label
// stays, the failure is counted, nothing is revoked, and the log says what
// to check once. Once the right secret is back, a later run revokes the
// token. Both paths that settle revocations: a run (the secret fails on
// its own debug_token), and a retried finishSecret (which inspects nothing
// else first).
func TestWrongAppSecretKeepsRevocations(t *testing.T) {
	t.Parallel()
	const wrong = "0badc0de0badc0de0badc0de0badc0de"
	for _, path := range []string{"run", "finishSecret"} {
		for _, where := range []string{"AWSCURRENT edited", "reference changed"} {
			t.Run(path+" "+where, func(t *testing.T) {
				t.Parallel()
				s := newScenario(t)
				id, current, old, oldV := s.dueRevocation(t)
				setSecret := func(secret string) {
					if where == "reference changed" {
						if _, err := s.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(s.appRef),
							SecretString: aws.String(`{"app_secret":"` + secret + `"}`)}); err != nil {
							t.Fatalf("PutSecretValue(app secret reference) = %v", err)
						}
						return
					}
					s.edit(t, id, func(m map[string]any) {
						delete(m, "app_secret")
						delete(m, "app_secret_ref")
						if secret == wrong {
							m["app_secret"] = secret
						} else {
							m["app_secret_ref"] = s.appRef
						}
					})
				}
				settle := func() {
					t.Helper()
					if path == "run" {
						s.runOnce(t, directEventJSON(false, id))
						return
					}
					if _, err := s.run(t.Context(), rotationEvent(rotation.StepFinish, id, s.versionWith(id, rotation.StageCurrent))); err != nil {
						t.Fatalf("finishSecret = %v; want success (a failed revocation fails nothing)", err)
					}
				}
				setSecret(wrong)
				settle()
				if s.revoked(old) || s.revoked(current) {
					t.Fatalf("revoked with a wrong app secret: the marked token %v, AWSCURRENT's %v; want neither", s.revoked(old), s.revoked(current))
				}
				if got := s.revokeLabelled(id); !slices.Equal(got, []string{oldV}) {
					t.Fatalf("versions waiting for revocation = %v; want [%s]: the label was dropped on an error about the app secret", got, oldV)
				}
				if !strings.Contains(s.metrics.String(), `"RevocationsFailed":1`) {
					t.Errorf("metrics hold no RevocationsFailed 1:\n%s", s.metrics.String())
				}
				if n := strings.Count(s.logs.String(), "cannot inspect the secret's own token"); n != 1 {
					t.Errorf("the log says %d times that the app secret cannot inspect the secret's own token; want once", n)
				}
				setSecret(s.fx.AppSecret)
				settle()
				if !s.revoked(old) || s.revoked(current) || len(s.revokeLabelled(id)) != 0 {
					t.Errorf("with the right app secret back: the marked token revoked %v, AWSCURRENT's %v, waiting %v; want revoked, live, none",
						s.revoked(old), s.revoked(current), s.revokeLabelled(id))
				}
				secrets := append(secretsOf(s.srv, s.fx), wrong, s.fx.AppID+"|"+wrong)
				assertNoSecrets(t, "the logs", s.logs.String(), secrets)
				assertNoSecrets(t, "the answers", s.answers.String(), secrets)
			})
		}
	}
}

// TestRevokeAnsweredInvalidIsChecked: oauth/revoke of a token due for
// revocation (debug_token found it live a moment before) answers code 190,
// "invalid access token". That error alone does not say the token is dead:
// debug_token says. When the revoke did happen (its answer lost), the label
// goes; when it did not, the token is live, so the label stays, the
// failure is counted, and the next run revokes it.
func TestRevokeAnsweredInvalidIsChecked(t *testing.T) {
	t.Parallel()
	for _, done := range []bool{true, false} {
		t.Run(map[bool]string{true: "revoked", false: "not revoked"}[done], func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			id, current, old, oldV := s.dueRevocation(t)
			s.srv.FailNext(minttest.EndpointRevoke, minttest.Fault{AfterEffect: done,
				Error: &minttest.Error{Message: "Error validating access token: Session is invalid.", Type: "OAuthException", Code: 190}})
			if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusNotDue {
				t.Fatalf("result = %+v; want not_due", r)
			}
			if s.revoked(old) != done || s.revoked(current) {
				t.Fatalf("the marked token revoked %v, AWSCURRENT's %v; want %v, false", s.revoked(old), s.revoked(current), done)
			}
			if done {
				if got := s.revokeLabelled(id); len(got) != 0 {
					t.Errorf("versions waiting for revocation = %v; want none (the token is revoked)", got)
				}
				return
			}
			if got := s.revokeLabelled(id); !slices.Equal(got, []string{oldV}) {
				t.Fatalf("versions waiting for revocation = %v; want [%s]: the label of a live token was dropped on an error", got, oldV)
			}
			if !strings.Contains(s.metrics.String(), `"RevocationsFailed":1`) {
				t.Errorf("metrics hold no RevocationsFailed 1:\n%s", s.metrics.String())
			}
			if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusNotDue || !s.revoked(old) || len(s.revokeLabelled(id)) != 0 {
				t.Errorf("next run = %+v, the marked token revoked %v, waiting %v; want not_due, revoked, none", r, s.revoked(old), s.revokeLabelled(id))
			}
		})
	}
}

// dueRevocation puts a managed secret s00 whose AWSCURRENT holds current (50
// days left) and an older version oldV holding old (30 days left), marked
// for a revocation due an hour ago.
func (s *scenario) dueRevocation(t *testing.T) (id, current, old, oldV string) {
	t.Helper()
	current = s.issue(50 * day)
	id = s.putSecret("s00", s.baseFields(current))
	old, oldV = s.issue(30*day), newUUID()
	s.putVersion(t, id, oldV, s.baseFields(old), fmt.Sprintf("%s%d_%s", rotation.StageRevokePrefix, s.srv.Now().Add(-time.Hour).Unix(), oldV))
	return id, current, old, oldV
}

// restoredKept checks that AWSCURRENT holds old, the token a person restored
// during the run, that it is live, and that the next run keeps it so.
func (s *scenario) restoredKept(t *testing.T, id, old string) {
	t.Helper()
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

// TestRollbackKeepsGrace: a person rolls the secret back to an older token
// (the value of an older version put again, or AWSCURRENT moved back onto
// that version): the token current until then, T3, becomes AWSPREVIOUS. The
// next rotation marks it for revocation, and its grace period counts from
// now, not from the restored value's issued_at (the older token's, 30 days
// back): T3 was current a moment ago, and a consumer that cached it keeps
// working for RevokeGrace.
func TestRollbackKeepsGrace(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"value put again", "label moved back"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			id := s.putSecret("s00", s.baseFields(s.issue(50*day)))
			if r := s.runOnce(t, directEventJSON(true, id)); r.Status != rotation.StatusRotated {
				t.Fatalf("first run = %+v; want rotated", r)
			}
			v2, t2 := s.versionWith(id, rotation.StageCurrent), s.currentToken(id)
			s.srv.Advance(30 * day)
			if r := s.runOnce(t, directEventJSON(true, id)); r.Status != rotation.StatusRotated {
				t.Fatalf("second run = %+v; want rotated", r)
			}
			v3, t3 := s.versionWith(id, rotation.StageCurrent), s.currentToken(id)
			to := v2
			if how == "value put again" {
				// The value goes in under a label of the person's own, then
				// takes AWSCURRENT: moto's PutSecretValue with AWSCURRENT
				// leaves it on a current version that also holds
				// AWSPENDING.
				var fields map[string]any
				if err := json.Unmarshal([]byte(s.raw(id, v2, "")), &fields); err != nil {
					t.Fatal(err)
				}
				to = newUUID()
				s.putVersion(t, id, to, fields, "ROLLBACK")
			}
			if _, err := s.sm.UpdateSecretVersionStage(t.Context(), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(id),
				VersionStage: aws.String(rotation.StageCurrent), MoveToVersionId: aws.String(to), RemoveFromVersionId: aws.String(v3)}); err != nil {
				t.Fatal(err)
			}
			if s.currentToken(id) != t2 || s.versionWith(id, rotation.StagePrevious) != v3 {
				t.Fatalf("the rollback did not leave T2 current and T3's version previous: %v", s.stages(id))
			}
			if r := s.runOnce(t, directEventJSON(true, id)); r.Status != rotation.StatusRotated {
				t.Fatalf("run after the rollback = %+v; want rotated", r)
			}
			if s.revoked(t3) {
				t.Fatalf("T3, AWSCURRENT's token until the rollback a moment ago, was revoked at once; want it kept for the grace period")
			}
			if !slices.Contains(s.revokeLabelled(id), v3) {
				t.Errorf("T3's version %s is not marked for revocation; labels %v", v3, s.stages(id))
			}
			s.srv.Advance(rotation.DefaultRevokeGrace + time.Hour)
			if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusNotDue {
				t.Fatalf("run after the grace period = %+v; want not_due", r)
			}
			if !s.revoked(t3) {
				t.Errorf("T3 is live after the grace period; want it revoked")
			}
			assertNoSecrets(t, "the logs", s.logs.String(), secretsOf(s.srv, s.fx))
		})
	}
}

// TestPendingWithDeletedMintingRefDoesNotWedge: another tool left an
// AWSPENDING version whose minting_token_ref names a secret since deleted
// for good. A run that is not due leaves the version alone, and settles the
// revocation that is due: a reference to a secret that does not exist holds
// no token to keep, so it blocks nothing. (It used to fail every
// revocation of the secret for as long as the version stayed pending: for
// good, with a token that never expires.)
func TestPendingWithDeletedMintingRefDoesNotWedge(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id, current, old, _ := s.dueRevocation(t)
	ref := s.putMintingToken("minting-token", `{"access_token":"`+s.issue(50*day)+`"}`)
	if _, err := s.sm.DeleteSecret(t.Context(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(ref),
		ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	fields := s.baseFields(s.issue(50 * day))
	fields["minting_token_ref"] = ref
	s.putVersion(t, id, newUUID(), fields, rotation.StagePending)
	r := s.runOnce(t, directEventJSON(false, id))
	if r.Status != rotation.StatusNotDue || r.RevocationsFailed != 0 {
		t.Errorf("result = %+v; want not_due, no revocation failed", r)
	}
	if !s.revoked(old) || s.revoked(current) {
		t.Errorf("revoked: the due version's token %v, AWSCURRENT's %v; want the first only", s.revoked(old), s.revoked(current))
	}
	assertNoSecrets(t, "the logs", s.logs.String(), secretsOf(s.srv, s.fx))
}

// TestOlderPendingNotAdopted: a person moves AWSPENDING onto an older
// version, whose token T1 was current two generations ago and waits, marked,
// for its grace period to end. A forced run does not finish it (AWSCURRENT
// would move back to a token issued before the current one): it supersedes
// it, and T1 keeps its grace period (revoked by a run after it, not at once).
func TestOlderPendingNotAdopted(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	t1 := s.issue(50 * day)
	id := s.putSecret("s00", s.baseFields(t1))
	v1 := s.versionWith(id, rotation.StageCurrent)
	for range 2 {
		s.srv.Advance(time.Hour)
		if r := s.runOnce(t, directEventJSON(true, id)); r.Status != rotation.StatusRotated {
			t.Fatalf("forced run = %+v; want rotated", r)
		}
	}
	if !slices.Contains(s.revokeLabelled(id), v1) || s.revoked(t1) {
		t.Fatalf("T1's version is not marked for a later revocation, or T1 is revoked; labels %v", s.stages(id))
	}
	s.srv.Advance(time.Hour)
	cur := s.currentToken(id)
	if _, err := s.sm.UpdateSecretVersionStage(t.Context(), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(id),
		VersionStage: aws.String(rotation.StagePending), MoveToVersionId: aws.String(v1),
		RemoveFromVersionId: aws.String(s.versionWith(id, rotation.StagePending))}); err != nil {
		t.Fatal(err)
	}
	r := s.runOnce(t, directEventJSON(true, id))
	if r.Status != rotation.StatusRotated || r.VersionID == v1 {
		t.Fatalf("run = %+v; want rotated to a new version, not %s", r, v1)
	}
	if got := s.currentToken(id); got == t1 || got == cur {
		t.Errorf("AWSCURRENT holds T1 (%v) or the token before the run (%v); want a new token", got == t1, got == cur)
	}
	if s.revoked(t1) {
		t.Errorf("T1 was revoked before its grace period ended")
	}
	s.srv.Advance(rotation.DefaultRevokeGrace + time.Hour)
	s.runOnce(t, directEventJSON(false, id))
	if !s.revoked(t1) {
		t.Errorf("T1 is live past its grace period; want it revoked")
	}
	assertNoSecrets(t, "the logs", s.logs.String(), secretsOf(s.srv, s.fx))
}
