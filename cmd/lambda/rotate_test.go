package main

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

const day = 24 * time.Hour

// TestRotation runs three full rotations of a secret through Handle, each
// step invoked twice, against moto and the Graph emulator, and checks after
// every step the stage map, the number of tokens minted, the fields kept, and
// that finishing revokes the token two generations old.
func TestRotation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   []worldOption
		fields func(w *world) map[string]any
		// wantMethod is how each generation's token is made.
		wantMethod []string
		permanent  bool
	}{
		{
			name:       "expiring token refreshes itself",
			fields:     func(w *world) map[string]any { return w.baseFields(w.issue(10 * day)) },
			wantMethod: []string{"refreshed", "refreshed", "refreshed"},
		},
		{
			name: "permanent token mints its successor, plain app secret ref",
			fields: func(w *world) map[string]any {
				f := w.baseFields(w.issue(0))
				f["expiring_token"] = false
				f["app_secret_ref"] = w.putRaw("plain-app-secret", w.fx.AppSecret)
				return f
			},
			wantMethod: []string{"minted", "minted", "minted"},
			permanent:  true,
		},
		{
			name: "minting_token_ref installs the app and mints the first token",
			opts: []worldOption{withoutInstall()},
			fields: func(w *world) map[string]any {
				f := w.baseFields("")
				f["minting_token_ref"] = w.putMintingToken("admin-token", `{"access_token":"`+w.fx.AdminToken+`"}`)
				f["install_app"] = "true" // as the console's key/value editor writes it
				return f
			},
			wantMethod: []string{"minted", "refreshed", "refreshed"},
		},
		{
			name: "expired token is replaced through minting_token_ref",
			fields: func(w *world) map[string]any {
				f := w.baseFields(w.issue(-day))
				f["minting_token_ref"] = w.putMintingToken("admin-token", w.fx.AdminToken)
				return f
			},
			wantMethod: []string{"minted", "refreshed", "refreshed"},
		},
		{
			name: "inline app secret and a changed scope list mint instead of refreshing",
			fields: func(w *world) map[string]any {
				f := w.baseFields(w.issue(10*day, "ads_read"))
				delete(f, "app_secret_ref")
				f["app_secret"] = w.fx.AppSecret
				return f
			},
			wantMethod: []string{"minted", "refreshed", "refreshed"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tc.opts...)
			fields := tc.fields(w)
			id := w.putSecret("managed", fields)
			names := map[string]string{w.versionWith(id, rotation.StageCurrent): "v0"}
			tokens := []string{}
			if s, _ := fields["access_token"].(string); s != "" {
				tokens = append(tokens, s)
			} else {
				tokens = append(tokens, "")
			}

			for gen := 1; gen <= 3; gen++ {
				before := revokeMarks(w.stages(id))
				curV := labelled(before, rotation.StageCurrent)
				prevV := labelled(before, rotation.StagePrevious)
				token := w.placeholder(id)
				names[token] = "v" + string(rune('0'+gen))
				pendingOnly := cloneStages(before)
				pendingOnly[token] = []string{rotation.StagePending}
				finished := map[string][]string{token: {rotation.StageCurrent, rotation.StagePending}, curV: {rotation.StagePrevious}}
				for v, labels := range before { // versions waiting for revocation stay marked
					if slices.Contains(labels, revokeMark) {
						finished[v] = []string{revokeMark}
					}
				}

				for _, step := range rotation.Steps {
					for attempt := 1; attempt <= 2; attempt++ {
						resp, err := w.step(step, id, token)
						if err != nil {
							t.Fatalf("gen %d: Handle(%s, attempt %d) = %v", gen, step, attempt, err)
						}
						if resp.Step != step || resp.VersionID != token || resp.Trigger != triggerRotation {
							t.Errorf("gen %d: Handle(%s) = %+v; want step, version and trigger echoed", gen, step, resp)
						}
						if step == rotation.StepFinish && attempt == 2 && resp.Outcome != rotation.OutcomeAlreadyCurrent {
							t.Errorf("gen %d: second finishSecret outcome = %q; want %q", gen, resp.Outcome, rotation.OutcomeAlreadyCurrent)
						}
					}
					want := pendingOnly
					if step == rotation.StepFinish {
						want = finished
					}
					if diff := cmp.Diff(want, revokeMarks(w.stages(id))); diff != "" {
						t.Fatalf("gen %d: stages after %s (-want +got):\n%s\nnames: %v", gen, step, diff, names)
					}
					if got := w.srv.Minted(); got != gen {
						t.Fatalf("gen %d: after %s twice, Minted() = %d; want %d", gen, step, got, gen)
					}
				}

				cur := w.current(id)
				newTok, _ := cur["access_token"].(string)
				if newTok == "" || slices.Contains(tokens, newTok) {
					t.Fatalf("gen %d: AWSCURRENT access_token is empty or reused", gen)
				}
				tokens = append(tokens, newTok)
				checkOwnedFields(t, w, cur, fields, tc.permanent)
				state, ok := w.srv.Token(newTok)
				if !ok || state.Revoked || state.UserID != w.fx.SystemUserID {
					t.Errorf("gen %d: the new token is unknown, revoked or of another user: %+v", gen, state)
				}
				if tc.wantMethod[gen-1] == "refreshed" && !hasRequest(w.srv, minttest.EndpointExchange) {
					t.Errorf("gen %d: want a refresh through /oauth/access_token; none was made", gen)
				}

				// Revocation: the version that lost AWSPREVIOUS held the token
				// two generations old. The clock moves past the grace period
				// between generations (below), so that token stopped being
				// current long enough ago: finishSecret marks and revokes it at
				// once. (TestBackToBackForcedRuns covers the grace period.)
				// The one generation old stays live.
				if prevV != "" {
					if old := tokens[gen-2]; old != "" {
						if st, _ := w.srv.Token(old); !st.Revoked && (st.ExpiresAt.IsZero() || st.ExpiresAt.After(w.srv.Now())) {
							t.Errorf("gen %d: token of %s (two generations old) is neither revoked nor expired", gen, names[prevV])
						}
					}
				}
				if prev := tokens[gen-1]; prev != "" {
					if st, _ := w.srv.Token(prev); st.Revoked {
						t.Errorf("gen %d: token of %s (AWSPREVIOUS) was revoked; want it live", gen, names[curV])
					}
				}
				if live := liveTokens(w); live > 2 {
					t.Errorf("gen %d: %d live tokens for the system user; want at most 2", gen, live)
				}
				w.srv.ResetRequests()
				w.endRotation(id, token)
				w.srv.Advance(rotation.DefaultRevokeGrace + time.Minute)
			}
			assertNoSecrets(t, "logs", w.logs.String(), secretsOf(w.srv, w.fx))
		})
	}
}

// revokeMark stands, in revokeMarks, for a revocation label (whose name
// holds a time).
const revokeMark = rotation.StageRevokePrefix + "*"

// revokeMarks returns stages with every revocation label replaced by
// revokeMark.
func revokeMarks(m map[string][]string) map[string][]string {
	c := cloneStages(m)
	for _, labels := range c {
		for i, l := range labels {
			if strings.HasPrefix(l, rotation.StageRevokePrefix) {
				labels[i] = revokeMark
			}
		}
	}
	return c
}

func cloneStages(m map[string][]string) map[string][]string {
	c := map[string][]string{}
	for k, v := range m {
		c[k] = slices.Clone(v)
	}
	return c
}

func hasRequest(srv *minttest.Server, e minttest.Endpoint) bool {
	for _, r := range srv.Requests() {
		if r.Endpoint == e {
			return true
		}
	}
	return false
}

// liveTokens counts the fixture system user's tokens that are neither
// revoked nor expired.
func liveTokens(w *world) int {
	n := 0
	now := w.srv.Now()
	for _, tok := range w.srv.Tokens() {
		if tok.UserID == w.fx.SystemUserID && !tok.Revoked && (tok.ExpiresAt.IsZero() || tok.ExpiresAt.After(now)) {
			n++
		}
	}
	return n
}

// orphanTokens returns the fixture system user's live tokens that no
// version of the secret holds: minted, then lost.
func orphanTokens(t *testing.T, w *world, id string) []string {
	t.Helper()
	stored := map[string]bool{}
	out, err := w.sm.ListSecretVersionIds(t.Context(), &secretsmanager.ListSecretVersionIdsInput{
		SecretId: aws.String(id), IncludeDeprecated: aws.Bool(true)})
	if err != nil {
		t.Fatalf("ListSecretVersionIds(%s) = %v", id, err)
	}
	for _, v := range out.Versions {
		got, err := w.sm.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionId: v.VersionId})
		if err != nil {
			continue // the empty placeholder
		}
		var m map[string]any
		if json.Unmarshal([]byte(aws.ToString(got.SecretString)), &m) == nil {
			if s, ok := m["access_token"].(string); ok {
				stored[s] = true
			}
		}
	}
	var orphans []string
	now := w.srv.Now()
	for _, tok := range w.srv.Tokens() {
		if tok.UserID == w.fx.SystemUserID && !tok.Revoked && (tok.ExpiresAt.IsZero() || tok.ExpiresAt.After(now)) && !stored[tok.Value] {
			orphans = append(orphans, tok.Value)
		}
	}
	return orphans
}

// checkOwnedFields checks a new version: every user and foreign field as it
// was, and metamint's fields filled from debug_token.
func checkOwnedFields(t *testing.T, w *world, got, orig map[string]any, permanent bool) {
	t.Helper()
	owned := map[string]bool{"access_token": true, "expires_at": true, "issued_at": true, "token_scopes": true}
	want := map[string]any{}
	for k, v := range orig {
		if !owned[k] {
			want[k] = v
		}
	}
	rest := map[string]any{}
	for k, v := range got {
		if !owned[k] {
			rest[k] = v
		}
	}
	// Compare through JSON so []string and []any read alike.
	if diff := cmp.Diff(jsonRound(t, want), jsonRound(t, rest)); diff != "" {
		t.Errorf("fields other than metamint's changed (-want +got):\n%s", diff)
	}
	if _, ok := got["app_secret"]; ok && orig["app_secret"] == nil {
		t.Errorf("the app secret was copied into the managed secret")
	}
	exp, hasExp := got["expires_at"].(string)
	if permanent {
		if hasExp {
			t.Errorf("expires_at = %q for a permanent token; want it absent", exp)
		}
	} else {
		at, err := time.Parse(time.RFC3339, exp)
		if err != nil || at.Before(w.srv.Now().Add(59*day)) {
			t.Errorf("expires_at = %q; want an RFC 3339 time about 60 days ahead", exp)
		}
	}
	if _, err := time.Parse(time.RFC3339, stringField(got, "issued_at")); err != nil {
		t.Errorf("issued_at = %v; want RFC 3339", got["issued_at"])
	}
	if diff := cmp.Diff(jsonRound(t, testScopes), jsonRound(t, got["token_scopes"])); diff != "" {
		t.Errorf("token_scopes (-want +got):\n%s", diff)
	}
}

func stringField(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func jsonRound(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRotationFailures checks that every failure class fails the step with
// its own error type, leaves AWSCURRENT where it was, and leaves no minted
// token alive outside the secret.
func TestRotationFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []worldOption
		// setup creates the secret and returns its ID; it may arm faults.
		setup func(t *testing.T, w *world) string
		// pending, when set, runs after the placeholder exists.
		pending func(t *testing.T, w *world, id, token string)
		// noPlaceholder invokes with a token that is no version of the secret.
		noPlaceholder bool
		// smFails makes moto (through a proxy) fail this operation once the
		// rotation has started: a 500, or a 400 with the error type
		// smRefusal when it is set.
		smFails    string
		smRefusal  string
		failStep   string
		wantType   any // a pointer to the wanted error type
		wantMinted int
		// wantOrphans is how many live tokens end in no version of the
		// secret: a token whose write may have committed is kept.
		wantOrphans int
	}{
		{
			name:     "bad JSON",
			setup:    func(t *testing.T, w *world) string { return w.putRaw("managed", `{"app_id": "1", oops}`) },
			failStep: rotation.StepCreate, wantType: new(*rotation.SecretFormatError),
		},
		{
			name: "missing field",
			setup: func(t *testing.T, w *world) string {
				f := w.baseFields(w.issue(10 * day))
				delete(f, "system_user_id")
				return w.putSecret("managed", f)
			},
			failStep: rotation.StepCreate, wantType: new(*rotation.SecretFormatError),
		},
		{
			name: "unlisted scope",
			setup: func(t *testing.T, w *world) string {
				f := w.baseFields(w.issue(10 * day))
				f["scopes"] = []string{"ads_read", "made_up_scope"}
				return w.putSecret("managed", f)
			},
			failStep: rotation.StepCreate, wantType: new(*rotation.SecretFormatError),
		},
		{
			name: "missing app secret reference",
			setup: func(t *testing.T, w *world) string {
				f := w.baseFields(w.issue(10 * day))
				f["app_secret_ref"] = w.prefix + "does-not-exist"
				return w.putSecret("managed", f)
			},
			failStep: rotation.StepCreate, wantType: new(*rotation.ReferenceError),
		},
		{
			name: "minting token reference without the field",
			setup: func(t *testing.T, w *world) string {
				f := w.baseFields(w.issue(-day))
				f["minting_token_ref"] = w.putMintingToken("admin-token", `{"token":"x"}`)
				return w.putSecret("managed", f)
			},
			failStep: rotation.StepCreate, wantType: new(*rotation.ReferenceError),
		},
		{
			name:     "expired managed token mints its own successor",
			setup:    func(t *testing.T, w *world) string { return w.putSecret("managed", w.baseFields(w.issue(-day))) },
			failStep: rotation.StepCreate, wantType: new(*rotation.MintingTokenError),
		},
		{
			name:     "no token and no minting token",
			setup:    func(t *testing.T, w *world) string { return w.putSecret("managed", w.baseFields("")) },
			failStep: rotation.StepCreate, wantType: new(*rotation.MintingTokenError),
		},
		{
			name: "invalid minting token",
			setup: func(t *testing.T, w *world) string {
				expired := w.srv.IssueToken(minttest.TokenSpec{UserID: w.fx.AdminSystemUserID, AppID: w.fx.AppID,
					Scopes: []string{"business_management"}, ExpiresAt: w.srv.Now().Add(-time.Hour)})
				f := w.baseFields("")
				f["minting_token_ref"] = w.putMintingToken("admin-token", expired)
				return w.putSecret("managed", f)
			},
			failStep: rotation.StepCreate, wantType: new(*rotation.MintingTokenError),
		},
		{
			name: "app not installed",
			opts: []worldOption{withoutInstall()},
			setup: func(t *testing.T, w *world) string {
				f := w.baseFields("")
				f["minting_token_ref"] = w.putMintingToken("admin-token", w.fx.AdminToken)
				return w.putSecret("managed", f)
			},
			failStep: rotation.StepCreate, wantType: new(*rotation.GraphRefusedError),
		},
		{
			name: "Graph outage on debug_token",
			setup: func(t *testing.T, w *world) string {
				w.srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: 503, Times: 100})
				return w.putSecret("managed", w.baseFields(w.issue(10*day)))
			},
			failStep: rotation.StepCreate, wantType: new(*rotation.GraphUnavailableError),
		},
		{
			name: "Graph outage while minting",
			setup: func(t *testing.T, w *world) string {
				w.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Status: 502, Times: 100})
				f := w.baseFields(w.issue(0))
				f["expiring_token"] = false
				return w.putSecret("managed", f)
			},
			failStep: rotation.StepCreate, wantType: new(*rotation.GraphUnavailableError),
		},
		{
			name: "Graph throttling while refreshing",
			setup: func(t *testing.T, w *world) string {
				w.srv.FailNext(minttest.EndpointExchange, minttest.Fault{
					Error: &minttest.Error{Message: "(#4) Application request limit reached", Code: 4, IsTransient: true}, Times: 100})
				return w.putSecret("managed", w.baseFields(w.issue(10*day)))
			},
			failStep: rotation.StepCreate, wantType: new(*rotation.GraphUnavailableError),
		},
		{
			name:          "unknown secret",
			setup:         func(t *testing.T, w *world) string { return w.prefix + "no-such-secret" },
			noPlaceholder: true,
			failStep:      rotation.StepCreate, wantType: new(*rotation.SecretsManagerError),
		},
		{
			name:          "token is not a version of the secret",
			setup:         func(t *testing.T, w *world) string { return w.putSecret("managed", w.baseFields(w.issue(10*day))) },
			noPlaceholder: true,
			failStep:      rotation.StepCreate, wantType: new(*rotation.RotationStateError),
		},
		{
			name:  "rotation disabled",
			setup: func(t *testing.T, w *world) string { return w.putSecret("managed", w.baseFields(w.issue(10*day))) },
			pending: func(t *testing.T, w *world, id, token string) {
				if _, err := w.sm.CancelRotateSecret(t.Context(), &secretsmanager.CancelRotateSecretInput{SecretId: aws.String(id)}); err != nil {
					t.Fatal(err)
				}
			},
			failStep: rotation.StepCreate, wantType: new(*rotation.RotationStateError),
		},
		{
			// The pending value was made from the JSON before the user
			// edited AWSCURRENT: it is never made current (that would roll
			// the edit back); testSecret discards it and fails.
			name:  "pending fields differ from AWSCURRENT's",
			setup: func(t *testing.T, w *world) string { return w.putSecret("managed", w.baseFields(w.issue(10*day))) },
			pending: func(t *testing.T, w *world, id, token string) {
				fields := w.baseFields(w.issue(60 * day))
				fields["team"] = "before-the-edit"
				b, _ := json.Marshal(fields)
				if _, err := w.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
					SecretId: aws.String(id), ClientRequestToken: aws.String(token),
					SecretString: aws.String(string(b)), VersionStages: []string{rotation.StagePending},
				}); err != nil {
					t.Fatal(err)
				}
			},
			failStep: rotation.StepTest, wantType: new(*rotation.RotationStateError),
		},
		{
			name:  "pending token lacks a scope",
			setup: func(t *testing.T, w *world) string { return w.putSecret("managed", w.baseFields(w.issue(10*day))) },
			pending: func(t *testing.T, w *world, id, token string) {
				b, _ := json.Marshal(w.baseFields(w.issue(10*day, "ads_read")))
				if _, err := w.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
					SecretId: aws.String(id), ClientRequestToken: aws.String(token),
					SecretString: aws.String(string(b)), VersionStages: []string{rotation.StagePending},
				}); err != nil {
					t.Fatal(err)
				}
			},
			failStep: rotation.StepTest, wantType: new(*rotation.TokenCheckError),
		},
		{
			name:    "Secrets Manager refuses to store AWSPENDING after the mint",
			setup:   func(t *testing.T, w *world) string { return w.putSecret("managed", w.baseFields(w.issue(10*day))) },
			smFails: "PutSecretValue", smRefusal: "ValidationException",
			failStep: rotation.StepCreate, wantType: new(*rotation.SecretsManagerError), wantMinted: 1,
		},
		{
			// A 5xx may follow a commit: the token is kept, not revoked.
			name:     "moto fails (5xx) to store AWSPENDING after the mint",
			setup:    func(t *testing.T, w *world) string { return w.putSecret("managed", w.baseFields(w.issue(10*day))) },
			smFails:  "PutSecretValue",
			failStep: rotation.StepCreate, wantType: new(*rotation.SecretsManagerError), wantMinted: 1, wantOrphans: 1,
		},
		{
			name:     "moto fails to move AWSCURRENT",
			setup:    func(t *testing.T, w *world) string { return w.putSecret("managed", w.baseFields(w.issue(10*day))) },
			smFails:  "UpdateSecretVersionStage",
			failStep: rotation.StepFinish, wantType: new(*rotation.SecretsManagerError), wantMinted: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := tc.opts
			var proxy *chaos
			if tc.smFails != "" {
				proxy = newChaos(t, motoURL(t))
				opts = append(opts, withEndpoint(proxy.srv.URL))
			}
			w := newWorld(t, opts...)
			id := tc.setup(t, w)
			exists := tc.name != "unknown secret"
			var before map[string][]string
			var beforeValue string
			if exists {
				before, beforeValue = w.stages(id), w.raw(id, "", rotation.StageCurrent)
			}
			token := newUUID()
			if !tc.noPlaceholder {
				token = w.placeholder(id)
			}
			if tc.pending != nil {
				tc.pending(t, w, id, token)
			}
			var refusal *awstest.Rule
			switch {
			case tc.smRefusal != "":
				refusal = proxy.inject(awstest.Fault{Op: tc.smFails, Status: 400, ErrorType: tc.smRefusal, Times: awstest.Forever})
			case proxy != nil:
				proxy.set(tc.smFails, true)
			}
			var err error
			for _, step := range rotation.Steps {
				_, err = w.step(step, id, token)
				if step == tc.failStep {
					break
				}
				if err != nil {
					t.Fatalf("Handle(%s) = %v; want success before %s", step, err, tc.failStep)
				}
			}
			if err == nil {
				t.Fatalf("Handle(%s) = nil; want %T", tc.failStep, tc.wantType)
			}
			if !errors.As(err, tc.wantType) {
				t.Fatalf("Handle(%s) = %T %v; want %T", tc.failStep, err, err, tc.wantType)
			}
			if got := errorType(err); got == "" || got == "wrapError" || got == "errorString" {
				t.Errorf("errorType(%v) = %q; want a named type", err, got)
			}
			if got := w.srv.Minted(); got != tc.wantMinted {
				t.Errorf("Minted() = %d; want %d", got, tc.wantMinted)
			}
			switch {
			case refusal != nil:
				refusal.Remove()
			case proxy != nil:
				proxy.set(tc.smFails, false)
			}
			if exists {
				if orphans := orphanTokens(t, w, id); len(orphans) != tc.wantOrphans {
					t.Errorf("%d live tokens are stored in no version of the secret; want %d", len(orphans), tc.wantOrphans)
				}
			}
			if exists {
				curV := labelled(before, rotation.StageCurrent)
				if got := w.versionWith(id, rotation.StageCurrent); got != curV {
					t.Errorf("AWSCURRENT moved from %s to %s", curV, got)
				}
				if got := w.raw(id, "", rotation.StageCurrent); got != beforeValue {
					t.Errorf("AWSCURRENT's value changed:\nbefore %s\nafter  %s", beforeValue, got)
				}
			}
			text := err.Error() + w.logs.String()
			assertNoSecrets(t, "error and logs", text, secretsOf(w.srv, w.fx))
		})
	}
}

// rotateOnce runs one full rotation through rotation events.
func rotateOnce(t *testing.T, w *world, id string) {
	t.Helper()
	token := w.placeholder(id)
	for _, step := range rotation.Steps {
		if _, err := w.step(step, id, token); err != nil {
			t.Fatalf("Handle(%s) = %v", step, err)
		}
	}
	w.endRotation(id, token)
}

// TestFinishSecretRevocationRefused: Graph refuses, for good (code 100),
// the revocation finishSecret makes of the token two generations old. The
// step still succeeds, the refusal is counted (RevocationsFailed 1 on the
// step's metrics line), and the version stays marked for a later attempt.
func TestFinishSecretRevocationRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	first := w.issue(10 * day)
	id := w.putSecret("managed", w.baseFields(first))
	rotateOnce(t, w, id)
	w.srv.Advance(rotation.DefaultRevokeGrace + time.Hour) // the first token stopped being current more than a grace period ago
	w.srv.FailNext(minttest.EndpointRevoke, minttest.Fault{Times: 10,
		Error: &minttest.Error{Message: "(#100) client_id, revoke_token and access_token must belong to the same app", Code: 100}})
	rotateOnce(t, w, id)
	if st, _ := w.srv.Token(first); st.Revoked {
		t.Fatalf("the token was revoked though Graph refused")
	}
	if !strings.Contains(w.metrics.String(), `"RevocationsFailed":1`) {
		t.Errorf("no metrics line with RevocationsFailed 1:\n%s", w.metrics.String())
	}
	marked := 0
	for _, labels := range revokeMarks(w.stages(id)) {
		if slices.Contains(labels, revokeMark) {
			marked++
		}
	}
	if marked != 1 {
		t.Errorf("%d versions marked for revocation; want 1 (the refused one)", marked)
	}
	assertNoSecrets(t, "the logs", w.logs.String(), secretsOf(w.srv, w.fx))
}

// TestTestSecretAlone checks testSecret invoked on its own, as Secrets
// Manager does for RotateSecret with RotateImmediately false.
func TestTestSecretAlone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		token    func(w *world) string
		wantErr  any
		wantDone string
	}{
		{name: "valid token", token: func(w *world) string { return w.issue(10 * day) }, wantDone: rotation.OutcomeTested},
		{name: "expired token", token: func(w *world) string { return w.issue(-day) }, wantErr: new(*rotation.TokenCheckError)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			id := w.putSecret("managed", w.baseFields(tc.token(w)))
			token := newUUID()
			// moto copies AWSCURRENT's value into the pending version when
			// RotateImmediately is false.
			_, err := w.sm.RotateSecret(t.Context(), &secretsmanager.RotateSecretInput{
				SecretId: aws.String(id), ClientRequestToken: aws.String(token),
				RotationLambdaARN: aws.String(rotationLambdaARN), RotateImmediately: aws.Bool(false),
				RotationRules: &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)},
			})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := w.step(rotation.StepTest, id, token)
			if tc.wantErr != nil {
				if !errors.As(err, tc.wantErr) {
					t.Fatalf("Handle(testSecret) = %v; want %T", err, tc.wantErr)
				}
				return
			}
			if err != nil || resp.Outcome != tc.wantDone {
				t.Fatalf("Handle(testSecret) = %+v, %v; want outcome %q", resp, err, tc.wantDone)
			}
			if got := w.srv.Minted(); got != 0 {
				t.Errorf("Minted() = %d; want 0", got)
			}
		})
	}
}
