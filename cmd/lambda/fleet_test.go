package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// Tests of runs over many secrets: the tag filter, fan-out mode, the
// deadline cut-off, pacing under Meta's rate limits, and partial failures.

// runEvent is a direct event with a mode.
func runEvent(mode rotation.Mode, force bool, ids ...string) json.RawMessage {
	ev := directEventFields(force, ids)
	ev["mode"] = mode
	b, _ := json.Marshal(ev)
	return b
}

func secretIDs(resp Response) []string {
	return resultFields(resp, func(r rotation.SecretResult) string { return r.SecretID })
}

// TestTagFilter checks which secrets a run takes with METAMINT_SECRET_TAG:
// exact key (and value) matches only, although ListSecrets matches
// prefixes; every page; METAMINT_SECRET_IDS first and no secret twice; an
// explicit list in the event instead of both.
func TestTagFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		tag        string   // METAMINT_SECRET_TAG, with KEY for this test's key
		configured []string // METAMINT_SECRET_IDS, by name
		payload    []string // the event's rotate list, by name; nil: a scheduled event
		want       []string // the secrets checked, by name: configured ones first, then tagged ones in any order
		wantPages  int      // at least this many ListSecrets calls
	}{
		{
			name: "key alone, with configured secrets",
			tag:  "KEY", configured: []string{"listed", "tagged-no"},
			want: []string{"listed", "tagged-no", "tagged-yes", "value-prefix"}, wantPages: 2,
		},
		{name: "key and value", tag: "KEY=yes", want: []string{"tagged-yes"}, wantPages: 2},
		{name: "an explicit list leaves the tag out", tag: "KEY", payload: []string{"untagged"}, want: []string{"untagged"}},
		{name: "no secret carries the tag", tag: "KEY=none", want: nil, wantPages: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key := "metamint:managed-" + randHex(4) // moto is shared: a key of this test's own
			w := newWorld(t)
			tag, err := parseSecretTag(strings.ReplaceAll(tc.tag, "KEY", key))
			if err != nil {
				t.Fatal(err)
			}
			w.h.secretTag, w.h.listPage = tag, 1
			value := func() string { b, _ := json.Marshal(w.baseFields(w.issue(50 * day))); return string(b) }
			arns := map[string]string{
				"tagged-yes":   w.putTagged("tagged-yes", value(), map[string]string{key: "yes", "team": "ads"}),
				"tagged-no":    w.putTagged("tagged-no", value(), map[string]string{key: "no"}),
				"key-prefix":   w.putTagged("key-prefix", value(), map[string]string{key + "-other": "yes"}),
				"value-prefix": w.putTagged("value-prefix", value(), map[string]string{key: "yes-and-more"}),
				"untagged":     w.putTagged("untagged", value(), nil),
				"listed":       w.putTagged("listed", value(), nil),
			}
			byARN := map[string]string{}
			for name, arn := range arns {
				byARN[arn] = name
			}
			for _, name := range tc.configured {
				w.h.secretIDs = append(w.h.secretIDs, w.prefix+name)
			}
			payload := scheduledEvent()
			if tc.payload != nil {
				var ids []string
				for _, name := range tc.payload {
					ids = append(ids, w.prefix+name)
				}
				payload = directEventJSON(false, ids...)
			}
			w.calls.take()
			resp, err := w.h.Handle(t.Context(), payload)
			if err != nil {
				t.Fatalf("Handle = %v", err)
			}
			var got []string
			for _, id := range secretIDs(resp) {
				if name, ok := byARN[id]; ok {
					got = append(got, name)
				} else {
					got = append(got, strings.TrimPrefix(id, w.prefix))
				}
			}
			n := len(tc.configured)
			if n <= len(got) {
				slices.Sort(got[n:])
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("secrets checked (-want +got):\n%s", diff)
			}
			for _, r := range resp.Results {
				if r.Status != rotation.StatusNotDue {
					t.Errorf("result %+v; want not_due", r)
				}
			}
			if got := w.calls.take()["ListSecrets"]; got < tc.wantPages || (tc.wantPages == 0 && got != 0) {
				t.Errorf("ListSecrets calls = %d; want at least %d (pages of 1), none for an explicit list", got, tc.wantPages)
			}
		})
	}
}

// TestTagFilterListFails checks that a run whose ListSecrets fails fails
// as a whole, naming the call, rather than quietly checking fewer secrets.
func TestTagFilterListFails(t *testing.T) {
	t.Parallel()
	c := newChaos(t, motoURL(t))
	w := newWorld(t, withEndpoint(c.srv.URL))
	w.h.secretTag = &secretTag{Key: "metamint:managed"}
	c.set("ListSecrets", true)
	_, err := w.h.Handle(t.Context(), scheduledEvent())
	var smerr *rotation.SecretsManagerError
	if !errors.As(err, &smerr) || !strings.Contains(err.Error(), "ListSecrets (METAMINT_SECRET_TAG metamint:managed)") {
		t.Errorf("Handle with ListSecrets failing = %v; want a rotation.SecretsManagerError naming ListSecrets and the tag", err)
	}
}

// TestTagFilterListThrottled: ListSecrets is throttled until the deadline
// leaves no wait (Secrets Manager's "not now", the account's quota shared
// with other callers). The run is deferred, not failed, so FailedAlarm stays
// quiet and the next run lists the tagged secrets again: they count as one
// deferred secret, and the secret METAMINT_SECRET_IDS names, which the
// throttle's waits left no time for, as deferred too, its stored expiry
// counted in MinDaysToExpiry.
func TestTagFilterListThrottled(t *testing.T) {
	t.Parallel()
	c := newChaos(t, motoURL(t))
	p, clk := fakePacer(25)
	w := newWorld(t, withEndpoint(c.srv.URL), withPacing(p))
	id := w.putSecret("listed", w.baseFields(w.issue(5*day)))
	w.h.secretIDs = []string{id}
	w.h.secretTag = &secretTag{Key: "metamint:managed"}
	list := c.inject(awstest.Fault{Op: "ListSecrets", Times: awstest.Forever, Status: 400, ErrorType: "ThrottlingException", Message: "Rate exceeded"})
	ctx, cancel := context.WithDeadline(t.Context(), clk.Now().Add(30*time.Second))
	defer cancel()
	resp, err := w.h.Handle(ctx, scheduledEvent())
	if err != nil {
		t.Fatalf("Handle with ListSecrets throttled = %v; want no error (the run deferred)", err)
	}
	if list.Hits() < 2 {
		t.Errorf("ListSecrets sent %d times; want it sent again after the throttle", list.Hits())
	}
	if got := statuses(resp); !slices.Equal(got, []string{rotation.StatusDeferred}) {
		t.Errorf("statuses = %v; want METAMINT_SECRET_IDS' secret deferred", got)
	}
	if s := resp.Summary; s == nil || s.Deferred != 2 || s.Failed != 0 || s.MinDaysToExpiry == nil || *s.MinDaysToExpiry != 5 {
		t.Errorf("summary = %+v; want 2 deferred (the listed secret and the tagged ones), nothing failed, 5 days to expiry", s)
	}
	if logs := w.logs.String(); !strings.Contains(logs, `"msg":"the tagged secrets are deferred"`) || !strings.Contains(logs, "ListSecrets") {
		t.Errorf("the logs do not say the tagged secrets are deferred, naming ListSecrets:\n%s", logs)
	}
	if m := w.metrics.String(); !strings.Contains(m, `"Deferred":2`) || !strings.Contains(m, `"Failed":0`) {
		t.Errorf("the metrics do not count 2 deferred, 0 failed:\n%s", m)
	}
}

// TestFanOut runs a scheduled run in fan-out mode against moto: it starts
// one rotation per due secret with the cycle's version token, a retried run
// starts none, Secrets Manager's invocations (played here as rotation
// events) then rotate the secret, and an inline run finishes a rotation
// Secrets Manager gave up on.
func TestFanOut(t *testing.T) {
	t.Parallel()
	w := newWorld(t, withConfig(func(c *config) { c.mode = string(rotation.FanOut) }))
	due := w.putSecret("due", w.baseFields(w.issue(5*day)))
	notDue := w.putSecret("not-due", w.baseFields(w.issue(50*day)))
	unconfigured := w.putSecret("unconfigured", w.baseFields(w.issue(5*day)))
	busy := w.putSecret("busy", w.baseFields(w.issue(5*day)))
	gaveUp := w.putSecret("gave-up", w.baseFields(w.issue(5*day)))
	for _, id := range []string{due, notDue, busy, gaveUp} {
		w.configureRotation(id)
	}
	busyPending := w.placeholder(busy) // a rotation someone else started
	ids := []string{due, notDue, unconfigured, busy, gaveUp}
	curV := w.versionWith(due, rotation.StageCurrent)
	token := rotation.VersionToken(due, curV, "")
	w.calls.take()

	resp, err := w.h.Handle(t.Context(), directEventJSON(false, ids...))
	checkRunErr(t, resp, err)
	if resp.Mode != rotation.FanOut {
		t.Errorf("Mode = %q; want %q", resp.Mode, rotation.FanOut)
	}
	want := []string{rotation.StatusStarted, rotation.StatusNotDue, rotation.StatusFailed, rotation.StatusSkipped, rotation.StatusStarted}
	if diff := cmp.Diff(want, statuses(resp)); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s\nresults: %+v", diff, resp.Results)
	}
	if diff := cmp.Diff(&rotation.Summary{RotationStarted: 2, NotDue: 1, Skipped: 1, Failed: 1}, counts(resp.Summary)); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	r := resp.Results[0]
	if r.VersionID != token || !strings.Contains(r.Reason, "within 360h") || r.ExpiresAt == "" || r.Method != "" {
		t.Errorf("result of the due secret = %+v; want version %s, the reason, the current expiry, no method", r, token)
	}
	if r := resp.Results[2]; r.ErrorType != "RotationStateError" || !strings.Contains(r.Error, "rotation configured with this function") {
		t.Errorf("result of the secret without rotation = %+v; want a rotation.RotationStateError", r)
	}
	if r := resp.Results[3]; !strings.Contains(r.Reason, busyPending) {
		t.Errorf("result of the busy secret = %+v; want the other rotation named", r)
	}
	if got := w.calls.take()["RotateSecret"]; got != 2 {
		t.Errorf("RotateSecret calls = %d; want 2", got)
	}
	if got := w.srv.Minted(); got != 0 {
		t.Errorf("Minted() = %d; want 0: fan-out only starts rotations", got)
	}
	// Secrets Manager created the new version, empty, as AWSPENDING.
	wantStages := map[string][]string{curV: {rotation.StageCurrent}, token: {rotation.StagePending}}
	if diff := cmp.Diff(wantStages, w.stages(due)); diff != "" {
		t.Errorf("stages after RotateSecret (-want +got):\n%s", diff)
	}

	// A retried schedule starts nothing: the cycle's rotations are pending.
	again, err := w.h.Handle(t.Context(), directEventJSON(false, ids...))
	checkRunErr(t, again, err)
	if diff := cmp.Diff([]string{rotation.StatusSkipped, rotation.StatusNotDue, rotation.StatusFailed, rotation.StatusSkipped, rotation.StatusSkipped}, statuses(again)); diff != "" {
		t.Errorf("statuses of the retried run (-want +got):\n%s", diff)
	}
	if r := again.Results[0]; r.VersionID != token || !strings.Contains(r.Reason, "in progress") {
		t.Errorf("retried result = %+v; want the cycle's rotation in progress", r)
	}
	// force does not take over a rotation in progress in fan-out mode.
	forced, err := w.h.Handle(t.Context(), runEvent(rotation.FanOut, true, busy))
	if err != nil || forced.Results[0].Status != rotation.StatusSkipped {
		t.Errorf("Handle(fan-out, force, busy) = %+v, %v; want skipped", forced, err)
	}
	if got := w.calls.take()["RotateSecret"]; got != 0 {
		t.Errorf("RotateSecret calls of the retried runs = %d; want 0", got)
	}

	// Secrets Manager invokes the function once per step.
	for _, step := range rotation.Steps {
		if _, err = w.step(step, due, token); err != nil {
			t.Fatalf("%s = %v", step, err)
		}
	}
	if got := w.srv.Minted(); got != 1 {
		t.Errorf("Minted() after the rotation = %d; want 1", got)
	}
	wantStages = map[string][]string{token: {rotation.StageCurrent, rotation.StagePending}, curV: {rotation.StagePrevious}}
	if diff := cmp.Diff(wantStages, w.stages(due)); diff != "" {
		t.Errorf("stages after the rotation (-want +got):\n%s", diff)
	}
	w.endRotation(due, token)
	next, err := w.h.Handle(t.Context(), directEventJSON(false, due))
	if err != nil || next.Results[0].Status != rotation.StatusNotDue {
		t.Errorf("next schedule = %+v, %v; want not_due", next, err)
	}

	// The event's mode wins over METAMINT_MODE. An inline run finishes the
	// rotation Secrets Manager never ran, with the same version token.
	finished, err := w.h.Handle(t.Context(), runEvent(rotation.Inline, false, gaveUp))
	if err != nil || finished.Mode != rotation.Inline || finished.Results[0].Status != rotation.StatusRotated ||
		finished.Results[0].VersionID != resp.Results[4].VersionID || !strings.Contains(finished.Results[0].Reason, "resuming") {
		t.Errorf("Handle(inline, gave-up) = %+v, %v; want rotated inline, resuming version %s", finished, err, resp.Results[4].VersionID)
	}
	// And one with force takes the busy secret over.
	inline, err := w.h.Handle(t.Context(), runEvent(rotation.Inline, true, busy))
	if err != nil || inline.Results[0].Status != rotation.StatusRotated {
		t.Errorf("Handle(inline, force, busy) = %+v, %v; want rotated inline", inline, err)
	}
	if got := w.srv.Minted(); got != 3 {
		t.Errorf("Minted() = %d; want 3", got)
	}
	text, _ := json.Marshal([]Response{resp, again, forced, next, finished, inline})
	assertNoSecrets(t, "responses", string(text), secretsOf(w.srv, w.fx))
	assertNoSecrets(t, "logs", w.logs.String(), secretsOf(w.srv, w.fx))
}

// TestRotationCalls pins the calls of one rotation of an expiring, valid
// token, inline and by fan-out (the scheduled check, then Secrets Manager's
// four invocations, each on its own). internal/rotation/doc.go, "Calls per rotation",
// lists the same numbers.
func TestRotationCalls(t *testing.T) {
	t.Parallel()
	type calls struct {
		graph []string       // Graph requests in order: endpoint and which token
		sm    map[string]int // Secrets Manager calls
	}
	tests := []struct {
		name string
		mode rotation.Mode
		want []calls // the scheduled run, then for fan-out each step
	}{
		{
			name: "inline",
			mode: rotation.Inline,
			want: []calls{{
				graph: []string{"debug_token current", "oauth/access_token current", "debug_token new"},
				// One DescribeSecret: its stages serve the four rotation.Steps, and
				// showed no version of this token, so AWSPENDING is not read.
				// AWSCURRENT and the app secret are read once each;
				// finishing moves AWSCURRENT and leaves AWSPENDING on it:
				// two writes (internal/rotation/doc.go, "Calls per rotation").
				sm: map[string]int{"DescribeSecret": 1, "GetSecretValue": 2, "PutSecretValue": 1, "UpdateSecretVersionStage": 1},
			}},
		},
		{
			name: "fan-out",
			mode: rotation.FanOut,
			want: []calls{
				{graph: []string{"debug_token current"}, sm: map[string]int{"DescribeSecret": 1, "GetSecretValue": 2, "RotateSecret": 1}},
				// Each invocation stands alone: it describes the secret, and
				// createSecret reads the (empty) AWSPENDING version Secrets
				// Manager made.
				{ // createSecret: AWSCURRENT, the absent AWSPENDING, the app secret
					graph: []string{"debug_token current", "oauth/access_token current", "debug_token new"},
					sm:    map[string]int{"DescribeSecret": 1, "GetSecretValue": 3, "PutSecretValue": 1},
				},
				{sm: map[string]int{"DescribeSecret": 1}}, // setSecret
				// testSecret: AWSPENDING, judged by AWSCURRENT (its value, its app secret)
				{graph: []string{"debug_token new"}, sm: map[string]int{"DescribeSecret": 1, "GetSecretValue": 3}},
				// finishSecret: AWSPENDING, and AWSCURRENT to compare the user's fields
				{sm: map[string]int{"DescribeSecret": 1, "GetSecretValue": 2, "UpdateSecretVersionStage": 1}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			current := w.issue(5 * day)
			id := w.putSecret("managed", w.baseFields(current))
			if tc.mode == rotation.FanOut {
				w.configureRotation(id)
			}
			token := rotation.VersionToken(id, w.versionWith(id, rotation.StageCurrent), "")
			// tokenOf reads a version's access_token around the counting client;
			// "" when the version has no value.
			tokenOf := func(version string) string {
				out, err := w.sm.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionId: aws.String(version)})
				if err != nil {
					return ""
				}
				var doc struct {
					AccessToken string `json:"access_token"`
				}
				_ = json.Unmarshal([]byte(aws.ToString(out.SecretString)), &doc)
				return doc.AccessToken
			}
			take := func() calls {
				newToken := tokenOf(w.versionWith(id, rotation.StageCurrent))
				if v := w.versionWith(id, rotation.StagePending); v != "" {
					newToken = tokenOf(v)
				}
				var c calls
				for _, r := range w.srv.Requests() {
					tok := r.Form.Get("input_token") + r.Form.Get("fb_exchange_token")
					which := "other"
					switch tok {
					case current:
						which = "current"
					case newToken:
						which = "new"
					}
					c.graph = append(c.graph, string(r.Endpoint)+" "+which)
				}
				w.srv.ResetRequests()
				c.sm = w.calls.take()
				return c
			}
			w.calls.take()
			w.srv.ResetRequests()
			resp, err := w.h.Handle(t.Context(), runEvent(tc.mode, false, id))
			if err != nil || len(resp.Results) != 1 || resp.Results[0].Status == rotation.StatusFailed {
				t.Fatalf("Handle = %+v, %v", resp, err)
			}
			got := []calls{take()}
			if tc.mode == rotation.FanOut {
				for _, step := range rotation.Steps {
					if _, err := w.step(step, id, token); err != nil {
						t.Fatalf("%s = %v", step, err)
					}
					got = append(got, take())
				}
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(calls{})); diff != "" {
				t.Errorf("calls: scheduled run, then each step (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeadlineCutOff runs more secrets than the invocation has time for,
// one of them held up by a Graph that never answers: the run stops starting
// secrets when the margin is reached, cuts off the held one at the reserve,
// reports both kinds as deferred, answers while the invocation still has
// time, and leaves no secret half-rotated; the next run rotates the rest,
// minting each token once.
//
// Nothing depends on the machine's speed. Two secrets run at a time: the
// first debug_token to reach Graph is held, so one slot stays taken, and
// the other slot rotates the others one after another. Once Secrets
// Manager has answered three moves of AWSCURRENT, the run's clock
// (Fleet.TimeLeft) says less than the margin is left, so no other secret
// starts, and the reserve comes (Fleet.CutOff): by then every other secret
// started has had its last call (that move) answered, since a secret
// starts only when the one before it in its slot is done.
func TestDeadlineCutOff(t *testing.T) {
	t.Parallel()
	const n, rotated = 16, 3
	const margin, reserve = 2 * time.Second, 500 * time.Millisecond
	w := newWorld(t, withConfig(func(c *config) { c.concurrency = 2 }))
	w.h.fleet.Margin, w.h.fleet.Reserve = margin, reserve
	var ids []string
	before := map[string]string{}
	for i := range n {
		id := w.putSecret(fmt.Sprintf("s%02d", i), w.baseFields(w.issue(5*day)))
		ids = append(ids, id)
		before[id] = w.versionWith(id, rotation.StageCurrent)
	}
	w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{Hang: true}) // held until cut off

	var (
		cut       context.CancelFunc
		reserveAt time.Duration
		cutOnce   sync.Once
	)
	w.h.fleet.CutOff = func(ctx context.Context, r time.Duration) (context.Context, context.CancelFunc) {
		reserveAt = r
		work, cancel := context.WithCancel(ctx)
		cut = cancel
		return work, cancel
	}
	w.h.fleet.TimeLeft = func(deadline time.Time) time.Duration {
		if w.calls.moved.Load() < rotated {
			return time.Until(deadline)
		}
		cutOnce.Do(func() { // the reserve: only the held secret is running
			if cut != nil {
				cut()
			}
		})
		return 0
	}
	// A deadline only a hang reaches: were the held call not cut off at the
	// reserve, Handle would wait for it until the deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	resp, err := w.h.Handle(ctx, directEventJSON(false, ids...))
	if err != nil {
		t.Fatalf("Handle = %v", err)
	}
	if ctx.Err() != nil {
		t.Errorf("the invocation's context ended (%v) before Handle answered; want an answer while it has time", ctx.Err())
	}
	if reserveAt != reserve {
		t.Errorf("Fleet.CutOff got reserve %s; want the configured %s", reserveAt, reserve)
	}
	sum := resp.Summary
	if sum.Failed != 0 || sum.Rotated != rotated || sum.Deferred != n-rotated {
		t.Fatalf("summary = %+v; want %d rotated, %d deferred, none failed\nresults: %+v", sum, rotated, n-rotated, resp.Results)
	}
	cutOff, unstarted := 0, 0
	for _, r := range resp.Results {
		if r.Status != rotation.StatusDeferred {
			continue
		}
		switch {
		case strings.Contains(r.Reason, "ran out before this secret was done") && r.Step != "":
			cutOff++
		case strings.Contains(r.Reason, "less than 2s of the invocation was left"):
			unstarted++
		default:
			t.Errorf("deferred result %+v; want a reason about the deadline", r)
		}
		// Nothing half-rotated: AWSCURRENT where it was, nothing pending.
		want := map[string][]string{before[r.SecretID]: {rotation.StageCurrent}}
		if diff := cmp.Diff(want, w.stages(r.SecretID)); diff != "" {
			t.Errorf("stages of deferred %s (-want +got):\n%s", r.SecretID, diff)
		}
	}
	if cutOff != 1 || unstarted != n-rotated-1 {
		t.Errorf("%d secrets cut off and %d not started; want 1 and %d", cutOff, unstarted, n-rotated-1)
	}

	next, err := w.h.Handle(t.Context(), directEventJSON(false, ids...))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range next.Results {
		want := rotation.StatusRotated
		if resp.Results[i].Status == rotation.StatusRotated {
			want = rotation.StatusNotDue
		}
		if r.Status != want {
			t.Errorf("next run: %s = %s (%s); want %s", r.SecretID, r.Status, r.Error, want)
		}
	}
	if got := w.srv.Minted(); got != n {
		t.Errorf("Minted() = %d; want %d, one per secret", got, n)
	}
}

// throttle is the answer Graph gives when an app is over its limit, with
// the usage header that says access returns in about a minute.
func throttle(businessID string) minttest.Fault {
	return minttest.Fault{
		Error: &minttest.Error{Message: "(#4) Application request limit reached", Code: 4, IsTransient: true},
		Header: http.Header{"X-Business-Use-Case-Usage": {`{"` + businessID + `":[{"type":"ads_management","call_count":100,` +
			`"total_cputime":100,"total_time":100,"estimated_time_to_regain_access":1}]}`}},
	}
}

// TestThrottleWait checks what a throttle asking for a one-minute wait does
// to a run: with the function's retry policy the whole fleet waits the
// minute when the deadline allows, making no Graph call meanwhile, and then
// rotates; it defers at once, starting no wait, when access returns after
// the deadline; with mint.DefaultRetryPolicy, which gives up on waits over
// 30 s, the secret would not rotate, which is why the function raises
// MaxDelay. The Graph client waits on the emulator's clock
// (withEmulatorWaits), so the waits are asked for and counted, never slept.
func TestThrottleWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		graph   worldOption
		secrets int
		timeout time.Duration // far from any the code could reach by itself
		waits   bool          // the minute is waited, then the secrets rotate
		want    string        // every secret's status
		reason  string
	}{
		{name: "waits when the deadline allows", graph: lambdaGraph(), secrets: 2, timeout: 5 * time.Minute, waits: true, want: rotation.StatusRotated},
		{name: "defers when access returns after the deadline", graph: lambdaGraph(), secrets: 2, timeout: 50 * time.Second, want: rotation.StatusDeferred, reason: "after this invocation's deadline"},
		{
			// mint.DefaultRetryPolicy caps a wait at 30 s and gives up on
			// Meta's one minute: the throttle outlasted the retries, which
			// defers the secret (Meta's "not now"), never fails it.
			name:  "mint.DefaultRetryPolicy gives up",
			graph: withGraph(mint.WithRetry(mint.DefaultRetryPolicy()), mint.WithPacing(mint.Pacing{})), secrets: 1, timeout: 5 * time.Minute,
			want: rotation.StatusDeferred, reason: "retries did not get through",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			waits := &graphWaits{}
			w := newWorld(t, tc.graph, withEmulatorWaits(waits))
			var ids []string
			for i := range tc.secrets {
				ids = append(ids, w.putSecret(fmt.Sprintf("s%d", i), w.baseFields(w.issue(5*day))))
			}
			// Every secret's first call is throttled. With one throttle, the
			// other secret's debug_token may be answered first and its refresh
			// sent before the throttling answer reaches the pacer, which
			// learns only from answers: a race this test does not control.
			fault := throttle(w.fx.BusinessID)
			fault.Times = tc.secrets
			w.srv.FailNext(minttest.EndpointDebugToken, fault)
			w.srv.ResetRequests()
			ctx, cancel := context.WithTimeout(t.Context(), tc.timeout)
			defer cancel()
			resp, err := w.h.Handle(ctx, directEventJSON(false, ids...))
			if err != nil {
				t.Fatalf("Handle = %v", err)
			}
			for _, r := range resp.Results {
				if r.Status != tc.want || !strings.Contains(r.Reason, tc.reason) {
					t.Errorf("result %+v; want %s with a reason containing %q", r, tc.want, tc.reason)
				}
			}
			got := waits.all()
			t.Logf("waits: %v", got)
			if !tc.waits {
				if len(got) != 0 {
					t.Errorf("waits = %v; want none started", got)
				}
				if n := w.srv.Minted(); n != 0 {
					t.Errorf("Minted() = %d; want 0", n)
				}
				return
			}
			// Each throttled secret's retry waits the minute Meta asked for.
			if n := countDur(got, time.Minute); n < tc.secrets {
				t.Errorf("waits = %v; want %d of Meta's one minute", got, tc.secrets)
			}
			// No call while access was to return: after the throttled
			// debug_tokens (the first tc.secrets of them), every call came at
			// least a minute, on the emulator's clock, after the first.
			reqs := w.srv.Requests()
			throttled := 0
			for _, r := range reqs {
				if r.Endpoint == minttest.EndpointDebugToken && throttled < tc.secrets {
					throttled++
					continue
				}
				if r.Time.Before(reqs[0].Time.Add(time.Minute)) {
					t.Errorf("%s %s %s after the throttle; want no call for a minute", r.Method, r.Path, r.Time.Sub(reqs[0].Time))
				}
			}
			if n := w.srv.Minted(); n != tc.secrets {
				t.Errorf("Minted() = %d; want %d, one per secret", n, tc.secrets)
			}
		})
	}
}

// countDur counts the durations in ds equal to d.
func countDur(ds []time.Duration, d time.Duration) int {
	n := 0
	for _, x := range ds {
		if x == d {
			n++
		}
	}
	return n
}

// TestFleetPacing runs 24 due secrets (72 Graph calls) against an app
// limited to 40 calls per hour: the limit bites by count, whatever the
// machine's speed, and the deadline is far beyond what the run needs. With
// or without the function's Graph configuration (retries and pacing), no
// secret fails: a throttle is Meta's "not now", so the secret it stopped is
// deferred, and the run starts no other secret, so it spends no more calls
// against the throttle than the secrets already in flight.
func TestFleetPacing(t *testing.T) {
	t.Parallel()
	const n, concurrency = 24, 4
	tests := []struct {
		name  string
		graph worldOption
	}{
		{"without pacing or retries", withGraph()},
		{"with the function's pacing and retries", lambdaGraph()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The client's waits (the pacer's spacing) are counted on the
			// emulator's clock, not slept.
			waits := &graphWaits{}
			w := newWorld(t, tc.graph, withConfig(func(c *config) { c.concurrency = concurrency }), withEmulatorWaits(waits))
			w.h.fleet.Margin, w.h.fleet.Reserve = time.Second, 500*time.Millisecond
			w.srv.SetRateLimit(40, time.Hour)
			var ids []string
			for i := range n {
				ids = append(ids, w.putSecret(fmt.Sprintf("s%02d", i), w.baseFields(w.issue(5*day))))
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			resp, err := w.h.Handle(ctx, directEventJSON(false, ids...))
			checkRunErr(t, resp, err)
			sum := resp.Summary
			// A rotation takes 3 calls. Of the 40 allowed, the secrets still
			// in flight at the throttle (at most 4) may have spent 2 each,
			// so at least (40-8)/3, that is 10, rotated; the throttle stops
			// the run before the 24th.
			if sum.Failed != 0 || sum.Rotated+sum.Deferred != n || sum.Rotated < 10 || sum.Deferred == 0 {
				t.Fatalf("summary = %+v; want no failure, %d rotated or deferred, at least 10 rotated, some deferred", *sum, n)
			}
			for _, r := range resp.Results {
				if r.Status == rotation.StatusDeferred && !strings.Contains(r.Reason, "next run") {
					t.Errorf("deferred result %+v; want a reason naming the next run", r)
				}
			}
			// Secrets started after the first throttle: none. At most the
			// ones in flight then meet it.
			t.Logf("summary %+v; %d waits of the Graph client", *sum, len(waits.all()))
			started := n - countReason(resp, "an earlier secret of this run was deferred")
			if started > sum.Rotated+concurrency {
				t.Errorf("%d secrets started, %d rotated; want at most %d started after the throttle (the concurrency)", started, sum.Rotated, concurrency)
			}
		})
	}
}

// countReason counts the results whose reason contains s.
func countReason(resp Response, s string) int {
	n := 0
	for _, r := range resp.Results {
		if strings.Contains(r.Reason, s) {
			n++
		}
	}
	return n
}

// TestPartialFailure rotates 20 secrets of which 3 are broken in different
// ways: the other 17 rotate, and each broken one is reported with its error
// and left as it was.
func TestPartialFailure(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	broken := map[int]struct{ errorType, step string }{
		3:  {"SecretFormatError", "schedule"},
		9:  {"ReferenceError", "schedule"},
		15: {"MintingTokenError", rotation.StepCreate},
	}
	var ids []string
	for i := range 20 {
		name := fmt.Sprintf("s%02d", i)
		switch i {
		case 3:
			ids = append(ids, w.putRaw(name, `{"app_id":`))
		case 9:
			f := w.baseFields(w.issue(5 * day))
			f["app_secret_ref"] = w.prefix + "no-such-secret"
			ids = append(ids, w.putSecret(name, f))
		case 15: // expired, and no other token to mint with
			ids = append(ids, w.putSecret(name, w.baseFields(w.issue(-day))))
		default:
			ids = append(ids, w.putSecret(name, w.baseFields(w.issue(5*day))))
		}
	}
	before := map[string]string{}
	for _, id := range ids {
		before[id] = w.raw(id, "", rotation.StageCurrent)
	}
	resp, err := w.h.Handle(t.Context(), directEventJSON(false, ids...))
	checkRunErr(t, resp, err)
	if diff := cmp.Diff(&rotation.Summary{Rotated: 17, Failed: 3}, counts(resp.Summary)); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ids, secretIDs(resp)); diff != "" {
		t.Errorf("results are not in the order of the event (-want +got):\n%s", diff)
	}
	for i, r := range resp.Results {
		if b, ok := broken[i]; ok {
			if r.Status != rotation.StatusFailed || r.ErrorType != b.errorType || r.Step != b.step || r.Error == "" {
				t.Errorf("results[%d] = %+v; want failed, %s in %s", i, r, b.errorType, b.step)
			}
			if w.raw(ids[i], "", rotation.StageCurrent) != before[ids[i]] || w.versionWith(ids[i], rotation.StagePending) != "" {
				t.Errorf("broken secret %d changed; want it left as it was", i)
			}
			continue
		}
		if r.Status != rotation.StatusRotated || r.Method != "refreshed" || r.ErrorType != "" {
			t.Errorf("results[%d] = %+v; want rotated by refresh", i, r)
		}
		if got := w.versionWith(ids[i], rotation.StageCurrent); got != r.VersionID {
			t.Errorf("AWSCURRENT of secret %d is %s; want %s", i, got, r.VersionID)
		}
	}
	if got := w.srv.Minted(); got != 17 {
		t.Errorf("Minted() = %d; want 17", got)
	}
	text, _ := json.Marshal(resp)
	assertNoSecrets(t, "response", string(text), secretsOf(w.srv, w.fx))
	assertNoSecrets(t, "logs", w.logs.String(), secretsOf(w.srv, w.fx))
}

// TestCutShort pins which errors mean "the invocation ran out of time".
func TestCutShort(t *testing.T) {
	t.Parallel()
	throttled := func(regain time.Duration) error {
		return fmt.Errorf("createSecret: %w", &mint.GraphError{StatusCode: 400, Code: 4, Usage: mint.Usage{RegainAccessIn: regain}})
	}
	tests := []struct {
		name     string
		deadline time.Duration // 0: none; negative: already passed
		err      error
		want     bool
	}{
		{name: "context ended", deadline: -time.Second, err: context.DeadlineExceeded, want: true},
		{name: "throttled past the deadline", deadline: 30 * time.Second, err: throttled(time.Minute), want: true},
		// The retry policy rides out a throttle within the deadline; one that
		// still reaches CutShort outlasted the retries: Meta's "not now".
		{name: "throttled, retries ran out", deadline: 5 * time.Minute, err: throttled(time.Minute), want: true},
		{name: "throttled with no regain estimate (code 4, X-App-Usage)", deadline: 5 * time.Minute, err: throttled(0), want: true},
		{name: "a permission error", deadline: time.Minute, err: &mint.GraphError{StatusCode: 403, Code: 200}},
		{name: "a wait refused by the pacer", deadline: time.Minute, err: fmt.Errorf("mint: GET /debug_token: waiting 2m0s would pass the deadline: %w", context.DeadlineExceeded), want: true},
		{name: "an HTTP client timeout", deadline: time.Minute, err: &url.Error{Op: "Get", URL: "https://graph", Err: context.DeadlineExceeded}},
		{name: "a Graph outage", deadline: time.Minute, err: &mint.GraphError{StatusCode: 503}},
		{name: "no deadline, throttled", err: throttled(time.Hour), want: true},
		{name: "no deadline, a Graph outage", err: &mint.GraphError{StatusCode: 503}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			if tc.deadline != 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			if reason, got := rotation.CutShort(ctx, tc.err); got != tc.want || (got && reason == "") {
				t.Errorf("rotation.CutShort(%v) = %q, %v; want %v", tc.err, reason, got, tc.want)
			}
		})
	}
}

// TestRetryPolicy pins why the function has its own policy: a one-minute
// wait for Meta's rate limits is within it, and the only bound is the
// deadline.
func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	p := retryPolicy()
	if p.MaxDelay < maxInvocation || p.MaxAttempts != mint.DefaultRetryPolicy().MaxAttempts || p.BaseDelay != mint.DefaultRetryPolicy().BaseDelay {
		t.Errorf("retryPolicy() = %+v; want mint.DefaultRetryPolicy with MaxDelay of at least %s", p, maxInvocation)
	}
	if _, err := mint.NewClient(mint.WithRetry(p)); err != nil {
		t.Errorf("mint.NewClient(mint.WithRetry(retryPolicy())) = %v", err)
	}
}
