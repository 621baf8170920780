package rotation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/pkg/mint"
)

// The actions below are what the steps of both paths (rotation events and
// scheduled runs) do once they know the state. Each is short and does one
// thing.

// create makes a token and stores it as the rotation's AWSPENDING value.
// It reports OutcomeExists when another run stored the version first.
func (r *Rotator) create(ctx context.Context, rot *rotation, step string) (string, error) {
	cur, err := r.loadCurrent(ctx, rot, step)
	if err != nil {
		return "", err
	}
	app, err := r.app(ctx, rot, step, cur)
	if err != nil {
		return "", err
	}
	info, err := r.inspectCurrent(ctx, rot, step, app)
	if err != nil {
		return "", err
	}
	tok, method, minter, err := r.mintToken(ctx, rot, step, cur, app, info)
	if err != nil {
		return "", err
	}
	if held := heldAs(tok.AccessToken, cur.AccessToken, minter); held != "" {
		// Graph answered a token the secret already holds: storing it
		// changes nothing, and revoking it (were it not stored) would
		// revoke the current token or the minting token of every secret
		// that shares it. It is neither stored nor revoked.
		return "", tokenCheckErr(step, rot.arn, fmt.Errorf(
			"%s: Graph answered %s itself as the new token; refusing it (it is not stored and not revoked)", method, held))
	}
	// From here a live token exists that only this invocation knows: it is
	// stored, or revoked once it provably is not.
	iss, newInfo, err := r.describeNew(ctx, rot, step, cur, app, tok, method)
	if err != nil {
		return "", err
	}
	value, err := cur.WithToken(iss)
	if err != nil {
		r.revokeOrphan(ctx, rot, step, app, tok.AccessToken)
		return "", formatErr(step, rot.arn, fmt.Errorf("encoding the new version: %w", err))
	}
	switch held, serr := r.store(ctx, rot, step, value, tok.AccessToken); held {
	case storedTheirs:
		r.revokeOrphan(ctx, rot, step, app, tok.AccessToken)
		return OutcomeExists, nil
	case storedNothing:
		r.revokeOrphan(ctx, rot, step, app, tok.AccessToken)
		return "", serr
	case storedUnknown:
		return "", serr
	}
	doc, err := secret.Parse(value)
	if err != nil { // cannot happen: value is cur with metamint's fields replaced
		return "", formatErr(step, rot.arn, err)
	}
	rot.recordStage(StagePending, rot.token)
	rot.pending, rot.pendingInfo, rot.method = doc, newInfo, method
	r.Log.InfoContext(ctx, "token stored as AWSPENDING", "step", step, "secret_arn", rot.arn, "version_id", rot.token,
		"method", method, "expires_at", formatTime(iss.ExpiresAt))
	return OutcomeCreated, nil
}

// describeNew asks debug_token about a token just made. A token that is not
// what the secret asks for is revoked (nothing stored it). When debug_token
// fails, the token is kept with estimated metadata: testSecret proves it
// before it becomes current.
func (r *Rotator) describeNew(ctx context.Context, rot *rotation, step string, cur *secret.Doc, app mint.App, tok *mint.Token, method string) (secret.Issued, *mint.TokenInfo, error) {
	iss := secret.Issued{Token: tok.AccessToken, ExpiresAt: tok.ExpiresAt, IssuedAt: r.now()}
	info, err := r.Graph.DebugToken(ctx, app, tok.AccessToken)
	if err != nil {
		r.Log.WarnContext(ctx, "debug_token of the new token failed; storing it with estimated metadata",
			"step", step, "secret_arn", rot.arn, "version_id", rot.token, "error", err.Error())
		if iss.ExpiresAt.IsZero() && cur.ExpiringToken {
			iss.ExpiresAt = r.now().Add(expiringLifetime).UTC().Truncate(time.Second)
		}
		return iss, nil, nil
	}
	if err := info.Check(cur.Expectation()); err != nil {
		r.revokeOrphan(ctx, rot, step, app, tok.AccessToken)
		return iss, nil, tokenCheckErr(step, rot.arn, fmt.Errorf("the new token (%s) %w", method, err))
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

// stored is what a PutSecretValue left in Secrets Manager.
type stored int

const (
	storedOurs    stored = iota // the version holds the value written
	storedTheirs                // the version holds another value: a concurrent run stored it first
	storedNothing               // provably nothing: Secrets Manager refused the write, and the version is absent
	storedUnknown               // cannot tell: the token may be stored and must not be revoked
)

// store puts value (holding token) as the rotation's AWSPENDING version and
// says what Secrets Manager then holds.
//
// Each PutSecretValue is one SDK attempt (oneAttempt): with the SDK's
// retries, an attempt that committed and lost its answer hides behind the
// answers of the next attempts, and the call's error would say nothing of
// it. store repeats the write once itself instead.
//
// A write that fails is never judged from its error alone: the version is
// read back, with a context of its own (the invocation's may be what ended).
// The token is provably not stored only when the version holds another
// value, or when Secrets Manager refused the write (refused: a 4xx it
// documents as a refusal of the request) and the version is absent. A write
// that got no answer (a timeout, a lost connection, a 5xx: the write may
// have committed, and a read-back may lag it) is sent once more (same
// version token, same value: idempotent), and only that repeat's success
// decides; failing again, the token is kept.
func (r *Rotator) store(ctx context.Context, rot *rotation, step, value, token string) (stored, error) {
	in := &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(rot.arn),
		ClientRequestToken: aws.String(rot.token),
		SecretString:       aws.String(value),
		VersionStages:      []string{StagePending},
	}
	if rot.rotationToken != "" {
		in.RotationToken = aws.String(rot.rotationToken)
	}
	_, putErr := r.SM.PutSecretValue(ctx, in, oneAttempt)
	if putErr == nil {
		return storedOurs, nil
	}
	cctx, cancel := r.cleanupContext(ctx)
	defer cancel()
	held, found, err := r.readVersion(cctx, rot)
	rot.exists = rot.exists || found
	switch {
	case err != nil:
		r.Log.ErrorContext(ctx, "PutSecretValue failed and the version could not be read back; the new token may be stored, so it is kept",
			"step", step, "secret_arn", rot.arn, "version_id", rot.token, "error", putErr.Error(), "read_error", err.Error())
		return storedUnknown, smErr(step, rot.arn, "PutSecretValue AWSPENDING (failed; the read-back failed too, the token may be stored)", putErr)
	case found && held == token:
		r.Log.WarnContext(ctx, "PutSecretValue's answer was lost; the read-back shows the version stored",
			"step", step, "secret_arn", rot.arn, "version_id", rot.token, "error", putErr.Error())
		return storedOurs, nil
	case found:
		r.Log.InfoContext(ctx, "the version was stored by a concurrent run; the token made here was not stored",
			"step", step, "secret_arn", rot.arn, "version_id", rot.token)
		return storedTheirs, nil
	case refused(putErr):
		return storedNothing, smErr(step, rot.arn, "PutSecretValue AWSPENDING", putErr)
	}
	if _, err := r.SM.PutSecretValue(cctx, in, oneAttempt); err == nil {
		r.Log.WarnContext(ctx, "PutSecretValue got no answer; the version was absent, and the same write sent again stored it",
			"step", step, "secret_arn", rot.arn, "version_id", rot.token, "error", putErr.Error())
		return storedOurs, nil
	}
	r.Log.ErrorContext(ctx, "PutSecretValue got no answer and could not be repeated; the new token may still be stored, so it is kept",
		"step", step, "secret_arn", rot.arn, "version_id", rot.token, "error", putErr.Error())
	return storedUnknown, smErr(step, rot.arn, "PutSecretValue AWSPENDING (no answer; the token may be stored)", putErr)
}

// oneAttempt makes a Secrets Manager call a single attempt: its error is
// then the answer to that one request (see store).
func oneAttempt(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 }

// refusals are the error codes with which Secrets Manager refuses a
// PutSecretValue request, as its API reference documents them (the
// operation's errors and the common errors): answered with a 4xx, the
// request was not carried out. ResourceExistsException is not one: it says
// the version exists, and the read-back decides whose it is.
// ThrottlingException proves nothing about an earlier attempt, but store
// makes one attempt per call, so it is that request's own answer.
var refusals = []string{
	"InvalidParameterException", "InvalidRequestException", "LimitExceededException",
	"EncryptionFailure", "DecryptionFailure", "ResourceNotFoundException", "MalformedPolicyDocumentException",
	"ValidationException", "ThrottlingException", "AccessDeniedException", "IncompleteSignature",
	"InvalidClientTokenId", "MissingAuthenticationToken", "NotAuthorized", "OptInRequired",
	"RequestExpired", "InvalidAction", "InvalidParameterCombination", "InvalidParameterValue",
	"InvalidQueryParameter", "MissingAction", "MissingParameter", "MalformedQueryString",
}

// refused reports whether err is Secrets Manager's refusal of the request:
// an HTTP 4xx answer with one of the refusals' codes. A 5xx, an undocumented
// 4xx (a proxy's 408, say) and a request with no answer are not: the write
// may have been carried out.
func refused(err error) bool {
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.StatusCode < 400 || re.Response.StatusCode > 499 {
		return false
	}
	var api smithy.APIError
	return errors.As(err, &api) && slices.Contains(refusals, api.ErrorCode())
}

// readVersion reads the access_token the rotation's version holds, whatever
// its labels. found is false only on ResourceNotFound.
func (r *Rotator) readVersion(ctx context.Context, rot *rotation) (token string, found bool, err error) {
	out, err := r.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:  aws.String(rot.arn),
		VersionId: aws.String(rot.token),
	})
	if err != nil {
		if isNotFound(err) {
			return "", false, nil
		}
		return "", false, err
	}
	doc, err := parseStored("the version", out)
	if err != nil {
		return "", true, nil // another value: not ours
	}
	return doc.AccessToken, true, nil
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

// mintToken makes the new token: a refresh of the current token when it is
// a valid expiring token that matches the secret, else a new token from
// POST /{system-user-id}/access_tokens called with the minting token, which
// it returns too ("" after a refresh).
func (r *Rotator) mintToken(ctx context.Context, rot *rotation, step string, cur *secret.Doc, app mint.App, info *mint.TokenInfo) (*mint.Token, string, string, error) {
	if deadline, ok := ctx.Deadline(); ok {
		if left := time.Until(deadline); left < r.headroom() {
			return nil, "", "", graphErr(step, rot.arn, "making a token", fmt.Errorf(
				"not started with %s left before the deadline, too little to store the token: %w", left.Round(time.Millisecond), context.DeadlineExceeded))
		}
	}
	if cur.ExpiringToken && info != nil && info.IsValid && !info.NeverExpires() && info.Check(cur.Expectation()) == nil {
		tok, err := r.Graph.RefreshAccessToken(ctx, mint.RefreshRequest{App: app, AccessToken: cur.AccessToken, Info: info})
		if err != nil {
			return nil, "", "", graphErr(step, rot.arn, "refreshing the current token", err)
		}
		return tok, "refreshed", "", nil
	}
	minter, err := rot.refs.MintingToken(ctx, cur)
	if err != nil {
		return nil, "", "", referenceErr(step, rot.arn, err)
	}
	source := "the managed token"
	if cur.MintingTokenRef != "" {
		source = fmt.Sprintf("the token in %s %q", secret.FieldMintingTokenRef, cur.MintingTokenRef)
	} else {
		switch {
		case minter == "":
			return nil, "", "", mintingTokenErr(step, rot.arn,
				"the secret has no %s and no %s: seed the first token (metamint mint --json) or name a minting token", secret.FieldAccessToken, secret.FieldMintingTokenRef)
		case info != nil && !info.IsValid:
			return nil, "", "", mintingTokenErr(step, rot.arn,
				"the managed token mints its own successor and is not valid (%s): seed a new token (metamint mint --json) or set %s",
				tokenReason(info), secret.FieldMintingTokenRef)
		}
	}
	mintingSecret, err := rot.refs.MintingAppSecret(ctx, cur)
	if err != nil {
		return nil, "", "", referenceErr(step, rot.arn, err)
	}
	if cur.InstallApp {
		ierr := r.Graph.InstallApp(ctx, mint.InstallAppRequest{SystemUserID: cur.SystemUserID, App: app, AccessToken: minter, MintingAppSecret: mintingSecret})
		if ierr != nil {
			if errors.Is(ierr, mint.ErrInvalidToken) {
				return nil, "", "", mintingTokenErr(step, rot.arn, "installing the app: Graph refused %s as invalid: %v", source, ierr)
			}
			return nil, "", "", graphErr(step, rot.arn, "installing the app for the system user", ierr)
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
			return nil, "", "", mintingTokenErr(step, rot.arn, "minting: Graph refused %s as invalid: %v", source, err)
		}
		return nil, "", "", graphErr(step, rot.arn, "minting a token", err)
	}
	return tok, "minted", minter, nil
}

// revokeOrphan revokes a token this invocation made and that provably was
// not stored. The token is its own caller (the caller must be a token of the
// same app). A failure is logged: the token then lives until it expires.
//
// It never revokes a token the secret or its references hold (the current
// token, the minting token), whatever Graph answered: when the minting token
// cannot be read to compare, nothing is revoked.
func (r *Rotator) revokeOrphan(ctx context.Context, rot *rotation, step string, app mint.App, token string) {
	rctx, cancel := r.cleanupContext(ctx)
	defer cancel()
	if cur := rot.current; cur != nil {
		minter, err := cur.AccessToken, error(nil)
		if rot.refs != nil {
			minter, err = rot.refs.MintingToken(rctx, cur)
		}
		if err != nil {
			r.Log.ErrorContext(ctx, "the minting token could not be read to compare; the token made but not stored is kept, not revoked",
				"step", step, "secret_arn", rot.name(), "version_id", rot.token, "error", err.Error())
			return
		}
		if held := heldAs(token, cur.AccessToken, minter); held != "" {
			r.Log.ErrorContext(ctx, "the token made but not stored is "+held+"; it is not revoked",
				"step", step, "secret_arn", rot.name(), "version_id", rot.token)
			return
		}
	}
	if err := r.Graph.RevokeAccessToken(rctx, mint.RevokeRequest{App: app, Token: token}); err != nil && !errors.Is(err, mint.ErrInvalidToken) {
		r.Log.ErrorContext(ctx, "could not revoke a token that was made but not stored; it stays valid until it expires",
			"step", step, "secret_arn", rot.name(), "version_id", rot.token, "error", err.Error())
		return
	}
	r.Log.InfoContext(ctx, "revoked a token that was made but not stored", "step", step, "secret_arn", rot.name(), "version_id", rot.token)
}

// discard takes a pending version that holds an unusable value out of the
// way: it gets StageDiscarded first (so a scheduled rotation's next version
// token differs from it), then loses AWSPENDING. Nothing is revoked: the
// token is already unusable, or, if debug_token erred, stored.
func (r *Rotator) discard(ctx context.Context, rot *rotation, step, version string) error {
	in := &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:        aws.String(rot.arn),
		VersionStage:    aws.String(StageDiscarded),
		MoveToVersionId: aws.String(version),
	}
	if old := versionWith(rot.stages, StageDiscarded); old != "" && old != version {
		in.RemoveFromVersionId = aws.String(old)
	}
	if _, err := r.SM.UpdateSecretVersionStage(ctx, in); err != nil {
		return smErr(step, rot.arn, "UpdateSecretVersionStage "+StageDiscarded, err)
	}
	rot.recordStage(StageDiscarded, version)
	if !slices.Contains(rot.stages[version], StagePending) {
		return nil
	}
	if _, err := r.SM.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:            aws.String(rot.arn),
		VersionStage:        aws.String(StagePending),
		RemoveFromVersionId: aws.String(version),
	}); err != nil {
		return smErr(step, rot.arn, "UpdateSecretVersionStage remove AWSPENDING", err)
	}
	rot.dropStage(StagePending, version)
	r.Log.WarnContext(ctx, "discarded a pending version that holds an unusable token", "step", step, "secret_arn", rot.arn,
		"discarded_version_id", version, "reason", rot.unusable)
	return nil
}

// promote makes the rotation's version AWSCURRENT. With revoke_previous, it
// first revokes the token of the version holding AWSPREVIOUS, which the move
// takes AWSPREVIOUS from (the token two generations old), so at most two
// tokens stay live. Revoking first makes the pair safe to retry: if the
// revoke fails, nothing moved and the next attempt tries again; if the move
// fails after it, the revoked token was already out of use.
//
// A move whose answer is lost is read back (DescribeSecret): when the
// version holds AWSCURRENT, the move happened.
func (r *Rotator) promote(ctx context.Context, rot *rotation, step string) error {
	curVersion := versionWith(rot.stages, StageCurrent)
	if rot.pending.RevokePrevious {
		prev := versionWith(rot.stages, StagePrevious)
		if prev != "" && prev != rot.token && prev != curVersion {
			if err := r.revokeVersion(ctx, rot, step, prev); err != nil {
				return err
			}
		}
	}
	in := &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:        aws.String(rot.arn),
		VersionStage:    aws.String(StageCurrent),
		MoveToVersionId: aws.String(rot.token),
	}
	if curVersion != "" {
		in.RemoveFromVersionId = aws.String(curVersion)
	}
	if _, err := r.SM.UpdateSecretVersionStage(ctx, in); err != nil {
		cctx, cancel := r.cleanupContext(ctx)
		defer cancel()
		desc, derr := r.SM.DescribeSecret(cctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(rot.arn)})
		if derr != nil || !slices.Contains(desc.VersionIdsToStages[rot.token], StageCurrent) {
			return smErr(step, rot.arn, "UpdateSecretVersionStage AWSCURRENT", err)
		}
		r.Log.WarnContext(ctx, "UpdateSecretVersionStage's answer was lost; the read-back shows AWSCURRENT moved",
			"step", step, "secret_arn", rot.arn, "version_id", rot.token, "error", err.Error())
		rot.stages = desc.VersionIdsToStages
	} else {
		if curVersion != "" { // Secrets Manager gives AWSPREVIOUS to the version AWSCURRENT left
			rot.recordStage(StagePrevious, curVersion)
		}
		rot.recordStage(StageCurrent, rot.token)
	}
	r.Log.InfoContext(ctx, "AWSCURRENT moved", "step", step, "secret_arn", rot.arn, "version_id", rot.token, "previous_version_id", curVersion)
	return nil
}

// revokeVersion revokes the token stored in version, the one the stages
// show with AWSPREVIOUS. It never revokes a token that the current or
// pending version also holds. The read names the label too, so Secrets
// Manager confirms it: had AWSCURRENT moved since the stages were described
// (AWSPREVIOUS moves with it), the read fails and nothing is revoked.
func (r *Rotator) revokeVersion(ctx context.Context, rot *rotation, step, version string) error {
	out, err := r.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(rot.arn),
		VersionId:    aws.String(version),
		VersionStage: aws.String(StagePrevious),
	})
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return smErr(step, rot.arn, "GetSecretValue AWSPREVIOUS", err)
	}
	doc, err := parseStored(StagePrevious, out)
	if err != nil || doc.AccessToken == "" {
		r.Log.WarnContext(ctx, "AWSPREVIOUS holds no token metamint can read; nothing revoked",
			"step", step, "secret_arn", rot.arn, "previous_version_id", version)
		return nil
	}
	if doc.AccessToken == rot.pending.AccessToken {
		return nil
	}
	cur, err := r.loadCurrent(ctx, rot, step)
	if err != nil {
		return err
	}
	if doc.AccessToken == cur.AccessToken {
		return nil
	}
	app, err := r.app(ctx, rot, step, doc)
	if err != nil {
		return err
	}
	err = r.Graph.RevokeAccessToken(ctx, mint.RevokeRequest{App: app, Token: doc.AccessToken})
	switch {
	case err == nil:
		r.Log.InfoContext(ctx, "revoked the token two generations old", "step", step, "secret_arn", rot.arn, "revoked_version_id", version)
	case errors.Is(err, mint.ErrInvalidToken):
		r.Log.InfoContext(ctx, "the token two generations old was already invalid", "step", step, "secret_arn", rot.arn, "revoked_version_id", version)
	default:
		return graphErr(step, rot.arn, "revoking the token two generations old", err)
	}
	return nil
}

// checkConfiguration checks that a rotation could succeed: the JSON parses,
// the references resolve, and a valid token exists to refresh or mint with.
func (r *Rotator) checkConfiguration(ctx context.Context, rot *rotation, step string) error {
	cur, err := r.loadCurrent(ctx, rot, step)
	if err != nil {
		return err
	}
	app, err := r.app(ctx, rot, step, cur)
	if err != nil {
		return err
	}
	if _, rerr := rot.refs.MintingToken(ctx, cur); rerr != nil {
		return referenceErr(step, rot.arn, rerr)
	}
	if _, rerr := rot.refs.MintingAppSecret(ctx, cur); rerr != nil {
		return referenceErr(step, rot.arn, rerr)
	}
	info, err := r.inspectCurrent(ctx, rot, step, app)
	if err != nil {
		return err
	}
	if cur.MintingTokenRef == "" {
		switch {
		case info == nil:
			return mintingTokenErr(step, rot.arn, "the secret has no %s and no %s: a rotation could not mint", secret.FieldAccessToken, secret.FieldMintingTokenRef)
		case !info.IsValid:
			return mintingTokenErr(step, rot.arn, "the managed token is not valid (%s), so a rotation could not mint its successor", tokenReason(info))
		}
	}
	return nil
}
