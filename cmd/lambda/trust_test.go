package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// The scenarios of "nothing the engine did not write in this cycle is
// trusted": versions other tools, people or killed runs left, references
// that went away, and revocations that must wait or fail. Each checks that
// the secret rotates in that run or the next, that AWSCURRENT is live and
// keeps the user's fields, that no live token made during the scenario is
// outside a labelled version of the secret, and that no secret reached the
// logs, metrics or answers (scenario.check, trustCheck).

// metamintFields are the fields metamint writes; userFields leaves them out.
var metamintFields = []string{"access_token", "expires_at", "issued_at", "token_scopes"}

func userFields(m map[string]any) map[string]any {
	out := maps.Clone(m)
	for _, f := range metamintFields {
		delete(out, f)
	}
	return out
}

// putVersion stores fields as version of id with stages.
func (s *scenario) putVersion(t *testing.T, id, version string, fields map[string]any, stages ...string) {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(id),
		ClientRequestToken: aws.String(version), SecretString: aws.String(string(b)), VersionStages: stages}); err != nil {
		t.Fatalf("PutSecretValue(%s) = %v", version, err)
	}
}

// edit puts a new AWSCURRENT: the current value changed by change, as a
// person editing the secret in the console does. It returns the user fields
// the secret must keep from now on.
func (s *scenario) edit(t *testing.T, id string, change func(map[string]any)) map[string]any {
	t.Helper()
	v := s.current(id)
	change(v)
	s.putVersion(t, id, newUUID(), v, rotation.StageCurrent)
	return userFields(v)
}

// revokeLabelled returns the versions of id holding a revocation label.
func (s *scenario) revokeLabelled(id string) []string {
	var out []string
	for v, labels := range s.stages(id) {
		for _, l := range labels {
			if strings.HasPrefix(l, rotation.StageRevokePrefix) {
				out = append(out, v)
			}
		}
	}
	return out
}

// trustCheck is scenario.check for one secret, plus: AWSCURRENT keeps want
// (the user's fields), and tokens waiting in a revocation-labelled version
// count as in the secret.
func (s *scenario) trustCheck(t *testing.T, id, initial string, want map[string]any) {
	t.Helper()
	if got := userFields(s.current(id)); !jsonEqual(got, want) {
		t.Errorf("AWSCURRENT's user fields = %v; want %v", got, want)
	}
	for _, v := range s.revokeLabelled(id) {
		tok, _ := s.value(id, v, "")["access_token"].(string)
		s.baseline[tok] = true
	}
	s.check(t, []string{id}, map[string]string{id: initial})
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// runOnce runs payload and returns the one result.
func (s *scenario) runOnce(t *testing.T, payload json.RawMessage) rotation.SecretResult {
	t.Helper()
	resp, err := s.run(t.Context(), payload)
	checkRunErr(t, resp, err)
	if len(resp.Results) != 1 {
		t.Fatalf("results = %+v; want one", resp.Results)
	}
	return resp.Results[0]
}

func (s *scenario) revoked(tok string) bool {
	st, _ := s.srv.Token(tok)
	return st.Revoked
}

// TestStalePendingKeepsTheEdit (1): a Secrets Manager rotation stored
// AWSPENDING and never finished; the user then added a scope and a field to
// AWSCURRENT. The next due run must not finish the stale version: it
// supersedes it, and AWSCURRENT keeps the edit.
func TestStalePendingKeepsTheEdit(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id := s.secrets(1)[0]
	initial := s.currentToken(id)
	stale := s.issue(50 * day)
	s.putVersion(t, id, newUUID(), s.baseFields(stale), rotation.StagePending)
	s.baseline[stale] = true
	want := s.edit(t, id, func(v map[string]any) {
		v["scopes"] = []string{"ads_read", "business_management", "ads_management"}
		v["owner"] = "payments"
	})
	r := s.runOnce(t, directEventJSON(false, id))
	if r.Status != rotation.StatusRotated {
		t.Fatalf("result = %+v; want rotated", r)
	}
	if cur := s.currentToken(id); cur == stale {
		t.Errorf("AWSCURRENT holds the stale pending token; want a new one")
	}
	if tok, _ := s.srv.Token(s.currentToken(id)); !slices.Contains(tok.Scopes, "ads_management") {
		t.Errorf("the current token's scopes = %v; want the added scope", tok.Scopes)
	}
	if again := s.runOnce(t, directEventJSON(false, id)); again.Status != rotation.StatusNotDue {
		t.Errorf("next run = %+v; want not_due", again)
	}
	s.trustCheck(t, id, initial, want)
}

// TestForeignPendingNotAdopted (2): another tool left AWSPENDING holding a
// valid token of another app and system user, with JSON naming them. It is
// judged by AWSCURRENT (another app, another system user): superseded,
// never made current.
func TestForeignPendingNotAdopted(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id := s.secrets(1)[0]
	initial := s.currentToken(id)
	want := userFields(s.current(id))
	other := minttest.App{ID: "200000000000077", Name: "Other App", Secret: "0123456789abcdef0123456789abcdef", BusinessID: s.fx.BusinessID}
	s.srv.AddApp(other)
	s.srv.AddSystemUser(minttest.SystemUser{ID: "400000000000077", BusinessID: s.fx.BusinessID, Name: "Other", Role: "EMPLOYEE"})
	s.srv.InstallApp("400000000000077", other.ID)
	foreign := s.srv.IssueToken(minttest.TokenSpec{UserID: "400000000000077", AppID: other.ID, Scopes: testScopes, ExpiresAt: s.srv.Now().Add(50 * day)})
	fields := map[string]any{"app_id": other.ID, "system_user_id": "400000000000077", "scopes": testScopes,
		"app_secret": other.Secret, "access_token": foreign}
	s.putVersion(t, id, newUUID(), fields, rotation.StagePending)
	s.baseline[foreign] = true
	r := s.runOnce(t, directEventJSON(true, id))
	if r.Status != rotation.StatusRotated || s.currentToken(id) == foreign {
		t.Fatalf("result = %+v, AWSCURRENT foreign %v; want rotated to a token of its own", r, s.currentToken(id) == foreign)
	}
	if got := s.current(id)["app_id"]; got != s.fx.AppID {
		t.Errorf("AWSCURRENT's app_id = %v; want %s", got, s.fx.AppID)
	}
	s.trustCheck(t, id, initial, want)
	assertNoSecrets(t, "the logs", s.logs.String(), []string{other.Secret})
	// The foreign token is not this secret's to revoke: no revocation is
	// tried, none fails, none waits.
	if s.revoked(foreign) || strings.Contains(s.metrics.String(), `"RevocationsFailed":1`) || len(s.revokeLabelled(id)) != 0 {
		t.Errorf("foreign token revoked %v, metrics %s, marked versions %v; want it left alone",
			s.revoked(foreign), s.metrics.String(), s.revokeLabelled(id))
	}
}

// TestKilledRunThenEdit (3): a run was killed after the AWSCURRENT move and
// before AWSPENDING came off the new current version; the user then edited
// the secret. A forced run rotates for real (a new token) and keeps the
// edit; it does not roll AWSCURRENT back to the pre-edit JSON.
func TestKilledRunThenEdit(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id := s.secrets(1)[0]
	initial := s.currentToken(id)
	killed, kv := s.issue(60*day), newUUID()
	s.putVersion(t, id, kv, s.baseFields(killed), rotation.StageCurrent, rotation.StagePending)
	want := s.edit(t, id, func(v map[string]any) { v["owner"] = "growth" })
	// Secrets Manager leaves AWSPENDING where it was when AWSCURRENT moves;
	// moto drops it: put it back.
	if _, err := s.sm.UpdateSecretVersionStage(t.Context(), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(id),
		VersionStage: aws.String(rotation.StagePending), MoveToVersionId: aws.String(kv)}); err != nil {
		t.Fatal(err)
	}
	r := s.runOnce(t, directEventJSON(true, id))
	if r.Status != rotation.StatusRotated {
		t.Fatalf("result = %+v; want rotated", r)
	}
	if cur := s.currentToken(id); cur == killed || cur == initial {
		t.Errorf("AWSCURRENT holds an old token; want a new one")
	}
	if s.revoked(killed) {
		t.Errorf("the token current until the edit was revoked at once; want it kept for the grace period")
	}
	s.trustCheck(t, id, initial, want)
}

// TestPendingWithUnreadableReference (4): AWSPENDING of another version
// names an app_secret_ref that cannot be read. That version cannot be
// judged: it is superseded, and the secret rotates.
func TestPendingWithUnreadableReference(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id := s.secrets(1)[0]
	initial := s.currentToken(id)
	want := userFields(s.current(id))
	pending := s.issue(50 * day)
	fields := s.baseFields(pending)
	fields["app_secret_ref"] = s.prefix + "no-such-secret"
	s.putVersion(t, id, newUUID(), fields, rotation.StagePending)
	s.baseline[pending] = true
	for run := range 2 {
		r := s.runOnce(t, directEventJSON(false, id))
		if want := []string{rotation.StatusRotated, rotation.StatusNotDue}[run]; r.Status != want {
			t.Fatalf("run %d = %+v; want %s", run+1, r, want)
		}
	}
	s.trustCheck(t, id, initial, want)
}

// TestPreviousWithDeletedReference (5): AWSPREVIOUS holds older JSON whose
// app_secret_ref the user deleted after re-seeding. Its token is revoked
// with AWSCURRENT's app secret, never its own references; and when Graph
// refuses the revoke for good (code 100), the rotation still succeeds: the
// revocation waits, is counted (RevocationsFailed) and retried by later
// runs.
func TestPreviousWithDeletedReference(t *testing.T) {
	t.Parallel()
	for _, refuse := range []bool{false, true} {
		t.Run(map[bool]string{false: "reference deleted", true: "revoke refused"}[refuse], func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			old := s.issue(30 * day)
			oldRef := s.putRaw("old-app-secret", `{"app_secret":"`+s.fx.AppSecret+`"}`)
			fields := s.baseFields(old)
			fields["app_secret_ref"] = oldRef
			id := s.putSecret("s00", fields)
			initial := s.issue(5 * day)
			s.putVersion(t, id, newUUID(), s.baseFields(initial), rotation.StageCurrent) // re-seeded
			if _, err := s.sm.DeleteSecret(t.Context(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(oldRef),
				ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
				t.Fatal(err)
			}
			s.secrets(0)
			want := userFields(s.current(id))
			if refuse {
				s.srv.FailNext(minttest.EndpointRevoke, minttest.Fault{Times: 1000,
					Error: &minttest.Error{Message: "(#100) refused", Type: "OAuthException", Code: 100}})
			}
			if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusRotated {
				t.Fatalf("result = %+v; want rotated", r)
			}
			s.srv.Advance(25 * time.Hour) // past the grace period
			r := s.runOnce(t, directEventJSON(false, id))
			if r.Status != rotation.StatusNotDue {
				t.Errorf("run after the grace period = %+v; want not_due", r)
			}
			if refuse {
				if s.revoked(old) {
					t.Fatalf("the token was revoked though Graph refused")
				}
				if !strings.Contains(s.metrics.String(), `"RevocationsFailed":1`) {
					t.Errorf("metrics hold no RevocationsFailed 1:\n%s", s.metrics.String())
				}
				if len(s.revokeLabelled(id)) != 1 {
					t.Errorf("versions waiting for revocation = %v; want the one refused", s.revokeLabelled(id))
				}
				s.srv.FailNext(minttest.EndpointRevoke, minttest.Fault{Header: map[string][]string{"X-Ok": {"1"}}, Times: 1})
				s.trustCheck(t, id, initial, want)
				return
			}
			if !s.revoked(old) {
				t.Errorf("the token two generations old is live after the grace period; want it revoked")
			}
			if got := s.revokeLabelled(id); len(got) != 0 {
				t.Errorf("versions still waiting for revocation: %v; want none", got)
			}
			s.trustCheck(t, id, initial, want)
		})
	}
}

// TestMintingTokenNeverRevoked (6): the secret is seeded with the admin
// token that is also its minting_token_ref. Three rotations later, and past
// every grace period, the minting token is live.
func TestMintingTokenNeverRevoked(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ref := s.putMintingToken("minting-token", `{"access_token":"`+s.fx.AdminToken+`"}`)
	fields := s.baseFields(s.fx.AdminToken)
	fields["minting_token_ref"] = ref
	id := s.putSecret("s00", fields)
	s.secrets(0)
	want := userFields(s.current(id))
	for run := range 3 {
		if r := s.runOnce(t, directEventJSON(true, id)); r.Status != rotation.StatusRotated {
			t.Fatalf("forced run %d = %+v; want rotated", run+1, r)
		}
		s.srv.Advance(25 * time.Hour)
	}
	s.runOnce(t, directEventJSON(false, id))
	if s.revoked(s.fx.AdminToken) {
		t.Errorf("the minting token was revoked")
	}
	s.baseline[s.fx.AdminToken] = true
	s.trustCheck(t, id, s.fx.AdminToken, want)
}

// TestBackToBackForcedRuns (7): two forced runs in a row. The token that
// was current until the first run ended is not revoked by the second (a
// consumer may hold it); a run after the grace period revokes it.
func TestBackToBackForcedRuns(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id := s.secrets(1)[0]
	initial := s.currentToken(id)
	want := userFields(s.current(id))
	for run := range 2 {
		if r := s.runOnce(t, directEventJSON(true, id)); r.Status != rotation.StatusRotated {
			t.Fatalf("forced run %d = %+v; want rotated", run+1, r)
		}
	}
	if s.revoked(initial) {
		t.Fatalf("the token current until a moment ago was revoked; want it kept for the grace period")
	}
	s.trustCheck(t, id, initial, want)
	s.srv.Advance(23 * time.Hour)
	s.runOnce(t, directEventJSON(false, id))
	if s.revoked(initial) {
		t.Fatalf("revoked before the grace period ended")
	}
	s.srv.Advance(2 * time.Hour)
	s.runOnce(t, directEventJSON(false, id))
	if !s.revoked(initial) {
		t.Errorf("the token two generations old is live after the grace period; want it revoked")
	}
	if got := s.revokeLabelled(id); len(got) != 0 {
		t.Errorf("versions still waiting for revocation: %v; want none", got)
	}
	s.check(t, []string{id}, map[string]string{id: initial})
}

// TestEventRacingRunLeavesNoOrphan (8): Secrets Manager's createSecret
// stores its token in its still-empty version just after a due inline run
// decided to supersede that version and just before the run stores its
// own. No live token is left in an unlabelled version.
func TestEventRacingRunLeavesNoOrphan(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id := s.secrets(1)[0]
	initial := s.currentToken(id)
	want := userFields(s.current(id))
	placeholder := s.placeholder(id)
	var evErr error
	raced := s.c.inject(awstest.Fault{Op: "PutSecretValue", Stage: awstest.BeforeCommit, Times: 1,
		Match: func(body map[string]any) bool { return body["ClientRequestToken"] != placeholder },
		Do: func() {
			_, evErr = s.run(t.Context(), rotationEvent(rotation.StepCreate, id, placeholder))
		}})
	r := s.runOnce(t, directEventJSON(false, id))
	if raced.Hits() != 1 || evErr != nil {
		t.Fatalf("the event's createSecret ran %d times (error %v); want once, succeeding", raced.Hits(), evErr)
	}
	if r.Status != rotation.StatusRotated {
		t.Fatalf("result = %+v; want rotated", r)
	}
	// Secrets Manager goes on with its rotation; whatever it does, no token
	// may be left live and unlabelled.
	for _, step := range rotation.Steps[1:] {
		_, _ = s.run(t.Context(), rotationEvent(step, id, placeholder))
	}
	s.trustCheck(t, id, initial, want)
}

// TestRefreshAnswersTheSameToken (9): Graph's refresh answers the token it
// was given. The rotation falls back to minting (the managed token mints its
// successor), once; it never fails every run.
func TestRefreshAnswersTheSameToken(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id := s.secrets(1)[0]
	initial := s.currentToken(id)
	want := userFields(s.current(id))
	body, _ := json.Marshal(map[string]any{"access_token": initial, "token_type": "bearer", "expires_in": 5184000})
	s.srv.FailNext(minttest.EndpointExchange, minttest.Fault{Status: 200, Body: body, Times: 10})
	r := s.runOnce(t, directEventJSON(false, id))
	if r.Status != rotation.StatusRotated || r.Method != "minted" {
		t.Fatalf("result = %+v; want rotated by minting", r)
	}
	s.trustCheck(t, id, initial, want)
}

// TestMinDaysToExpiryCountsDeadTokens (11): a healthy secret 40 days out,
// one whose token expired and one whose token was revoked: MinDaysToExpiry
// is 0, and stays 0 when the dead ones fail to rotate.
func TestMinDaysToExpiryCountsDeadTokens(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	s.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Times: 100,
		Error: &minttest.Error{Message: "(#200) refused", Type: "OAuthException", Code: 200}})
	s.srv.FailNext(minttest.EndpointExchange, minttest.Fault{Times: 100,
		Error: &minttest.Error{Message: "(#200) refused", Type: "OAuthException", Code: 200}})
	healthy := s.putSecret("healthy", s.baseFields(s.issue(40*day)))
	expired := s.putSecret("expired", s.baseFields(s.issue(-day)))
	dead := s.issue(40 * day)
	revokedID := s.putSecret("revoked", s.baseFields(dead))
	graph, err := mint.NewClient(mint.WithHTTPClient(s.srv.Client()), mint.WithBaseURL(s.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if err := graph.RevokeAccessToken(t.Context(), mint.RevokeRequest{App: mint.App{ID: s.fx.AppID, Secret: s.fx.AppSecret}, Token: dead}); err != nil {
		t.Fatal(err)
	}
	s.secrets(0)
	resp, _ := s.run(t.Context(), directEventJSON(false, healthy, expired, revokedID))
	if resp.Summary == nil || resp.Summary.MinDaysToExpiry == nil || *resp.Summary.MinDaysToExpiry != 0 {
		t.Errorf("summary = %+v; want MinDaysToExpiry 0", resp.Summary)
	}
	assertNoSecrets(t, "the logs", s.logs.String(), secretsOf(s.srv, s.fx))
	assertNoSecrets(t, "the answers", s.answers.String(), secretsOf(s.srv, s.fx))
}

// TestMinDaysToExpiryCountsDeferred: the invocation's time runs out before
// any secret starts (the deadline is nearer than the run's margin, by
// arrangement, not by the machine's speed), so every secret is deferred.
// MinDaysToExpiry still counts them, by the expires_at their AWSCURRENT
// stores: the alarm on it must not miss a secret deferred run after run.
// A fleet larger than the concurrency is ordered by those reads, and no
// secret is read again; a smaller one is read once per deferred secret.
func TestMinDaysToExpiryCountsDeferred(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		concurrency int
	}{
		{"ordered fleet", 2},
		{"unordered fleet", 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, withConfig(func(c *config) { c.concurrency = tc.concurrency }))
			w.h.fleet.Margin = 2 * time.Hour
			now := w.srv.Now()
			var ids []string
			for i, d := range []time.Duration{20 * day, 3 * day, 9 * day} {
				f := w.baseFields(w.issue(d))
				f["expires_at"] = now.Add(d).UTC().Format(time.RFC3339)
				f["issued_at"] = now.Add(-50 * day).UTC().Format(time.RFC3339)
				ids = append(ids, w.putSecret(fmt.Sprintf("s%02d", i), f))
			}
			w.calls.take()
			ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(time.Hour))
			defer cancel()
			resp, err := w.h.Handle(ctx, directEventJSON(false, ids...))
			if err != nil {
				t.Fatalf("Handle = %v", err)
			}
			if s := resp.Summary; s == nil || s.Deferred != len(ids) {
				t.Fatalf("summary = %+v; want every secret deferred", s)
			}
			if m := resp.Summary.MinDaysToExpiry; m == nil || *m < 2.9 || *m > 3 {
				t.Errorf("MinDaysToExpiry = %v; want 3, the soonest stored expiry of the deferred secrets", m)
			}
			if got := resp.Results[1].ExpiresAt; got != now.Add(3*day).UTC().Format(time.RFC3339) {
				t.Errorf("deferred result's expires_at = %q; want the stored one", got)
			}
			if got := w.calls.take()["GetSecretValue"]; got != len(ids) {
				t.Errorf("GetSecretValue calls = %d; want %d, one per secret", got, len(ids))
			}
		})
	}
}

// TestGivenUpRotationIsCounted (12): in fan-out mode, Secrets Manager gave
// up on a rotation: AWSPENDING stays on the cycle's empty version. Past the
// stale limit the run counts the secret as Failed, says so in the log, and
// its current token's expiry still counts in MinDaysToExpiry.
func TestGivenUpRotationIsCounted(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	fields := s.baseFields(s.issue(5 * day))
	fields["expires_at"] = s.srv.Now().Add(5 * day).UTC().Format(time.RFC3339) // as metamint stores it
	id := s.putSecret("s00", fields)
	s.secrets(0)
	s.configureRotation(id)
	resp, _ := s.run(t.Context(), runEvent(rotation.FanOut, false, id))
	if resp.Summary == nil || resp.Summary.RotationStarted != 1 {
		t.Fatalf("first run = %+v; want rotation_started", resp.Results)
	}
	resp, _ = s.run(t.Context(), runEvent(rotation.FanOut, false, id))
	if r := resp.Results[0]; r.Status != rotation.StatusSkipped || resp.Summary.MinDaysToExpiry == nil {
		t.Errorf("run while in progress = %+v, %+v; want skipped with the current expiry counted", r, resp.Summary)
	}
	s.srv.Advance(7 * time.Hour)
	resp, _ = s.run(t.Context(), runEvent(rotation.FanOut, false, id))
	if r := resp.Results[0]; r.Status != rotation.StatusFailed || resp.Summary.Failed != 1 || resp.Summary.MinDaysToExpiry == nil {
		t.Errorf("run past the stale limit = %+v, %+v; want failed with the current expiry counted", r, resp.Summary)
	}
	if !strings.Contains(s.logs.String(), "in progress for") {
		t.Errorf("the log does not say the rotation is stale")
	}
	// An inline run heals it: the cycle's empty version is filled and made
	// current.
	initial := s.currentToken(id)
	want := userFields(s.current(id))
	resp, _ = s.run(t.Context(), runEvent(rotation.Inline, false, id))
	if r := resp.Results[0]; r.Status != rotation.StatusRotated {
		t.Fatalf("inline run = %+v; want rotated", r)
	}
	s.trustCheck(t, id, initial, want)
	assertNoSecrets(t, "the logs", s.logs.String(), secretsOf(s.srv, s.fx))
	assertNoSecrets(t, "the metrics", s.metrics.String(), secretsOf(s.srv, s.fx))
}

// TestRefreshAndRevokeErrorsEchoingProofs (10): Graph's refusals of a
// refresh and of a revocation echo the appsecret_proof of the calling
// token (a credential, with the token). Neither reaches the "rotation
// failed" or "run done" log lines, the metrics or the answers; the secret
// rotates in the next run, and the revocation is retried.
func TestRefreshAndRevokeErrorsEchoingProofs(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id := s.secrets(1)[0]
	initial := s.currentToken(id)
	want := userFields(s.current(id))
	echo := func(tok string) *minttest.Error {
		return &minttest.Error{Message: "(#100) refused, proof " + mint.AppSecretProof(s.fx.AppSecret, tok), Type: "OAuthException", Code: 100}
	}
	s.srv.FailNext(minttest.EndpointExchange, minttest.Fault{Error: echo(initial)})
	if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusFailed {
		t.Fatalf("first run = %+v; want failed on the refused refresh", r)
	}
	if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusRotated {
		t.Fatalf("second run = %+v; want rotated", r)
	}
	// Two more generations, past the grace period, with the revocation of
	// the initial token refused once, echoing its proof.
	s.runOnce(t, directEventJSON(true, id))
	s.srv.Advance(rotation.DefaultRevokeGrace + time.Hour)
	s.srv.FailNext(minttest.EndpointRevoke, minttest.Fault{Error: echo(initial)})
	s.runOnce(t, directEventJSON(false, id))
	if !strings.Contains(s.logs.String(), "could not revoke") {
		t.Fatalf("no refused revocation in the logs: the scenario did not happen")
	}
	s.runOnce(t, directEventJSON(false, id))
	if !s.revoked(initial) {
		t.Errorf("the initial token is live after the retried revocation; want it revoked")
	}
	s.trustCheck(t, id, initial, want)
}

// TestEditBeforeFinishSecret (1, 3 on the rotation-event path): the user
// edits AWSCURRENT after testSecret passed and before finishSecret. The
// pending value was made from the JSON before the edit: finishSecret
// refuses it (never rolling the edit back), discards it and fails; the
// next run rotates with the edited fields.
func TestEditBeforeFinishSecret(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id := s.secrets(1)[0]
	initial := s.currentToken(id)
	version := s.placeholder(id)
	for _, step := range []string{rotation.StepCreate, rotation.StepSet, rotation.StepTest} {
		if _, err := s.run(t.Context(), rotationEvent(step, id, version)); err != nil {
			t.Fatalf("%s = %v", step, err)
		}
	}
	pending, _ := s.value(id, version, rotation.StagePending)["access_token"].(string)
	// The edit, as Secrets Manager does it during a rotation: a new
	// version takes AWSCURRENT, AWSPENDING stays where it is. (moto's
	// PutSecretValue with AWSCURRENT leaves two versions AWSCURRENT while a
	// rotation runs: the label is moved by hand.)
	edited := s.current(id)
	edited["owner"] = "growth"
	want := userFields(edited)
	editV, curV := newUUID(), s.versionWith(id, rotation.StageCurrent)
	s.putVersion(t, id, editV, edited, "EDIT")
	for _, in := range []*secretsmanager.UpdateSecretVersionStageInput{
		{SecretId: aws.String(id), VersionStage: aws.String(rotation.StageCurrent), MoveToVersionId: aws.String(editV), RemoveFromVersionId: aws.String(curV)},
		{SecretId: aws.String(id), VersionStage: aws.String("EDIT"), RemoveFromVersionId: aws.String(editV)},
	} {
		if _, err := s.sm.UpdateSecretVersionStage(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	if labels := s.stages(id)[version]; !slices.Contains(labels, rotation.StagePending) {
		t.Fatalf("labels of the pending version after the edit = %v; want AWSPENDING", labels)
	}
	_, err := s.run(t.Context(), rotationEvent(rotation.StepFinish, id, version))
	var stateErr *rotation.RotationStateError
	if !errors.As(err, &stateErr) {
		t.Fatalf("finishSecret = %v; want a RotationStateError", err)
	}
	if got := userFields(s.current(id)); !jsonEqual(got, want) {
		t.Fatalf("AWSCURRENT's user fields = %v; want the edit kept", got)
	}
	if labels := s.stages(id)[version]; !slices.Contains(labels, rotation.StageDiscarded) || slices.Contains(labels, rotation.StagePending) {
		t.Errorf("labels of the refused version = %v; want %s, no AWSPENDING", labels, rotation.StageDiscarded)
	}
	s.baseline[pending] = true // stored in the discarded version
	if r := s.runOnce(t, directEventJSON(true, id)); r.Status != rotation.StatusRotated {
		t.Fatalf("next run = %+v; want rotated", r)
	}
	s.trustCheck(t, id, initial, want)
}

// TestBootstrapTrustsOnlyAWSCURRENT runs two of the scenarios above through
// the shipped bootstrap under aws-lambda-rie, moto behind the fault proxy:
// a stale AWSPENDING with an edit after it (1), and a revocation Graph
// refuses for good (5), with no grace period so that it is due at once. The
// edit is kept, both secrets rotate, the refusal is counted in the EMF line
// and fails nothing, and the function's output holds no secret.
func TestBootstrapTrustsOnlyAWSCURRENT(t *testing.T) {
	s := newScenario(t)
	ids := s.secrets(2)
	stale := s.issue(50 * day)
	s.putVersion(t, ids[0], newUUID(), s.baseFields(stale), rotation.StagePending)
	s.baseline[stale] = true
	want := s.edit(t, ids[0], func(v map[string]any) { v["owner"] = "payments" })
	r := startRIE(t, map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": s.c.srv.URL,
		"METAMINT_GRAPH_API_URL":           s.srv.URL,
		"METAMINT_REVOKE_GRACE":            "1ns",
	})
	invoke := func(payload []byte) invocation {
		inv := r.invoke(payload)
		_, _ = s.answers.Write(inv.Body)
		return inv
	}
	initial := s.currentToken(ids[0])
	if inv := invoke(directEventJSON(false, ids[0])); inv.ErrorType != "" || inv.Response.Summary == nil || inv.Response.Summary.Rotated != 1 {
		t.Fatalf("stale pending: %s %s %+v; want rotated", inv.ErrorType, inv.ErrorMessage, inv.Response.Summary)
	}
	if got := userFields(s.current(ids[0])); !jsonEqual(got, want) {
		t.Errorf("AWSCURRENT's user fields = %v; want the edit kept %v", got, want)
	}

	first := s.currentToken(ids[1])
	if inv := invoke(directEventJSON(true, ids[1])); inv.ErrorType != "" || inv.Response.Summary.Rotated != 1 {
		t.Fatalf("first rotation: %s %s; want rotated", inv.ErrorType, inv.ErrorMessage)
	}
	s.srv.FailNext(minttest.EndpointRevoke, minttest.Fault{Times: 1000,
		Error: &minttest.Error{Message: "(#100) refused", Type: "OAuthException", Code: 100}})
	inv := invoke(directEventJSON(true, ids[1]))
	if inv.ErrorType != "" || inv.Response.Summary.Rotated != 1 || inv.Response.Summary.RevocationsFailed != 1 {
		t.Fatalf("second rotation: %s %s %+v; want rotated with one failed revocation", inv.ErrorType, inv.ErrorMessage, inv.Response.Summary)
	}
	if s.revoked(first) {
		t.Errorf("the token was revoked though Graph refused")
	}
	if !r.waitOutput(func(out string) bool { return strings.Contains(out, `"RevocationsFailed":1`) }) {
		t.Errorf("no EMF line with RevocationsFailed 1 in the function's output")
	}
	for _, v := range s.revokeLabelled(ids[1]) { // waits, marked, for a later run
		tok, _ := s.value(ids[1], v, "")["access_token"].(string)
		s.baseline[tok] = true
	}
	s.check(t, ids, map[string]string{ids[0]: initial, ids[1]: first})
	assertNoSecrets(t, "the bootstrap's output", r.Output(), secretsOf(s.srv, s.fx))
}

// TestDiscardedTokenRevoked: a pending version is discarded while its token
// is live: made from the JSON before an edit (finishSecret refuses it), or
// short of a scope the secret asks for (this cycle's version, resumed by a
// run). The token was never current; it is marked for revocation when it
// is discarded, a grace period from then, and a run revokes it after that,
// so no live token stays in a discarded version (and, once
// METAMINT_DISCARDED moves on, in a version without labels) until it
// expires, or for good.
func TestDiscardedTokenRevoked(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"edited before finishSecret", "resumed short of a scope"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			id := s.secrets(1)[0]
			var discarded string
			if how == "edited before finishSecret" {
				version := s.placeholder(id)
				for _, step := range []string{rotation.StepCreate, rotation.StepSet, rotation.StepTest} {
					if _, err := s.run(t.Context(), rotationEvent(step, id, version)); err != nil {
						t.Fatalf("%s = %v", step, err)
					}
				}
				discarded, _ = s.value(id, version, rotation.StagePending)["access_token"].(string)
				// The edit, as in TestEditBeforeFinishSecret: the label moved by
				// hand, since moto's PutSecretValue with AWSCURRENT leaves two
				// versions AWSCURRENT while a rotation runs.
				edited := s.current(id)
				edited["owner"] = "growth"
				editV, curV := newUUID(), s.versionWith(id, rotation.StageCurrent)
				s.putVersion(t, id, editV, edited, "EDIT")
				for _, in := range []*secretsmanager.UpdateSecretVersionStageInput{
					{SecretId: aws.String(id), VersionStage: aws.String(rotation.StageCurrent), MoveToVersionId: aws.String(editV), RemoveFromVersionId: aws.String(curV)},
					{SecretId: aws.String(id), VersionStage: aws.String("EDIT"), RemoveFromVersionId: aws.String(editV)},
				} {
					if _, err := s.sm.UpdateSecretVersionStage(t.Context(), in); err != nil {
						t.Fatal(err)
					}
				}
				var stateErr *rotation.RotationStateError
				if _, err := s.run(t.Context(), rotationEvent(rotation.StepFinish, id, version)); !errors.As(err, &stateErr) {
					t.Fatalf("finishSecret = %v; want a RotationStateError", err)
				}
			} else {
				arn := id // putSecret returns the ARN
				discarded = s.issue(50*day, "ads_read")
				fields := s.current(id)
				fields["access_token"] = discarded
				s.putVersion(t, id, rotation.VersionToken(arn, s.versionWith(id, rotation.StageCurrent), ""), fields, rotation.StagePending)
				if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusRotated || !strings.Contains(r.Reason, "replacing") {
					t.Fatalf("run = %+v; want rotated, replacing the pending version", r)
				}
			}
			if s.revoked(discarded) {
				t.Fatalf("the discarded token was revoked at once; want it kept for the grace period")
			}
			s.srv.Advance(rotation.DefaultRevokeGrace + time.Hour)
			s.runOnce(t, directEventJSON(false, id))
			if !s.revoked(discarded) {
				t.Errorf("the discarded token is live past the grace period; want it revoked")
			}
			assertNoSecrets(t, "the logs", s.logs.String(), secretsOf(s.srv, s.fx))
		})
	}
}

// TestDeadDiscardSpendsNoLabel: this cycle's pending version holds a token
// debug_token finds expired. The run discards it without a revocation mark:
// there is nothing live to revoke, and a secret's 20 staging labels are
// not spent on it.
func TestDeadDiscardSpendsNoLabel(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	id := s.secrets(1)[0]
	fields := s.current(id)
	fields["access_token"] = s.issue(-time.Hour)
	version := rotation.VersionToken(id, s.versionWith(id, rotation.StageCurrent), "")
	s.putVersion(t, id, version, fields, rotation.StagePending)
	if r := s.runOnce(t, directEventJSON(false, id)); r.Status != rotation.StatusRotated || !strings.Contains(r.Reason, "expired") {
		t.Fatalf("run = %+v; want rotated, replacing the expired pending version", r)
	}
	if got := s.stages(id)[version]; !slices.Equal(got, []string{rotation.StageDiscarded}) {
		t.Errorf("labels of the discarded version = %v; want only %s", got, rotation.StageDiscarded)
	}
}
