package front

import (
	"errors"
	"slices"
	"testing"

	"github.com/metamint/metamint/pkg/mint"
)

func TestGraphURLAndVersion(t *testing.T) {
	t.Parallel()
	if got, err := GraphURL(""); err != nil || got != mint.DefaultBaseURL {
		t.Errorf(`GraphURL("") = %q, %v; want %q`, got, err, mint.DefaultBaseURL)
	}
	if _, err := GraphURL("http://graph.example.com"); err == nil {
		t.Errorf("GraphURL(http non-loopback) = nil error; want a refusal")
	}
	if got, err := GraphVersion(""); err != nil || got != mint.DefaultVersion {
		t.Errorf(`GraphVersion("") = %q, %v; want %q`, got, err, mint.DefaultVersion)
	}
	if _, err := GraphVersion("27"); err == nil {
		t.Errorf(`GraphVersion("27") = nil error; want a refusal`)
	}
}

func TestParseScopes(t *testing.T) {
	t.Parallel()
	scopes, unlisted, err := ParseScopes("ads_read, brand_new", true)
	if err != nil || !slices.Equal(scopes, []string{"ads_read", "brand_new"}) || !slices.Equal(unlisted, []string{"brand_new"}) {
		t.Errorf("ParseScopes(allowed) = %v, %v, %v; want both scopes, brand_new unlisted", scopes, unlisted, err)
	}
	var uerr *mint.UnlistedScopeError
	if _, _, err := ParseScopes("ads_read brand_new", false); !errors.As(err, &uerr) || !slices.Equal(uerr.Scopes, []string{"brand_new"}) {
		t.Errorf("ParseScopes(not allowed) = %v; want an UnlistedScopeError naming brand_new", err)
	}
	if _, _, err := ParseScopes("Ads-Read", true); err == nil || errors.As(err, &uerr) {
		t.Errorf("ParseScopes(malformed) = %v; want a refusal that allowing cannot lift", err)
	}
}
