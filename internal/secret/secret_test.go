package secret

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    *Doc // members ignored
		wantErr string
	}{
		{
			name: "minimal with defaults",
			in:   `{"app_id":"200","system_user_id":"400","scopes":["ads_read"],"app_secret_ref":"meta/app"}`,
			want: &Doc{AppID: "200", SystemUserID: "400", Scopes: []string{"ads_read"}, AppSecretRef: "meta/app",
				ExpiringToken: true, RevokePrevious: true},
		},
		{
			name: "console key/value editor strings",
			in: `{"app_id":"200","system_user_id":"400","scopes":"ads_read, business_management","app_secret":"s",` +
				`"install_app":"true","expiring_token":"false","revoke_previous":"FALSE","access_token":" tok "}`,
			want: &Doc{AppID: "200", SystemUserID: "400", Scopes: []string{"ads_read", "business_management"}, AppSecret: "s",
				InstallApp: true, AccessToken: "tok"},
		},
		{
			name: "numeric IDs and a minting token ref",
			in:   `{"app_id":200000000000002,"system_user_id":400000000000004,"scopes":["ads_read"],"app_secret_ref":"a","minting_token_ref":"m"}`,
			want: &Doc{AppID: "200000000000002", SystemUserID: "400000000000004", Scopes: []string{"ads_read"},
				AppSecretRef: "a", MintingTokenRef: "m", ExpiringToken: true, RevokePrevious: true},
		},
		{
			name: "unlisted scope allowed",
			in:   `{"app_id":"2","system_user_id":"4","scopes":["ads_read","brand_new_scope"],"app_secret_ref":"a","allow_unlisted_scopes":true}`,
			want: &Doc{AppID: "2", SystemUserID: "4", Scopes: []string{"ads_read", "brand_new_scope"}, AppSecretRef: "a",
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
		{name: "a token in minting_token_ref", in: `{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret_ref":"a","minting_token_ref":"EAAGm0PZC` + strings.Repeat("x1", 60) + `"}`,
			wantErr: `field "minting_token_ref" holds an access token`},
		{name: "an app secret in app_secret_ref", in: `{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret_ref":"0123456789abcdef0123456789abcdef"}`,
			wantErr: `field "app_secret_ref" holds an app secret`},
		{name: "an app secret in minting_app_secret_ref", in: `{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret_ref":"a","minting_app_secret_ref":"0123456789ABCDEF0123456789abcdef"}`,
			wantErr: `field "minting_app_secret_ref" holds an app secret`},
		{name: "token not a string", in: `{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret_ref":"a","access_token":5}`, wantErr: `"access_token"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%s) = %v; want an error containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%s) = %v", tc.in, err)
			}
			got.members = nil
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(Doc{})); diff != "" {
				t.Errorf("Parse(%s) (-want +got):\n%s", tc.in, diff)
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
		_, err := Parse(in)
		if err == nil || strings.Contains(err.Error(), "EAAG") || strings.Contains(err.Error(), "secretvalue") {
			t.Errorf("Parse(%q) = %v; want an error that does not quote the value", in, err)
		}
	}
}

func TestWithToken(t *testing.T) {
	t.Parallel()
	in := `{ "team" : {"a": [1, 2.50, "x"]},"app_id":"2","access_token":"old","system_user_id":"4",` +
		`"scopes":["ads_read"],"app_secret_ref":"a","expires_at":"2026-01-01T00:00:00Z","zeta":null,"dup":1,"dup":2}`
	doc, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	issuedAt := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		tok  Issued
		want string
	}{
		{
			name: "expiring token",
			tok:  Issued{Token: "new", ExpiresAt: issuedAt.Add(60 * 24 * time.Hour), IssuedAt: issuedAt, Scopes: []string{"ads_read"}},
			want: `{"team":{"a": [1, 2.50, "x"]},"app_id":"2","access_token":"new","system_user_id":"4","scopes":["ads_read"],` +
				`"app_secret_ref":"a","expires_at":"2027-01-27T10:00:00Z","zeta":null,"dup":2,"issued_at":"2026-11-28T10:00:00Z","token_scopes":["ads_read"]}`,
		},
		{
			name: "permanent token drops expires_at",
			tok:  Issued{Token: "new", IssuedAt: issuedAt, Scopes: []string{}},
			want: `{"team":{"a": [1, 2.50, "x"]},"app_id":"2","access_token":"new","system_user_id":"4","scopes":["ads_read"],` +
				`"app_secret_ref":"a","zeta":null,"dup":2,"issued_at":"2026-11-28T10:00:00Z","token_scopes":[]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := doc.WithToken(tc.tok)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("WithToken() =\n%s\nwant\n%s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("WithToken() is not valid JSON")
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
		{name: "JSON string", in: `"EAAGsecretvalue"`, field: "access_token", wantErr: "is JSON but not an object"},
		{name: "JSON array", in: `["s3cret"]`, field: "app_secret", wantErr: "is JSON but not an object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ReferencedValue(tc.in, tc.field)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "EAAG") {
					t.Fatalf("ReferencedValue(%q) = %q, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ReferencedValue(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
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
		doc, err := Parse(in)
		if err != nil {
			return
		}
		out, err := doc.WithToken(Issued{Token: "T", IssuedAt: time.Unix(0, 0)})
		if err != nil {
			t.Fatalf("WithToken() = %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(WithToken()) = %v for %s", err, out)
		}
		if back.AccessToken != "T" || back.AppID != doc.AppID || !cmp.Equal(back.Scopes, doc.Scopes) {
			t.Fatalf("round trip changed the secret: %s", out)
		}
		for _, m := range doc.members {
			switch m.key {
			case FieldAccessToken, FieldExpiresAt, FieldIssuedAt, FieldTokenScopes:
				continue
			}
			v, ok := back.raw(m.key)
			if string(m.value) != "null" && (!ok || string(v) != string(m.value)) {
				t.Fatalf("member %q changed from %s to %s", m.key, m.value, v)
			}
		}
	})
}

// TestSameUserFields: metamint's own fields, order and spacing do not
// count; a changed, added or removed user field does.
func TestSameUserFields(t *testing.T) {
	base := `{"app_id":"1","system_user_id":"2","scopes":["ads_read"],"app_secret_ref":"r","team":{"a":1},"access_token":"t1","expires_at":"2030-01-01T00:00:00Z"}`
	tests := []struct {
		other string
		want  bool
	}{
		{`{"team": {"a":1}, "scopes":["ads_read"],"app_id":"1","system_user_id":"2","app_secret_ref":"r","access_token":"t2","issued_at":"2029-01-01T00:00:00Z","token_scopes":[]}`, true},
		{`{"app_id":"1","system_user_id":"2","scopes":["ads_read","business_management"],"app_secret_ref":"r","team":{"a":1},"access_token":"t1"}`, false},
		{`{"app_id":"1","system_user_id":"2","scopes":["ads_read"],"app_secret_ref":"r","access_token":"t1"}`, false},
		{`{"app_id":"1","system_user_id":"2","scopes":["ads_read"],"app_secret_ref":"r","team":{"a":1},"extra":true,"access_token":"t1"}`, false},
		{`{"app_id":"3","system_user_id":"2","scopes":["ads_read"],"app_secret_ref":"r","team":{"a":1},"access_token":"t1"}`, false},
	}
	a, err := Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		b, err := Parse(tc.other)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.SameUserFields(b); got != tc.want {
			t.Errorf("SameUserFields(%s) = %v; want %v", tc.other, got, tc.want)
		}
	}
	if want := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC); !a.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v; want %v", a.ExpiresAt, want)
	}
}

// TestParseForRevocation: only app_id, the app secret, minting_token_ref
// and access_token are read, each as Parse reads it; a mistake elsewhere
// is not an error.
func TestParseForRevocation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    *Doc // members ignored
		wantErr string
	}{
		{
			name: "mistakes where revocation does not read",
			in: `{"app_id":"2","scopes":["nope"],"install_app":"yes","app_secret_ref":"a","minting_token_ref":"m",` +
				`"minting_app_secret":"s","minting_app_secret_ref":"r","access_token":"EAAtok"}`,
			want: &Doc{AppID: "2", AppSecretRef: "a", MintingTokenRef: "m", MintingAppSecret: "s", AccessToken: "EAAtok"},
		},
		{name: "missing app_id", in: `{"app_secret_ref":"a"}`, wantErr: `"app_id" is missing`},
		{name: "no app secret", in: `{"app_id":"2"}`, wantErr: `"app_secret_ref" is missing`},
		{name: "both app secrets", in: `{"app_id":"2","app_secret":"s","app_secret_ref":"a"}`, wantErr: "both set"},
		{name: "a token in minting_token_ref", in: `{"app_id":"2","app_secret_ref":"a","minting_token_ref":"EAAGm0PZC` + strings.Repeat("x1", 60) + `"}`,
			wantErr: `field "minting_token_ref" holds an access token`},
		{name: "an access_token that is no string", in: `{"app_id":"2","app_secret_ref":"a","access_token":7}`, wantErr: `"access_token"`},
		{name: "not JSON", in: `app_secret=hunter2`, wantErr: "not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseForRevocation(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseForRevocation(%s) = %v; want an error containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseForRevocation(%s) = %v", tc.in, err)
			}
			got.members = nil
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(Doc{})); diff != "" {
				t.Errorf("ParseForRevocation(%s) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}
