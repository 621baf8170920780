package main

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// directEventFields is a direct event's fields: the secrets to rotate (an
// empty list, never null, when none) and force.
func directEventFields(force bool, ids []string) map[string]any {
	if ids == nil {
		ids = []string{}
	}
	return map[string]any{"rotate": ids, "force": force}
}

func directEventJSON(force bool, ids ...string) json.RawMessage {
	b, _ := json.Marshal(directEventFields(force, ids))
	return b
}

// resultFields returns field of each of resp's results, in order; nil when
// there are none.
func resultFields(resp Response, field func(rotation.SecretResult) string) []string {
	var s []string
	for _, r := range resp.Results {
		s = append(s, field(r))
	}
	return s
}

func statuses(resp Response) []string {
	return resultFields(resp, func(r rotation.SecretResult) string { return r.Status })
}

// TestScheduledRun runs a direct invocation over secrets in every state,
// then runs it again as a retried or next schedule would, then forces one.
func TestScheduledRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	admin := w.putMintingToken("admin-token", w.fx.AdminToken)
	withRef := func(f map[string]any) map[string]any { f["minting_token_ref"] = admin; return f }
	permanent := w.baseFields(w.issue(0))
	permanent["expiring_token"] = false
	ids := []string{
		w.putSecret("due-soon", w.baseFields(w.issue(5*day))),
		w.putSecret("not-due", w.baseFields(w.issue(50*day))),
		w.putSecret("expired", withRef(w.baseFields(w.issue(-day)))),
		w.putSecret("permanent", permanent),
		w.putSecret("scope-added", w.baseFields(w.issue(50*day, "ads_read"))),
		w.putRaw("bad-json", `{"app_id":`),
		w.prefix + "missing",
	}
	oldCurrent := map[string]string{}
	for _, id := range ids[:5] {
		oldCurrent[id] = w.versionWith(id, rotation.StageCurrent)
	}

	resp, err := w.h.Handle(t.Context(), directEventJSON(false, ids...))
	checkRunErr(t, resp, err)
	want := []string{rotation.StatusRotated, rotation.StatusNotDue, rotation.StatusRotated, rotation.StatusNotDue, rotation.StatusRotated, rotation.StatusFailed, rotation.StatusFailed}
	if diff := cmp.Diff(want, statuses(resp)); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s\nresults: %+v", diff, resp.Results)
	}
	if diff := cmp.Diff(&rotation.Summary{Rotated: 3, NotDue: 2, Failed: 2}, counts(resp.Summary)); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if got := w.srv.Minted(); got != 3 {
		t.Errorf("Minted() = %d; want 3", got)
	}
	wantMethod := map[int]string{0: "refreshed", 2: "minted", 4: "minted"}
	for i, m := range wantMethod {
		r := resp.Results[i]
		if r.Method != m {
			t.Errorf("results[%d].Method = %q; want %q", i, r.Method, m)
		}
		// The secret ends as after a Secrets Manager rotation: the new
		// version AWSCURRENT (AWSPENDING stays on it, as Secrets
		// Manager's rotations leave it: no third write), the old
		// AWSPREVIOUS.
		wantStages := map[string][]string{r.VersionID: {rotation.StageCurrent, rotation.StagePending}, oldCurrent[ids[i]]: {rotation.StagePrevious}}
		if diff := cmp.Diff(wantStages, w.stages(ids[i])); diff != "" {
			t.Errorf("stages of %s (-want +got):\n%s", ids[i], diff)
		}
		if r.ExpiresAt == "" || r.SecretARN != ids[i] {
			t.Errorf("results[%d] = %+v; want expires_at and the ARN", i, r)
		}
	}
	for i, wantType := range map[int]string{5: "SecretFormatError", 6: "SecretsManagerError"} {
		if got := resp.Results[i].ErrorType; got != wantType {
			t.Errorf("results[%d].ErrorType = %q; want %q (error %q)", i, got, wantType, resp.Results[i].Error)
		}
	}

	// The same event again, as a retried schedule: nothing is due now.
	again, err := w.h.Handle(t.Context(), directEventJSON(false, ids[:5]...))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{rotation.StatusNotDue, rotation.StatusNotDue, rotation.StatusNotDue, rotation.StatusNotDue, rotation.StatusNotDue}, statuses(again)); diff != "" {
		t.Errorf("statuses of the second run (-want +got):\n%s", diff)
	}
	if got := w.srv.Minted(); got != 3 {
		t.Errorf("after the second run Minted() = %d; want still 3", got)
	}

	// force rotates a secret that is not due, with a new version token.
	forced, err := w.h.Handle(t.Context(), directEventJSON(true, ids[1]))
	if err != nil || len(forced.Results) != 1 || forced.Results[0].Status != rotation.StatusRotated || forced.Results[0].Reason != "forced" {
		t.Fatalf("Handle(force) = %+v, %v; want rotated, forced", forced, err)
	}
	if got := w.srv.Minted(); got != 4 {
		t.Errorf("after force Minted() = %d; want 4", got)
	}

	text, _ := json.Marshal([]Response{resp, again, forced})
	assertNoSecrets(t, "responses", string(text), secretsOf(w.srv, w.fx))
	assertNoSecrets(t, "logs", w.logs.String(), secretsOf(w.srv, w.fx))
}

// TestScheduledRetryResumes fails a scheduled rotation at finishSecret and
// checks that the retried run resumes with the same version token and the
// token already stored, minting nothing more.
func TestScheduledRetryResumes(t *testing.T) {
	t.Parallel()
	c := newChaos(t, motoURL(t))
	w := newWorld(t, withEndpoint(c.srv.URL))
	id := w.putSecret("managed", w.baseFields(w.issue(5*day)))
	oldCurrent := w.versionWith(id, rotation.StageCurrent)
	before := w.raw(id, "", rotation.StageCurrent)

	c.set("UpdateSecretVersionStage", true)
	first, err := w.h.Handle(t.Context(), directEventJSON(false, id))
	checkRunErr(t, first, err)
	r := first.Results[0]
	if r.Status != rotation.StatusFailed || r.Step != rotation.StepFinish || r.ErrorType != "SecretsManagerError" {
		t.Fatalf("first run result = %+v; want failed in finishSecret with rotation.SecretsManagerError", r)
	}
	if got := w.raw(id, "", rotation.StageCurrent); got != before || w.versionWith(id, rotation.StageCurrent) != oldCurrent {
		t.Fatalf("AWSCURRENT changed after a failed finishSecret")
	}
	if got := w.srv.Minted(); got != 1 {
		t.Fatalf("Minted() = %d; want 1", got)
	}

	c.set("UpdateSecretVersionStage", false)
	w.calls.take()
	second, err := w.h.Handle(t.Context(), directEventJSON(false, id))
	if err != nil {
		t.Fatal(err)
	}
	r2 := second.Results[0]
	if r2.Status != rotation.StatusRotated || r2.VersionID != r.VersionID || !strings.Contains(r2.Reason, "resuming") || r2.Method != "" {
		t.Fatalf("retried run result = %+v; want rotated, resuming version %s, nothing minted", r2, r.VersionID)
	}
	if got := w.srv.Minted(); got != 1 {
		t.Errorf("after the retried run Minted() = %d; want still 1", got)
	}
	if got := w.versionWith(id, rotation.StageCurrent); got != r.VersionID {
		t.Errorf("AWSCURRENT is on %s; want %s", got, r.VersionID)
	}
	// The describe showed the version of this token, so the retried run
	// reads it (AWSPENDING), judges it by AWSCURRENT (its value, its app
	// secret) and stores nothing; one write, the move of AWSCURRENT.
	wantSM := map[string]int{"DescribeSecret": 1, "GetSecretValue": 3, "UpdateSecretVersionStage": 1}
	if diff := cmp.Diff(wantSM, w.calls.take()); diff != "" {
		t.Errorf("Secrets Manager calls of the retried run (-want +got):\n%s", diff)
	}
}

// TestScheduledGraphAndSecretCalls pins the calls one scheduled rotation
// makes: every value read once and every token inspected once.
func TestScheduledGraphAndSecretCalls(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.putSecret("managed", w.baseFields(w.issue(5*day)))
	w.calls.take()
	w.srv.ResetRequests()
	resp, err := w.h.Handle(t.Context(), directEventJSON(false, id))
	if err != nil || resp.Results[0].Status != rotation.StatusRotated {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	wantGraph := map[minttest.Endpoint]int{minttest.EndpointDebugToken: 2, minttest.EndpointExchange: 1}
	if diff := cmp.Diff(wantGraph, graphCalls(w.srv)); diff != "" {
		t.Errorf("Graph calls (-want +got):\n%s", diff)
	}
	// One DescribeSecret, whose stages the four rotation.Steps check; AWSCURRENT and
	// the app secret are read once each, and AWSPENDING not at all (the
	// describe showed no version of this token); finishing moves AWSCURRENT
	// and leaves AWSPENDING on it. Two writes in all.
	wantSM := map[string]int{"DescribeSecret": 1, "GetSecretValue": 2, "PutSecretValue": 1, "UpdateSecretVersionStage": 1}
	if diff := cmp.Diff(wantSM, w.calls.take()); diff != "" {
		t.Errorf("Secrets Manager calls (-want +got):\n%s", diff)
	}

	// The next generation also marks the version two generations old for
	// revocation: one more write (its label), and one more read (that
	// version, to date the end of its token's time as current: AWSCURRENT
	// moved back by hand would make it newer), no revoke yet (the grace
	// period).
	w.srv.ResetRequests()
	resp, err = w.h.Handle(t.Context(), directEventJSON(true, id))
	if err != nil || resp.Results[0].Status != rotation.StatusRotated {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	if diff := cmp.Diff(wantGraph, graphCalls(w.srv)); diff != "" {
		t.Errorf("Graph calls, second generation (-want +got):\n%s", diff)
	}
	wantSM["UpdateSecretVersionStage"] = 2 // the move and the mark
	wantSM["GetSecretValue"] = 3           // and AWSPREVIOUS's version
	if diff := cmp.Diff(wantSM, w.calls.take()); diff != "" {
		t.Errorf("Secrets Manager calls, second generation (-want +got):\n%s", diff)
	}

	// Past the grace period, a run that finds nothing due revokes it: it
	// reads the version and AWSCURRENT's references, asks debug_token and
	// revokes, then drops the label.
	w.srv.Advance(rotation.DefaultRevokeGrace + time.Hour)
	w.srv.ResetRequests()
	resp, err = w.h.Handle(t.Context(), directEventJSON(false, id))
	if err != nil || resp.Results[0].Status != rotation.StatusNotDue {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	wantGraph = map[minttest.Endpoint]int{minttest.EndpointDebugToken: 2, minttest.EndpointRevoke: 1}
	if diff := cmp.Diff(wantGraph, graphCalls(w.srv)); diff != "" {
		t.Errorf("Graph calls, the revocation (-want +got):\n%s", diff)
	}

	// With nothing due and nothing to revoke, a run costs one
	// DescribeSecret, the reads of AWSCURRENT and its app secret, and one
	// debug_token.
	w.calls.take()
	w.srv.ResetRequests()
	resp, err = w.h.Handle(t.Context(), directEventJSON(false, id))
	if err != nil || resp.Results[0].Status != rotation.StatusNotDue {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	if diff := cmp.Diff(map[minttest.Endpoint]int{minttest.EndpointDebugToken: 1}, graphCalls(w.srv)); diff != "" {
		t.Errorf("Graph calls, not due (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"DescribeSecret": 1, "GetSecretValue": 2}, w.calls.take()); diff != "" {
		t.Errorf("Secrets Manager calls, not due (-want +got):\n%s", diff)
	}
}

// TestScheduledConcurrency rotates many secrets with a concurrency bound and
// one broken secret among them. Graph holds the first requests until three
// are in flight at once, so the secrets run side by side by count, however
// fast the machine; no more than three ever are.
func TestScheduledConcurrency(t *testing.T) {
	t.Parallel()
	w := newWorld(t, withConfig(func(c *config) { c.concurrency = 3 }))
	w.graph.gather(3)
	var ids []string
	for i := range 8 {
		ids = append(ids, w.putSecret("s"+string(rune('a'+i)), w.baseFields(w.issue(2*day))))
	}
	ids = append(ids[:4], append([]string{w.putRaw("broken", `[]`)}, ids[4:]...)...)
	resp, err := w.h.Handle(t.Context(), directEventJSON(false, ids...))
	checkRunErr(t, resp, err)
	if diff := cmp.Diff(&rotation.Summary{Rotated: 8, Failed: 1}, counts(resp.Summary)); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if resp.Results[4].Status != rotation.StatusFailed || resp.Results[4].SecretID != ids[4] {
		t.Errorf("results[4] = %+v; want the broken secret, failed", resp.Results[4])
	}
	if got := w.srv.Minted(); got != 8 {
		t.Errorf("Minted() = %d; want 8", got)
	}
	if got := w.graph.max.Load(); got != 3 {
		t.Errorf("at most %d Graph requests were in flight; want 3 with concurrency 3", got)
	}
}

// TestScheduledSelection covers which secrets a run takes and skips.
func TestScheduledSelection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cfg      func(*config)
		payload  func(w *world, id string) json.RawMessage
		prepare  func(w *world, id string)
		ctx      func(t *testing.T) context.Context
		want     []string
		anyOrder bool // the statuses may come in any order
		reason   *regexp.Regexp
		minted   int
	}{
		{
			name:    "scheduled event rotates METAMINT_SECRET_IDS",
			payload: func(w *world, id string) json.RawMessage { return scheduledEvent() },
			want:    []string{rotation.StatusRotated}, minted: 1,
			reason: regexp.MustCompile(`expires at .* within 360h0m0s`),
		},
		{
			name:    "direct run with an empty list rotates METAMINT_SECRET_IDS",
			payload: func(w *world, id string) json.RawMessage { return directEventJSON(false) },
			want:    []string{rotation.StatusRotated}, minted: 1,
		},
		{
			name: "a secret named twice is rotated once",
			payload: func(w *world, id string) json.RawMessage {
				name := id[strings.LastIndex(id, ":")+1 : strings.LastIndex(id, "-")]
				return directEventJSON(false, id, name)
			},
			want: []string{rotation.StatusRotated, rotation.StatusSkipped}, anyOrder: true, minted: 1,
		},
		{
			// A pending version of another rotation does not block a due
			// secret: an empty one (Secrets Manager's rotation stuck before
			// createSecret stored anything) is superseded.
			name:    "a due secret supersedes another rotation's empty pending version",
			prepare: func(w *world, id string) { w.placeholder(id) },
			payload: func(w *world, id string) json.RawMessage { return directEventJSON(false, id) },
			want:    []string{rotation.StatusRotated}, reason: regexp.MustCompile(`superseding another rotation's pending version .* \(pending_empty\)`), minted: 1,
		},
		{
			name: "another rotation's pending version is left alone when the secret is not due",
			prepare: func(w *world, id string) {
				w.placeholder(id)
				w.h.fleet.RefreshBefore = 0
			},
			payload: func(w *world, id string) json.RawMessage { return directEventJSON(false, id) },
			want:    []string{rotation.StatusNotDue}, reason: regexp.MustCompile(`another rotation's version .* holds AWSPENDING`),
		},
		{
			name:    "force takes over a rotation in progress",
			prepare: func(w *world, id string) { w.placeholder(id) },
			payload: func(w *world, id string) json.RawMessage { return directEventJSON(true, id) },
			want:    []string{rotation.StatusRotated}, minted: 1,
		},
		{
			name:    "refresh window of zero leaves the secret",
			cfg:     func(c *config) { c.refreshBefore = 0 },
			payload: func(w *world, id string) json.RawMessage { return directEventJSON(false, id) },
			want:    []string{rotation.StatusNotDue},
		},
		{
			name:    "near the deadline every secret is deferred",
			payload: func(w *world, id string) json.RawMessage { return directEventJSON(false, id, id+"-other") },
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), rotation.DefaultMargin-time.Second)
				t.Cleanup(cancel)
				return ctx
			},
			want: []string{rotation.StatusDeferred, rotation.StatusDeferred}, reason: regexp.MustCompile(`next run`),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			id := w.putSecret("managed", w.baseFields(w.issue(5*day)))
			cfg := w.h.fleet
			w.h.secretIDs = []string{id}
			if tc.cfg != nil {
				c := config{refreshBefore: cfg.RefreshBefore, concurrency: cfg.Concurrency}
				tc.cfg(&c)
				cfg.RefreshBefore, cfg.Concurrency = c.refreshBefore, c.concurrency
			}
			if tc.prepare != nil {
				tc.prepare(w, id)
			}
			ctx := t.Context()
			if tc.ctx != nil {
				ctx = tc.ctx(t)
			}
			resp, err := w.h.Handle(ctx, tc.payload(w, id))
			if err != nil {
				t.Fatalf("Handle = %v", err)
			}
			got := statuses(resp)
			if tc.anyOrder {
				slices.Sort(got)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("statuses (-want +got):\n%s\nresults: %+v", diff, resp.Results)
			}
			if tc.reason != nil && !tc.reason.MatchString(resp.Results[0].Reason) {
				t.Errorf("reason = %q; want match for %s", resp.Results[0].Reason, tc.reason)
			}
			if got := w.srv.Minted(); got != tc.minted {
				t.Errorf("Minted() = %d; want %d", got, tc.minted)
			}
		})
	}
}

func scheduledEvent() json.RawMessage {
	return json.RawMessage(`{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event",
"source":"aws.events","account":"123456789012","time":"2026-11-28T00:00:00Z","region":"us-east-1",
"resources":["arn:aws:events:us-east-1:123456789012:rule/metamint"],"detail":{}}`)
}
