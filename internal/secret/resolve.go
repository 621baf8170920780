package secret

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Getter reads a secret's value. *secretsmanager.Client satisfies it.
type Getter interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ Getter = (*secretsmanager.Client)(nil)

// ReferenceError is a reference (app_secret_ref, minting_token_ref,
// minting_app_secret_ref) that could not be read or holds no usable value.
// Field names the managed secret's member, Ref the secret it names.
type ReferenceError struct {
	Field string
	Ref   string
	Err   error
}

func (e *ReferenceError) Error() string { return fmt.Sprintf("%s %q: %v", e.Field, e.Ref, e.Err) }
func (e *ReferenceError) Unwrap() error { return e.Err }

// Resolver resolves the references of managed secrets, reading each
// referenced secret's AWSCURRENT value once however many managed secrets
// name it. It keeps only values it read successfully: a failed read (a
// throttle, a cancelled context) fails that one call, and the next call for
// the same reference reads it again. Concurrent calls for one reference wait
// for each other rather than reading it twice. A Resolver is safe for
// concurrent use; make one per run, so that a changed secret is read anew.
type Resolver struct {
	sm Getter

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	mu    sync.Mutex // held while reading
	value string     // set once read successfully
	ok    bool
}

// NewResolver returns a Resolver reading through sm.
func NewResolver(sm Getter) *Resolver {
	return &Resolver{sm: sm, entries: map[string]*entry{}}
}

// Value returns the value behind ref: its AWSCURRENT SecretString when that
// is plain text, or the string member named field when it is a JSON object.
func (r *Resolver) Value(ctx context.Context, ref, field string) (string, error) {
	key := field + "\x00" + ref
	r.mu.Lock()
	e, found := r.entries[key]
	if !found {
		e = &entry{}
		r.entries[key] = e
	}
	r.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ok {
		return e.value, nil
	}
	out, err := r.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(ref),
		VersionStage: aws.String("AWSCURRENT"),
	})
	if err != nil {
		return "", fmt.Errorf("secrets manager GetSecretValue: %w", err)
	}
	if out.SecretString == nil {
		return "", errors.New("the referenced secret holds binary data, not a string")
	}
	v, err := ReferencedValue(*out.SecretString, field)
	if err != nil {
		return "", err
	}
	e.value, e.ok = v, true
	return v, nil
}

// resolve returns the inline value, or the value behind ref.
func (r *Resolver) resolve(ctx context.Context, inline, refField, ref, valueField string) (string, error) {
	if inline != "" || ref == "" {
		return inline, nil
	}
	v, err := r.Value(ctx, ref, valueField)
	if err != nil {
		return "", &ReferenceError{Field: refField, Ref: ref, Err: err}
	}
	return v, nil
}

// AppSecret returns the secret of app_id's app: app_secret, or the value
// behind app_secret_ref (plain, or JSON {"app_secret": ...}).
func (r *Resolver) AppSecret(ctx context.Context, d *Doc) (string, error) {
	return r.resolve(ctx, d.AppSecret, FieldAppSecretRef, d.AppSecretRef, FieldAppSecret)
}

// MintingAppSecret returns the secret of the app the minting token was
// generated with: minting_app_secret, or the value behind
// minting_app_secret_ref (plain, or JSON {"app_secret": ...}). It returns ""
// when neither is set, which means app_id's own secret.
func (r *Resolver) MintingAppSecret(ctx context.Context, d *Doc) (string, error) {
	return r.resolve(ctx, d.MintingAppSecret, FieldMintingAppSecretRef, d.MintingAppSecretRef, FieldAppSecret)
}

// MintingToken returns the token that mints: the value behind
// minting_token_ref (plain, or JSON {"access_token": ...}) when it is set,
// else the managed token itself (access_token, "" when the secret holds
// none yet).
func (r *Resolver) MintingToken(ctx context.Context, d *Doc) (string, error) {
	if d.MintingTokenRef == "" {
		return d.AccessToken, nil
	}
	return r.resolve(ctx, "", FieldMintingTokenRef, d.MintingTokenRef, FieldAccessToken)
}
