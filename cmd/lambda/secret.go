package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/metamint/metamint/pkg/mint"
)

// The fields metamint reads (owned by the user) and writes (owned by
// metamint) in a managed secret's JSON. Every other field is kept as it was,
// byte for byte and in its place.
const (
	fieldAppID               = "app_id"
	fieldSystemUserID        = "system_user_id"
	fieldScopes              = "scopes"
	fieldAppSecretRef        = "app_secret_ref"
	fieldAppSecret           = "app_secret"
	fieldMintingTokenRef     = "minting_token_ref"
	fieldInstallApp          = "install_app"
	fieldExpiringToken       = "expiring_token"
	fieldRevokePrevious      = "revoke_previous"
	fieldAllowUnlistedScopes = "allow_unlisted_scopes"

	fieldAccessToken = "access_token"
	fieldExpiresAt   = "expires_at"
	fieldIssuedAt    = "issued_at"
	fieldTokenScopes = "token_scopes"
)

// member is one top-level field of a secret's JSON object, as read.
type member struct {
	key   string
	value json.RawMessage
}

// secretDoc is a managed secret's JSON: every member in its original order
// with its original bytes, and a typed view of the fields metamint reads.
// Writing it back (withToken) replaces only the fields metamint owns.
type secretDoc struct {
	members []member

	AppID               string
	SystemUserID        string
	Scopes              []string
	AppSecretRef        string
	AppSecret           string // inline; discouraged, never written by metamint
	MintingTokenRef     string
	InstallApp          bool // default false
	ExpiringToken       bool // default true
	RevokePrevious      bool // default true
	AllowUnlistedScopes bool // default false
	AccessToken         string
	// UnlistedScopes are requested scopes missing from mint's list, allowed
	// by allow_unlisted_scopes; the caller logs them as a warning.
	UnlistedScopes []string
}

// parseSecret decodes a managed secret's SecretString. Errors name the field
// and never quote a value.
func parseSecret(s string) (*secretDoc, error) {
	members, err := decodeObject([]byte(s))
	if err != nil {
		return nil, err
	}
	d := &secretDoc{members: members}
	if d.AppID, err = d.id(fieldAppID); err != nil {
		return nil, err
	}
	if d.SystemUserID, err = d.id(fieldSystemUserID); err != nil {
		return nil, err
	}
	if d.Scopes, err = d.scopes(fieldScopes); err != nil {
		return nil, err
	}
	if d.AppSecretRef, err = d.str(fieldAppSecretRef); err != nil {
		return nil, err
	}
	if d.AppSecret, err = d.str(fieldAppSecret); err != nil {
		return nil, err
	}
	switch {
	case d.AppSecretRef == "" && d.AppSecret == "":
		return nil, fmt.Errorf("field %q is missing: name the secret that holds the app secret (or set %q inline)", fieldAppSecretRef, fieldAppSecret)
	case d.AppSecretRef != "" && d.AppSecret != "":
		return nil, fmt.Errorf("fields %q and %q are both set: keep one", fieldAppSecretRef, fieldAppSecret)
	}
	if d.MintingTokenRef, err = d.str(fieldMintingTokenRef); err != nil {
		return nil, err
	}
	if d.AccessToken, err = d.str(fieldAccessToken); err != nil {
		return nil, err
	}
	for _, b := range []struct {
		name string
		dst  *bool
		def  bool
	}{
		{fieldInstallApp, &d.InstallApp, false},
		{fieldExpiringToken, &d.ExpiringToken, true},
		{fieldRevokePrevious, &d.RevokePrevious, true},
		{fieldAllowUnlistedScopes, &d.AllowUnlistedScopes, false},
	} {
		if *b.dst, err = d.boolean(b.name, b.def); err != nil {
			return nil, err
		}
	}
	if err := mint.CheckScopes(d.Scopes); err != nil {
		var unlisted *mint.UnlistedScopeError
		if !errors.As(err, &unlisted) || !d.AllowUnlistedScopes {
			return nil, fmt.Errorf("field %q: %w", fieldScopes, err)
		}
		d.UnlistedScopes = unlisted.Scopes
	}
	return d, nil
}

// decodeObject reads a JSON object's members in order. A key given twice
// keeps its first place and its last value, as encoding/json would read it.
func decodeObject(data []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("the secret is not JSON: %w", jsonErrorWithoutData(err))
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return nil, errors.New("the secret is not a JSON object")
	}
	var members []member
	index := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("the secret is not JSON: %w", jsonErrorWithoutData(err))
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("the secret is not JSON: %w", jsonErrorWithoutData(err))
		}
		if i, dup := index[key]; dup {
			members[i].value = v
			continue
		}
		index[key] = len(members)
		members = append(members, member{key: key, value: v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("the secret is not JSON: %w", jsonErrorWithoutData(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the secret is not JSON: data after the object")
	}
	return members, nil
}

// jsonErrorWithoutData keeps the kind of a JSON error and drops what it
// quotes: a syntax error names the offending character, which may be part of
// a secret.
func jsonErrorWithoutData(err error) error {
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

func (d *secretDoc) raw(key string) (json.RawMessage, bool) {
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

// str reads an optional string field; absent and null read as "".
func (d *secretDoc) str(key string) (string, error) {
	v, ok := d.raw(key)
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("field %q must be a string", key)
	}
	return strings.TrimSpace(s), nil
}

// id reads a required Graph ID, written as a string or a number (the
// console's key/value editor writes strings, hand-written JSON often numbers).
func (d *secretDoc) id(key string) (string, error) {
	v, ok := d.raw(key)
	if !ok {
		return "", fmt.Errorf("field %q is missing", key)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		if dec.Decode(&n) != nil {
			return "", fmt.Errorf("field %q must be a string of digits", key)
		}
		s = n.String()
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("field %q is empty", key)
	}
	if !mint.IsGraphID(s) {
		return "", fmt.Errorf("field %q must be a numeric Graph ID", key)
	}
	return s, nil
}

// scopes reads a required list of scopes: a JSON array of names, or one
// string separated by commas or spaces.
func (d *secretDoc) scopes(key string) ([]string, error) {
	v, ok := d.raw(key)
	if !ok {
		return nil, fmt.Errorf("field %q is missing", key)
	}
	var list []string
	if err := json.Unmarshal(v, &list); err != nil {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, fmt.Errorf("field %q must be an array of scope names", key)
		}
		return mint.ParseScopes(s), nil
	}
	return mint.ParseScopes(strings.Join(list, ",")), nil
}

// boolean reads an optional boolean: true/false, or the strings "true" and
// "false" that the console's key/value editor writes.
func (d *secretDoc) boolean(key string, def bool) (bool, error) {
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
	return false, fmt.Errorf("field %q must be true or false", key)
}

// expectation is what the managed token must be.
func (d *secretDoc) expectation() mint.Expectation {
	return mint.Expectation{AppID: d.AppID, SystemUserID: d.SystemUserID, Scopes: d.Scopes}
}

// issued is a new token and what is known about it.
type issued struct {
	token     string
	expiresAt time.Time // zero: never expires
	issuedAt  time.Time
	scopes    []string // granted, from debug_token; nil when unknown
}

// withToken returns the JSON for a new version: this document with
// access_token, expires_at, issued_at and token_scopes replaced and every
// other member untouched. expires_at is removed for a token that never
// expires.
func (d *secretDoc) withToken(t issued) (string, error) {
	set := map[string]any{
		fieldAccessToken: t.token,
		fieldIssuedAt:    t.issuedAt.UTC().Format(time.RFC3339),
	}
	if !t.expiresAt.IsZero() {
		set[fieldExpiresAt] = t.expiresAt.UTC().Format(time.RFC3339)
	}
	if t.scopes != nil {
		set[fieldTokenScopes] = t.scopes
	}
	drop := map[string]bool{}
	if t.expiresAt.IsZero() {
		drop[fieldExpiresAt] = true
	}
	if t.scopes == nil {
		drop[fieldTokenScopes] = true
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
	for _, key := range []string{fieldAccessToken, fieldExpiresAt, fieldIssuedAt, fieldTokenScopes} {
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

// referencedValue extracts a value from a referenced secret: the whole
// SecretString when it is plain text, or the named field of a JSON object.
func referencedValue(secretString, field string) (string, error) {
	s := strings.TrimSpace(secretString)
	if s == "" {
		return "", errors.New("the referenced secret is empty")
	}
	if !strings.HasPrefix(s, "{") {
		return s, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &obj); err != nil {
		return "", fmt.Errorf("the referenced secret looks like JSON but is not: %w", jsonErrorWithoutData(err))
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
