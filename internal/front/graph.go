package front

import (
	"errors"

	"github.com/metamint/metamint/pkg/mint"
)

// GraphURL returns the Graph base URL to call: raw checked
// (mint.CheckBaseURL), or mint.DefaultBaseURL when raw is empty.
func GraphURL(raw string) (string, error) {
	if raw == "" {
		raw = mint.DefaultBaseURL
	}
	return mint.CheckBaseURL(raw)
}

// GraphVersion returns the Graph version to name: v checked
// (mint.CheckVersion), or mint.DefaultVersion when v is empty.
func GraphVersion(v string) (string, error) {
	if v == "" {
		v = mint.DefaultVersion
	}
	return v, mint.CheckVersion(v)
}

// NewClient builds the Graph client both front ends call with: the base URL
// and version (empty for the defaults), the shared retry policy
// (mint.DefaultRetryPolicy), then opts, which win.
func NewClient(graphURL, version string, opts ...mint.Option) (*mint.Client, error) {
	base := []mint.Option{mint.WithRetry(mint.DefaultRetryPolicy())}
	if graphURL != "" {
		base = append(base, mint.WithBaseURL(graphURL))
	}
	if version != "" {
		base = append(base, mint.WithVersion(version))
	}
	return mint.NewClient(append(base, opts...)...)
}

// ParseScopes parses raw (commas and/or white space) and checks every
// scope (mint.CheckScopes). With allowUnlisted, scopes missing from mint's
// list are returned in unlisted, for a warning; without, they are an
// *mint.UnlistedScopeError.
func ParseScopes(raw string, allowUnlisted bool) (scopes, unlisted []string, err error) {
	scopes = mint.ParseScopes(raw)
	err = mint.CheckScopes(scopes)
	var uerr *mint.UnlistedScopeError
	if errors.As(err, &uerr) && allowUnlisted {
		return scopes, uerr.Scopes, nil
	}
	return scopes, nil, err
}
