package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// The tests of this file put the keyless path before managed secrets and
// job state that metamint did not write: another tool's JSON, a person's
// mistakes, another step of the job writing GITHUB_STATE.

// canaryHexSecret has the form of a Meta app secret: 32 hexadecimal digits.
const canaryHexSecret = "c0ffee0ddba11cafe0000000000000a5"

// TestKeylessRefHoldsTheValue: a person puts the secret itself where the
// name or ARN of the secret holding it belongs (the token in
// minting_token_ref, the app secret in app_secret_ref). The step fails
// naming the field, never shows the value, never sends it to AWS as a
// secret's name, and mints nothing.
func TestKeylessRefHoldsTheValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		field string
		// value returns what the person put in field.
		value func(k *keyless) string
	}{
		{name: "token in minting_token_ref", field: "minting_token_ref", value: func(k *keyless) string { return k.mintingToken }},
		{name: "app secret in app_secret_ref", field: "app_secret_ref", value: func(*keyless) string { return canaryHexSecret }},
		{name: "app secret in minting_app_secret_ref", field: "minting_app_secret_ref", value: func(*keyless) string { return canaryHexSecret }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			proxy := awstest.NewProxy(t, k.moto.URL)
			value := tt.value(k)
			f := k.managedFields(t, k.storedToken())
			f[tt.field] = value
			id := k.putJSON(t, "managed", f)
			sent := proxy.Inject(awstest.Fault{Op: "GetSecretValue", SecretID: value, Times: awstest.Forever, Status: 400,
				ErrorType: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret."})
			before := len(k.minted())
			r := runStep(t, k.world, k.keylessEnv(id), nil, withSecretsManager(awstest.SecretsManager(proxy.URL)))
			if r.err == nil || !strings.Contains(r.err.Error(), `field "`+tt.field+`"`) || !strings.Contains(r.err.Error(), "not the name or ARN of a secret") {
				t.Fatalf("run() = %v; want an error naming field %q as holding a value, not a secret's name", r.err, tt.field)
			}
			if n := sent.Hits(); n != 0 {
				t.Errorf("GetSecretValue sent the value as a SecretId %d times; want never", n)
			}
			checkNoLeaks(t, append(k.keylessSecrets(), canaryHexSecret), r)
			if got := len(k.minted()) - before; got != 0 || r.output != "" || r.state != "" {
				t.Errorf("minted %d tokens, outputs %q, state %q; want none", got, r.output, r.state)
			}
		})
	}
}

// TestKeylessPostAfterRotation: the managed secret changes between the main
// and the post step (the Lambda rotates it, a person edits it). The post
// step judges by AWSCURRENT as it reads it then: it revokes the job's
// token and nothing else, never the token AWSCURRENT holds now, masks
// every new value before any other line, and never fails the job.
func TestKeylessPostAfterRotation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// change rewrites the managed secret's fields between the steps,
		// given the new stored token; it returns the values it added.
		change func(t *testing.T, k *keyless, f map[string]any, fresh string) []string
		// state, when set, is what another step leaves as the saved token.
		state       func(fresh string) string
		wantStdout  string
		wantRevoked bool // the job's token
		wantRevokes int  // requests to /oauth/revoke
	}{
		{
			name:        "the Lambda rotated: a new stored token",
			change:      func(*testing.T, *keyless, map[string]any, string) []string { return nil },
			wantStdout:  "Revoked the token the main step minted.",
			wantRevoked: true, wantRevokes: 1,
		},
		{
			name:       "the Lambda rotated, and the state names the new stored token",
			change:     func(*testing.T, *keyless, map[string]any, string) []string { return nil },
			state:      func(fresh string) string { return fresh },
			wantStdout: "::warning::Not revoking the token the saved state names: it is a token the managed secret",
		},
		{
			name: "the app secret behind a new reference is wrong",
			change: func(t *testing.T, k *keyless, f map[string]any, _ string) []string {
				f["app_secret_ref"] = k.put(t, "app-secret-2", `{"app_secret":"`+canaryWrongSecret+`"}`)
				return []string{canaryWrongSecret, k.appID + "|" + canaryWrongSecret}
			},
			wantStdout: "::warning::Not revoking the token the saved state names: the main step did not mint it (its saved proof does not match the app secret)",
		},
		{
			name: "the secret now names another app",
			change: func(t *testing.T, k *keyless, f map[string]any, _ string) []string {
				f["app_id"] = k.mintingID
				f["app_secret_ref"] = k.put(t, "app-secret-2", canaryMintingSecret)
				return []string{canaryMintingSecret}
			},
			wantStdout: "::warning::Could not revoke the token: it was minted for app 200000000000002, but app 500000000000005 is configured now.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			stored := k.storedToken()
			f := k.managedFields(t, stored)
			id := k.putJSON(t, "managed", f)
			env := k.keylessEnv(id)
			m := runStep(t, k.world, env, nil, withSecretsManager(k.sm))
			if m.err != nil {
				t.Fatalf("main run() = %v\nstdout:\n%s", m.err, m.stdout)
			}
			job := m.outputs[outToken]

			// A new AWSCURRENT version, as the Lambda's finishSecret leaves it.
			fresh := k.storedToken()
			f["access_token"] = fresh
			added := tt.change(t, k, f, fresh)
			b, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := k.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(string(b))}); err != nil {
				t.Fatal(err)
			}
			if _, now := k.current(t, id); !strings.Contains(now, fresh) {
				t.Fatalf("AWSCURRENT does not hold the new token")
			}

			penv := postEnv(env, m)
			if tt.state != nil {
				penv["STATE_"+stateToken] = tt.state(fresh)
			}
			revokes := k.count(minttest.EndpointRevoke)
			p := runStep(t, k.world, penv, postArgs, withSecretsManager(k.sm))
			if p.err != nil || strings.Contains(p.stdout, "::error") {
				t.Fatalf("post run() = %v; want nil and no error annotation\nstdout:\n%s", p.err, p.stdout)
			}
			if !strings.Contains(p.stdout, tt.wantStdout) {
				t.Errorf("post stdout = %q; want it to contain %q", p.stdout, tt.wantStdout)
			}
			if st, _ := k.srv.Token(job); st.Revoked != tt.wantRevoked {
				t.Errorf("job token revoked = %v; want %v", st.Revoked, tt.wantRevoked)
			}
			if got := k.count(minttest.EndpointRevoke) - revokes; got != tt.wantRevokes {
				t.Errorf("revoke requests = %d; want %d", got, tt.wantRevokes)
			}
			for _, tok := range []string{stored, fresh} {
				if st, _ := k.srv.Token(tok); st.Revoked {
					t.Errorf("a token the managed secret held before or holds now was revoked")
				}
			}
			checkMaskedBefore(t, p.stdout, append([]string{fresh}, added...)...)
			checkNoLeaks(t, append(k.keylessSecrets(), added...), p)
		})
	}
}

// TestKeylessPostTamperedState: another step of the job rewrites
// GITHUB_STATE between the main and the post step. A saved token that no
// run of this step could have saved (a line break, a space, longer than
// any token) is never sent to Graph: with white space around it, a
// protected token would escape the post step's exact comparison, and
// Graph may trim what it reads. A saved expiry is shown only when short:
// it may hold anything, a secret included. The job never fails.
func TestKeylessPostTamperedState(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("EAA0", 25_000)
	tests := []struct {
		name string
		// state changes the saved state, given the stored and job tokens.
		state       func(env map[string]string, stored, job string)
		wantStdout  string
		wantRevoked bool // the job's token
		wantRevokes int  // requests to /oauth/revoke
		hidden      []string
	}{
		{
			name:       "the stored token with a line break after it",
			state:      func(env map[string]string, stored, _ string) { env["STATE_"+stateToken] = stored + "\n" },
			wantStdout: "::warning::Not revoking the token the saved state names: it is not an access token",
		},
		{
			name:       "the stored token with a space before it",
			state:      func(env map[string]string, stored, _ string) { env["STATE_"+stateToken] = " " + stored },
			wantStdout: "::warning::Not revoking the token the saved state names: it is not an access token",
		},
		{
			name:       "the job token and the stored token on two lines",
			state:      func(env map[string]string, stored, job string) { env["STATE_"+stateToken] = job + "\n" + stored },
			wantStdout: "::warning::Not revoking the token the saved state names: it is not an access token",
		},
		{
			name:       "a huge token",
			state:      func(env map[string]string, _, _ string) { env["STATE_"+stateToken] = huge },
			wantStdout: "::warning::Not revoking the token the saved state names: it is not an access token",
			hidden:     []string{huge},
		},
		{
			name:       "a huge app ID",
			state:      func(env map[string]string, _, _ string) { env["STATE_"+stateAppID] = strings.Repeat("2", 100_000) },
			wantStdout: "::warning::Could not revoke the token: it was minted for app a value of 100000 bytes that is not shown (it may be a secret), but app 200000000000002 is configured now.",
		},
		{
			// Quoted after the app secret is masked, but a saved value
			// is quoted without the secrets the step knows, as the
			// expiry is: the runner's mask is a filter on the log.
			name:       "an app ID that holds the app secret",
			state:      func(env map[string]string, _, _ string) { env["STATE_"+stateAppID] = canaryAppSecret },
			wantStdout: `::warning::Could not revoke the token: it was minted for app "[REDACTED]", but app 200000000000002 is configured now.`,
		},
		{
			name:        "a huge expiry",
			state:       func(env map[string]string, _, _ string) { env["STATE_"+stateExpiresAt] = huge },
			wantStdout:  "::warning::The saved expiry a value of 100000 bytes that is not shown (it may be a secret) is not an RFC 3339 time; revoking the token anyway",
			wantRevoked: true, wantRevokes: 1,
			hidden: []string{huge},
		},
		{
			name:        "an expiry that holds the stored token",
			state:       func(env map[string]string, stored, _ string) { env["STATE_"+stateExpiresAt] = stored },
			wantStdout:  "is not an RFC 3339 time; revoking the token anyway",
			wantRevoked: true, wantRevokes: 1,
		},
		{
			// The app secret is short enough to be quoted, and on this
			// path the post step learns it only from AWS: quoted before
			// it is masked, it would stay in the log.
			name:        "an expiry that holds the app secret",
			state:       func(env map[string]string, _, _ string) { env["STATE_"+stateExpiresAt] = canaryAppSecret },
			wantStdout:  `::warning::The saved expiry "[REDACTED]" is not an RFC 3339 time; revoking the token anyway`,
			wantRevoked: true, wantRevokes: 1,
		},
		{
			name:        "an expiry far in the future",
			state:       func(env map[string]string, _, _ string) { env["STATE_"+stateExpiresAt] = "9999-12-31T23:59:59Z" },
			wantStdout:  "Revoked the token the main step minted.",
			wantRevoked: true, wantRevokes: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			stored := k.storedToken()
			env := k.keylessEnv(k.putJSON(t, "managed", k.managedFields(t, stored)))
			m := runStep(t, k.world, env, nil, withSecretsManager(k.sm))
			if m.err != nil {
				t.Fatalf("main run() = %v\nstdout:\n%s", m.err, m.stdout)
			}
			job := m.outputs[outToken]
			penv := postEnv(env, m)
			tt.state(penv, stored, job)
			revokes := k.count(minttest.EndpointRevoke)
			p := runStep(t, k.world, penv, postArgs, withSecretsManager(k.sm))
			if p.err != nil || strings.Contains(p.stdout, "::error") {
				t.Fatalf("post run() = %v; want nil and no error annotation", p.err)
			}
			if !strings.Contains(p.stdout, tt.wantStdout) {
				t.Errorf("post stdout = %.2000q; want it to contain %q", p.stdout, tt.wantStdout)
			}
			if got := k.count(minttest.EndpointRevoke) - revokes; got != tt.wantRevokes {
				t.Errorf("revoke requests = %d; want %d", got, tt.wantRevokes)
			}
			if st, _ := k.srv.Token(job); st.Revoked != tt.wantRevoked {
				t.Errorf("job token revoked = %v; want %v", st.Revoked, tt.wantRevoked)
			}
			if st, _ := k.srv.Token(stored); st.Revoked {
				t.Errorf("the stored token was revoked")
			}
			for i, line := range strings.Split(p.stdout, "\n") {
				if !strings.HasPrefix(line, "::add-mask::") && len(line) > 1000 {
					t.Errorf("stdout line %d is %d bytes long; want a saved value shown short or not at all", i+1, len(line))
				}
			}
			checkNoLeaks(t, append(k.keylessSecrets(), tt.hidden...), p)
		})
	}
}

// TestKeylessReadsAWSCURRENT: the managed secret and its app_secret_ref
// each have a newer version staged AWSPENDING (a rotation under way,
// another tool staging a value) that holds a token and an app secret that
// do not work. The main and the post step mint and revoke with AWSCURRENT
// only (the other versions are read for the tokens they hold, never used):
// the job's token is minted and revoked with the current values.
func TestKeylessReadsAWSCURRENT(t *testing.T) {
	t.Parallel()
	k := newKeyless(t)
	stored := k.storedToken()
	f := k.managedFields(t, stored)
	id := k.putJSON(t, "managed", f)
	pending := func(id, value string) {
		t.Helper()
		if _, err := k.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(value),
			VersionStages: []string{"AWSPENDING"}}); err != nil {
			t.Fatal(err)
		}
	}
	ref, _ := f["app_secret_ref"].(string)
	pending(ref, `{"app_secret":"`+canaryWrongSecret+`"}`)
	f["access_token"] = canaryBadToken
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	pending(id, string(b))

	env := k.keylessEnv(id)
	m := runStep(t, k.world, env, nil, withSecretsManager(k.sm))
	if m.err != nil {
		t.Fatalf("main run() = %v; want the job's token minted with AWSCURRENT\nstdout:\n%s", m.err, m.stdout)
	}
	p := runStep(t, k.world, postEnv(env, m), postArgs, withSecretsManager(k.sm))
	if p.err != nil || !strings.Contains(p.stdout, "Revoked the token the main step minted.") {
		t.Fatalf("post run() = %v; want the job's token revoked with AWSCURRENT\nstdout:\n%s", p.err, p.stdout)
	}
	if st, _ := k.srv.Token(m.outputs[outToken]); !st.Revoked {
		t.Errorf("the job's token is not revoked")
	}
	if st, _ := k.srv.Token(stored); st.Revoked {
		t.Errorf("the stored token was revoked")
	}
	checkNoLeaks(t, k.keylessSecrets(), m)
	checkNoLeaks(t, k.keylessSecrets(), p)
}

// TestKeylessPostThrottled: Secrets Manager throttles the post step's reads
// of the managed secret and its reference (ThrottlingException, more times
// than the SDK's own attempts). A throttle is "not now": the step waits
// (on an injected clock, counted) and reads again within its deadline, then
// revokes the job's token; it never leaves the token live for a throttle
// that passes, nor revokes a held one. A throttle that outlasts the step
// leaves the token live with a warning that says so.
func TestKeylessPostThrottled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		times       int
		wantStdout  string
		wantRevoked bool
	}{
		{name: "five throttles", times: 5, wantStdout: "Revoked the token the main step minted.", wantRevoked: true},
		{name: "throttled past the deadline", times: awstest.Forever,
			wantStdout: "::warning::Could not revoke the token: aws-secret-id: reading the secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			proxy := awstest.NewProxy(t, k.moto.URL)
			// One SDK attempt a call: the waits are the step's own, counted.
			sm := awstest.SecretsManager(proxy.URL, func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 })
			stored := k.storedToken()
			env := k.keylessEnv(k.putJSON(t, "managed", k.managedFields(t, stored)))
			m := runStep(t, k.world, env, nil, withSecretsManager(sm))
			if m.err != nil {
				t.Fatalf("main run() = %v\nstdout:\n%s", m.err, m.stdout)
			}
			job := m.outputs[outToken]
			rule := proxy.Inject(awstest.Fault{Op: "GetSecretValue", Times: tt.times, Status: 400, ErrorType: "ThrottlingException", Message: "Rate exceeded"})
			fake := clock.NewFake(time.Now())
			p := runStep(t, k.world, postEnv(env, m), postArgs,
				withSecretsManager(sm), withClock(fake.Now), withSleep(fake.Sleep), withTimeout(defaultTimeout))
			if p.err != nil || strings.Contains(p.stdout, "::error") {
				t.Fatalf("post run() = %v; want nil and no error annotation\nstdout:\n%s", p.err, p.stdout)
			}
			if !strings.Contains(p.stdout, tt.wantStdout) {
				t.Errorf("post stdout = %q; want it to contain %q", p.stdout, tt.wantStdout)
			}
			if st, _ := k.srv.Token(job); st.Revoked != tt.wantRevoked {
				t.Errorf("job token revoked = %v; want %v", st.Revoked, tt.wantRevoked)
			}
			if st, _ := k.srv.Token(stored); st.Revoked {
				t.Errorf("the stored token was revoked")
			}
			slept := fake.Slept()
			if tt.times != awstest.Forever && (rule.Hits() != tt.times || len(slept) != tt.times) {
				t.Errorf("throttles = %d, waits = %d; want %d of each", rule.Hits(), len(slept), tt.times)
			}
			var total time.Duration
			for _, d := range slept {
				total += d
			}
			if total > defaultTimeout {
				t.Errorf("waited %s in all; want no more than the step's %s", total, defaultTimeout)
			}
			checkNoLeaks(t, k.keylessSecrets(), p)
		})
	}
}

// TestKeylessPostHeldByStage: between the main and the post step the job's
// token comes to be held by a version of the managed secret other than
// AWSCURRENT (a rotation under way that Graph answered the same token,
// another tool's staged value, the version a rotation just made previous).
// The post step reads AWSPENDING and AWSPREVIOUS too, as the Lambda does
// before it revokes a token it made, and never revokes a token one of them
// holds, in any form; when one cannot be read it cannot tell, and keeps
// the token.
func TestKeylessPostHeldByStage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// change stages versions of the managed secret, given its fields
		// and the job's token.
		change func(t *testing.T, k *keyless, id string, f map[string]any, job string)
		fault  *awstest.Fault
		want   string
	}{
		{
			name: "AWSPENDING of a rotation under way",
			change: func(t *testing.T, k *keyless, id string, f map[string]any, job string) {
				f["access_token"] = job
				k.stage(t, id, f, "AWSPENDING")
			},
			want: "::warning::Not revoking the token the saved state names: it is a token the AWSPENDING version of the secret",
		},
		{
			name: "AWSPENDING of another tool, plain text",
			change: func(t *testing.T, k *keyless, id string, _ map[string]any, job string) {
				k.stageString(t, id, "token: "+job+"\n", "AWSPENDING")
			},
			want: "::warning::Not revoking the token the saved state names: it is a token the AWSPENDING version of the secret",
		},
		{
			name: "AWSPREVIOUS after a rotation",
			change: func(t *testing.T, k *keyless, id string, f map[string]any, job string) {
				f["access_token"] = job
				k.stage(t, id, f, "AWSCURRENT")
				f["access_token"] = k.storedToken()
				k.stage(t, id, f, "AWSCURRENT")
			},
			want: "::warning::Not revoking the token the saved state names: it is a token the AWSPREVIOUS version of the secret",
		},
		{
			name: "AWSPENDING of minting_token_ref",
			change: func(t *testing.T, k *keyless, id string, f map[string]any, job string) {
				ref := k.put(t, "minting-token", k.mintingToken)
				k.stageString(t, ref, job, "AWSPENDING")
				f["minting_token_ref"] = ref
				k.stage(t, id, f, "AWSCURRENT")
			},
			want: "::warning::Not revoking the token the saved state names: it is a token the AWSPENDING version of the secret",
		},
		{
			name:   "AWSPENDING cannot be read",
			change: func(*testing.T, *keyless, string, map[string]any, string) {},
			fault: &awstest.Fault{Op: "GetSecretValue", Times: awstest.Forever, Status: 400, ErrorType: "AccessDeniedException", Message: "denied",
				Match: func(body map[string]any) bool { return body["VersionStage"] == "AWSPENDING" }},
			want: "::warning::Could not revoke the token: aws-secret-id: ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			proxy := awstest.NewProxy(t, k.moto.URL)
			sm := awstest.SecretsManager(proxy.URL)
			stored := k.storedToken()
			f := k.managedFields(t, stored)
			id := k.putJSON(t, "managed", f)
			env := k.keylessEnv(id)
			m := runStep(t, k.world, env, nil, withSecretsManager(sm))
			if m.err != nil {
				t.Fatalf("main run() = %v\nstdout:\n%s", m.err, m.stdout)
			}
			job := m.outputs[outToken]
			tt.change(t, k, id, f, job)
			if tt.fault != nil {
				proxy.Inject(*tt.fault)
			}
			revokes := k.count(minttest.EndpointRevoke)
			p := runStep(t, k.world, postEnv(env, m), postArgs, withSecretsManager(sm))
			if p.err != nil || strings.Contains(p.stdout, "::error") {
				t.Fatalf("post run() = %v; want nil and no error annotation\nstdout:\n%s", p.err, p.stdout)
			}
			if !strings.Contains(p.stdout, tt.want) {
				t.Errorf("post stdout = %q; want it to contain %q", p.stdout, tt.want)
			}
			if got := k.count(minttest.EndpointRevoke) - revokes; got != 0 {
				t.Errorf("revoke requests = %d; want none", got)
			}
			if st, _ := k.srv.Token(job); st.Revoked {
				t.Errorf("the job's token, held by the secret or not known not to be, was revoked")
			}
			checkNoLeaks(t, k.keylessSecrets(), p)
		})
	}
}

// stage puts f as a new version of the managed secret id with stage.
func (k *keyless) stage(t *testing.T, id string, f map[string]any, stage string) {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	k.stageString(t, id, string(b), stage)
}

// stageString puts value as a new version of the secret id with stage.
func (k *keyless) stageString(t *testing.T, id, value, stage string) {
	t.Helper()
	if _, err := k.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(value),
		VersionStages: []string{stage}}); err != nil {
		t.Fatal(err)
	}
}

// TestKeylessPostAfterUnrelatedMistake: between the main and the post step
// a person edits the managed secret and breaks a field that revoking the
// job's token does not need (system_user_id, scopes, a boolean, the minting
// app's secret). The post step reads only what revocation needs (app_id,
// the app secret, the tokens held) and revokes the job's token, never a
// held one; a mistake in one of those keeps the token, with a warning.
func TestKeylessPostAfterUnrelatedMistake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		edit        func(f map[string]any)
		wantStdout  string
		wantRevoked bool
	}{
		{name: "system_user_id removed", edit: func(f map[string]any) { delete(f, "system_user_id") },
			wantStdout: "Revoked the token the main step minted.", wantRevoked: true},
		{name: "an unlisted scope without allow_unlisted_scopes", edit: func(f map[string]any) { f["scopes"] = []string{"ads_read", "pages_everything"} },
			wantStdout: "Revoked the token the main step minted.", wantRevoked: true},
		{name: "a boolean misspelt", edit: func(f map[string]any) { f["expiring_token"] = "ture" },
			wantStdout: "Revoked the token the main step minted.", wantRevoked: true},
		{name: "both minting app secrets", edit: func(f map[string]any) {
			f["minting_app_secret"] = canaryMintingSecret
			f["minting_app_secret_ref"] = "metamint/minting-secret"
		}, wantStdout: "Revoked the token the main step minted.", wantRevoked: true},
		{name: "app_id removed", edit: func(f map[string]any) { delete(f, "app_id") },
			wantStdout: `::warning::Could not revoke the token: aws-secret-id: the secret`},
		{name: "minting_token_ref holds a token", edit: func(f map[string]any) { f["minting_token_ref"] = "EAA" + strings.Repeat("x", 120) },
			wantStdout: `field "minting_token_ref" holds an access token`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			stored := k.storedToken()
			f := k.managedFields(t, stored)
			id := k.putJSON(t, "managed", f)
			env := k.keylessEnv(id)
			m := runStep(t, k.world, env, nil, withSecretsManager(k.sm))
			if m.err != nil {
				t.Fatalf("main run() = %v\nstdout:\n%s", m.err, m.stdout)
			}
			job := m.outputs[outToken]
			tt.edit(f)
			k.stage(t, id, f, "AWSCURRENT")
			p := runStep(t, k.world, postEnv(env, m), postArgs, withSecretsManager(k.sm))
			if p.err != nil || strings.Contains(p.stdout, "::error") {
				t.Fatalf("post run() = %v; want nil and no error annotation\nstdout:\n%s", p.err, p.stdout)
			}
			if !strings.Contains(p.stdout, tt.wantStdout) {
				t.Errorf("post stdout = %q; want it to contain %q", p.stdout, tt.wantStdout)
			}
			if st, _ := k.srv.Token(job); st.Revoked != tt.wantRevoked {
				t.Errorf("job token revoked = %v; want %v", st.Revoked, tt.wantRevoked)
			}
			if st, _ := k.srv.Token(stored); st.Revoked {
				t.Errorf("the stored token was revoked")
			}
			checkNoLeaks(t, k.keylessSecrets(), p)
		})
	}
}

// TestKeylessHostileReferenceText: a reference's text is the secret
// editor's, and it reaches the log quoted (in an error, or the post step's
// warning): line breaks, workflow commands (::, ##[), an escape sequence
// and Markdown never start a line or reach the terminal raw, in the main
// step's error or in the post step's warning.
func TestKeylessHostileReferenceText(t *testing.T) {
	t.Parallel()
	const hostile = "metamint/app\n::warning::forged\r##[group]forged\x1b[2J[click](https://example.com)\u2028::error::forged"
	k := newKeyless(t)
	f := k.managedFields(t, k.storedToken())
	good := f["app_secret_ref"]
	f["app_secret_ref"] = hostile
	bad := k.putJSON(t, "bad", f)
	m := runStep(t, k.world, k.keylessEnv(bad), nil, withSecretsManager(k.sm))
	if m.err == nil {
		t.Fatalf("main run() = nil; want an error naming app_secret_ref")
	}

	f["app_secret_ref"] = good
	id := k.putJSON(t, "managed", f)
	env := k.keylessEnv(id)
	ok := runStep(t, k.world, env, nil, withSecretsManager(k.sm))
	if ok.err != nil {
		t.Fatalf("main run() = %v", ok.err)
	}
	f["app_secret_ref"] = hostile
	k.stage(t, id, f, "AWSCURRENT")
	p := runStep(t, k.world, postEnv(env, ok), postArgs, withSecretsManager(k.sm))
	if !strings.Contains(p.stdout, "::warning::Could not revoke the token") {
		t.Errorf("post stdout = %q; want a warning", p.stdout)
	}
	// The text is shown, flattened to one line and escaped: the checks
	// below are not vacuous.
	for _, out := range []string{m.err.Error(), p.stdout} {
		if !strings.Contains(out, `metamint/app ::warning::forged`) {
			t.Errorf("%q does not quote the reference, escaped", out)
		}
	}
	for _, out := range []string{m.stdout, p.stdout} {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "forged") && !strings.HasPrefix(line, "::error::") && !strings.HasPrefix(line, "::warning::Could not revoke") {
				t.Errorf("line %q carries the reference's text outside the step's own annotation", line)
			}
			if strings.ContainsAny(line, "\r\x1b\u2028") || strings.HasPrefix(line, "##[") {
				t.Errorf("line %q holds a raw control character or starts a command", line)
			}
		}
	}
	checkNoLeaks(t, k.keylessSecrets(), m)
	checkNoLeaks(t, k.keylessSecrets(), p)
}

// TestKeylessMasksOtherVersions: the main and the post step read the text
// of AWSPENDING and AWSPREVIOUS for the tokens they hold; the secrets in it
// are masked before anything else is written, in metamint's form (each
// field) or another tool's (each string of a JSON object, or each line).
func TestKeylessMasksOtherVersions(t *testing.T) {
	t.Parallel()
	const (
		pendingToken  = "EAAPENDINGcanaryTOKEN0123456789"
		pendingSecret = "0123456789abcdefPENDINGSECRET999"
		otherToken    = "EAAOTHERTOOLcanaryTOKEN98765432"
		lineToken     = "EAALINEcanaryTOKEN1122334455667"
	)
	tests := []struct {
		name   string
		change func(t *testing.T, k *keyless, id string, f map[string]any)
		want   []string
	}{
		{
			name: "metamint's form",
			change: func(t *testing.T, k *keyless, id string, f map[string]any) {
				f["access_token"], f["app_secret"] = pendingToken, pendingSecret
				k.stage(t, id, f, "AWSPENDING")
			},
			want: []string{pendingToken, pendingSecret},
		},
		{
			name: "another tool's JSON",
			change: func(t *testing.T, k *keyless, id string, _ map[string]any) {
				k.stageString(t, id, `{"token":"`+otherToken+`","kind":"meta"}`, "AWSPENDING")
			},
			want: []string{otherToken},
		},
		{
			name: "another tool's lines",
			change: func(t *testing.T, k *keyless, id string, _ map[string]any) {
				k.stageString(t, id, "meta\n"+lineToken+"\n", "AWSPENDING")
			},
			want: []string{lineToken},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			sm := awstest.SecretsManager(k.moto.URL)
			f := k.managedFields(t, k.storedToken())
			id := k.putJSON(t, "managed", f)
			env := k.keylessEnv(id)
			tt.change(t, k, id, f)
			m := runStep(t, k.world, env, nil, withSecretsManager(sm))
			if m.err != nil {
				t.Fatalf("main run() = %v\nstdout:\n%s", m.err, m.stdout)
			}
			checkMaskedBefore(t, m.stdout, tt.want...)
			p := runStep(t, k.world, postEnv(env, m), postArgs, withSecretsManager(sm))
			if p.err != nil {
				t.Fatalf("post run() = %v\nstdout:\n%s", p.err, p.stdout)
			}
			for _, v := range tt.want {
				if !strings.Contains(p.stdout, "::add-mask::"+v+"\n") {
					t.Errorf("post stdout masks no %q:\n%s", v, p.stdout)
				}
			}
		})
	}
}

// TestKeylessMainRefusesStagedToken: Graph answers, as the new token, a
// token a version of the managed secret or of minting_token_ref other than
// AWSCURRENT holds (a rotation's pending token, in metamint's form or
// another tool's; the previous token, still live without revoke_previous).
// The main step reads those versions before minting, as the post step
// does, and refuses the token: it is neither output nor revoked, whether
// debug_token would pass it or not, and the error names the stage and the
// secret, never the token.
func TestKeylessMainRefusesStagedToken(t *testing.T) {
	t.Parallel()
	stages := []struct {
		name string
		// stage makes a version other than AWSCURRENT hold held; it returns
		// the managed secret's ID and the ID of the secret whose version
		// holds it.
		stage func(t *testing.T, k *keyless, held string) (id, holder string)
		want  string
	}{
		{
			name: "AWSPENDING of a rotation under way",
			stage: func(t *testing.T, k *keyless, held string) (string, string) {
				f := k.managedFields(t, k.storedToken())
				id := k.putJSON(t, "managed", f)
				f["access_token"] = held
				k.stage(t, id, f, "AWSPENDING")
				return id, id
			},
			want: "AWSPENDING",
		},
		{
			name: "AWSPENDING of another tool, plain text",
			stage: func(t *testing.T, k *keyless, held string) (string, string) {
				id := k.putJSON(t, "managed", k.managedFields(t, k.storedToken()))
				k.stageString(t, id, "token: "+held+"\n", "AWSPENDING")
				return id, id
			},
			want: "AWSPENDING",
		},
		{
			name: "AWSPREVIOUS, the token a rotation replaced",
			stage: func(t *testing.T, k *keyless, held string) (string, string) {
				f := k.managedFields(t, held)
				id := k.putJSON(t, "managed", f)
				f["access_token"] = k.storedToken()
				k.stage(t, id, f, "AWSCURRENT")
				return id, id
			},
			want: "AWSPREVIOUS",
		},
		{
			name: "AWSPENDING of minting_token_ref",
			stage: func(t *testing.T, k *keyless, held string) (string, string) {
				ref := k.put(t, "minting-token", k.mintingToken)
				k.stageString(t, ref, held, "AWSPENDING")
				f := k.managedFields(t, canaryStoredToken)
				f["minting_token_ref"] = ref
				f["minting_app_secret"] = canaryMintingSecret
				return k.putJSON(t, "managed", f), ref
			},
			want: "AWSPENDING",
		},
	}
	tokens := []struct {
		name string
		// issue returns the token the version holds.
		issue func(k *keyless) string
	}{
		// debug_token passes it: the step would hand it to the job.
		{name: "a token debug_token passes", issue: func(k *keyless) string { return k.storedToken() }},
		// debug_token fails it (a scope short): the step would revoke it.
		{name: "a token debug_token fails", issue: func(k *keyless) string {
			return k.srv.IssueToken(minttest.TokenSpec{UserID: k.systemUserID, AppID: k.appID, Scopes: []string{"ads_read"}})
		}},
	}
	for _, st := range stages {
		for _, tok := range tokens {
			t.Run(st.name+", "+tok.name, func(t *testing.T) {
				t.Parallel()
				k := newKeyless(t)
				held := tok.issue(k)
				id, holder := st.stage(t, k, held)
				env := k.keylessEnv(id)
				revokes := k.count(minttest.EndpointRevoke)
				k.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Status: 200, Body: []byte(`{"access_token":"` + held + `"}`)})
				r := runStep(t, k.world, env, nil, withSecretsManager(k.sm))
				want := "a token the " + st.want + " version of the secret " + quoteID(holder)
				if r.err == nil || !strings.Contains(r.err.Error(), want) || !strings.Contains(r.err.Error(), "not output and not revoked") {
					t.Errorf("run() = %v; want the token refused, naming %q", r.err, want)
				}
				if s, _ := k.srv.Token(held); s.Revoked || k.count(minttest.EndpointRevoke) != revokes {
					t.Errorf("the token a version holds was revoked, or a revoke was tried")
				}
				if r.output != "" || r.state != "" {
					t.Errorf("outputs %q, state %q; want none", r.output, r.state)
				}
				checkMaskedBefore(t, r.stdout, held)
				checkNoLeaks(t, k.keylessSecrets(), r)
				p := runStep(t, k.world, postEnv(env, r), postArgs, withSecretsManager(k.sm))
				if p.err != nil || !strings.Contains(p.stdout, "No token to revoke") {
					t.Errorf("post run() = %v, stdout %q; want nothing to revoke", p.err, p.stdout)
				}
				if s, _ := k.srv.Token(held); s.Revoked {
					t.Errorf("the post step revoked the token a version holds")
				}
			})
		}
	}
}

// TestKeylessMainVersionReads: the main step reads AWSPENDING and
// AWSPREVIOUS of the managed secret and of minting_token_ref before it
// mints. A read that fails (other than "no version holds the stage")
// fails the step before minting, naming the secret and the stage: a step
// that cannot tell which tokens are held must not mint. A throttle is "not
// now": the step waits (on an injected clock, counted) and reads again.
func TestKeylessMainVersionReads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// fault returns the fault for the managed secret id and its
		// minting_token_ref ref.
		fault   func(id, ref string) awstest.Fault
		wantErr string // "" for success; "%s" is the failing secret
		// failing returns the secret named in wantErr.
		failing func(id, ref string) string
	}{
		{
			name: "AWSPENDING of the secret denied",
			fault: func(id, _ string) awstest.Fault {
				return awstest.Fault{Op: "GetSecretValue", Times: awstest.Forever, Status: 400, ErrorType: "AccessDeniedException", Message: "denied", SecretID: id,
					Match: func(body map[string]any) bool { return body["VersionStage"] == "AWSPENDING" }}
			},
			wantErr: "reading the AWSPENDING version of the secret %s (GetSecretValue)",
			failing: func(id, _ string) string { return id },
		},
		{
			name: "AWSPREVIOUS of minting_token_ref unavailable",
			fault: func(_, ref string) awstest.Fault {
				return awstest.Fault{Op: "GetSecretValue", Times: awstest.Forever, Status: 500, ErrorType: "InternalServiceError", Message: "down", SecretID: ref,
					Match: func(body map[string]any) bool { return body["VersionStage"] == "AWSPREVIOUS" }}
			},
			wantErr: "reading the AWSPREVIOUS version of the secret %s (GetSecretValue)",
			failing: func(_, ref string) string { return ref },
		},
		{
			name: "AWSPENDING of the secret throttled three times",
			fault: func(id, _ string) awstest.Fault {
				return awstest.Fault{Op: "GetSecretValue", Times: 3, Status: 400, ErrorType: "ThrottlingException", Message: "Rate exceeded", SecretID: id,
					Match: func(body map[string]any) bool { return body["VersionStage"] == "AWSPENDING" }}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			proxy := awstest.NewProxy(t, k.moto.URL)
			// One SDK attempt a call: the waits are the step's own, counted.
			sm := awstest.SecretsManager(proxy.URL, func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 })
			ref := k.put(t, "minting-token", k.mintingToken)
			f := k.managedFields(t, k.storedToken())
			f["minting_token_ref"] = ref
			f["minting_app_secret"] = canaryMintingSecret
			id := k.putJSON(t, "managed", f)
			rule := proxy.Inject(tt.fault(id, ref))
			fake := clock.NewFake(time.Now())
			r := runStep(t, k.world, k.keylessEnv(id), nil, withSecretsManager(sm), withClock(fake.Now), withSleep(fake.Sleep), withTimeout(defaultTimeout))
			if tt.wantErr == "" {
				if r.err != nil || r.outputs[outToken] == "" {
					t.Fatalf("run() = %v; want a token minted once the throttle passed\nstdout:\n%s", r.err, r.stdout)
				}
				if hits, slept := rule.Hits(), len(fake.Slept()); hits != 3 || slept != 3 {
					t.Errorf("throttles = %d, waits = %d; want 3 of each", hits, slept)
				}
				checkNoLeaks(t, k.keylessSecrets(), r)
				return
			}
			want := fmt.Sprintf(tt.wantErr, quoteID(tt.failing(id, ref)))
			if r.err == nil || !strings.Contains(r.err.Error(), want) {
				t.Errorf("run() = %v; want an error with %q", r.err, want)
			}
			if rule.Hits() == 0 {
				t.Errorf("the fault was never hit: the step did not read the version")
			}
			if got := k.count(minttest.EndpointAccessTokens); got != 0 {
				t.Errorf("token requests = %d; want none: a step that cannot tell must not mint", got)
			}
			if r.output != "" || r.state != "" {
				t.Errorf("outputs %q, state %q; want none", r.output, r.state)
			}
			checkNoLeaks(t, k.keylessSecrets(), r)
		})
	}
}
