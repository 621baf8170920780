package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// These tests run the real bootstrap, built as it ships (-tags lambda.norpc,
// static, stripped), under aws-lambda-rie, against moto and an in-process
// Graph emulator. They do not run in parallel with each other.

// rie is the bootstrap under aws-lambda-rie (internal/awstest), with the
// answers decoded into this package's Response.
type rie struct {
	t *testing.T
	*awstest.RIE
}

// startRIE runs the shipped bootstrap under aws-lambda-rie with env and
// stops both when the test ends, even when it fails.
func startRIE(t *testing.T, env map[string]string) *rie {
	t.Helper()
	return &rie{t: t, RIE: awstest.NewRIE(t, awstest.RIEConfig{Bootstrap: awstest.Bootstrap(t), Env: env})}
}

// invocation is rie's answer: the function's response, or its error.
type invocation struct {
	Body         []byte
	ErrorType    string
	ErrorMessage string
	Response     Response
	Took         time.Duration
}

func (r *rie) invoke(payload []byte) invocation {
	r.t.Helper()
	got, err := r.Invoke(context.Background(), payload)
	if err != nil {
		r.t.Fatalf("invoking the function: %v", err)
	}
	inv := invocation{Body: got.Body, ErrorType: got.ErrorType, ErrorMessage: got.ErrorMessage, Took: got.Took}
	if inv.ErrorType == "" {
		if err := json.Unmarshal(got.Body, &inv.Response); err != nil {
			r.t.Fatalf("invocation answered %q\n%s", got.Body, r.Output())
		}
	}
	return inv
}

// waitOutput waits until the function's output satisfies ok, which rie
// forwards asynchronously, and reports whether it did within 10 s (a bound
// for failing, never a condition of passing).
func (r *rie) waitOutput(ok func(string) bool) bool {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if ok(r.Output()) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// initDuration is the cold start rie measured (its INIT REPORT line).
func (r *rie) initDuration() (time.Duration, bool) {
	d, err := r.InitDuration(context.Background())
	return d, err == nil
}

// peakRSS is the bootstrap process's peak resident memory (VmHWM) in kB.
// rie's "Max Memory Used" only repeats the configured memory size.
func (r *rie) peakRSS() (int, bool) {
	pid, err := r.FunctionPID()
	if err != nil {
		return 0, false
	}
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return kb, true
		}
	}
	return 0, false
}

// TestBootstrap drives the shipped binary through rotations, failures,
// scheduled, direct and retried runs, and checks that no secret reaches its
// logs or its answers.
func TestBootstrap(t *testing.T) {
	w := newWorld(t)
	due := w.putSecret("sched-due", w.baseFields(w.issue(3*day)))
	notDue := w.putSecret("sched-not-due", w.baseFields(w.issue(40*day)))
	tagKey := "metamint:managed-" + randHex(4) // moto is shared: a key of this test's own
	tagged, _ := json.Marshal(w.baseFields(w.issue(3 * day)))
	w.putTagged("sched-tagged", string(tagged), map[string]string{tagKey: "yes"})
	r := startRIE(t, map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": motoURL(t),
		"METAMINT_GRAPH_API_URL":           w.srv.URL,
		"METAMINT_SECRET_IDS":              due + "," + notDue,
		"METAMINT_SECRET_TAG":              tagKey,
		"METAMINT_CONCURRENCY":             "4",
		// No grace period: the token two generations old is due for
		// revocation as soon as it is marked, so the generations below
		// see it revoked (the grace itself is tested on the handler).
		"METAMINT_REVOKE_GRACE": "1ns",
	})
	var answers bytes.Buffer // every response body, for the canary
	invoke := func(t *testing.T, payload []byte) invocation {
		t.Helper()
		inv := r.invoke(payload)
		answers.Write(inv.Body)
		return inv
	}

	t.Run("rotation, each step twice", func(t *testing.T) {
		fields := w.baseFields(w.issue(10 * day))
		id := w.putSecret("managed", fields)
		var tokens []string
		tokens = append(tokens, mustString(t, fields, "access_token"))
		for gen := 1; gen <= 2; gen++ {
			curV := w.versionWith(id, rotation.StageCurrent)
			prevV := w.versionWith(id, rotation.StagePrevious)
			token := w.placeholder(id)
			minted := w.srv.Minted()
			start := time.Now()
			for _, step := range rotation.Steps {
				for attempt := 1; attempt <= 2; attempt++ {
					inv := invoke(t, rotationEvent(step, id, token))
					if inv.ErrorType != "" {
						t.Fatalf("gen %d %s attempt %d: %s: %s", gen, step, attempt, inv.ErrorType, inv.ErrorMessage)
					}
				}
				want := map[string][]string{curV: {rotation.StageCurrent}, token: {rotation.StagePending}}
				if prevV != "" {
					want[prevV] = []string{rotation.StagePrevious}
				}
				if step == rotation.StepFinish {
					want = map[string][]string{token: {rotation.StageCurrent, rotation.StagePending}, curV: {rotation.StagePrevious}}
				}
				if diff := cmp.Diff(want, w.stages(id)); diff != "" {
					t.Fatalf("gen %d: stages after %s twice (-want +got):\n%s", gen, step, diff)
				}
				if got := w.srv.Minted() - minted; got != 1 {
					t.Fatalf("gen %d: after %s twice, %d tokens minted; want 1", gen, step, got)
				}
			}
			t.Logf("gen %d: one rotation, every step invoked twice under rie: %s", gen, time.Since(start).Round(time.Millisecond))
			cur := w.current(id)
			checkOwnedFields(t, w, cur, fields, false)
			tokens = append(tokens, mustString(t, cur, "access_token"))
			if gen == 2 {
				if st, _ := w.srv.Token(tokens[0]); !st.Revoked {
					t.Errorf("gen 2: the token two generations old is not revoked")
				}
				if st, _ := w.srv.Token(tokens[1]); st.Revoked {
					t.Errorf("gen 2: the AWSPREVIOUS token was revoked")
				}
			}
			w.endRotation(id, token)
		}
	})

	t.Run("one rotation, timed", func(t *testing.T) {
		id := w.putSecret("timed", w.baseFields(w.issue(10*day)))
		token := w.placeholder(id)
		start := time.Now()
		for _, step := range rotation.Steps {
			if inv := invoke(t, rotationEvent(step, id, token)); inv.ErrorType != "" {
				t.Fatalf("%s: %s: %s", step, inv.ErrorType, inv.ErrorMessage)
			}
		}
		t.Logf("one full rotation (4 invocations) against moto and minttest under rie: %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("failures leave AWSCURRENT alone", func(t *testing.T) {
		tests := []struct {
			name     string
			setup    func() string
			arm      func()
			wantType string
		}{
			{name: "bad JSON", setup: func() string { return w.putRaw("bad-json", `{"app_id":"1",`) }, wantType: "SecretFormatError"},
			{
				name: "missing reference",
				setup: func() string {
					f := w.baseFields(w.issue(10 * day))
					f["app_secret_ref"] = w.prefix + "gone"
					return w.putSecret("missing-ref", f)
				},
				wantType: "ReferenceError",
			},
			{
				name:     "invalid minting token",
				setup:    func() string { return w.putSecret("expired", w.baseFields(w.issue(-day))) },
				wantType: "MintingTokenError",
			},
			{
				name:     "Graph outage",
				setup:    func() string { return w.putSecret("outage", w.baseFields(w.issue(10*day))) },
				arm:      func() { w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: 503, Times: 4}) },
				wantType: "GraphUnavailableError",
			},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				id := tc.setup()
				before, curV := w.raw(id, "", rotation.StageCurrent), w.versionWith(id, rotation.StageCurrent)
				token := w.placeholder(id)
				if tc.arm != nil {
					tc.arm()
				}
				minted := w.srv.Minted()
				inv := invoke(t, rotationEvent(rotation.StepCreate, id, token))
				if inv.ErrorType != tc.wantType {
					t.Fatalf("createSecret = %s %q; want %s", inv.ErrorType, inv.ErrorMessage, tc.wantType)
				}
				if got := w.srv.Minted(); got != minted {
					t.Errorf("%d tokens minted; want none", got-minted)
				}
				if w.raw(id, "", rotation.StageCurrent) != before || w.versionWith(id, rotation.StageCurrent) != curV {
					t.Errorf("AWSCURRENT changed")
				}
			})
		}
		t.Run("moto error", func(t *testing.T) {
			inv := invoke(t, rotationEvent(rotation.StepCreate, w.prefix+"no-such-secret", newUUID()))
			if inv.ErrorType != "SecretsManagerError" || !strings.Contains(inv.ErrorMessage, "ResourceNotFoundException") {
				t.Errorf("createSecret = %s %q; want rotation.SecretsManagerError naming ResourceNotFoundException", inv.ErrorType, inv.ErrorMessage)
			}
		})
		t.Run("unknown event", func(t *testing.T) {
			if inv := invoke(t, []byte(`{"hello":"world"}`)); inv.ErrorType != "EventError" {
				t.Errorf("invoke = %s; want EventError", inv.Body)
			}
		})
	})

	t.Run("scheduled event over the listed and the tagged secrets, then retried", func(t *testing.T) {
		minted := w.srv.Minted()
		for run, want := range [][]string{{rotation.StatusRotated, rotation.StatusNotDue, rotation.StatusRotated}, {rotation.StatusNotDue, rotation.StatusNotDue, rotation.StatusNotDue}} {
			inv := invoke(t, scheduledEvent())
			if inv.ErrorType != "" {
				t.Fatalf("run %d: %s: %s", run, inv.ErrorType, inv.ErrorMessage)
			}
			if diff := cmp.Diff(want, statuses(inv.Response)); diff != "" {
				t.Errorf("run %d statuses (-want +got):\n%s", run, diff)
			}
		}
		if got := w.srv.Minted() - minted; got != 2 {
			t.Errorf("%d tokens minted; want 2", got)
		}
	})

	t.Run("fan-out run, then Secrets Manager's invocations", func(t *testing.T) {
		id := w.putSecret("fan-out", w.baseFields(w.issue(3*day)))
		w.configureRotation(id)
		curV := w.versionWith(id, rotation.StageCurrent)
		minted := w.srv.Minted()
		inv := invoke(t, runEvent(rotation.FanOut, false, id))
		if inv.ErrorType != "" || len(inv.Response.Results) != 1 {
			t.Fatalf("fan-out run = %s", inv.Body)
		}
		res := inv.Response.Results[0]
		if res.Status != rotation.StatusStarted || res.VersionID != rotation.VersionToken(id, curV, "") {
			t.Fatalf("fan-out result = %+v; want rotation_started with the cycle's version token", res)
		}
		if diff := cmp.Diff(map[string][]string{curV: {rotation.StageCurrent}, res.VersionID: {rotation.StagePending}}, w.stages(id)); diff != "" {
			t.Errorf("stages after RotateSecret (-want +got):\n%s", diff)
		}
		for _, step := range rotation.Steps {
			if inv := invoke(t, rotationEvent(step, id, res.VersionID)); inv.ErrorType != "" {
				t.Fatalf("%s: %s: %s", step, inv.ErrorType, inv.ErrorMessage)
			}
		}
		if got := w.versionWith(id, rotation.StageCurrent); got != res.VersionID {
			t.Errorf("AWSCURRENT is on %s; want %s", got, res.VersionID)
		}
		if got := w.srv.Minted() - minted; got != 1 {
			t.Errorf("%d tokens minted; want 1", got)
		}
	})

	t.Run("direct run over several secrets", func(t *testing.T) {
		var ids []string
		for i := range 6 {
			ids = append(ids, w.putSecret(fmt.Sprintf("fleet-%d", i), w.baseFields(w.issue(2*day))))
		}
		ids = append(ids, w.putRaw("fleet-broken", `{}`))
		minted := w.srv.Minted()
		inv := invoke(t, directEventJSON(false, ids...))
		// One secret failed: the invocation fails, naming it, so Lambda's
		// Errors metric counts the run.
		if inv.ErrorType != "RunFailedError" || !strings.Contains(inv.ErrorMessage, "1 of 7 secrets failed") ||
			!strings.Contains(inv.ErrorMessage, "fleet-broken") {
			t.Fatalf("invocation = %s %q; want a RunFailedError naming the broken secret", inv.ErrorType, inv.ErrorMessage)
		}
		// rie forwards the function's output on its own: wait for the line.
		if !r.waitOutput(func(out string) bool {
			return strings.Contains(out, `"Rotated":6,"RotationStarted":0,"Skipped":0,"_aws"`)
		}) ||
			!strings.Contains(r.Output(), `"Failed":1,"FunctionName":"metamint"`) {
			t.Errorf("the run's EMF line does not count 6 rotated and 1 failed:\n%s", r.Output())
		}
		if got := w.srv.Minted() - minted; got != 6 {
			t.Errorf("%d tokens minted; want 6", got)
		}
		t.Logf("direct run over 7 secrets (concurrency 4): %s", inv.Took.Round(time.Millisecond))
	})

	t.Run("bad payloads go through the error contract", func(t *testing.T) {
		const refused = `"level":"ERROR","message":"invocation refused"`
		for _, payload := range []string{`{"rotate":["a"`, `not json`, "{\"rotate\":[\"\xff\"]}"} {
			before := strings.Count(r.Output(), refused)
			inv := invoke(t, []byte(payload))
			if inv.ErrorType != "EventError" {
				t.Errorf("invoke(%q) = %s %q; want an EventError", payload, inv.ErrorType, inv.ErrorMessage)
			}
			// rie forwards the function's output on its own: wait for the line.
			if !r.waitOutput(func(out string) bool { return strings.Count(out, refused) > before }) {
				t.Errorf("invoke(%q) logged no ERROR line %s:\n%s", payload, refused, r.Output())
			}
		}
	})

	t.Run("no secret in logs or answers", func(t *testing.T) {
		secrets := secretsOf(w.srv, w.fx)
		logs := r.Output()
		if strings.Contains(logs, "rotation-token-") || strings.Contains(answers.String(), "rotation-token-") {
			t.Errorf("logs or answers hold a RotationToken")
		}
		assertNoSecrets(t, "rie output", logs, secrets)
		assertNoSecrets(t, "responses", answers.String(), secrets)
		if !strings.Contains(logs, `"requestId"`) || !strings.Contains(logs, `"secret_arn"`) || !strings.Contains(logs, `"step"`) {
			t.Errorf("logs lack requestId, secret_arn or step; want JSON records with them")
		}
	})

	if t.Failed() {
		t.Logf("the end of rie's output:\n%s", awstest.Tail(r.Output(), 40))
	}
	if d, ok := r.initDuration(); ok {
		t.Logf("cold start (rie INIT REPORT): %s", d)
	} else {
		t.Errorf("no INIT REPORT in rie's output")
	}
	if kb, ok := r.peakRSS(); ok {
		t.Logf("bootstrap peak RSS (VmHWM) after all invocations: %.1f MB", float64(kb)/1024)
	}
}

// mustString returns the string member key of a decoded secret, failing
// the test when it is missing or not a string.
func mustString(t *testing.T, fields map[string]any, key string) string {
	t.Helper()
	s, ok := fields[key].(string)
	if !ok {
		t.Fatalf("field %q = %#v; want a string", key, fields[key])
	}
	return s
}
