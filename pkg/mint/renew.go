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

// StepRefresh is the step of RenewAccessToken that refreshes the token
// (GET /oauth/access_token); StepCreated then names its Refreshed function,
// and StepDeliver its Deliver function.
const StepRefresh FlowStep = "refresh"

// ErrKept is matched (errors.Is) by a FlowError's RevokeErr when a new
// token that failed a later step was kept, not revoked, because the
// request's MayRevoke said another party may hold it.
var ErrKept = errors.New("mint: the new token was kept, not revoked: another party may hold it")

// RenewRequest is the input of RenewAccessToken.
type RenewRequest struct {
	RefreshRequest
	// Refreshed, when not nil, is called with the new token as soon as
	// Graph answered it, before it is inspected: a front end hides it from
	// its logs. An error it returns fails the call, and the token is
	// revoked (unless it is the old token's own value).
	Refreshed func(token string) error
	// MayRevoke, when not nil, is asked before a new token that failed a
	// later step is revoked, with a context of CleanupTimeout: false keeps
	// it, and the FlowError's RevokeErr matches ErrKept. Graph may answer
	// two refreshes of one token alike, so a caller whose store another
	// party writes too checks that the store has not changed meanwhile.
	MayRevoke func(ctx context.Context) bool
	// Deliver, when not nil, is called with the renewal once the new
	// token passed the check: a front end hands it over (standard output,
	// a store). An error it returns fails the call, and the new token is
	// revoked as after any later step's failure.
	Deliver func(*Renewal) error
}

// Renewal is the result of RenewAccessToken.
type Renewal struct {
	// Token is the new token, its ExpiresAt from debug_token. It may equal
	// the old one: Meta does not promise a different value.
	Token
	// Info is debug_token's answer for the new token.
	Info *TokenInfo
	// Previous is debug_token's answer for the old token.
	Previous *TokenInfo
}

// RenewAccessToken refreshes a valid expiring token and proves the new one
// is its renewal before returning it: it inspects the old token (unless
// r.Info is set), refreshes it (RefreshAccessToken: GET /oauth/access_token
// with fb_exchange_token), hands the new token to r.Refreshed, inspects it
// (GET /debug_token), checks it with CheckRenewal and hands it to r.Deliver.
//
// Nothing is refreshed once ctx is done; a refresh already under way when
// it is canceled is let finish, within CleanupTimeout, and its token then
// fails the next step. A new token that fails a later step (Refreshed,
// the inspection, the check, Deliver) is revoked within CleanupTimeout
// (Discard), even when ctx is done, unless r.MayRevoke says no, and the
// *FlowError says whether that worked (Minted, RevokeErr); a failed check
// matches ErrRenewalMismatch. The old token is never revoked, and neither
// is a new token with the old token's value (Minted is false then).
func (c *Client) RenewAccessToken(ctx context.Context, r RenewRequest) (*Renewal, error) {
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
			return nil, &FlowError{Step: StepInspect, Err: err}
		}
	}
	rr := r.RefreshRequest
	rr.Info = prev
	// As CreateVerifiedAccessToken's create: nothing is refreshed once ctx
	// is done, and a refresh in flight is let finish so that its token is
	// revoked rather than left live with nobody holding it.
	tok, err := makeToken(ctx, StepRefresh, func(ctx context.Context) (*Token, error) {
		return c.RefreshAccessToken(ctx, rr)
	})
	if err != nil {
		return nil, err
	}
	fail := func(step FlowStep, err error) error {
		if tok.AccessToken == r.AccessToken {
			return &FlowError{Step: step, Err: err}
		}
		if r.MayRevoke != nil && !r.mayRevoke(ctx) {
			return &FlowError{Step: step, Err: err, Minted: true, RevokeErr: ErrKept}
		}
		return &FlowError{Step: step, Err: err, Minted: true, RevokeErr: c.Discard(ctx, r.App, tok.AccessToken)}
	}
	if r.Refreshed != nil {
		if herr := r.Refreshed(tok.AccessToken); herr != nil {
			return nil, fail(StepCreated, herr)
		}
	}
	info, err := c.DebugToken(ctx, r.App, tok.AccessToken)
	if err != nil {
		return nil, fail(StepInspect, err)
	}
	if cerr := info.CheckRenewal(prev); cerr != nil {
		return nil, fail(StepCheck, cerr)
	}
	rn := &Renewal{Token: Token{AccessToken: tok.AccessToken, ExpiresAt: info.ExpiresAt}, Info: info, Previous: prev}
	if r.Deliver != nil {
		if err := r.Deliver(rn); err != nil {
			return nil, fail(StepDeliver, err)
		}
	}
	return rn, nil
}

// mayRevoke asks r.MayRevoke within CleanupTimeout, even when ctx is done,
// as Discard revokes.
func (r RenewRequest) mayRevoke(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
	defer cancel()
	return r.MayRevoke(ctx)
}

// CheckRenewal reports every way i, a refreshed token's debug_token answer,
// falls short of renewing prev's token: it must be valid, a system user
// token of the same app and system user, with the same scopes, and expire
// later than prev (a refreshed token always expires). A prev that names no
// app or no system user proves nothing, and fails. The error matches
// ErrRenewalMismatch, and ErrInvalidToken too when i is not valid.
func (i *TokenInfo) CheckRenewal(prev *TokenInfo) error {
	if prev.AppID == "" || prev.UserID == "" {
		// Check skips an expectation left empty.
		return &renewalError{err: errors.New("the old token's debug_token names no app or no system user, so the new token cannot be proven of the same app and system user")}
	}
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
		problems = append(problems, "scopes the old token did not have: "+quoteList(extra, QuoteCut))
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
