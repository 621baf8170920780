package main

import (
	"context"
	"errors"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/metamint/metamint/pkg/mint"
)

// runPost is the post step: it revokes the token the main step minted. It
// never fails the job. It skips quietly when skip-token-revoke is true, when
// the main step saved no token (it failed before minting, or revoked the
// token itself) and when the token has already expired; a failed revoke is
// a warning. The token, the app ID and the Graph URL and version come from
// the state the main step saved; the app secret from the app-secret input,
// which the runner passes to the post step too, or with aws-secret-id from
// the managed secret, read again (postAppSecret): no secret is saved in the
// state. A failed read is a warning naming its cause.
func runPost(ctx context.Context, a *githubactions.Action, in inputs, cfg *config) {
	skip, err := parseBool(inSkipTokenRevoke, in.skipTokenRevoke, false)
	if err != nil {
		a.Warningf("%s; revoking the token anyway", err)
	}
	if skip {
		a.Infof("skip-token-revoke is true: the token stays valid after the job.")
		return
	}
	token := a.Getenv("STATE_" + stateToken)
	if token == "" {
		a.Infof("No token to revoke: the main step did not hand one over.")
		return
	}
	if raw := a.Getenv("STATE_" + stateExpiresAt); raw != "" {
		exp, perr := time.Parse(time.RFC3339, raw)
		switch {
		case perr != nil:
			a.Warningf("The saved expiry %q is not an RFC 3339 time; revoking the token anyway", raw)
		case !cfg.now().Before(exp):
			a.Infof("The token expired at %s: nothing to revoke.", exp.UTC().Format(time.RFC3339))
			return
		}
	}

	app := mint.App{ID: a.Getenv("STATE_" + stateAppID), Secret: in.appSecret}
	if in.awsSecretID != "" {
		// The keyless path: GitHub holds no app secret, so read it again
		// from the managed secret with the job's AWS credentials. Nothing
		// secret was saved in the state.
		id, secretValue, readErr := postAppSecret(ctx, a, in, cfg, token)
		if readErr != nil {
			a.Warningf("Could not revoke the token: %s: %s. It stays valid until it expires; revoke it in Business Settings if it must not outlive the job.",
				inAWSSecretID, readErr)
			return
		}
		if app.ID == "" {
			app.ID = id
		}
		if id != app.ID {
			a.Warningf("Could not revoke the token: the secret %s now names app %s, but the token was minted for app %s. It stays valid until it expires.",
				quoteID(in.awsSecretID), id, app.ID)
			return
		}
		app.Secret = secretValue
	}
	if app.Secret == "" {
		a.Warningf("Could not revoke the token: the %s input is empty in the post step. It stays valid until it expires.", inAppSecret)
		return
	}
	graphAPIURL := a.Getenv("STATE_" + stateGraphAPIURL)
	if graphAPIURL == "" {
		graphAPIURL = mint.DefaultBaseURL
	}
	version := a.Getenv("STATE_" + stateGraphAPIVersion)
	if version == "" {
		version = mint.DefaultVersion
	}
	c, err := newClient(cfg, graphAPIURL, version)
	if err != nil {
		a.Warningf("Could not revoke the token: %s. It stays valid until it expires.", libMessage(err))
		return
	}
	err = c.RevokeAccessToken(ctx, mint.RevokeRequest{App: app, Token: token})
	if errors.Is(err, mint.ErrInvalidToken) {
		// The token calls for its own revocation: Graph refusing it as a
		// caller means it is already revoked or expired.
		a.Infof("The token is no longer valid (already revoked or expired): nothing to revoke.")
		return
	}
	if err != nil {
		a.Warningf("Could not revoke the token (GET /oauth/revoke): %s It stays valid until it expires; revoke it in Business Settings if it must not outlive the job.", describe(err))
		return
	}
	a.Infof("Revoked the token the main step minted.")
}
