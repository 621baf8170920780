package secret

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// flakyGetter answers from values, failing the first fails reads of each
// secret.
type flakyGetter struct {
	mu     sync.Mutex
	values map[string]string
	fails  map[string]int
	reads  map[string]int
}

func (g *flakyGetter) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := aws.ToString(in.SecretId)
	g.reads[id]++
	if g.fails[id] > 0 {
		g.fails[id]--
		return nil, errors.New("ThrottlingException: rate exceeded")
	}
	v, ok := g.values[id]
	if !ok {
		return nil, errors.New("ResourceNotFoundException")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func TestResolver(t *testing.T) {
	t.Parallel()
	const (
		appSecret     = "app-secret-canary"
		mintingSecret = "minting-app-secret-canary"
		mintingToken  = "EAAGminting-token-canary"
	)
	g := &flakyGetter{
		values: map[string]string{
			"app":     `{"app_secret":"` + appSecret + `","other":1}`,
			"minting": mintingSecret,
			"token":   `{"access_token":"` + mintingToken + `"}`,
			"broken":  `{"app_secret":`,
		},
		fails: map[string]int{"app": 1},
		reads: map[string]int{},
	}
	r := NewResolver(g)
	ctx := t.Context()
	doc, err := Parse(`{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret_ref":"app",` +
		`"minting_app_secret_ref":"minting","minting_token_ref":"token","access_token":"managed"}`)
	if err != nil {
		t.Fatal(err)
	}

	// A failed read fails that call only: the next reads again.
	if _, err := r.AppSecret(ctx, doc); err == nil {
		t.Fatalf("AppSecret() with a throttled read = nil error; want one")
	} else {
		var ref *ReferenceError
		if !errors.As(err, &ref) || ref.Field != FieldAppSecretRef || ref.Ref != "app" {
			t.Errorf("AppSecret() error = %v; want a *ReferenceError naming %s \"app\"", err, FieldAppSecretRef)
		}
	}
	for range 3 {
		if got, err := r.AppSecret(ctx, doc); err != nil || got != appSecret {
			t.Fatalf("AppSecret() after a failed read = %q, %v; want the secret", got, err)
		}
	}
	if g.reads["app"] != 2 {
		t.Errorf("reads of app = %d; want 2 (one failed, one kept)", g.reads["app"])
	}
	if got, err := r.MintingAppSecret(ctx, doc); err != nil || got != mintingSecret {
		t.Errorf("MintingAppSecret() = %q, %v; want the plain value", got, err)
	}
	if got, err := r.MintingToken(ctx, doc); err != nil || got != mintingToken {
		t.Errorf("MintingToken() = %q, %v; want the JSON access_token", got, err)
	}

	own, _ := Parse(`{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret":"inline","access_token":"managed"}`)
	if got, err := r.MintingAppSecret(ctx, own); err != nil || got != "" {
		t.Errorf("MintingAppSecret() without the fields = %q, %v; want \"\" (app_id's own secret)", got, err)
	}
	if got, err := r.MintingToken(ctx, own); err != nil || got != "managed" {
		t.Errorf("MintingToken() without minting_token_ref = %q, %v; want the managed token", got, err)
	}
	if got, err := r.AppSecret(ctx, own); err != nil || got != "inline" {
		t.Errorf("AppSecret() inline = %q, %v; want the inline value", got, err)
	}

	bad, _ := Parse(`{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret_ref":"broken"}`)
	if _, err := r.AppSecret(ctx, bad); err == nil || !strings.Contains(err.Error(), "looks like JSON") {
		t.Errorf("AppSecret() of broken JSON = %v; want an error saying so", err)
	}
}

func TestParseMintingAppSecret(t *testing.T) {
	t.Parallel()
	base := `{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret_ref":"a",`
	doc, err := Parse(base + `"minting_app_secret_ref":"m"}`)
	if err != nil || doc.MintingAppSecretRef != "m" {
		t.Fatalf("Parse(minting_app_secret_ref) = %+v, %v; want the ref", doc, err)
	}
	for in, field := range map[string]string{
		base + `"minting_app_secret_ref":"m","minting_app_secret":"s"}`: FieldMintingAppSecretRef,
		base + `"minting_app_secret":5}`:                                FieldMintingAppSecret,
		`{"system_user_id":"4","scopes":["ads_read"],"app_secret":"s"}`: FieldAppID,
	} {
		_, err := Parse(in)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("Parse(%s) = %v; want a *FieldError for %q", in, err, field)
		}
	}
}
