// Package secret is the format of a metamint managed secret in AWS Secrets
// Manager and the resolution of the secrets it references. The Lambda reads
// and writes managed secrets through it, and the keyless GitHub Action reads
// them (aws-secret-id), so both agree on every field and rule.
//
// A managed secret's SecretString is a JSON object, documented field by
// field in docs/secret-format.md. The user owns app_id, system_user_id,
// scopes, the app secret (app_secret_ref, or app_secret inline), the
// optional minting_token_ref and minting_app_secret_ref /
// minting_app_secret, and the booleans install_app, expiring_token,
// revoke_previous and allow_unlisted_scopes; metamint owns access_token,
// expires_at, issued_at and token_scopes. Every other member is kept byte
// for byte and in its place when metamint writes a new version.
//
// Use:
//
//	doc, err := secret.Parse(secretString)      // errors name the field (*FieldError)
//	refs := secret.NewResolver(smClient)         // one per run; caches successes only
//	appSecret, err := refs.AppSecret(ctx, doc)   // app_secret_ref or app_secret
//	minting, err := refs.MintingAppSecret(ctx, doc) // "" means app_id's own secret
//	token, err := refs.MintingToken(ctx, doc)    // minting_token_ref's token, else access_token
//
// A referenced secret holds the value plain, or as a JSON object with the
// value under "app_secret" (app secrets) or "access_token" (tokens). Errors
// never quote a secret value.
package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/metamint/metamint/pkg/mint"
)

// FieldError is a managed secret's field that is missing or invalid.
type FieldError struct {
	Field string // the JSON member, such as "app_secret_ref"
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q %s", e.Field, e.Err) }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &FieldError{Field: field, Err: err}
}

// The fields metamint reads (owned by the user) and writes (owned by
// metamint) in a managed secret's JSON. Every other field is kept as it was,
// byte for byte and in its place.
//
//nolint:gosec // G101: field names, not credentials
const (
	FieldAppID               = "app_id"
	FieldSystemUserID        = "system_user_id"
	FieldScopes              = "scopes"
	FieldAppSecretRef        = "app_secret_ref"
	FieldAppSecret           = "app_secret"
	FieldMintingTokenRef     = "minting_token_ref"
	FieldMintingAppSecretRef = "minting_app_secret_ref"
	FieldMintingAppSecret    = "minting_app_secret"
	FieldInstallApp          = "install_app"
	FieldExpiringToken       = "expiring_token"
	FieldRevokePrevious      = "revoke_previous"
	FieldAllowUnlistedScopes = "allow_unlisted_scopes"

	FieldAccessToken = "access_token"
	FieldExpiresAt   = "expires_at"
	FieldIssuedAt    = "issued_at"
	FieldTokenScopes = "token_scopes"
)

// member is one top-level field of a secret's JSON object, as read.
type member struct {
	key   string
	value json.RawMessage
}

// Doc is a managed secret's JSON: every member in its original order
// with its original bytes, and a typed view of the fields metamint reads.
// Writing it back (WithToken) replaces only the fields metamint owns.
type Doc struct {
	members []member

	AppID           string
	SystemUserID    string
	Scopes          []string
	AppSecretRef    string
	AppSecret       string // inline; discouraged, never written by metamint
	MintingTokenRef string
	// MintingAppSecretRef and MintingAppSecret give the secret of the app
	// the minting token was generated with, when it is not AppID's app; at
	// most one is set, and neither means AppID's own secret.
	MintingAppSecretRef string
	MintingAppSecret    string // inline; discouraged
	InstallApp          bool   // default false
	ExpiringToken       bool   // default true
	RevokePrevious      bool   // default true
	AllowUnlistedScopes bool   // default false
	AccessToken         string
	// ExpiresAt and IssuedAt are the stored expires_at and issued_at; zero
	// when absent, empty or not RFC 3339 (they are metamint's, and read
	// only to estimate).
	ExpiresAt time.Time
	IssuedAt  time.Time
	// UnlistedScopes are requested scopes missing from mint's list, allowed
	// by allow_unlisted_scopes; the caller logs them as a warning.
	UnlistedScopes []string
}

// Parse decodes and validates a managed secret's SecretString. An error
// about one field is a *FieldError naming it; no error quotes a value.
func Parse(s string) (*Doc, error) {
	d, err := decodeDoc(s)
	if err != nil {
		return nil, err
	}
	if d.SystemUserID, err = d.id(FieldSystemUserID); err != nil {
		return nil, err
	}
	if d.Scopes, err = d.scopes(FieldScopes); err != nil {
		return nil, err
	}
	if err = d.appSecret(); err != nil {
		return nil, err
	}
	if d.MintingTokenRef, err = d.str(FieldMintingTokenRef); err != nil {
		return nil, err
	}
	if d.MintingAppSecretRef, err = d.str(FieldMintingAppSecretRef); err != nil {
		return nil, err
	}
	if d.MintingAppSecret, err = d.str(FieldMintingAppSecret); err != nil {
		return nil, err
	}
	if d.MintingAppSecretRef != "" && d.MintingAppSecret != "" {
		return nil, fieldErr(FieldMintingAppSecretRef, "and %q are both set: keep one", FieldMintingAppSecret)
	}
	if err = d.refsAreNames(FieldAppSecretRef, FieldMintingTokenRef, FieldMintingAppSecretRef); err != nil {
		return nil, err
	}
	if d.AccessToken, err = d.str(FieldAccessToken); err != nil {
		return nil, err
	}
	d.ExpiresAt, d.IssuedAt = d.timestamp(FieldExpiresAt), d.timestamp(FieldIssuedAt)
	for _, b := range []struct {
		name string
		dst  *bool
		def  bool
	}{
		{FieldInstallApp, &d.InstallApp, false},
		{FieldExpiringToken, &d.ExpiringToken, true},
		{FieldRevokePrevious, &d.RevokePrevious, true},
		{FieldAllowUnlistedScopes, &d.AllowUnlistedScopes, false},
	} {
		if *b.dst, err = d.boolean(b.name, b.def); err != nil {
			return nil, err
		}
	}
	if err := mint.CheckScopes(d.Scopes); err != nil {
		var unlisted *mint.UnlistedScopeError
		if !errors.As(err, &unlisted) || !d.AllowUnlistedScopes {
			return nil, &FieldError{Field: FieldScopes, Err: err}
		}
		d.UnlistedScopes = unlisted.Scopes
	}
	return d, nil
}

// ParseForRevocation decodes what revoking a token minted from a managed
// secret needs of its SecretString, each field checked as Parse checks it:
// app_id, the app secret (app_secret_ref or app_secret), minting_token_ref
// and access_token; minting_app_secret is read when it is a string, so that
// it can be masked. The other fields (system_user_id, scopes, the booleans,
// minting_app_secret_ref) are not read: a mistake in one of them, made
// while a job ran, does not keep the job's token live. The Doc is for
// reading only; never write it back.
func ParseForRevocation(s string) (*Doc, error) {
	d, err := decodeDoc(s)
	if err != nil {
		return nil, err
	}
	if err = d.appSecret(); err != nil {
		return nil, err
	}
	if d.MintingTokenRef, err = d.str(FieldMintingTokenRef); err != nil {
		return nil, err
	}
	if err = d.refsAreNames(FieldAppSecretRef, FieldMintingTokenRef); err != nil {
		return nil, err
	}
	if d.AccessToken, err = d.str(FieldAccessToken); err != nil {
		return nil, err
	}
	d.MintingAppSecret, _ = d.str(FieldMintingAppSecret)
	return d, nil
}

// decodeDoc decodes a SecretString and reads its app_id, which both Parse
// and ParseForRevocation check first.
func decodeDoc(s string) (*Doc, error) {
	members, err := decodeObject([]byte(s))
	if err != nil {
		return nil, err
	}
	d := &Doc{members: members}
	if d.AppID, err = d.id(FieldAppID); err != nil {
		return nil, err
	}
	return d, nil
}

// refsAreNames refuses a reference field, among fields (already read),
// that holds a secret rather than the name or ARN of one.
func (d *Doc) refsAreNames(fields ...string) error {
	refs := map[string]string{FieldAppSecretRef: d.AppSecretRef, FieldMintingTokenRef: d.MintingTokenRef, FieldMintingAppSecretRef: d.MintingAppSecretRef}
	for _, f := range fields {
		if what := secretLike(refs[f]); what != "" {
			return fieldErr(f, "holds %s, not the name or ARN of a secret: store it in a secret of its own and name that secret here", what)
		}
	}
	return nil
}

// appSecret reads app_secret_ref and app_secret, exactly one of which is
// set.
func (d *Doc) appSecret() error {
	var err error
	if d.AppSecretRef, err = d.str(FieldAppSecretRef); err != nil {
		return err
	}
	if d.AppSecret, err = d.str(FieldAppSecret); err != nil {
		return err
	}
	switch {
	case d.AppSecretRef == "" && d.AppSecret == "":
		return fieldErr(FieldAppSecretRef, "is missing: name the secret that holds the app secret (or set %q inline)", FieldAppSecret)
	case d.AppSecretRef != "" && d.AppSecret != "":
		return fieldErr(FieldAppSecretRef, "and %q are both set: keep one", FieldAppSecret)
	}
	return nil
}

// secretLike says what a reference holds when it has the form of a secret
// rather than of a secret's name or ARN, "" otherwise: an access token
// (Meta's begin with "EAA" and run to a hundred letters and digits or
// more) or an app secret (32 hexadecimal digits). A reference is quoted in
// errors and sent to AWS as a SecretId: a secret put there by mistake
// must be refused before either.
func secretLike(ref string) string {
	alnum, hex := true, true
	for _, r := range ref {
		isHex := r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'
		hex = hex && isHex
		alnum = alnum && (isHex || r >= 'g' && r <= 'z' || r >= 'G' && r <= 'Z')
	}
	switch {
	case alnum && len(ref) >= 100 && strings.HasPrefix(ref, "EAA"):
		return "an access token"
	case hex && len(ref) == 32:
		return "an app secret"
	}
	return ""
}

// decodeObject reads a JSON object's members in order. A key given twice
// keeps its first place and its last value, as encoding/json would read it.
func decodeObject(data []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("the secret is not JSON: %w", JSONErrorWithoutData(err))
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return nil, errors.New("the secret is not a JSON object")
	}
	var members []member
	index := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("the secret is not JSON: %w", JSONErrorWithoutData(err))
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("the secret is not JSON: %w", JSONErrorWithoutData(err))
		}
		if i, dup := index[key]; dup {
			members[i].value = v
			continue
		}
		index[key] = len(members)
		members = append(members, member{key: key, value: v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("the secret is not JSON: %w", JSONErrorWithoutData(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the secret is not JSON: data after the object")
	}
	return members, nil
}

// JSONErrorWithoutData keeps the kind of a JSON error and drops what it
// quotes: a syntax error names the offending character, which may be part of
// a secret.
func JSONErrorWithoutData(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("invalid JSON at offset %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("a value of JSON type %s where another was expected", typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("unexpected end of JSON")
	}
	return errors.New("invalid JSON")
}

func (d *Doc) raw(key string) (json.RawMessage, bool) {
	for _, m := range d.members {
		if m.key == key {
			if string(m.value) == "null" {
				return nil, false
			}
			return m.value, true
		}
	}
	return nil, false
}

// timestamp reads an optional RFC 3339 field; anything else reads as zero.
func (d *Doc) timestamp(key string) time.Time {
	v, ok := d.raw(key)
	if !ok {
		return time.Time{}
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// ownFields are the fields metamint writes; every other field is the
// user's.
var ownFields = []string{FieldAccessToken, FieldExpiresAt, FieldIssuedAt, FieldTokenScopes}

// SameUserFields reports whether d and o hold the same user-owned fields
// (every field but access_token, expires_at, issued_at and token_scopes),
// each with the same JSON value, in any order and spacing.
func (d *Doc) SameUserFields(o *Doc) bool {
	a, b := d.userFields(), o.userFields()
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v != w {
			return false
		}
	}
	return true
}

// userFields maps each user-owned field to its compacted JSON value.
func (d *Doc) userFields() map[string]string {
	m := map[string]string{}
	for _, f := range d.members {
		if slices.Contains(ownFields, f.key) {
			continue
		}
		var b bytes.Buffer
		if json.Compact(&b, f.value) != nil {
			m[f.key] = string(f.value)
			continue
		}
		m[f.key] = b.String()
	}
	return m
}

// str reads an optional string field; absent and null read as "".
func (d *Doc) str(key string) (string, error) {
	v, ok := d.raw(key)
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fieldErr(key, "must be a string")
	}
	return strings.TrimSpace(s), nil
}

// id reads a required Graph ID, written as a string or a number (the
// console's key/value editor writes strings, hand-written JSON often numbers).
func (d *Doc) id(key string) (string, error) {
	v, ok := d.raw(key)
	if !ok {
		return "", fieldErr(key, "is missing")
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		if dec.Decode(&n) != nil {
			return "", fieldErr(key, "must be a string of digits")
		}
		s = n.String()
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fieldErr(key, "is empty")
	}
	if !mint.IsGraphID(s) {
		return "", fieldErr(key, "must be a numeric Graph ID")
	}
	return s, nil
}

// scopes reads a required list of scopes: a JSON array of names, or one
// string separated by commas or spaces.
func (d *Doc) scopes(key string) ([]string, error) {
	v, ok := d.raw(key)
	if !ok {
		return nil, fieldErr(key, "is missing")
	}
	var list []string
	if err := json.Unmarshal(v, &list); err != nil {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, fieldErr(key, "must be an array of scope names")
		}
		return mint.ParseScopes(s), nil
	}
	return mint.ParseScopes(strings.Join(list, ",")), nil
}

// boolean reads an optional boolean: true/false, or the strings "true" and
// "false" that the console's key/value editor writes.
func (d *Doc) boolean(key string, def bool) (bool, error) {
	v, ok := d.raw(key)
	if !ok {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err == nil {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
			return b, nil
		}
	}
	return false, fieldErr(key, "must be true or false")
}

// Expectation is what the managed token must be.
func (d *Doc) Expectation() mint.Expectation {
	return mint.Expectation{AppID: d.AppID, SystemUserID: d.SystemUserID, Scopes: d.Scopes}
}

// Issued is a new token and what is known about it.
type Issued struct {
	Token     string
	ExpiresAt time.Time // zero: never expires
	IssuedAt  time.Time
	Scopes    []string // granted, from debug_token; nil: unknown, the field is removed
}

// WithToken returns the JSON for a new version: this document with
// access_token, expires_at, issued_at and token_scopes replaced and every
// other member untouched. expires_at is removed for a token that never
// expires.
func (d *Doc) WithToken(t Issued) (string, error) {
	set := map[string]any{
		FieldAccessToken: t.Token,
		FieldIssuedAt:    t.IssuedAt.UTC().Format(time.RFC3339),
	}
	if !t.ExpiresAt.IsZero() {
		set[FieldExpiresAt] = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if t.Scopes != nil {
		set[FieldTokenScopes] = t.Scopes
	}
	drop := map[string]bool{}
	if t.ExpiresAt.IsZero() {
		drop[FieldExpiresAt] = true
	}
	if t.Scopes == nil {
		drop[FieldTokenScopes] = true
	}

	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	write := func(key string, value []byte) {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		k, _ := json.Marshal(key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(value)
	}
	done := map[string]bool{}
	for _, m := range d.members {
		if drop[m.key] {
			continue
		}
		if v, ok := set[m.key]; ok {
			enc, err := json.Marshal(v)
			if err != nil {
				return "", err
			}
			write(m.key, enc)
			done[m.key] = true
			continue
		}
		write(m.key, m.value)
	}
	for _, key := range ownFields {
		v, ok := set[key]
		if !ok || done[key] {
			continue
		}
		enc, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		write(key, enc)
	}
	b.WriteByte('}')
	return b.String(), nil
}

// ReferencedValue extracts a value from a referenced secret: the whole
// SecretString when it is plain text, or the named field of a JSON object.
func ReferencedValue(secretString, field string) (string, error) {
	s := strings.TrimSpace(secretString)
	if s == "" {
		return "", errors.New("the referenced secret is empty")
	}
	if strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "[") {
		// No token or app secret starts so: a JSON string or array
		// would be taken whole, quotes included.
		if json.Valid([]byte(s)) {
			return "", fmt.Errorf("the referenced secret is JSON but not an object: store the value plain, or as a JSON object with an %q field", field)
		}
	}
	if !strings.HasPrefix(s, "{") {
		return s, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &obj); err != nil {
		return "", fmt.Errorf("the referenced secret looks like JSON but is not: %w", JSONErrorWithoutData(err))
	}
	raw, ok := obj[field]
	if !ok {
		return "", fmt.Errorf("the referenced secret is a JSON object without a %q field", field)
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil || strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("field %q of the referenced secret must be a non-empty string", field)
	}
	return strings.TrimSpace(v), nil
}
