package front

import (
	"slices"
	"strings"
	"testing"

	"github.com/metamint/metamint/pkg/mint"
)

var testNames = Names{
	AppID: "APP", SystemUserID: "SU", BusinessID: "BIZ", AppSecret: "SECRET", MintingAppSecret: "MINTING", AccessToken: "CALLER",
	Scopes: "SCOPES", GraphURL: "URL", GraphVersion: "VERSION", AllowUnlisted: "ALLOW",
}

func TestCheck(t *testing.T) {
	t.Parallel()
	const canary = "canary-secret value"
	tests := []struct {
		name string
		v    Values
		want []string // each problem starts with one of these, in order
	}{
		{name: "nothing given", v: Values{}},
		{name: "all good", v: Values{AppID: "1", SystemUserID: "2", AppSecret: "s", AccessToken: "t", Scopes: "ads_read"}},
		{name: "ids", v: Values{AppID: "1a", SystemUserID: "x", BusinessID: "acme"}, want: []string{"APP must be a numeric", "SU must be a numeric", "BIZ must be a numeric"}},
		{
			name: "secrets with white space",
			v:    Values{AppSecret: canary, AccessToken: canary, MintingAppSecret: canary},
			want: []string{"SECRET contains white space", "CALLER contains white space", "MINTING contains white space"},
		},
		{
			name: "secrets as a file or a paste leaves them",
			v:    Values{AppSecret: "\ufeffs3cret", AccessToken: `"EAAtoken"`, MintingAppSecret: "s3cret\r\nother"},
			want: []string{"SECRET starts with a byte order mark", "CALLER is wrapped in quotes", "MINTING contains a line break"},
		},
		{name: "unlisted scope", v: Values{Scopes: "ads_read brand_new"}, want: []string{`SCOPES: scope "brand_new" is not on the list`}},
		{name: "bad scope", v: Values{Scopes: "ads read!"}, want: []string{"SCOPES: "}},
		{name: "graph", v: Values{GraphURL: "http://graph.example.com", GraphVersion: "27"}, want: []string{"URL: ", "VERSION: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, problems := tt.v.Check(testNames)
			if len(problems) != len(tt.want) {
				t.Fatalf("Check() = %q; want %d problems", problems, len(tt.want))
			}
			for i, p := range problems {
				if !strings.HasPrefix(p, tt.want[i]) {
					t.Errorf("problem %d = %q; want it to start with %q", i, p, tt.want[i])
				}
				if strings.Contains(p, "canary") {
					t.Errorf("problem %q quotes a secret", p)
				}
			}
			if strings.HasPrefix(tt.name, "unlisted") && !strings.Contains(problems[0], "or ALLOW if Meta added it") {
				t.Errorf("problem %q does not say how to allow the scope", problems[0])
			}
		})
	}
}

func TestCheckPlan(t *testing.T) {
	t.Parallel()
	p, problems := Values{
		AppID: "1", SystemUserID: "2", AppSecret: "s", MintingAppSecret: "m", AccessToken: "t",
		Scopes: "ads_read,brand_new", AllowUnlisted: true, Permanent: true,
	}.Check(testNames)
	if len(problems) > 0 {
		t.Fatalf("Check() problems = %q", problems)
	}
	want := mint.TokenRequest{
		SystemUserID: "2", App: mint.App{ID: "1", Secret: "s"}, AccessToken: "t", MintingAppSecret: "m",
		Scopes: []string{"ads_read", "brand_new"}, AllowUnlistedScopes: true, Permanent: true,
	}
	if p.Token.SystemUserID != want.SystemUserID || p.Token.App != want.App || p.Token.AccessToken != want.AccessToken ||
		p.Token.MintingAppSecret != want.MintingAppSecret || !slices.Equal(p.Token.Scopes, want.Scopes) ||
		!p.Token.AllowUnlistedScopes || !p.Token.Permanent {
		t.Errorf("Token = %+v; want %+v", p.Token, want)
	}
	if p.GraphURL != mint.DefaultBaseURL || p.Version != mint.DefaultVersion {
		t.Errorf("GraphURL, Version = %q, %q; want the defaults", p.GraphURL, p.Version)
	}
	if w := p.Warning(); !strings.HasPrefix(w, `scope "brand_new" is not on metamint's list`) {
		t.Errorf("Warning() = %q", w)
	}
	if w := (&Plan{}).Warning(); w != "" {
		t.Errorf("Warning() with no unlisted scope = %q; want empty", w)
	}
}

func TestProblems(t *testing.T) {
	t.Parallel()
	if got := (Problems{"a", "b"}).Error(); got != "a\nb" {
		t.Errorf("Error() = %q; want one problem a line", got)
	}
}

func TestIsBearerToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "a Graph token", in: "EAAGm0PX4ZCpsBAKZC4ZBZBx7", want: true},
		{name: "every b64token character", in: "aZ09-._~+/", want: true},
		{name: "trailing padding", in: "abc==", want: true},
		{name: "empty", in: ""},
		{name: "padding alone", in: "=="},
		{name: "padding inside", in: "ab=c"},
		{name: "command substitution", in: "EAA$(id)"},
		{name: "backtick", in: "EAA`id`"},
		{name: "quotes", in: `EAA"'`},
		{name: "semicolon", in: "EAA;id"},
		{name: "app token", in: "1|secret"},
		{name: "space", in: "EAA x"},
		{name: "non-ASCII letter", in: "EAAé"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsBearerToken(tt.in); got != tt.want {
				t.Errorf("IsBearerToken(%q) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}
