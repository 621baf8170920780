package main

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/pkg/mint"
)

func TestParseSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    *secretDoc // members ignored
		wantErr string
	}{
		{
			name: "minimal with defaults",
			in:   `{"app_id":"200","system_user_id":"400","scopes":["ads_read"],"app_secret_ref":"meta/app"}`,
			want: &secretDoc{AppID: "200", SystemUserID: "400", Scopes: []string{"ads_read"}, AppSecretRef: "meta/app",
				ExpiringToken: true, RevokePrevious: true},
		},
		{
			name: "console key/value editor strings",
			in: `{"app_id":"200","system_user_id":"400","scopes":"ads_read, business_management","app_secret":"s",` +
				`"install_app":"true","expiring_token":"false","revoke_previous":"FALSE","access_token":" tok "}`,
			want: &secretDoc{AppID: "200", SystemUserID: "400", Scopes: []string{"ads_read", "business_management"}, AppSecret: "s",
				InstallApp: true, AccessToken: "tok"},
		},
		{
			name: "numeric IDs and a minting token ref",
			in:   `{"app_id":200000000000002,"system_user_id":400000000000004,"scopes":["ads_read"],"app_secret_ref":"a","minting_token_ref":"m"}`,
			want: &secretDoc{AppID: "200000000000002", SystemUserID: "400000000000004", Scopes: []string{"ads_read"},
				AppSecretRef: "a", MintingTokenRef: "m", ExpiringToken: true, RevokePrevious: true},
		},
		{
			name: "unlisted scope allowed",
			in:   `{"app_id":"2","system_user_id":"4","scopes":["ads_read","brand_new_scope"],"app_secret_ref":"a","allow_unlisted_scopes":true}`,
			want: &secretDoc{AppID: "2", SystemUserID: "4", Scopes: []string{"ads_read", "brand_new_scope"}, AppSecretRef: "a",
				ExpiringToken: true, RevokePrevious: true, AllowUnlistedScopes: true, UnlistedScopes: []string{"brand_new_scope"}},
		},
		{name: "not JSON", in: `app_secret=hunter2`, wantErr: "not JSON"},
		{name: "an array", in: `[]`, wantErr: "not a JSON object"},
		{name: "trailing data", in: `{"app_id":"1"} {}`, wantErr: "data after"},
		{name: "missing app_id", in: `{"system_user_id":"4","scopes":["ads_read"],"app_secret_ref":"a"}`, wantErr: `"app_id" is missing`},
		{name: "non-numeric ID", in: `{"app_id":"../x","system_user_id":"4","scopes":["ads_read"],"app_secret_ref":"a"}`, wantErr: "numeric"},
		{name: "no scopes", in: `{"app_id":"2","system_user_id":"4","scopes":[],"app_secret_ref":"a"}`, wantErr: "at least one scope"},
		{name: "unlisted scope", in: `{"app_id":"2","system_user_id":"4","scopes":["nope"],"app_secret_ref":"a"}`, wantErr: `"nope"`},
		{name: "no app secret", in: `{"app_id":"2","system_user_id":"4","scopes":["ads_read"]}`, wantErr: `"app_secret_ref" is missing`},
		{name: "both app secrets", in: `{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret":"s","app_secret_ref":"a"}`, wantErr: "both set"},
		{name: "bad boolean", in: `{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret_ref":"a","install_app":"yes"}`, wantErr: `"install_app"`},
		{name: "token not a string", in: `{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret_ref":"a","access_token":5}`, wantErr: `"access_token"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseSecret(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseSecret(%s) = %v; want an error containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseSecret(%s) = %v", tc.in, err)
			}
			got.members = nil
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(secretDoc{})); diff != "" {
				t.Errorf("parseSecret(%s) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// TestParseSecretErrorsHoldNoValue checks that a malformed secret's error
// never quotes it.
func TestParseSecretErrorsHoldNoValue(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"access_token": EAAGsecretvalue}`,
		`{"access_token": "EAAGsecretvalue"`,
		`{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret":{"EAAGsecretvalue":1}}`,
		`EAAGsecretvalue`,
	} {
		_, err := parseSecret(in)
		if err == nil || strings.Contains(err.Error(), "EAAG") || strings.Contains(err.Error(), "secretvalue") {
			t.Errorf("parseSecret(%q) = %v; want an error that does not quote the value", in, err)
		}
	}
}

func TestWithToken(t *testing.T) {
	t.Parallel()
	in := `{ "team" : {"a": [1, 2.50, "x"]},"app_id":"2","access_token":"old","system_user_id":"4",` +
		`"scopes":["ads_read"],"app_secret_ref":"a","expires_at":"2026-01-01T00:00:00Z","zeta":null,"dup":1,"dup":2}`
	doc, err := parseSecret(in)
	if err != nil {
		t.Fatal(err)
	}
	issuedAt := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		tok  issued
		want string
	}{
		{
			name: "expiring token",
			tok:  issued{token: "new", expiresAt: issuedAt.Add(60 * day), issuedAt: issuedAt, scopes: []string{"ads_read"}},
			want: `{"team":{"a": [1, 2.50, "x"]},"app_id":"2","access_token":"new","system_user_id":"4","scopes":["ads_read"],` +
				`"app_secret_ref":"a","expires_at":"2027-01-27T10:00:00Z","zeta":null,"dup":2,"issued_at":"2026-11-28T10:00:00Z","token_scopes":["ads_read"]}`,
		},
		{
			name: "permanent token drops expires_at",
			tok:  issued{token: "new", issuedAt: issuedAt, scopes: []string{}},
			want: `{"team":{"a": [1, 2.50, "x"]},"app_id":"2","access_token":"new","system_user_id":"4","scopes":["ads_read"],` +
				`"app_secret_ref":"a","zeta":null,"dup":2,"issued_at":"2026-11-28T10:00:00Z","token_scopes":[]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := doc.withToken(tc.tok)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("withToken() =\n%s\nwant\n%s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("withToken() is not valid JSON")
			}
		})
	}
}

func TestReferencedValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, field, want, wantErr string
	}{
		{name: "plain", in: " s3cret\n", field: "app_secret", want: "s3cret"},
		{name: "JSON", in: `{"app_secret":"s3cret","x":1}`, field: "app_secret", want: "s3cret"},
		{name: "JSON without the field", in: `{"secret":"s3cret"}`, field: "app_secret", wantErr: `without a "app_secret" field`},
		{name: "JSON with a number", in: `{"access_token":5}`, field: "access_token", wantErr: "non-empty string"},
		{name: "broken JSON", in: `{"access_token":"EAAGx`, field: "access_token", wantErr: "looks like JSON"},
		{name: "empty", in: " ", field: "access_token", wantErr: "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := referencedValue(tc.in, tc.field)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "EAAG") {
					t.Fatalf("referencedValue(%q) = %q, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("referencedValue(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

var uuidV5 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestVersionToken(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:meta-AbCdEf"
	a := versionToken(arn, "v1")
	if !uuidV5.MatchString(a) {
		t.Errorf("versionToken() = %q; want a version 5 UUID (32-64 characters, as PutSecretValue needs)", a)
	}
	if b := versionToken(arn, "v1"); b != a {
		t.Errorf("versionToken() = %q then %q; want the same token for the same input", a, b)
	}
	for _, other := range []string{versionToken(arn, "v2"), versionToken(arn+"x", "v1"), versionToken(arn+"\nv", "1")} {
		if other == a {
			t.Errorf("versionToken() = %q for different inputs", a)
		}
	}
}

func TestGraphErrClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"validation", mint.ErrInvalidRequest, "SecretFormatError"},
		{"permission", &mint.GraphError{StatusCode: 400, Code: 200, Message: "(#200) not installed"}, "GraphRefusedError"},
		{"transient", &mint.GraphError{StatusCode: 400, Code: 2, IsTransient: true}, "GraphUnavailableError"},
		{"outage", &mint.GraphError{StatusCode: 503}, "GraphUnavailableError"},
		{"transport", errors.New("dial tcp: connection refused"), "GraphUnavailableError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := graphErr(stepCreate, "arn", "minting", tc.err)
			if errorType(got) != tc.want || !errors.Is(got, tc.err) {
				t.Errorf("graphErr(%v) = %s %v; want %s wrapping the cause", tc.err, errorType(got), got, tc.want)
			}
		})
	}
}

// FuzzParseSecret checks that any SecretString parses or fails without
// panicking, and that writing a token back keeps every other member.
func FuzzParseSecret(f *testing.F) {
	f.Add(`{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret_ref":"a","x":{"y":[1,null]}}`)
	f.Add(`{"app_id":2,"system_user_id":"4","scopes":"ads_read","app_secret":"s","access_token":"t","expires_at":""}`)
	f.Add(`{"a":1,"a":2}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, in string) {
		doc, err := parseSecret(in)
		if err != nil {
			return
		}
		out, err := doc.withToken(issued{token: "T", issuedAt: time.Unix(0, 0)})
		if err != nil {
			t.Fatalf("withToken() = %v", err)
		}
		back, err := parseSecret(out)
		if err != nil {
			t.Fatalf("parseSecret(withToken()) = %v for %s", err, out)
		}
		if back.AccessToken != "T" || back.AppID != doc.AppID || !cmp.Equal(back.Scopes, doc.Scopes) {
			t.Fatalf("round trip changed the secret: %s", out)
		}
		for _, m := range doc.members {
			switch m.key {
			case fieldAccessToken, fieldExpiresAt, fieldIssuedAt, fieldTokenScopes:
				continue
			}
			v, ok := back.raw(m.key)
			if string(m.value) != "null" && (!ok || string(v) != string(m.value)) {
				t.Fatalf("member %q changed from %s to %s", m.key, m.value, v)
			}
		}
	})
}
