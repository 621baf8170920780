package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/pkg/mint"
)

// The fault scenarios of the rotation engine, each on the paths where it
// applies: a rotation Secrets Manager drives (four events), a direct run
// ({"rotate": [...]}), and a scheduled run (EventBridge). moto plays Secrets
// Manager behind the chaos proxy, minttest plays Graph. After each: the
// secret is rotated in that run or the next one, AWSCURRENT holds a live
// token, no live token made during the scenario is outside AWSCURRENT and
// AWSPREVIOUS, and no secret reached the logs or the answers.

// scenario is a world behind a chaos proxy, with a record of the tokens
// that were live before.
type scenario struct {
	*world
	c        *chaos
	baseline map[string]bool // live tokens before the scenario
	answers  syncBuffer      // every response and error, for the canary check
}

func newScenario(t *testing.T) *scenario {
	t.Helper()
	c := newChaos(t, motoURL(t))
	w := newWorld(t, withEndpoint(c.srv.URL))
	// A small reserve and margin, so a test deadline of seconds leaves time
	// to work: the faults, not the clock, make the conditions.
	w.h.fleet.Margin, w.h.fleet.Reserve, w.h.rot.Headroom, w.h.reserve = 500*time.Millisecond, 300*time.Millisecond, 100*time.Millisecond, 300*time.Millisecond
	w.h.rot.Cleanup = 5 * time.Second
	return &scenario{world: w, c: c}
}

// secrets creates n due managed secrets and notes the live tokens.
func (s *scenario) secrets(n int) []string {
	var ids []string
	for i := range n {
		ids = append(ids, s.putSecret(fmt.Sprintf("s%02d", i), s.baseFields(s.issue(5*day))))
	}
	s.baseline = map[string]bool{}
	now := s.srv.Now()
	for _, tok := range s.srv.Tokens() {
		if !tok.Revoked && (tok.ExpiresAt.IsZero() || tok.ExpiresAt.After(now)) {
			s.baseline[tok.Value] = true
		}
	}
	return ids
}

// run invokes the handler and records the answer.
func (s *scenario) run(ctx context.Context, payload json.RawMessage) (Response, error) {
	resp, err := s.h.Handle(ctx, payload)
	b, _ := json.Marshal(resp)
	_, _ = s.answers.Write(b)
	if err != nil {
		_, _ = s.answers.Write([]byte(err.Error()))
	}
	return resp, err
}

// rotate runs the four steps of a rotation Secrets Manager started, each
// step until it succeeds (as Secrets Manager retries), at most twice.
func (s *scenario) rotate(t *testing.T, ctx func() (context.Context, context.CancelFunc), id string) {
	t.Helper()
	token := s.placeholder(id)
	for _, step := range rotation.Steps {
		var err error
		for range 2 {
			c, cancel := ctx()
			_, err = s.run(c, rotationEvent(step, id, token))
			cancel()
			if err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("Handle(%s) twice = %v", step, err)
		}
	}
	s.endRotation(id, token)
}

// current returns AWSCURRENT's access_token.
func (s *scenario) currentToken(id string) string {
	v, _ := s.current(id)["access_token"].(string)
	return v
}

// check asserts the invariants for ids after the scenario; rotated lists
// the initial tokens, which must no longer be AWSCURRENT.
func (s *scenario) check(t *testing.T, ids []string, initial map[string]string) {
	t.Helper()
	now := s.srv.Now()
	kept := map[string]bool{}
	for _, id := range ids {
		cur := s.currentToken(id)
		if cur == initial[id] {
			t.Errorf("%s: AWSCURRENT still holds the initial token; want it rotated", id)
		}
		tok, ok := s.srv.Token(cur)
		if !ok || tok.Revoked || (!tok.ExpiresAt.IsZero() && !tok.ExpiresAt.After(now)) {
			t.Errorf("%s: AWSCURRENT holds a token that is not live (known %v, revoked %v)", id, ok, tok.Revoked)
		}
		kept[cur] = true
		if v := s.versionWith(id, rotation.StagePrevious); v != "" {
			prev, _ := s.value(id, v, rotation.StagePrevious)["access_token"].(string)
			kept[prev] = true
		}
	}
	for _, tok := range s.srv.Tokens() {
		live := !tok.Revoked && (tok.ExpiresAt.IsZero() || tok.ExpiresAt.After(now))
		if live && !s.baseline[tok.Value] && !kept[tok.Value] {
			t.Errorf("a live token made during the scenario is neither AWSCURRENT nor AWSPREVIOUS (%.6s...)", tok.Value)
		}
	}
	secrets := secretsOf(s.srv, s.fx)
	assertNoSecrets(t, "the logs", s.logs.String(), secrets)
	assertNoSecrets(t, "the metrics", s.metrics.String(), secrets)
	assertNoSecrets(t, "the answers", s.answers.String(), secrets)
}

func initialTokens(s *scenario, ids []string) map[string]string {
	m := map[string]string{}
	for _, id := range ids {
		m[id] = s.currentToken(id)
	}
	return m
}

// runUntilRotated runs payload, then once more if the first run did not
// rotate every secret (deferred or failed): "rotated in that run or the
// next one".
func (s *scenario) runUntilRotated(t *testing.T, ctx func() (context.Context, context.CancelFunc), payload json.RawMessage, n int) []Response {
	t.Helper()
	var out []Response
	for range 2 {
		c, cancel := ctx()
		resp, err := s.run(c, payload)
		cancel()
		var failed *RunFailedError
		if err != nil && !errors.As(err, &failed) {
			t.Fatalf("Handle = %v; want results", err)
		}
		out = append(out, resp)
		if resp.Summary != nil && resp.Summary.Rotated == n {
			return out
		}
	}
	return out
}

var paths = []string{"rotation", "direct", "scheduled"}

// payloadFor is the run payload of a path.
func (s *scenario) payloadFor(path string, ids []string) json.RawMessage {
	if path == "scheduled" {
		s.h.secretIDs = ids
		return scheduledEvent()
	}
	return directEventJSON(false, ids...)
}

func noDeadline() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// TestLostPutSecretValueAnswer: PutSecretValue commits in moto and every
// attempt loses its answer (a 5xx after the commit): the write's one SDK
// attempt and the engine's own repeat, with one more to spare. The read-back finds
// the version stored: the rotation carries on in the same run, nothing is
// revoked, nothing minted twice.
func TestLostPutSecretValueAnswer(t *testing.T) {
	t.Parallel()
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			ids := s.secrets(1)
			initial := initialTokens(s, ids)
			s.c.after("PutSecretValue", 3)
			if path == "rotation" {
				s.rotate(t, noDeadline, ids[0])
			} else {
				resps := s.runUntilRotated(t, noDeadline, s.payloadFor(path, ids), 1)
				if len(resps) != 1 {
					t.Errorf("runs = %d (%+v); want the secret rotated in the first run", len(resps), resps[0].Results)
				}
			}
			if s.c.count.Load() == 0 {
				t.Fatal("no answer was lost: the scenario did not happen")
			}
			if got := s.srv.Minted(); got != 1 {
				t.Errorf("Minted() = %d; want 1", got)
			}
			s.check(t, ids, initial)
		})
	}
}

// TestHeldPutSecretValueAnswer: PutSecretValue commits and its answer is
// held past the invocation's deadline. The read-back, on a context of its
// own, finds the version stored; the token is kept, and the secret is
// rotated in that run or the next.
func TestHeldPutSecretValueAnswer(t *testing.T) {
	t.Parallel()
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			ids := s.secrets(1)
			initial := initialTokens(s, ids)
			held := s.c.hold("PutSecretValue", 1)
			// The invocation's deadline passes once moto has committed the
			// held write (by count, however slow the machine), and ends the
			// held call: the answer is held until the client gives up.
			withDeadline := func() (context.Context, context.CancelFunc) {
				ctx := clock.NewCue(time.Hour)
				hits := held.Hits()
				go func() {
					if held.WaitHits(ctx, hits+1) == nil {
						ctx.Expire()
					}
				}()
				return ctx, ctx.Expire
			}
			if path == "rotation" {
				s.rotate(t, withDeadline, ids[0])
			} else {
				resps := s.runUntilRotated(t, withDeadline, s.payloadFor(path, ids), 1)
				if last := resps[len(resps)-1]; last.Summary.Rotated != 1 {
					t.Fatalf("after %d runs: %+v; want rotated", len(resps), last.Results)
				}
			}
			if s.c.count.Load() == 0 {
				t.Fatal("no answer was held: the scenario did not happen")
			}
			if got := s.srv.Minted(); got != 1 {
				t.Errorf("Minted() = %d; want 1 (the stored token was kept, not revoked and minted again)", got)
			}
			s.check(t, ids, initial)
		})
	}
}

// TestLostUpdateSecretVersionStageAnswer: finishSecret's move of AWSCURRENT
// commits and every attempt loses its answer. The read-back (DescribeSecret)
// shows the move done.
func TestLostUpdateSecretVersionStageAnswer(t *testing.T) {
	t.Parallel()
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			ids := s.secrets(1)
			initial := initialTokens(s, ids)
			if path == "rotation" {
				token := s.placeholder(ids[0])
				for _, step := range rotation.Steps {
					if step == rotation.StepFinish {
						s.c.after("UpdateSecretVersionStage", 1) // the retries then fail at moto: the move is done
					}
					if resp, err := s.run(t.Context(), rotationEvent(step, ids[0], token)); err != nil {
						t.Fatalf("Handle(%s) = %v", step, err)
					} else if step == rotation.StepFinish && resp.Outcome != rotation.OutcomeFinished {
						t.Errorf("finishSecret outcome = %q; want finished", resp.Outcome)
					}
				}
				s.endRotation(ids[0], token)
			} else {
				s.c.after("UpdateSecretVersionStage", 1) // the retries then fail at moto: the move is done
				resps := s.runUntilRotated(t, noDeadline, s.payloadFor(path, ids), 1)
				if len(resps) != 1 {
					t.Errorf("runs = %d (%+v); want the secret rotated in the first run", len(resps), resps[0].Results)
				}
			}
			if s.c.count.Load() == 0 {
				t.Fatal("no answer was lost: the scenario did not happen")
			}
			s.check(t, ids, initial)
		})
	}
}

// TestSharedReferenceFailsOnce: 50 secrets share one app_secret_ref, and
// one read of it fails (all of one SDK call's attempts). Exactly one secret
// fails, the 49 others read the reference again and rotate, and the next
// run rotates the one that failed.
func TestSharedReferenceFailsOnce(t *testing.T) {
	t.Parallel()
	for _, path := range paths[1:] { // a rotation event reads for one secret only
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			ids := s.secrets(50)
			initial := initialTokens(s, ids)
			s.c.failSecret("GetSecretValue", s.appRef, 3)
			payload := s.payloadFor(path, ids)
			first, err := s.run(t.Context(), payload)
			checkRunErr(t, first, err)
			if first.Summary.Failed != 1 || first.Summary.Rotated != 49 {
				t.Fatalf("first run summary = %+v; want 49 rotated and the one secret whose read failed", *first.Summary)
			}
			var failedOne rotation.SecretResult
			for _, r := range first.Results {
				if r.Status == rotation.StatusFailed {
					failedOne = r
				}
			}
			if failedOne.ErrorType != "ReferenceError" {
				t.Errorf("failed result = %+v; want a ReferenceError", failedOne)
			}
			second, err := s.run(t.Context(), payload)
			checkRunErr(t, second, err)
			if second.Summary.Rotated != 1 || second.Summary.NotDue != 49 {
				t.Errorf("second run summary = %+v; want the failed secret rotated, 49 not due", *second.Summary)
			}
			s.check(t, ids, initial)
		})
	}
}

// TestConcurrentRuns: two runs of the same secrets at once. Each secret is
// rotated once; a token that lost the race to store its version is revoked
// (the version provably holds the other), so no live token is left outside
// AWSCURRENT and AWSPREVIOUS.
func TestConcurrentRuns(t *testing.T) {
	t.Parallel()
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			ids := s.secrets(4)
			initial := initialTokens(s, ids)
			if path == "rotation" {
				for _, id := range ids {
					token := s.placeholder(id)
					for _, step := range rotation.Steps {
						var wg sync.WaitGroup
						for range 2 {
							wg.Go(func() {
								if _, err := s.run(t.Context(), rotationEvent(step, id, token)); err != nil {
									t.Errorf("Handle(%s) = %v", step, err)
								}
							})
						}
						wg.Wait()
					}
					s.endRotation(id, token)
				}
			} else {
				payload := s.payloadFor(path, ids)
				var wg sync.WaitGroup
				for range 2 {
					wg.Go(func() {
						resp, err := s.run(t.Context(), payload)
						var failed *RunFailedError
						if err != nil && !errors.As(err, &failed) {
							t.Errorf("Handle = %v", err)
							return
						}
						for _, r := range resp.Results {
							if !slices.Contains([]string{rotation.StatusRotated, rotation.StatusNotDue}, r.Status) {
								t.Errorf("result = %+v; want rotated (or not due, after the other run)", r)
							}
						}
						// Winner or loser, a run reports the token current now:
						// every secret holds a new 60-day token, none the old
						// 5-day one.
						if m := resp.Summary.MinDaysToExpiry; m == nil || *m < 50 {
							t.Errorf("MinDaysToExpiry = %s; want the new tokens' (about 60)", fmtDays(m))
						}
					})
				}
				wg.Wait()
			}
			s.check(t, ids, initial)
			for _, id := range ids {
				got, err := s.sm.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
				if err != nil {
					t.Fatal(err)
				}
				for v, labels := range got.VersionIdsToStages {
					if slices.Contains(labels, rotation.StagePending) && !slices.Contains(labels, rotation.StageCurrent) {
						t.Errorf("%s: version %s still holds AWSPENDING: %v", id, v, labels)
					}
				}
			}
		})
	}
}

// TestBootstrapLostAnswers runs the lost-answer scenarios through the built
// bootstrap under aws-lambda-rie, against moto behind the chaos proxy: a
// lost PutSecretValue answer on the rotation-event path and a lost
// finishSecret answer on the direct path.
func TestBootstrapLostAnswers(t *testing.T) {
	s := newScenario(t)
	ids := s.secrets(2)
	initial := initialTokens(s, ids)
	r := startRIE(t, map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": s.c.srv.URL,
		"METAMINT_GRAPH_API_URL":           s.srv.URL,
	})
	invoke := func(payload []byte) invocation {
		inv := r.invoke(payload)
		_, _ = s.answers.Write(inv.Body)
		return inv
	}

	// Rotation events: createSecret's PutSecretValue commits, every answer
	// is lost; the read-back finds it stored.
	token := s.placeholder(ids[0])
	for _, step := range rotation.Steps {
		if step == rotation.StepCreate {
			s.c.after("PutSecretValue", 3)
		}
		if inv := invoke(rotationEvent(step, ids[0], token)); inv.ErrorType != "" {
			t.Fatalf("%s: %s %s\n%s", step, inv.ErrorType, inv.ErrorMessage, r.Output())
		}
	}
	s.endRotation(ids[0], token)
	if s.c.count.Load() == 0 {
		t.Fatal("no answer was lost: the scenario did not happen")
	}

	// A direct run: the move of AWSCURRENT commits, every answer is lost.
	lost := s.c.count.Load()
	s.c.after("UpdateSecretVersionStage", 1) // the retries then fail at moto: the move is done
	inv := invoke(directEventJSON(false, ids[1]))
	if inv.ErrorType != "" || inv.Response.Summary == nil || inv.Response.Summary.Rotated != 1 {
		t.Fatalf("direct run = %s %s %+v; want rotated", inv.ErrorType, inv.ErrorMessage, inv.Response.Summary)
	}
	if s.c.count.Load() == lost {
		t.Fatal("no finishSecret answer was lost: the scenario did not happen")
	}
	if got := s.srv.Minted(); got != 2 {
		t.Errorf("Minted() = %d; want 2 (one per secret)", got)
	}
	s.check(t, ids, initial)
	assertNoSecrets(t, "the bootstrap's output", r.Output(), secretsOf(s.srv, s.fx))
}

// TestStrandedPendingHeals: a pending version holds a token that is no
// longer usable (revoked, or expired), as an old release could leave after
// a lost answer. The next run, forced or not, discards it and rotates under
// a new version; it never resumes the broken one.
func TestStrandedPendingHeals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		force  bool
		theirs bool // the version is a Secrets Manager rotation's, not the run's own cycle
		revoke bool // revoked rather than expired
	}{
		{name: "own cycle, revoked", revoke: true},
		{name: "own cycle, revoked, forced", revoke: true, force: true},
		{name: "own cycle, expired"},
		{name: "a rotation event's version, revoked", theirs: true, revoke: true},
		{name: "a rotation event's version, expired, forced", theirs: true, force: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			ids := s.secrets(1)
			id := ids[0]
			initial := initialTokens(s, ids)
			cur := s.versionWith(id, rotation.StageCurrent)
			broken := s.issue(-day)
			if tc.revoke {
				broken = s.issue(50 * day)
				graph, err := mint.NewClient(mint.WithHTTPClient(s.srv.Client()), mint.WithBaseURL(s.srv.URL))
				if err != nil {
					t.Fatal(err)
				}
				if err := graph.RevokeAccessToken(t.Context(), mint.RevokeRequest{App: mint.App{ID: s.fx.AppID, Secret: s.fx.AppSecret}, Token: broken}); err != nil {
					t.Fatalf("RevokeAccessToken() = %v", err)
				}
			}
			version := rotation.VersionToken(id, cur, "")
			if tc.theirs {
				version = s.placeholder(id)
			}
			fields := s.baseFields(broken)
			b, _ := json.Marshal(fields)
			if _, err := s.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(id),
				ClientRequestToken: aws.String(version), SecretString: aws.String(string(b)), VersionStages: []string{rotation.StagePending}}); err != nil {
				t.Fatal(err)
			}
			s.baseline[broken] = true

			resp, err := s.run(t.Context(), directEventJSON(tc.force, id))
			checkRunErr(t, resp, err)
			r := resp.Results[0]
			if r.Status != rotation.StatusRotated || r.VersionID == version {
				t.Fatalf("result = %+v; want rotated under a new version, not %s", r, version)
			}
			if got := s.versionWith(id, rotation.StageCurrent); got != r.VersionID {
				t.Errorf("AWSCURRENT is on %s; want %s", got, r.VersionID)
			}
			if labels := s.stages(id)[version]; slices.Contains(labels, rotation.StagePending) || slices.Contains(labels, rotation.StageCurrent) {
				t.Errorf("the broken version still holds %v", labels)
			}
			if got := s.srv.Minted(); got != 1 {
				t.Errorf("Minted() = %d; want 1", got)
			}
			s.check(t, ids, initial)
			// The next run finds nothing to do: nothing is stranded.
			again, err := s.run(t.Context(), directEventJSON(false, id))
			checkRunErr(t, again, err)
			if again.Results[0].Status != rotation.StatusNotDue {
				t.Errorf("next run = %+v; want not_due", again.Results[0])
			}
		})
	}
}

// TestPutSecretValueRetryHidesTheCommit: PutSecretValue's first attempt
// commits and its connection drops, and the read-back does not see the
// version yet (a read that lags the write). Each PutSecretValue is one SDK
// attempt, so no retry's answer stands for the committed attempt: the engine
// sends the same write once more itself. When that repeat gets moto's
// idempotent success, the run rotates; when it is throttled, the engine
// cannot tell, keeps the token and fails, and the next run finishes the
// stored version. Either way one token is minted and none is revoked.
func TestPutSecretValueRetryHidesTheCommit(t *testing.T) {
	t.Parallel()
	readBack := func(body map[string]any) bool { return body["VersionId"] != nil && body["VersionStage"] == nil }
	tests := []struct {
		name      string
		throttled int // PutSecretValue attempts throttled after the dropped one
		runs      int
	}{
		{name: "the repeat stores", runs: 1},
		{name: "the repeat is throttled", throttled: 2, runs: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			ids := s.secrets(1)
			initial := initialTokens(s, ids)
			dropped := s.c.inject(awstest.Fault{Op: "PutSecretValue", Stage: awstest.AfterCommit, Drop: true, Times: 1})
			if tc.throttled > 0 {
				var seen atomic.Int32 // PutSecretValue attempts: the first is the dropped one
				s.c.inject(awstest.Fault{Op: "PutSecretValue", Stage: awstest.BeforeCommit, Status: 400, ErrorType: "ThrottlingException",
					Times: tc.throttled, Match: func(map[string]any) bool { return seen.Add(1) > 1 }})
			}
			s.c.inject(awstest.Fault{Op: "GetSecretValue", Stage: awstest.BeforeCommit, Status: 400, ErrorType: "ResourceNotFoundException",
				Message: "Secrets Manager can't find the specified secret value for VersionId", Times: 1, Match: readBack})
			resps := s.runUntilRotated(t, noDeadline, directEventJSON(true, ids...), 1)
			if dropped.Hits() != 1 {
				t.Fatalf("dropped PutSecretValue attempts = %d; want 1: the scenario did not happen", dropped.Hits())
			}
			if len(resps) != tc.runs || resps[len(resps)-1].Summary.Rotated != 1 {
				t.Errorf("rotated after %d runs (last: %+v); want after %d", len(resps), resps[len(resps)-1].Results, tc.runs)
			}
			if got := s.c.Calls("PutSecretValue"); got != 2 {
				t.Errorf("PutSecretValue attempts = %d; want 2 (one per call: the write and the engine's repeat)", got)
			}
			if got := s.srv.Minted(); got != 1 {
				t.Errorf("Minted() = %d; want 1 (the stored token kept, not revoked and minted again)", got)
			}
			for _, tok := range s.srv.Tokens() {
				if tok.Revoked {
					t.Errorf("a token was revoked (%.6s...); want none", tok.Value)
				}
			}
			s.check(t, ids, initial)
		})
	}
}

// TestCycleVersionWithoutLabelsHeals: this cycle's version holds a stored
// value and its AWSPENDING was removed by hand (AWS's remedy after
// CancelRotateSecret). Every run derives that version token again; it must
// not loop on it: the version is discarded (METAMINT_DISCARDED) and the run
// rotates under the next version token. Two runs: the secret rotates, at
// most one token (one provably not stored) is revoked, and the second run
// does not fail. (internal/rotation's TestUnlabelledVersionHeals runs it on
// a Secrets Manager that omits unlabelled versions from DescribeSecret, as
// AWS does.)
func TestCycleVersionWithoutLabelsHeals(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ids := s.secrets(1)
	initial := initialTokens(s, ids)
	id := ids[0]
	desc, err := s.sm.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	cycle := rotation.VersionToken(aws.ToString(desc.ARN), s.versionWith(id, rotation.StageCurrent), "")
	stranded := s.issue(60 * day)
	fields := s.baseFields(stranded)
	b, _ := json.Marshal(fields)
	if _, err := s.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(id),
		ClientRequestToken: aws.String(cycle), SecretString: aws.String(string(b)), VersionStages: []string{rotation.StagePending}}); err != nil {
		t.Fatal(err)
	}
	s.endRotation(id, cycle) // AWSPENDING removed by hand
	s.baseline[stranded] = true
	for run := range 2 {
		resp, err := s.run(t.Context(), directEventJSON(false, id))
		checkRunErr(t, resp, err)
		if r := resp.Results[0]; r.Status == rotation.StatusFailed {
			t.Errorf("run %d: %+v; want no failure", run+1, r)
		}
	}
	if labels := s.stages(id)[cycle]; !slices.Contains(labels, rotation.StageDiscarded) {
		t.Errorf("labels of the cycle's version = %v; want %s", labels, rotation.StageDiscarded)
	}
	revoked := 0
	for _, tok := range s.srv.Tokens() {
		if tok.Revoked {
			revoked++
		}
	}
	if revoked > 1 {
		t.Errorf("%d tokens revoked; want at most 1 (one provably not stored)", revoked)
	}
	if tok, _ := s.srv.Token(stranded); tok.Revoked {
		t.Errorf("the stranded version's token was revoked; want it kept (it is stored)")
	}
	s.check(t, ids, initial)
}

func fmtDays(d *float64) string {
	if d == nil {
		return "absent"
	}
	return fmt.Sprint(*d)
}
