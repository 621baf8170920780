package rotation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/pkg/mint"
)

// create makes a token and stores it as the rotation's AWSPENDING value.
// It reports OutcomeExists when another run stored the version first.
func (r *Rotator) create(ctx context.Context, rot *rotation) (string, error) {
	cur, err := r.loadCurrent(ctx, rot)
	if err != nil {
		return "", err
	}
	app, err := r.app(ctx, rot, cur)
	if err != nil {
		return "", err
	}
	info, err := r.inspectCurrent(ctx, rot, app)
	if err != nil {
		return "", err
	}
	if err = r.checkConsent(ctx, rot, cur); err != nil {
		return "", err
	}
	m, err := r.mintToken(ctx, rot, cur, app, info, true)
	if err == nil && m.method == "refreshed" && m.token.AccessToken == cur.AccessToken {
		// Meta does not promise a new token on refresh. The same token
		// is no rotation: mint one instead, once.
		rot.log().WarnContext(ctx, "the refresh answered the token it was given; minting a new token instead", "version_id", rot.version)
		m, err = r.mintToken(ctx, rot, cur, app, info, false)
	}
	if err != nil {
		return "", err
	}
	tok, method := m.token, m.method
	if held := heldAs(tok.AccessToken, cur.AccessToken, m.minter); held != "" {
		// Graph answered a token the secret already holds: storing it
		// changes nothing, and revoking it (were it not stored) would
		// revoke the current token or the minting token of every secret
		// that shares it. It is neither stored nor revoked.
		return "", tokenCheckErr(rot.step, rot.arn, fmt.Errorf(
			"%s: Graph answered %s itself as the new token; refusing it (it is not stored and not revoked)", method, held))
	}
	// From here a live token exists that only this invocation knows: it is
	// stored, or revoked once it provably is not.
	iss, newInfo, err := r.describeNew(ctx, rot, cur, app, tok, method)
	if err != nil {
		return "", err
	}
	if older := issuedBefore(newInfo, rot.currentInfo); older != "" {
		// Issued before the current token: not a new token but one the
		// secret held before (AWSPREVIOUS's, a version's marked for a
		// later revocation), which a consumer may still hold. Making it
		// current again would move the secret back; revoking it could
		// cut off whoever holds it. Neither stored nor revoked.
		return "", tokenCheckErr(rot.step, rot.arn, fmt.Errorf(
			"%s: Graph answered a token issued at %s, before the current token (%s): an older token, not a new one; "+
				"refusing it (it is not stored and not revoked)", method, formatTime(newInfo.IssuedAt), older))
	}
	value, err := cur.WithToken(iss)
	if err != nil {
		r.revokeOrphan(ctx, rot, app, tok.AccessToken)
		return "", formatErr(rot.step, rot.arn, fmt.Errorf("encoding the new version: %w", err))
	}
	switch held, serr := r.store(ctx, rot, value, tok.AccessToken); held {
	case storedTheirs:
		r.revokeOrphan(ctx, rot, app, tok.AccessToken)
		return OutcomeExists, nil
	case storedNothing:
		r.revokeOrphan(ctx, rot, app, tok.AccessToken)
		return "", serr
	case storedUnknown:
		return "", serr
	}
	doc, err := secret.Parse(value)
	if err != nil { // cannot happen: value is cur with metamint's fields replaced
		return "", formatErr(rot.step, rot.arn, err)
	}
	rot.recordStage(StagePending, rot.version)
	rot.pending, rot.pendingInfo, rot.method = doc, newInfo, method
	rot.log().InfoContext(ctx, "token stored as AWSPENDING", "version_id", rot.version,
		"method", method, "expires_at", formatTime(iss.ExpiresAt))
	return OutcomeCreated, nil
}

// minted is a token mintToken made, how, and with which minting token.
type minted struct {
	token  *mint.Token
	method string // "refreshed" or "minted"
	minter string // the minting token: minting_token_ref's, else the managed token; "" when unread
}

// mintToken makes the new token: a refresh of the current token when it is
// a valid expiring token that matches the secret, else a new token from
// POST /{system-user-id}/access_tokens called with the minting token, which
// it returns too (after a refresh, when it can be read, to compare). refresh
// false skips the refresh.
func (r *Rotator) mintToken(ctx context.Context, rot *rotation, cur *secret.Doc, app mint.App, info *mint.TokenInfo, refresh bool) (minted, error) {
	if deadline, ok := ctx.Deadline(); ok {
		if left := time.Until(deadline); left < r.headroom() {
			return minted{}, graphErr(rot.step, rot.arn, "making a token", fmt.Errorf(
				"not started with %s left before the deadline, too little to store the token: %w", left.Round(time.Millisecond), context.DeadlineExceeded))
		}
	}
	if refresh && cur.ExpiringToken && info != nil && info.IsValid && !info.NeverExpires() && info.Check(cur.Expectation()) == nil {
		tok, err := r.Graph.RefreshAccessToken(ctx, mint.RefreshRequest{App: app, AccessToken: cur.AccessToken, Info: info})
		if err != nil {
			return minted{}, graphErr(rot.step, rot.arn, "refreshing the current token", err)
		}
		// The refresh does not use minting_token_ref's token, but Graph
		// may answer it: compared too, when it can be read (a token made
		// is not given up for a reference that cannot be read now).
		minter, merr := rot.refs.MintingToken(ctx, cur)
		if merr != nil {
			rot.log().WarnContext(ctx, "the minting token could not be read to compare with the refreshed token", "version_id", rot.version, "error", merr.Error())
		}
		return minted{tok, "refreshed", minter}, nil
	}
	minter, err := rot.refs.MintingToken(ctx, cur)
	if err != nil {
		return minted{}, referenceErr(rot.step, rot.arn, err)
	}
	source := "the managed token"
	if cur.MintingTokenRef != "" {
		source = fmt.Sprintf("the token in %s %q", secret.FieldMintingTokenRef, cur.MintingTokenRef)
	} else {
		switch {
		case minter == "":
			return minted{}, mintingTokenErr(rot.step, rot.arn,
				"the secret has no %s and no %s: seed the first token (metamint mint --json) or name a minting token", secret.FieldAccessToken, secret.FieldMintingTokenRef)
		case info != nil && !info.IsValid:
			return minted{}, mintingTokenErr(rot.step, rot.arn,
				"the managed token mints its own successor and is not valid (%s): seed a new token (metamint mint --json) or set %s",
				tokenReason(info), secret.FieldMintingTokenRef)
		}
	}
	mintingSecret, err := rot.refs.MintingAppSecret(ctx, cur)
	if err != nil {
		return minted{}, referenceErr(rot.step, rot.arn, err)
	}
	if cur.InstallApp {
		ierr := r.Graph.InstallApp(ctx, mint.InstallAppRequest{SystemUserID: cur.SystemUserID, App: app, AccessToken: minter, MintingAppSecret: mintingSecret})
		if ierr != nil {
			if errors.Is(ierr, mint.ErrInvalidToken) {
				return minted{}, mintingTokenErr(rot.step, rot.arn, "installing the app: Graph refused %s as invalid: %v", source, ierr)
			}
			return minted{}, graphErr(rot.step, rot.arn, "installing the app for the system user", ierr)
		}
	}
	tok, err := r.Graph.CreateAccessToken(ctx, mint.TokenRequest{
		SystemUserID:        cur.SystemUserID,
		App:                 app,
		AccessToken:         minter,
		MintingAppSecret:    mintingSecret,
		Scopes:              cur.Scopes,
		AllowUnlistedScopes: cur.AllowUnlistedScopes,
		Permanent:           !cur.ExpiringToken,
	})
	if err != nil {
		if errors.Is(err, mint.ErrInvalidToken) {
			return minted{}, mintingTokenErr(rot.step, rot.arn, "minting: Graph refused %s as invalid: %v", source, err)
		}
		return minted{}, graphErr(rot.step, rot.arn, "minting a token", err)
	}
	return minted{tok, "minted", minter}, nil
}

// describeNew asks debug_token about a token just made. A token that is not
// what the secret asks for is revoked (nothing stored it). When debug_token
// fails, the token is kept with estimated metadata: testSecret proves it
// before it becomes current.
func (r *Rotator) describeNew(ctx context.Context, rot *rotation, cur *secret.Doc, app mint.App, tok *mint.Token, method string) (secret.Issued, *mint.TokenInfo, error) {
	iss := secret.Issued{Token: tok.AccessToken, ExpiresAt: tok.ExpiresAt, IssuedAt: r.now()}
	info, err := r.Graph.DebugToken(ctx, app, tok.AccessToken)
	if err != nil {
		rot.log().WarnContext(ctx, "debug_token of the new token failed; storing it with estimated metadata", "version_id", rot.version, "error", err.Error())
		if iss.ExpiresAt.IsZero() && cur.ExpiringToken {
			iss.ExpiresAt = r.now().Add(expiringLifetime).UTC().Truncate(time.Second)
		}
		return iss, nil, nil
	}
	if err := info.Check(cur.Expectation()); err != nil {
		r.revokeOrphan(ctx, rot, app, tok.AccessToken)
		return iss, nil, tokenCheckErr(rot.step, rot.arn, fmt.Errorf("the new token (%s) %w", method, err))
	}
	iss.ExpiresAt = info.ExpiresAt
	if !info.IssuedAt.IsZero() {
		iss.IssuedAt = info.IssuedAt
	}
	iss.Scopes = info.Scopes
	if iss.Scopes == nil {
		iss.Scopes = []string{}
	}
	return iss, info, nil
}

// issuedBefore returns when the current token was issued when debug_token
// says the token just made (newInfo) was issued before it; else "". Both
// times are debug_token's, Meta's clock: the issued_at AWSCURRENT stores
// may be the Lambda's.
func issuedBefore(newInfo, currentInfo *mint.TokenInfo) string {
	if newInfo == nil || currentInfo == nil || newInfo.IssuedAt.IsZero() || !newInfo.IssuedAt.Before(currentInfo.IssuedAt) {
		return ""
	}
	return formatTime(currentInfo.IssuedAt)
}

// heldAs names the token tok equals among the current token and the
// minting token (either may be ""), or returns "".
func heldAs(tok, current, minter string) string {
	switch tok {
	case "":
		return ""
	case current:
		return "the current token"
	case minter:
		return "the minting token"
	}
	return ""
}
