package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Shutdown()
	os.Exit(code)
}

// Canaries of the keyless path: distinctive values in every field of a
// managed secret and of the secrets it references.
const (
	canaryStoredToken = "EAACANARYstoredTOKENnotUsed000007" // a stored token that never mints
	canaryExtraField  = "CANARYextraFIELDvalue0000000008"
	canaryRefExtra    = "CANARYrefEXTRAvalue000000000009"
)

var keylessScopes = []string{"ads_read", "business_management"}

// keyless is a world with moto: managed secrets for its system user.
type keyless struct {
	*world
	moto      *awstest.Moto
	sm        *secretsmanager.Client
	prefix    string
	mintingID string // a second app, whose admin token mints for appID
	// mintingToken is the admin system user's token of the minting app.
	mintingToken string
}

func newKeyless(t *testing.T, opts ...minttest.Option) *keyless {
	t.Helper()
	w := newWorld(t, opts...)
	w.srv.InstallApp(w.systemUserID, w.appID)
	k := &keyless{world: w, prefix: "keyless/" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()) + "-" + randSuffix() + "/"}
	k.moto = awstest.SharedMoto(t)
	k.sm = k.moto.SecretsManager()
	k.mintingID = "500000000000005"
	w.srv.AddApp(minttest.App{ID: k.mintingID, Name: "Minting App", Secret: canaryMintingSecret, BusinessID: w.businessID})
	w.srv.InstallApp("300000000000003", k.mintingID)
	k.mintingToken = w.srv.IssueToken(minttest.TokenSpec{UserID: "300000000000003", AppID: k.mintingID, Scopes: []string{"business_management"}})
	return k
}

var suffix atomic.Int64

func randSuffix() string {
	return time.Now().Format("150405.000000") + "-" + string(rune('a'+suffix.Add(1)%26))
}

// storedToken issues the managed token: the system user's own token of the
// app, expiring in 30 days.
func (k *keyless) storedToken() string {
	return k.srv.IssueToken(minttest.TokenSpec{UserID: k.systemUserID, AppID: k.appID, Scopes: keylessScopes, ExpiresAt: k.srv.Now().Add(30 * 24 * time.Hour)})
}

// put creates a secret holding value and returns its name.
func (k *keyless) put(t *testing.T, name, value string) string {
	t.Helper()
	id := k.prefix + name
	if _, err := k.sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(value)}); err != nil {
		t.Fatalf("CreateSecret(%s) = %v", id, err)
	}
	return id
}

// putBinary creates a secret holding data as SecretBinary and returns its
// name.
func (k *keyless) putBinary(t *testing.T, name string, data []byte) string {
	t.Helper()
	id := k.prefix + name
	if _, err := k.sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretBinary: data}); err != nil {
		t.Fatalf("CreateSecret(%s) = %v", id, err)
	}
	return id
}

// putJSON creates a secret holding fields as JSON.
func (k *keyless) putJSON(t *testing.T, name string, fields map[string]any) string {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return k.put(t, name, string(b))
}

// managedFields is a managed secret whose app secret is behind
// app_secret_ref and whose stored token mints.
func (k *keyless) managedFields(t *testing.T, stored string) map[string]any {
	t.Helper()
	ref := k.putJSON(t, "app-secret", map[string]any{"app_secret": k.appSecret, "note": canaryRefExtra})
	return map[string]any{
		"app_id":         k.appID,
		"system_user_id": k.systemUserID,
		"scopes":         keylessScopes,
		"app_secret_ref": ref,
		"access_token":   stored,
		"note":           canaryExtraField,
	}
}

// current reads the managed secret's AWSCURRENT version.
func (k *keyless) current(t *testing.T, id string) (version, value string) {
	t.Helper()
	out, err := k.sm.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		t.Fatalf("GetSecretValue(%s) = %v", id, err)
	}
	return aws.ToString(out.VersionId), aws.ToString(out.SecretString)
}

// keylessEnv is the environment of a step with only aws-secret-id set.
func (k *keyless) keylessEnv(id string) map[string]string {
	in := k.inputs()
	for _, name := range []string{"INPUT_APP-ID", "INPUT_APP-SECRET", "INPUT_ACCESS-TOKEN", "INPUT_SYSTEM-USER-ID", "INPUT_SCOPES"} {
		in[name] = ""
	}
	in["INPUT_AWS-SECRET-ID"] = id
	return in
}

// keylessSecrets lists every secret value a keyless world knows.
func (k *keyless) keylessSecrets() []string {
	out := append(k.secrets(), canaryMintingSecret, canaryStoredToken, canaryExtraField, canaryRefExtra,
		mint.AppSecretProof(canaryMintingSecret, k.mintingToken),
		k.appID+"|"+canaryAppSecret)
	for _, tok := range k.srv.Tokens() {
		out = append(out, mint.AppSecretProof(canaryAppSecret, tok.Value))
	}
	return out
}

// countingGetter counts GetSecretValue calls.
type countingGetter struct {
	secret.Getter
	n atomic.Int64
}

func (g *countingGetter) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	g.n.Add(1)
	return g.Getter.GetSecretValue(ctx, in, opts...)
}

// checkMaskedBefore checks that each value is registered with
// ::add-mask:: before any line that is not a mask line.
func checkMaskedBefore(t *testing.T, stdout string, values ...string) {
	t.Helper()
	lines := strings.Split(stdout, "\n")
	masked := map[string]bool{}
	for _, l := range lines {
		if !strings.HasPrefix(l, "::add-mask::") {
			break
		}
		masked[strings.TrimPrefix(l, "::add-mask::")] = true
	}
	for _, v := range values {
		if v != "" && !masked[v] {
			t.Errorf("%q is not masked before the first other line; stdout:\n%s", v, stdout)
		}
	}
}

var postArgs = []string{"metamint-action", postName}

// TestKeylessMintAndRevoke mints from managed secrets of every shape in
// process, then runs the post step: the job token is handed over and
// revoked, the stored and calling tokens are never output nor revoked, and
// every canary stays hidden.
func TestKeylessMintAndRevoke(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// fields returns the managed secret and the token that must mint.
		fields func(t *testing.T, k *keyless) (map[string]any, string)
		env    map[string]string
		want   []string // scopes granted
	}{
		{
			name: "stored token mints, app_secret_ref",
			fields: func(t *testing.T, k *keyless) (map[string]any, string) {
				stored := k.storedToken()
				return k.managedFields(t, stored), stored
			},
			want: keylessScopes,
		},
		{
			name: "inline app_secret",
			fields: func(t *testing.T, k *keyless) (map[string]any, string) {
				stored := k.storedToken()
				f := k.managedFields(t, stored)
				delete(f, "app_secret_ref")
				f["app_secret"] = k.appSecret
				return f, stored
			},
			want: keylessScopes,
		},
		{
			name: "every reference: minting token and minting app secret of another app",
			fields: func(t *testing.T, k *keyless) (map[string]any, string) {
				f := k.managedFields(t, canaryStoredToken)
				f["minting_token_ref"] = k.putJSON(t, "minting-token", map[string]any{"access_token": k.mintingToken, "note": canaryRefExtra})
				f["minting_app_secret_ref"] = k.put(t, "minting-secret", canaryMintingSecret)
				return f, k.mintingToken
			},
			want: keylessScopes,
		},
		{
			name: "inline minting_app_secret, plain minting token",
			fields: func(t *testing.T, k *keyless) (map[string]any, string) {
				f := k.managedFields(t, canaryStoredToken)
				f["minting_token_ref"] = k.put(t, "minting-token", k.mintingToken)
				f["minting_app_secret"] = canaryMintingSecret
				return f, k.mintingToken
			},
			want: keylessScopes,
		},
		{
			name: "scopes input narrows, matching IDs given",
			fields: func(t *testing.T, k *keyless) (map[string]any, string) {
				stored := k.storedToken()
				return k.managedFields(t, stored), stored
			},
			env:  map[string]string{"INPUT_SCOPES": "ads_read", "INPUT_APP-ID": "200000000000002", "INPUT_SYSTEM-USER-ID": "400000000000004"},
			want: []string{"ads_read"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			fields, caller := tt.fields(t, k)
			id := k.putJSON(t, "managed", fields)
			stored, _ := fields["access_token"].(string)
			version, value := k.current(t, id)
			env := k.keylessEnv(id)
			for key, v := range tt.env {
				env[key] = v
			}
			sm := &countingGetter{Getter: k.sm}

			m := runStep(t, k.world, env, nil, withSecretsManager(sm))
			if m.err != nil {
				t.Fatalf("run() = %v; want success\nstdout:\n%s", m.err, m.stdout)
			}
			minted := k.minted()
			var job minttest.TokenState
			for _, tok := range minted {
				if tok.Value != stored && tok.Value != k.mintingToken {
					job = tok
				}
			}
			if job.Value == "" || m.outputs[outToken] != job.Value {
				t.Fatalf("token output is not a newly minted token")
			}
			if job.Value == stored || job.Value == caller {
				t.Fatalf("the job got the stored or calling token")
			}
			if job.UserID != k.systemUserID || job.AppID != k.appID || strings.Join(job.Scopes, ",") != strings.Join(tt.want, ",") {
				t.Errorf("job token = user %s app %s scopes %v; want %s %s %v", job.UserID, job.AppID, job.Scopes, k.systemUserID, k.appID, tt.want)
			}
			if !strings.Contains(m.summary, "| Minted from | the managed secret `"+id+"` (aws-secret-id) |") {
				t.Errorf("the job summary does not name the managed secret:\n%s", m.summary)
			}
			if m.saved[stateToken] != job.Value {
				t.Errorf("saved state token is not the job token")
			}
			mintingSecret := ""
			if caller == k.mintingToken {
				mintingSecret = canaryMintingSecret
			}
			checkMaskedBefore(t, m.stdout, k.appSecret, caller, stored, mintingSecret, mint.AppSecretProof(k.appSecret, caller), k.appID+"|"+k.appSecret)
			checkNoLeaks(t, k.keylessSecrets(), m)
			for name, v := range m.saved {
				if name != stateToken && strings.Contains(v, "CANARY") {
					t.Errorf("state %s holds a canary", name)
				}
			}
			reads := sm.n.Load()

			env = postEnv(env, m)
			p := runStep(t, k.world, env, postArgs, withSecretsManager(sm))
			if p.err != nil {
				t.Fatalf("post run() = %v; want nil", p.err)
			}
			if st, _ := k.srv.Token(job.Value); !st.Revoked {
				t.Errorf("after the post step the job token is not revoked\nstdout:\n%s", p.stdout)
			}
			for _, tok := range []string{stored, caller} {
				if st, ok := k.srv.Token(tok); ok && st.Revoked {
					t.Errorf("the stored or calling token was revoked")
				}
			}
			if got := sm.n.Load() - reads; got < 1 {
				t.Errorf("post step GetSecretValue calls = %d; want the secret read again", got)
			}
			checkMaskedBefore(t, p.stdout, job.Value, k.appSecret, stored)
			checkNoLeaks(t, k.keylessSecrets(), p)
			if v2, s2 := k.current(t, id); v2 != version || s2 != value {
				t.Errorf("the managed secret changed: version %s -> %s", version, v2)
			}
		})
	}
}

// TestKeylessInputConflicts covers every combination of inputs beside
// aws-secret-id: Meta secrets are refused before any read, IDs must match
// the secret, scopes may narrow and never widen.
func TestKeylessInputConflicts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		env       map[string]string
		wantErr   []string // "" for success
		wantReads bool     // the secret was read
	}{
		{name: "app-secret beside it", env: map[string]string{"INPUT_APP-SECRET": canaryAppSecret},
			wantErr: []string{"input aws-secret-id is set, and so is app-secret", "remove app-secret"}},
		{name: "access-token beside it", env: map[string]string{"INPUT_ACCESS-TOKEN": canaryBadToken},
			wantErr: []string{"input aws-secret-id is set, and so is access-token"}},
		{name: "minting-app-secret beside it", env: map[string]string{"INPUT_MINTING-APP-SECRET": canaryMintingSecret},
			wantErr: []string{"input aws-secret-id is set, and so is minting-app-secret"}},
		{name: "app-secret and access-token beside it", env: map[string]string{"INPUT_APP-SECRET": canaryAppSecret, "INPUT_ACCESS-TOKEN": canaryBadToken},
			wantErr: []string{"and so is app-secret and access-token"}},
		{name: "secret ID with white space", env: map[string]string{"INPUT_AWS-SECRET-ID": "a secret"},
			wantErr: []string{"input aws-secret-id must be a secret's name or ARN"}},
		{name: "bad boolean beside it", env: map[string]string{"INPUT_EXPIRING-TOKEN": "yes"},
			wantErr: []string{"input expiring-token must be"}},
		{name: "app-id differs", env: map[string]string{"INPUT_APP-ID": "200000000000099"},
			wantErr: []string{`input app-id is "200000000000099"`, "has app_id 200000000000002"}, wantReads: true},
		{name: "system-user-id differs", env: map[string]string{"INPUT_SYSTEM-USER-ID": "400000000000099"},
			wantErr: []string{`input system-user-id is "400000000000099"`, "has system_user_id 400000000000004"}, wantReads: true},
		{name: "both IDs differ", env: map[string]string{"INPUT_APP-ID": "200000000000099", "INPUT_SYSTEM-USER-ID": "400000000000099"},
			wantErr: []string{"input app-id", "input system-user-id"}, wantReads: true},
		{name: "scope outside the stored ones", env: map[string]string{"INPUT_SCOPES": "ads_read, pages_show_list"},
			wantErr: []string{`scope "pages_show_list" is not among the secret's scopes (ads_read, business_management)`, "never widen"}, wantReads: true},
		{name: "app-id matches", env: map[string]string{"INPUT_APP-ID": "200000000000002"}, wantReads: true},
		{name: "system-user-id matches", env: map[string]string{"INPUT_SYSTEM-USER-ID": "400000000000004"}, wantReads: true},
		{name: "scopes equal to the stored ones", env: map[string]string{"INPUT_SCOPES": "business_management ads_read"}, wantReads: true},
		{name: "scopes narrow", env: map[string]string{"INPUT_SCOPES": "business_management"}, wantReads: true},
		{name: "aws-secret-id alone", wantReads: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			stored := k.storedToken()
			id := k.putJSON(t, "managed", k.managedFields(t, stored))
			env := k.keylessEnv(id)
			for key, v := range tt.env {
				env[key] = v
			}
			sm := &countingGetter{Getter: k.sm}
			before := len(k.minted())
			r := runStep(t, k.world, env, nil, withSecretsManager(sm))
			if got := sm.n.Load() > 0; got != tt.wantReads {
				t.Errorf("secret read = %v; want %v", got, tt.wantReads)
			}
			checkNoLeaks(t, k.keylessSecrets(), r)
			if len(tt.wantErr) == 0 {
				if r.err != nil {
					t.Fatalf("run() = %v; want success", r.err)
				}
				if r.outputs[outToken] == "" || r.outputs[outToken] == stored {
					t.Errorf("token output is not a new token")
				}
				return
			}
			if r.err == nil {
				t.Fatalf("run() = nil; want an error with %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(r.err.Error(), want) {
					t.Errorf("run() = %q; want it to contain %q", r.err, want)
				}
			}
			if got := len(k.minted()) - before; got != 0 {
				t.Errorf("tokens minted by a refused step = %d; want 0", got)
			}
			if r.output != "" || r.state != "" {
				t.Errorf("a refused step wrote outputs %q or state %q", r.output, r.state)
			}
		})
	}
}

// TestKeylessSecretErrors reads broken and unreachable secrets: each error
// names the secret and the field, quotes no value, and nothing is minted.
func TestKeylessSecretErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, k *keyless, p *awstest.Proxy) string // returns the secret ID
		wantErr []string
	}{
		{
			name: "not JSON",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				return k.put(t, "managed", "not json "+canaryExtraField)
			},
			wantErr: []string{"is not a metamint managed secret", "not JSON"},
		},
		{
			name: "app_id holds text",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				f := k.managedFields(t, k.storedToken())
				f["app_id"] = canaryExtraField
				return k.putJSON(t, "managed", f)
			},
			wantErr: []string{`field "app_id" must be a numeric Graph ID`},
		},
		{
			name: "scopes missing",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				f := k.managedFields(t, k.storedToken())
				delete(f, "scopes")
				return k.putJSON(t, "managed", f)
			},
			wantErr: []string{`field "scopes" is missing`},
		},
		{
			name: "no app secret",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				f := k.managedFields(t, k.storedToken())
				delete(f, "app_secret_ref")
				return k.putJSON(t, "managed", f)
			},
			wantErr: []string{`field "app_secret_ref" is missing`},
		},
		{
			name: "app_secret_ref names no secret",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				f := k.managedFields(t, k.storedToken())
				f["app_secret_ref"] = k.prefix + "absent"
				return k.putJSON(t, "managed", f)
			},
			wantErr: []string{"reading app_secret_ref", "absent", "ResourceNotFoundException"},
		},
		{
			name: "app_secret_ref in ECS's valueFrom form, with a JSON key",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				f := k.managedFields(t, k.storedToken())
				f["app_secret_ref"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:metamint/app-AbCdEf:app_secret::"
				return k.putJSON(t, "managed", f)
			},
			wantErr: []string{"reading app_secret_ref", "name the secret alone: its name or its ARN, which ends after secret:NAME",
				`metamint reads a JSON secret's "app_secret" or "access_token" member itself`},
		},
		{
			name: "app_secret_ref with a key after the name",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				f := k.managedFields(t, k.storedToken())
				ref, _ := f["app_secret_ref"].(string)
				f["app_secret_ref"] = ref + ":app_secret"
				return k.putJSON(t, "managed", f)
			},
			wantErr: []string{"reading app_secret_ref", "name the secret alone"},
		},
		{
			name: "minting_token_ref holds broken JSON",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				f := k.managedFields(t, k.storedToken())
				f["minting_token_ref"] = k.put(t, "minting", `{"access_token":"`+canaryExtraField)
				return k.putJSON(t, "managed", f)
			},
			wantErr: []string{"reading minting_token_ref", "looks like JSON but is not"},
		},
		{
			name: "the secret holds binary data",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				return k.putBinary(t, "managed", []byte(`{"access_token":"`+canaryExtraField+`"}`))
			},
			wantErr: []string{"holds binary data; a metamint managed secret is a JSON SecretString"},
		},
		{
			name: "minting_token_ref holds binary data",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				f := k.managedFields(t, k.storedToken())
				f["minting_token_ref"] = k.putBinary(t, "minting", []byte(k.adminToken))
				return k.putJSON(t, "managed", f)
			},
			wantErr: []string{"reading minting_token_ref", "the referenced secret holds binary data, not a string"},
		},
		{
			name: "minting_token_ref holds a JSON string",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				f := k.managedFields(t, k.storedToken())
				f["minting_token_ref"] = k.put(t, "minting", `"`+k.adminToken+`"`)
				return k.putJSON(t, "managed", f)
			},
			wantErr: []string{"reading minting_token_ref", `is JSON but not an object: store the value plain, or as a JSON object with an "access_token" field`},
		},
		{
			name: "app_secret_ref holds a JSON array",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				f := k.managedFields(t, k.storedToken())
				f["app_secret_ref"] = k.put(t, "app", `["`+canaryAppSecret+`"]`)
				return k.putJSON(t, "managed", f)
			},
			wantErr: []string{"reading app_secret_ref", `is JSON but not an object: store the value plain, or as a JSON object with an "app_secret" field`},
		},
		{
			name: "no token yet",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				return k.putJSON(t, "managed", k.managedFields(t, ""))
			},
			wantErr: []string{"holds no access_token yet"},
		},
		{
			name: "stored token with a line break",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				return k.putJSON(t, "managed", k.managedFields(t, "EAA"+canaryExtraField+"\nX"))
			},
			wantErr: []string{"the value of access_token is not an access token: the token holds a space, control or non-ASCII character"},
		},
		{
			name: "stored token longer than any token",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				return k.putJSON(t, "managed", k.managedFields(t, "EAA"+canaryExtraField+strings.Repeat("x", 5000)))
			},
			wantErr: []string{"the value of access_token is not an access token: the token is longer than 4096 bytes"},
		},
		{
			name: "minting token with a non-ASCII character",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				f := k.managedFields(t, k.storedToken())
				f["minting_token_ref"] = k.put(t, "minting", "EAA"+canaryExtraField+"é")
				return k.putJSON(t, "managed", f)
			},
			wantErr: []string{"the value of minting_token_ref is not an access token: the token holds a space, control or non-ASCII character at byte 34"},
		},
		{
			name: "app secret with a byte order mark",
			setup: func(t *testing.T, k *keyless, _ *awstest.Proxy) string {
				f := k.managedFields(t, k.storedToken())
				f["app_secret_ref"] = k.put(t, "app", "\ufeff"+canaryAppSecret)
				return k.putJSON(t, "managed", f)
			},
			wantErr: []string{"the value of app_secret_ref starts with a byte order mark"},
		},
		{
			name:    "no such secret",
			setup:   func(t *testing.T, k *keyless, _ *awstest.Proxy) string { return k.prefix + "absent" },
			wantErr: []string{"reading the secret", "(GetSecretValue): ResourceNotFoundException", "AWS_REGION"},
		},
		{
			name: "AWS error code with a bidi override",
			setup: func(t *testing.T, k *keyless, p *awstest.Proxy) string {
				id := k.putJSON(t, "managed", k.managedFields(t, k.storedToken()))
				p.Inject(awstest.Fault{Op: "GetSecretValue", Times: awstest.Forever, Status: 400, ErrorType: "Denied\u202eNOT", Message: "no"})
				return id
			},
			// Escaped for one log line, as every text AWS returns.
			wantErr: []string{"reading the secret", `(GetSecretValue): Denied\u202eNOT: no`},
		},
		{
			name: "access denied",
			setup: func(t *testing.T, k *keyless, p *awstest.Proxy) string {
				id := k.putJSON(t, "managed", k.managedFields(t, k.storedToken()))
				p.Inject(awstest.Fault{Op: "GetSecretValue", Times: awstest.Forever, Status: 400, ErrorType: "AccessDeniedException",
					Message: "User: arn:aws:sts::123456789012:assumed-role/gh/x is not authorized to perform: secretsmanager:GetSecretValue"})
				return id
			},
			wantErr: []string{"reading the secret", "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/gh/x is not authorized", "secretsmanager:GetSecretValue on this secret"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			proxy := awstest.NewProxy(t, k.moto.URL)
			id := tt.setup(t, k, proxy)
			before := len(k.minted())
			r := runStep(t, k.world, k.keylessEnv(id), nil, withSecretsManager(awstest.SecretsManager(proxy.URL)))
			if r.err == nil {
				t.Fatalf("run() = nil; want an error")
			}
			for _, want := range append(tt.wantErr, id) {
				if !strings.Contains(r.err.Error(), want) {
					t.Errorf("run() = %q; want it to contain %q", r.err, want)
				}
			}
			if strings.Contains(r.stdout, canaryExtraField) && !strings.Contains(r.stdout, "::add-mask::EAA"+canaryExtraField) {
				t.Errorf("stdout holds a canary:\n%s", r.stdout)
			}
			checkNoLeaks(t, append(k.keylessSecrets(), "EAA"+canaryExtraField), r)
			if got := len(k.minted()); got != before {
				t.Errorf("tokens minted = %d; want none", got-before)
			}
			if r.output != "" || r.state != "" {
				t.Errorf("a failed step wrote outputs %q or state %q", r.output, r.state)
			}
		})
	}
}

// TestGraphEchoesCaller has Graph answer the calling token as the new
// token, on the keyless and the plain path: it is neither handed over nor
// revoked, and the post step has nothing to revoke.
func TestGraphEchoesCaller(t *testing.T) {
	t.Parallel()
	for _, keylessPath := range []bool{true, false} {
		t.Run(fmt.Sprintf("keyless=%v", keylessPath), func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			caller := k.adminToken
			env := k.inputs()
			if keylessPath {
				caller = k.storedToken()
				env = k.keylessEnv(k.putJSON(t, "managed", k.managedFields(t, caller)))
			}
			revokes := k.count(minttest.EndpointRevoke)
			k.srv.FailNext(minttest.EndpointAccessTokens, minttest.Fault{Status: 200, Body: []byte(`{"access_token":"` + caller + `"}`)})
			r := runStep(t, k.world, env, nil, withSecretsManager(k.sm))
			if r.err == nil || !strings.Contains(r.err.Error(), "Graph answered the calling token itself") {
				t.Fatalf("run() = %v; want the echoed token refused", r.err)
			}
			if r.output != "" || r.state != "" {
				t.Errorf("outputs %q, state %q; want none", r.output, r.state)
			}
			p := runStep(t, k.world, postEnv(env, r), postArgs, withSecretsManager(k.sm))
			if p.err != nil || !strings.Contains(p.stdout, "No token to revoke") {
				t.Errorf("post run() = %v, stdout %q; want nothing to revoke", p.err, p.stdout)
			}
			if st, _ := k.srv.Token(caller); st.Revoked || k.count(minttest.EndpointRevoke) != revokes {
				t.Errorf("the calling token was revoked, or a revoke was tried")
			}
			checkNoLeaks(t, k.keylessSecrets(), r)
		})
	}
}

// TestKeylessPostFailures: a post step that cannot read the app secret
// again warns, naming the cause, and exits 0; it never revokes the stored
// token.
func TestKeylessPostFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault *awstest.Fault
		// change, when set, changes the managed secret id (its fields f)
		// or its app_secret_ref between the steps.
		change func(t *testing.T, k *keyless, id string, f map[string]any)
		want   string
	}{
		{name: "session expired", fault: &awstest.Fault{Op: "GetSecretValue", Times: awstest.Forever, Status: 400, ErrorType: "ExpiredTokenException", Message: "The security token included in the request is expired"},
			want: "ExpiredTokenException: The security token included in the request is expired. The AWS session from configure-aws-credentials has expired: raise its role-duration-seconds"},
		{name: "access denied", fault: &awstest.Fault{Op: "GetSecretValue", Times: awstest.Forever, Status: 400, ErrorType: "AccessDeniedException", Message: "denied"},
			want: "AccessDeniedException: denied"},
		{name: "the secret scheduled for deletion",
			change: func(t *testing.T, k *keyless, id string, _ map[string]any) {
				if _, err := k.sm.DeleteSecret(t.Context(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(id), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
					t.Fatal(err)
				}
			},
			want: "scheduled for deletion: restore it (aws secretsmanager restore-secret)"},
		{name: "app_secret_ref deleted",
			change: func(t *testing.T, k *keyless, _ string, f map[string]any) {
				ref, _ := f["app_secret_ref"].(string)
				if _, err := k.sm.DeleteSecret(t.Context(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(ref), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
					t.Fatal(err)
				}
			},
			want: "reading app_secret_ref"},
		{name: "app_secret_ref names another region's secret",
			change: func(t *testing.T, k *keyless, id string, f map[string]any) {
				f["app_secret_ref"] = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:metamint/app-AbCdEf"
				k.stage(t, id, f, "AWSCURRENT")
			},
			want: "The ARN names region eu-west-3, but the step reads Secrets Manager in us-east-1 (AWS_REGION)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			proxy := awstest.NewProxy(t, k.moto.URL)
			stored := k.storedToken()
			f := k.managedFields(t, stored)
			id := k.putJSON(t, "managed", f)
			sm := awstest.SecretsManager(proxy.URL)
			env := k.keylessEnv(id)
			m := runStep(t, k.world, env, nil, withSecretsManager(sm))
			if m.err != nil {
				t.Fatalf("main run() = %v", m.err)
			}
			job := m.outputs[outToken]
			if tt.fault != nil {
				proxy.Inject(*tt.fault)
			}
			if tt.change != nil {
				tt.change(t, k, id, f)
			}
			penv := postEnv(env, m)
			p := runStep(t, k.world, penv, postArgs, withSecretsManager(sm))
			if p.err != nil {
				t.Fatalf("post run() = %v; want nil (a warning)", p.err)
			}
			if !strings.Contains(p.stdout, "::warning::Could not revoke the token: aws-secret-id: ") || !strings.Contains(p.stdout, tt.want) {
				t.Errorf("post stdout = %q; want a warning with %q", p.stdout, tt.want)
			}
			if st, _ := k.srv.Token(stored); st.Revoked {
				t.Errorf("the stored token was revoked")
			}
			if st, _ := k.srv.Token(job); st.Revoked {
				t.Errorf("the job token was revoked without the app secret")
			}
			checkNoLeaks(t, k.keylessSecrets(), p)
		})
	}
}

// awsEnv is the AWS part of a runner's environment after
// aws-actions/configure-aws-credentials, pointed at moto, with no AWS file
// of the developer's machine in reach.
func awsEnv(t *testing.T, endpoint string) map[string]string {
	return map[string]string{
		"HOME":                             t.TempDir(),
		"AWS_ACCESS_KEY_ID":                "test",
		"AWS_SECRET_ACCESS_KEY":            "test",
		"AWS_SESSION_TOKEN":                "test-session",
		"AWS_REGION":                       "us-east-1",
		"AWS_DEFAULT_REGION":               "us-east-1",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
		"AWS_EC2_METADATA_DISABLED":        "true",
	}
}

// TestKeylessEndToEnd: the Lambda, built as it ships and run under
// aws-lambda-rie, rotates a managed secret in moto; the action binary, run
// as the runner runs it with only the runner's and the AWS variables, mints
// a job token from that secret; its post step revokes the job token, and
// the stored token stays valid and the secret untouched.
func TestKeylessEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the action and the Lambda")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	post := filepath.Join(dir, postName)
	k := newKeyless(t)
	rie := awstest.NewRIE(t, awstest.RIEConfig{Bootstrap: awstest.Bootstrap(t), Env: map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": k.moto.URL,
		"METAMINT_GRAPH_API_URL":           k.srv.URL,
	}})

	initial := k.storedToken()
	id := k.putJSON(t, "managed", k.managedFields(t, initial))
	v0, _ := k.current(t, id)
	// A direct invocation (docs/lambda.md; cmd/lambda's event): rotate this secret now.
	payload, _ := json.Marshal(map[string]any{"rotate": []string{id}, "force": true})
	inv, err := rie.Invoke(t.Context(), payload)
	if err != nil {
		t.Fatal(err)
	}
	if inv.ErrorType != "" {
		t.Fatalf("rotation: %s: %s", inv.ErrorType, inv.ErrorMessage)
	}
	var answer struct {
		Summary struct {
			Rotated int `json:"rotated"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(inv.Body, &answer); err != nil || answer.Summary.Rotated != 1 {
		t.Fatalf("rotation answer = %s (%v); want one secret rotated", inv.Body, err)
	}
	version, value := k.current(t, id)
	var doc struct {
		AccessToken string `json:"access_token"`
		ExpiresAt   string `json:"expires_at"`
		Note        string `json:"note"`
	}
	if err := json.Unmarshal([]byte(value), &doc); err != nil {
		t.Fatal(err)
	}
	stored := doc.AccessToken
	// The Lambda refreshes a token it can (Graph may keep its value) or
	// mints a new one: either way a new version with a new expiry.
	if version == v0 || stored == "" || doc.ExpiresAt == "" || doc.Note != canaryExtraField {
		t.Fatalf("after rotation: new version %v, token set %v, expires_at %q, note kept %v; want all\nanswer: %s",
			version != v0, stored != "", doc.ExpiresAt, doc.Note == canaryExtraField, inv.Body)
	}

	env := awsEnv(t, k.moto.URL)
	for key, v := range k.keylessEnv(id) {
		env[key] = v
	}
	m := runBinary(t, bin, env)
	if m.code != 0 || m.stderr != "" {
		t.Fatalf("main exit code = %d, stderr %q; want 0 and nothing\nstdout:\n%s", m.code, m.stderr, m.stdout)
	}
	job := m.outputs[outToken]
	st, ok := k.srv.Token(job)
	if !ok || job == stored || job == initial || st.Revoked || st.UserID != k.systemUserID || st.AppID != k.appID {
		t.Fatalf("token output is not a new token of the system user and app")
	}
	checkMaskedBefore(t, m.stdout, canaryAppSecret, stored, mint.AppSecretProof(canaryAppSecret, stored), k.appID+"|"+canaryAppSecret)
	checkNoLeaks(t, k.keylessSecrets(), m.result())
	if !strings.Contains(m.stdout, "Read the managed secret \""+id+"\": app "+k.appID) {
		t.Errorf("main stdout does not say which secret it read:\n%s", m.stdout)
	}

	p := runBinary(t, post, postEnv(env, m.result()))
	if p.code != 0 || !strings.Contains(p.stdout, "Revoked the token the main step minted.") {
		t.Fatalf("post exit code = %d; want 0 and the job token revoked\nstdout:\n%s", p.code, p.stdout)
	}
	if st, _ := k.srv.Token(job); !st.Revoked {
		t.Errorf("after the post step the job token is not revoked")
	}
	if st, _ := k.srv.Token(stored); st.Revoked || !k.srv.Now().Before(st.ExpiresAt) {
		t.Errorf("the stored token is revoked or expired after the job")
	}
	if v2, s2 := k.current(t, id); v2 != version || s2 != value {
		t.Errorf("the managed secret changed during the job: version %s -> %s", version, v2)
	}
	checkMaskedBefore(t, p.stdout, job, canaryAppSecret, stored)
	checkNoLeaks(t, k.keylessSecrets(), p.result())
	for _, sec := range k.keylessSecrets() {
		if strings.Contains(rie.Output(), sec) {
			t.Errorf("the Lambda's output holds a secret")
		}
	}
}

// TestKeylessBinaryAWSErrors runs the binary with a broken AWS environment:
// the SDK's chain finds no credentials, or no region. Each error says what
// is missing, and nothing is read or minted.
func TestKeylessBinaryAWSErrors(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t, t.TempDir())
	k := newKeyless(t)
	id := k.putJSON(t, "managed", k.managedFields(t, k.storedToken()))
	tests := []struct {
		name  string
		unset []string
		set   map[string]string
		want  string
	}{
		{name: "no credentials", unset: []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"},
			want: "::error::aws-secret-id: no AWS credentials: run aws-actions/configure-aws-credentials before this step"},
		{name: "no region", unset: []string{"AWS_REGION", "AWS_DEFAULT_REGION"},
			want: "::error::aws-secret-id: no AWS region: set AWS_REGION"},
		{name: "profile with a bidi override", set: map[string]string{"AWS_PROFILE": "ghost\u202eX"},
			want: `::error::aws-secret-id: loading the AWS configuration: failed to get shared config profile, ghost\u202eX`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := awsEnv(t, k.moto.URL)
			for _, name := range tt.unset {
				delete(env, name)
			}
			for key, v := range k.keylessEnv(id) {
				env[key] = v
			}
			maps.Copy(env, tt.set)
			before := len(k.minted())
			m := runBinary(t, bin, env)
			if m.code != 1 || !strings.Contains(m.stdout, tt.want) {
				t.Errorf("exit code = %d, stdout %q; want 1 and %q", m.code, m.stdout, tt.want)
			}
			if got := len(k.minted()) - before; got != 0 || m.output != "" {
				t.Errorf("minted %d tokens, outputs %q; want none", got, m.output)
			}
		})
	}
}

// TestKeylessCallerExpiring: a stored token close to its expiry means the
// Lambda has not rotated it; the step warns, naming the secret, and mints.
func TestKeylessCallerExpiring(t *testing.T) {
	t.Parallel()
	k := newKeyless(t)
	stored := k.srv.IssueToken(minttest.TokenSpec{UserID: k.systemUserID, AppID: k.appID, Scopes: keylessScopes, ExpiresAt: k.srv.Now().Add(5 * 24 * time.Hour)})
	id := k.putJSON(t, "managed", k.managedFields(t, stored))
	r := runStep(t, k.world, k.keylessEnv(id), nil, withSecretsManager(k.sm), withClock(k.srv.Now))
	if r.err != nil {
		t.Fatalf("run() = %v; want success", r.err)
	}
	want := "::warning::The calling token of the managed secret \"" + id + "\" expires at "
	if !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "the Lambda has not rotated it") {
		t.Errorf("stdout = %q; want a warning starting %q", r.stdout, want)
	}
	checkNoLeaks(t, k.keylessSecrets(), r)
}

// TestKeylessCallsOnlyGetSecretValue: main and post steps call
// GetSecretValue and no other Secrets Manager operation, and the OIDC
// role's template grants exactly that operation.
func TestKeylessCallsOnlyGetSecretValue(t *testing.T) {
	t.Parallel()
	k := newKeyless(t)
	proxy := awstest.NewProxy(t, k.moto.URL)
	f := k.managedFields(t, canaryStoredToken)
	f["minting_token_ref"] = k.put(t, "minting-token", k.mintingToken)
	f["minting_app_secret_ref"] = k.put(t, "minting-secret", canaryMintingSecret)
	id := k.putJSON(t, "managed", f)
	sm := awstest.SecretsManager(proxy.URL)
	env := k.keylessEnv(id)
	m := runStep(t, k.world, env, nil, withSecretsManager(sm))
	if m.err != nil {
		t.Fatalf("main run() = %v", m.err)
	}
	// The main step reads the versions the post step reads too, before
	// minting: it never outputs nor revokes a token one of them holds.
	if got := proxy.CallCounts(); len(got) != 1 || got["GetSecretValue"] != 8 {
		t.Errorf("main step Secrets Manager calls = %v; want GetSecretValue 8 times (the secret and its three references, "+
			"and AWSPENDING and AWSPREVIOUS of the secret and of minting_token_ref)", got)
	}
	proxy.ResetCalls()
	if p := runStep(t, k.world, postEnv(env, m), postArgs, withSecretsManager(sm)); p.err != nil || !strings.Contains(p.stdout, "Revoked the token") {
		t.Fatalf("post run() = %v, stdout %q; want the token revoked", p.err, p.stdout)
	}
	// The post step reads minting_token_ref too: it never revokes the
	// token behind it, nor one AWSPENDING or AWSPREVIOUS of either holds.
	if got := proxy.CallCounts(); len(got) != 1 || got["GetSecretValue"] != 7 {
		t.Errorf("post step Secrets Manager calls = %v; want GetSecretValue 7 times (the secret, minting_token_ref and app_secret_ref, "+
			"and AWSPENDING and AWSPREVIOUS of the secret and of minting_token_ref)", got)
	}

	granted := map[string]bool{}
	for _, m := range regexp.MustCompile(`secretsmanager:[A-Za-z*]+`).FindAllString(repoFile(t, "deploy/github-oidc.yaml"), -1) {
		granted[m] = true
	}
	if len(granted) != 1 || !granted["secretsmanager:GetSecretValue"] {
		t.Errorf("deploy/github-oidc.yaml grants %v; want secretsmanager:GetSecretValue alone, what the action calls", granted)
	}
}
