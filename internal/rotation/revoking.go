package rotation

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/pkg/mint"
)

// revokeOrphan revokes a token this invocation made and that provably was
// not stored. The token is its own caller (the caller must be a token of the
// same app). A failure is logged: the token then lives until it expires.
//
// It never revokes a token the secret or its references hold (the current
// token, the minting token), whatever Graph answered: when the minting token
// cannot be read to compare, nothing is revoked.
func (r *Rotator) revokeOrphan(ctx context.Context, rot *rotation, app mint.App, token string) {
	rctx, cancel := r.cleanupContext(ctx)
	defer cancel()
	if cur := rot.current; cur != nil {
		minter, err := cur.AccessToken, error(nil)
		if rot.refs != nil {
			minter, err = rot.refs.MintingToken(rctx, cur)
		}
		if err != nil {
			rot.log().ErrorContext(ctx, "the minting token could not be read to compare; the token made but not stored is kept, not revoked", "version_id", rot.version, "error", err.Error())
			return
		}
		if held := heldAs(token, cur.AccessToken, minter); held != "" {
			rot.log().ErrorContext(ctx, "the token made but not stored is "+held+"; it is not revoked", "version_id", rot.version)
			return
		}
	}
	if err := r.Graph.RevokeAccessToken(rctx, mint.RevokeRequest{App: app, Token: token}); err != nil && !errors.Is(err, mint.ErrInvalidToken) {
		rot.log().ErrorContext(ctx, "could not revoke a token that was made but not stored; it stays valid until it expires", "version_id", rot.version, "error", err.Error())
		return
	}
	rot.log().InfoContext(ctx, "revoked a token that was made but not stored", "version_id", rot.version)
}

// revokeVersion revokes the token stored in version, the one the stages
// show with AWSPREVIOUS. It never revokes a token that the current or
// pending version also holds. The read names the label too, so Secrets
// Manager confirms it: had AWSCURRENT moved since the stages were described
// (AWSPREVIOUS moves with it), the read fails and nothing is revoked.
func (r *Rotator) revokeVersion(ctx context.Context, rot *rotation, version string) error {
	out, err := r.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(rot.arn),
		VersionId:    aws.String(version),
		VersionStage: aws.String(StagePrevious),
	})
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return smErr(rot.step, rot.arn, "GetSecretValue AWSPREVIOUS", err)
	}
	doc, err := parseStored(StagePrevious, out)
	if err != nil || doc.AccessToken == "" {
		rot.log().WarnContext(ctx, "AWSPREVIOUS holds no token metamint can read; nothing revoked", "previous_version_id", version)
		return nil
	}
	if doc.AccessToken == rot.pending.AccessToken {
		return nil
	}
	cur, err := r.loadCurrent(ctx, rot)
	if err != nil {
		return err
	}
	if doc.AccessToken == cur.AccessToken {
		return nil
	}
	app, err := r.app(ctx, rot, doc)
	if err != nil {
		return err
	}
	err = r.Graph.RevokeAccessToken(ctx, mint.RevokeRequest{App: app, Token: doc.AccessToken})
	switch {
	case err == nil:
		rot.log().InfoContext(ctx, "revoked the token two generations old", "revoked_version_id", version)
	case errors.Is(err, mint.ErrInvalidToken):
		rot.log().InfoContext(ctx, "the token two generations old was already invalid", "revoked_version_id", version)
	default:
		return graphErr(rot.step, rot.arn, "revoking the token two generations old", err)
	}
	return nil
}
