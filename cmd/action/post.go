package main

import (
	"context"
	"crypto/hmac"
	"errors"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/metamint/metamint/internal/front"
	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/pkg/mint"
)

// runPost is the post step: it revokes the token the main step minted. It
// never fails the job. It skips quietly when the step renews a secret
// (renew-secret: its inputs decide, not the state), when skip-token-revoke
// is true (with a warning when the main step saved a token, so had it
// false: the runner evaluates the inputs again), when the main step saved no token (it failed before minting, or
// revoked the token itself) and when Graph refuses the token as no longer
// valid (revoked or expired; the saved expiry is not trusted to say so); a
// failed revoke is a warning. The token and the app ID come from the state
// the main step saved; the app, the Graph URL and version from the inputs,
// which the runner passes to the post step too, or with aws-secret-id from
// the managed secret, read again (postSecret): no secret is saved in the
// state. A failed read is a warning naming its cause. It refuses a token
// the step mints with (the calling token, every token the managed secret
// or its references hold, in AWSCURRENT, AWSPENDING or AWSPREVIOUS), a
// saved value that is not a token, and a token whose saved proof does not
// match the app secret (the main step saves the token's appsecret_proof
// with it).
func runPost(ctx context.Context, a *githubactions.Action, in inputs, cfg *config) {
	if renewing(a) {
		// The step's inputs decide, not GITHUB_STATE: a renewal mints no
		// job token, and the token it wrote is the secret's.
		a.Infof("No token to revoke: %s is set, and a renewal mints no job token.", inRenewSecret)
		return
	}
	skip, err := parseBool(inSkipTokenRevoke, in.skipTokenRevoke, false)
	if err != nil {
		a.Warningf("%s; revoking the token anyway", err)
	}
	token := a.Getenv("STATE_" + stateToken)
	if skip {
		if token != "" {
			// The runner evaluated the inputs again: the main step, which
			// saves a token only to have it revoked, said it would be.
			a.Warningf("%s is true in the post step, but was not when the main step minted the token, which said it would be revoked: the token stays valid after the job, until it expires.",
				inSkipTokenRevoke)
			return
		}
		a.Infof("skip-token-revoke is true: the token stays valid after the job.")
		return
	}
	if token == "" {
		a.Infof("No token to revoke: the main step did not hand one over.")
		return
	}
	// The main step saves only tokens that passed mint.CheckTokenValue:
	// any other value is another step's. White space around a protected
	// token would escape the comparison below, and Graph may trim it.
	if mint.CheckTokenValue(token) != nil {
		a.Warningf("Not revoking the token the saved state names: it is not an access token (white space, a control character or over 4096 bytes), so the main step did not save it. Another step of the job may have changed GITHUB_STATE.")
		return
	}
	// The saved expiry decides nothing: it is debug_token's word at
	// minting time, in a file any step may write, and this machine's
	// clock may be wrong. The revocation is tried whatever it says;
	// Graph's answer tells an expired token (ErrInvalidToken below). A
	// saved expiry that is no time may hold anything, an app secret
	// included: it is quoted only once every secret the step reads (with
	// aws-secret-id, from AWS below) is masked, and without them.
	var badExpiry string
	if raw := a.Getenv("STATE_" + stateExpiresAt); raw != "" {
		if _, perr := time.Parse(time.RFC3339, raw); perr != nil {
			badExpiry = raw
		}
	}

	// GITHUB_STATE is a file every step of the job may write: the post step
	// calls only the Graph API of its inputs, which the runner passes to
	// it too, and never revokes a token the step mints with.
	graph, problems := front.Values{GraphURL: in.graphAPIURL, GraphVersion: in.graphAPIVersion}.Check(inputNames)
	if len(problems) > 0 {
		a.Warningf("Could not revoke the token: %s. It stays valid until it expires.", strings.Join(problems, "; "))
		return
	}
	app := mint.App{ID: in.appID, Secret: in.appSecret}
	protected := map[string]string{in.accessToken: "the calling token (" + inAccessToken + ")"}
	if in.awsSecretID != "" {
		// The keyless path: GitHub holds no app secret, so read it again
		// from the managed secret with the job's AWS credentials. Nothing
		// secret was saved in the state.
		got, readErr := postSecret(ctx, in, cfg)
		if readErr != nil {
			a.Warningf("Could not revoke the token: %s: %s. It stays valid until it expires; revoke it in Business Settings if it must not outlive the job.",
				inAWSSecretID, readErr)
			return
		}
		app = got.app
		for _, t := range got.tokens {
			protected[t] = "a token the managed secret " + quoteID(in.awsSecretID) + " holds (" + secret.FieldAccessToken + " or " + secret.FieldMintingTokenRef + ")"
		}
		if _, ok := protected[token]; !ok {
			if what := got.versions.holder(token); what != "" {
				protected[token] = what
			}
		}
	}
	if badExpiry != "" {
		a.Warningf("The saved expiry %s is not an RFC 3339 time; revoking the token anyway", mint.QuoteInput(cfg.hidden.Redact(badExpiry)))
	}
	if what, ok := protected[token]; ok && token != "" {
		a.Warningf("Not revoking the token the saved state names: it is %s, which the action never revokes. Another step of the job may have changed GITHUB_STATE.", what)
		return
	}
	if saved := a.Getenv("STATE_" + stateAppID); saved != "" && saved != app.ID {
		if !mint.IsGraphID(saved) {
			saved = mint.QuoteInput(cfg.hidden.Redact(saved)) // another step's, and maybe anything
		}
		a.Warningf("Could not revoke the token: it was minted for app %s, but app %s is configured now. It stays valid until it expires.",
			saved, app.ID)
		return
	}
	if app.Secret == "" {
		a.Warningf("Could not revoke the token: the %s input is empty in the post step. It stays valid until it expires.", inAppSecret)
		return
	}
	proof := []byte(a.Getenv("STATE_" + stateTokenProof))
	if !hmac.Equal(proof, []byte(mint.AppSecretProof(app.Secret, token))) {
		a.Warningf("Not revoking the token the saved state names: the main step did not mint it (its saved proof does not match the app secret). " +
			"Another step of the job may have changed GITHUB_STATE, or the app secret changed during the job; the token the main step minted stays valid until it expires.")
		return
	}
	c, err := graph.Client(cfg.graphOptions(a)...)
	if err != nil {
		a.Warningf("Could not revoke the token: %s. It stays valid until it expires.", front.Message(err))
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
		a.Warningf("Could not revoke the token (GET /oauth/revoke): %s It stays valid until it expires; revoke it in Business Settings if it must not outlive the job.", front.Describe(err))
		return
	}
	a.Infof("Revoked the token the main step minted.")
}
