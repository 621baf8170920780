package mint_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/pkg/mint"
)

func TestParseScopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"ads_read,business_management", []string{"ads_read", "business_management"}},
		{" ads_read , ads_read\nbusiness_management\t", []string{"ads_read", "business_management"}},
		{"", []string{}},
		{",, ,", []string{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, mint.ParseScopes(tt.in)); diff != "" {
			t.Errorf("ParseScopes(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestCheckScopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		scopes       []string
		wantOK       bool
		wantUnlisted []string
	}{
		{name: "supported", scopes: []string{"ads_management", "whatsapp_business_messaging", "rsvp_event"}, wantOK: true},
		{name: "empty list", scopes: nil},
		{name: "empty name", scopes: []string{"ads_read", ""}},
		{name: "bad characters", scopes: []string{"ads read"}},
		{name: "manage_pages is not supported", scopes: []string{"ads_read", "manage_pages"}, wantUnlisted: []string{"manage_pages"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := mint.CheckScopes(tt.scopes)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("CheckScopes(%q) = %v; want nil", tt.scopes, err)
				}
				return
			}
			if !errors.Is(err, mint.ErrInvalidRequest) {
				t.Fatalf("CheckScopes(%q) = %v; want an error matching ErrInvalidRequest", tt.scopes, err)
			}
			var u *mint.UnlistedScopeError
			if errors.As(err, &u) != (tt.wantUnlisted != nil) {
				t.Fatalf("CheckScopes(%q) = %T; unlisted want %v", tt.scopes, err, tt.wantUnlisted)
			}
			if u != nil && !slices.Equal(u.Scopes, tt.wantUnlisted) {
				t.Errorf("CheckScopes(%q).Scopes = %q; want %q", tt.scopes, u.Scopes, tt.wantUnlisted)
			}
		})
	}
}

func TestSupportedScopesSortedAndComplete(t *testing.T) {
	t.Parallel()
	got := mint.SupportedScopes()
	if !slices.IsSorted(got) {
		t.Fatalf("SupportedScopes() is not sorted")
	}
	// The list this project was built from, which must stay supported.
	for _, s := range []string{"ads_management", "ads_read", "business_management", "manage_notifications",
		"pages_manage_cta", "pages_manage_instant_articles", "pages_read_engagement", "pages_manage_ads",
		"pages_manage_engagement", "pages_manage_posts", "pages_show_list", "pages_read_user_content",
		"pages_manage_metadata", "read_insights", "rsvp_event"} {
		if !mint.IsSupportedScope(s) {
			t.Errorf("IsSupportedScope(%q) = false; want true", s)
		}
	}
	got[0] = "changed"
	if mint.SupportedScopes()[0] == "changed" {
		t.Errorf("SupportedScopes() returned the package's own slice")
	}
}

func TestIsGraphID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"1": true, "200000000000002": true, "12345678901234567890123456789012": true,
		"": false, "123456789012345678901234567890123": false, "12a": false, "-1": false, "1/../2": false, " 1": false,
	} {
		if got := mint.IsGraphID(id); got != want {
			t.Errorf("IsGraphID(%q) = %v; want %v", id, got, want)
		}
	}
}

func TestRequestErrorReason(t *testing.T) {
	t.Parallel()
	_, err := mint.NewClient(mint.WithVersion("27.0"))
	var rerr *mint.RequestError
	if !errors.As(err, &rerr) || !errors.Is(err, mint.ErrInvalidRequest) {
		t.Fatalf("NewClient(WithVersion(27.0)) = %v; want a *RequestError matching ErrInvalidRequest", err)
	}
	if want := `graph API version "27.0" is not of the form v27.0`; rerr.Reason != want {
		t.Errorf("Reason = %q; want %q", rerr.Reason, want)
	}
	if want := "mint: invalid request: " + rerr.Reason; err.Error() != want {
		t.Errorf("Error() = %q; want %q", err.Error(), want)
	}
}
