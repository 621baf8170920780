package mint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrRenewalMismatch is matched (errors.Is) by the error of RenewAccessToken
// when Graph issued a token that is not the renewal of the old one: not
// valid, another app, system user or set of scopes, or no later expiry.
var ErrRenewalMismatch = errors.New("mint: the refreshed token is not a renewal of the old one")

// Renewal is the result of RenewAccessToken.
type Renewal struct {
	// Token is the new token. It may equal the old one: Meta does not
	// promise a different value.
	Token *Token
	// Info is debug_token's answer for the new token.
	Info *TokenInfo
	// Previous is debug_token's answer for the old token.
	Previous *TokenInfo
}

// RenewAccessToken refreshes a valid expiring token and proves the new one
// is its renewal before returning it: it inspects the old token (unless
// r.Info is set), refreshes it (RefreshAccessToken: GET /oauth/access_token
// with fb_exchange_token), inspects the new token (GET /debug_token) and
// checks it with CheckRenewal.
//
// When Graph issued a token but a later step failed (the new token's
// inspection, or the check), the Renewal is returned beside the error, so
// the caller can hide the token and revoke it; the error of a failed check
// matches ErrRenewalMismatch. Revoke the new token only when it differs from
// r.AccessToken. RenewAccessToken never revokes anything itself.
func (c *Client) RenewAccessToken(ctx context.Context, r RefreshRequest) (*Renewal, error) {
	if err := requireIDs("app ID", r.App.ID); err != nil {
		return nil, err
	}
	if err := requireSet("app secret", r.App.Secret, "token to refresh", r.AccessToken); err != nil {
		return nil, err
	}
	prev := r.Info
	if prev == nil {
		var err error
		if prev, err = c.DebugToken(ctx, r.App, r.AccessToken); err != nil {
			return nil, err
		}
	}
	r.Info = prev
	tok, err := c.RefreshAccessToken(ctx, r)
	if err != nil {
		return nil, err
	}
	rn := &Renewal{Token: tok, Previous: prev}
	if rn.Info, err = c.DebugToken(ctx, r.App, tok.AccessToken); err != nil {
		return rn, err
	}
	if err := rn.Info.CheckRenewal(prev); err != nil {
		return rn, err
	}
	return rn, nil
}

// CheckRenewal reports every way i, a refreshed token's debug_token answer,
// falls short of renewing prev's token: it must be valid, a system user
// token of the same app and system user, with the same scopes, and expire
// later than prev (a refreshed token always expires). The error matches
// ErrRenewalMismatch, and ErrInvalidToken too when i is not valid.
func (i *TokenInfo) CheckRenewal(prev *TokenInfo) error {
	if err := i.Check(Expectation{AppID: prev.AppID, SystemUserID: prev.UserID, Scopes: prev.Scopes}); err != nil {
		return &renewalError{err: err}
	}
	var problems []string
	var extra []string
	for _, s := range i.Scopes {
		if !slices.Contains(prev.Scopes, s) {
			extra = append(extra, s)
		}
	}
	if len(extra) > 0 {
		problems = append(problems, "scopes the old token did not have: "+quoteList(extra))
	}
	switch {
	case i.NeverExpires():
		problems = append(problems, "it never expires, but a refreshed token expires")
	case !prev.NeverExpires() && !i.ExpiresAt.After(prev.ExpiresAt):
		problems = append(problems, fmt.Sprintf("it expires %s, not after the old token (%s)",
			i.ExpiresAt.UTC().Format(time.RFC3339), prev.ExpiresAt.UTC().Format(time.RFC3339)))
	}
	if len(problems) > 0 {
		return &renewalError{err: errors.New("mint: the token does not match the request: " + strings.Join(problems, "; "))}
	}
	return nil
}

// renewalError matches ErrRenewalMismatch and keeps the check's error.
type renewalError struct{ err error }

func (e *renewalError) Error() string {
	return "mint: the refreshed token is not a renewal of the old one: " + strings.TrimPrefix(strings.TrimPrefix(e.err.Error(), "mint: "), "the token does not match the request: ")
}
func (e *renewalError) Unwrap() []error { return []error{ErrRenewalMismatch, e.err} }
