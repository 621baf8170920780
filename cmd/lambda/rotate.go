package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/pkg/mint"
)

// secretsAPI is the part of the Secrets Manager client the Lambda uses.
// *secretsmanager.Client satisfies it.
type secretsAPI interface {
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(context.Context, *secretsmanager.UpdateSecretVersionStageInput, ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
}

var _ secretsAPI = (*secretsmanager.Client)(nil)

// The rotation steps, as Secrets Manager spells them on the wire.
const (
	stepCreate = "createSecret"
	stepSet    = "setSecret"
	stepTest   = "testSecret"
	stepFinish = "finishSecret"
)

var steps = []string{stepCreate, stepSet, stepTest, stepFinish}

// Staging labels.
const (
	stageCurrent  = "AWSCURRENT"
	stagePending  = "AWSPENDING"
	stagePrevious = "AWSPREVIOUS"
)

// Outcomes of a step, reported in the response and the logs.
const (
	outcomeAlreadyCurrent = "already_current" // the version is AWSCURRENT: nothing left to do
	outcomeCreated        = "created"         // a token was minted or refreshed and stored as AWSPENDING
	outcomeExists         = "exists"          // AWSPENDING already held a value: nothing minted
	outcomeNothingToSet   = "nothing_to_set"
	outcomeTested         = "tested"        // the pending token passed debug_token
	outcomeConfigTested   = "config_tested" // no pending value (testSecret on its own): the configuration was checked
	outcomeFinished       = "finished"      // AWSCURRENT moved
)

// expiringLifetime is how long Meta says an expiring system user token
// lives. It estimates expires_at only when debug_token cannot say.
const expiringLifetime = 60 * 24 * time.Hour

// defaultHeadroom is the least time createSecret must have left before its
// context's deadline to start making a token.
const defaultHeadroom = 5 * time.Second

// rotator runs the four rotation steps for one secret at a time. It holds
// no per-rotation state and is safe for concurrent use.
type rotator struct {
	sm    secretsAPI
	graph *mint.Client
	log   *slog.Logger
	now   func() time.Time
	// headroom is the time left before the deadline below which
	// createSecret does not start a mint or refresh: a token Graph issues
	// when the invocation can no longer store it would stay live.
	headroom time.Duration
}

// rotation is one rotation of one secret, identified by its version token.
// The rotation-event path builds one per invocation. The scheduled path
// carries one through all four steps in-process, so the stages, the current
// value, the referenced secrets and debug_token answers are read once per
// rotation.
type rotation struct {
	secretID      string // as given: name or ARN
	token         string // ClientRequestToken: the new version's ID
	rotationToken string // from the event; passed back to PutSecretValue; never logged
	// scheduled marks a rotation the Lambda drives itself: Secrets Manager
	// has not created the AWSPENDING version, and the secret need not have
	// rotation enabled.
	scheduled bool
	refs      *refCache

	arn    string
	stages map[string][]string // VersionIdsToStages, from the last DescribeSecret
	// known marks stages as what Secrets Manager holds: described by this
	// rotation, and changed since only by its own writes, each of which
	// Secrets Manager accepted (see recordStage). begin then checks them
	// instead of describing the secret again. Only the scheduled path sets
	// it, where one run drives all four steps; a write refused as a conflict
	// clears it, so the next step describes again. An event-path invocation
	// runs one step and always describes.
	known bool

	current     *secretDoc      // AWSCURRENT's value
	currentInfo *mint.TokenInfo // debug_token of current.AccessToken
	pending     *secretDoc      // AWSPENDING's value (this token's version)
	pendingInfo *mint.TokenInfo // debug_token of pending.AccessToken
	method      string          // "refreshed" or "minted", once createSecret made a token
}

func (rot *rotation) name() string {
	if rot.arn != "" {
		return rot.arn
	}
	return rot.secretID
}

// runStep runs one step and logs its outcome.
func (r *rotator) runStep(ctx context.Context, rot *rotation, step string) (string, error) {
	var outcome string
	var err error
	switch step {
	case stepCreate:
		outcome, err = r.createSecret(ctx, rot)
	case stepSet:
		outcome, err = r.setSecret(ctx, rot)
	case stepTest:
		outcome, err = r.testSecret(ctx, rot)
	case stepFinish:
		outcome, err = r.finishSecret(ctx, rot)
	default:
		return "", eventErr(fmt.Errorf("unknown rotation step %q; want createSecret, setSecret, testSecret or finishSecret", step))
	}
	if err != nil {
		return "", err
	}
	r.log.InfoContext(ctx, "step done", "step", step, "secret_arn", rot.name(), "version_id", rot.token, "outcome", outcome)
	return outcome, nil
}

// begin runs the checks every step starts with, as Secrets Manager's
// rotation templates do: rotation not explicitly disabled, the token is a
// version of the secret, and either that version is already AWSCURRENT
// (the step has nothing to do: report true) or it is AWSPENDING.
//
// In the scheduled path the stages are usually known (see rotation.known):
// the run's first DescribeSecret, updated by the rotation's own writes.
// Secrets Manager still has the last word where it matters, because the
// calls that act on the stages name what they expect: PutSecretValue the
// version token (a concurrent run that stored it first makes it fail as a
// conflict), UpdateSecretVersionStage the version it takes AWSCURRENT from,
// and the read before a revoke the AWSPREVIOUS label. Had another run or
// actor moved AWSCURRENT meanwhile, that call fails, and so does the
// rotation, with nothing revoked and AWSCURRENT where the other put it.
func (r *rotator) begin(ctx context.Context, rot *rotation, step string) (alreadyCurrent bool, err error) {
	if !rot.known {
		desc, err := r.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(rot.secretID)})
		if err != nil {
			return false, smErr(step, rot.name(), "DescribeSecret", err)
		}
		rot.arn = aws.ToString(desc.ARN)
		rot.stages = desc.VersionIdsToStages
		if !rot.scheduled && desc.RotationEnabled != nil && !*desc.RotationEnabled {
			return false, stateErr(step, rot.arn, "rotation is disabled for this secret")
		}
		rot.known = rot.scheduled
	}
	labels, ok := rot.stages[rot.token]
	if !ok {
		if rot.scheduled && step == stepCreate {
			return false, nil // the scheduled path creates the version itself
		}
		return false, stateErr(step, rot.arn, "version %s is not a version of the secret with a staging label", rot.token)
	}
	if slices.Contains(labels, stageCurrent) {
		r.log.InfoContext(ctx, "version is already AWSCURRENT", "step", step, "secret_arn", rot.arn, "version_id", rot.token)
		return true, nil
	}
	if !slices.Contains(labels, stagePending) {
		return false, stateErr(step, rot.arn, "version %s is not AWSPENDING (its labels: %v)", rot.token, labels)
	}
	return false, nil
}

// recordStage notes in the known stages what a write that Secrets Manager
// accepted did: label is now on version, and on no other version.
func (rot *rotation) recordStage(label, version string) {
	if rot.stages == nil {
		rot.stages = map[string][]string{}
	}
	for v, labels := range rot.stages {
		if v != version && slices.Contains(labels, label) {
			rot.dropStage(label, v)
		}
	}
	if version != "" && !slices.Contains(rot.stages[version], label) {
		rot.stages[version] = append(slices.Clone(rot.stages[version]), label)
	}
}

// dropStage notes that label is off version. A version left without labels
// leaves VersionIdsToStages, as DescribeSecret omits it.
func (rot *rotation) dropStage(label, version string) {
	labels := slices.DeleteFunc(slices.Clone(rot.stages[version]), func(l string) bool { return l == label })
	if len(labels) == 0 {
		delete(rot.stages, version)
		return
	}
	rot.stages[version] = labels
}

// versionWith returns the version that holds label, or "".
func versionWith(stages map[string][]string, label string) string {
	for v, labels := range stages {
		if slices.Contains(labels, label) {
			return v
		}
	}
	return ""
}

// loadCurrent reads and parses AWSCURRENT's value once per rotation.
func (r *rotator) loadCurrent(ctx context.Context, rot *rotation, step string) (*secretDoc, error) {
	if rot.current != nil {
		return rot.current, nil
	}
	out, err := r.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(rot.arnOrID()),
		VersionStage: aws.String(stageCurrent),
	})
	if err != nil {
		if isNotFound(err) {
			return nil, stateErr(step, rot.name(), "the secret has no AWSCURRENT value: put the secret's JSON (app_id, system_user_id, scopes, app_secret_ref, access_token) first")
		}
		return nil, smErr(step, rot.name(), "GetSecretValue AWSCURRENT", err)
	}
	doc, err := parseStored(rot, step, stageCurrent, out)
	if err != nil {
		return nil, err
	}
	r.warnUnlisted(ctx, rot, step, doc)
	rot.current = doc
	return doc, nil
}

// loadPending reads and parses this rotation's AWSPENDING value. found is
// false when the version has no value (only ResourceNotFound means that).
func (r *rotator) loadPending(ctx context.Context, rot *rotation, step string) (doc *secretDoc, found bool, err error) {
	if rot.pending != nil {
		return rot.pending, true, nil
	}
	out, err := r.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(rot.arnOrID()),
		VersionId:    aws.String(rot.token),
		VersionStage: aws.String(stagePending),
	})
	if err != nil {
		if isNotFound(err) {
			return nil, false, nil
		}
		return nil, false, smErr(step, rot.name(), "GetSecretValue AWSPENDING", err)
	}
	if doc, err = parseStored(rot, step, stagePending, out); err != nil {
		return nil, true, err
	}
	rot.pending = doc
	return doc, true, nil
}

// parseStored parses the value of the version holding stage, as
// GetSecretValue returned it: a JSON SecretString, never binary data.
func parseStored(rot *rotation, step, stage string, out *secretsmanager.GetSecretValueOutput) (*secretDoc, error) {
	if out.SecretString == nil {
		return nil, formatErr(step, rot.name(), errors.New(stage+" holds binary data; metamint needs a JSON SecretString"))
	}
	doc, err := parseSecret(*out.SecretString)
	if err != nil {
		return nil, formatErr(step, rot.name(), fmt.Errorf("%s: %w", stage, err))
	}
	return doc, nil
}

func (rot *rotation) arnOrID() string {
	if rot.arn != "" {
		return rot.arn
	}
	return rot.secretID
}

func (r *rotator) warnUnlisted(ctx context.Context, rot *rotation, step string, doc *secretDoc) {
	if len(doc.UnlistedScopes) > 0 {
		r.log.WarnContext(ctx, "scopes not on the supported list, allowed by allow_unlisted_scopes",
			"step", step, "secret_arn", rot.name(), "scopes", doc.UnlistedScopes)
	}
}

// app resolves the app of doc, secret included.
func (r *rotator) app(ctx context.Context, rot *rotation, step string, doc *secretDoc) (mint.App, error) {
	if doc.AppSecret != "" {
		return mint.App{ID: doc.AppID, Secret: doc.AppSecret}, nil
	}
	secret, err := rot.refs.get(ctx, r.sm, doc.AppSecretRef, fieldAppSecret)
	if err != nil {
		return mint.App{}, referenceErr(step, rot.name(), fmt.Errorf("%s %q: %w", fieldAppSecretRef, doc.AppSecretRef, err))
	}
	return mint.App{ID: doc.AppID, Secret: secret}, nil
}

// inspectCurrent returns debug_token of the current token, asked once per
// rotation; nil when the secret holds no token yet.
func (r *rotator) inspectCurrent(ctx context.Context, rot *rotation, step string, app mint.App) (*mint.TokenInfo, error) {
	if rot.currentInfo != nil || rot.current.AccessToken == "" {
		return rot.currentInfo, nil
	}
	info, err := r.graph.DebugToken(ctx, app, rot.current.AccessToken)
	if err != nil {
		return nil, graphErr(step, rot.name(), "inspecting the current token (debug_token)", err)
	}
	rot.currentInfo = info
	return info, nil
}

// createSecret mints (or refreshes) a token and stores it as AWSPENDING,
// once per version token: when AWSPENDING already holds a value for this
// token, it does nothing.
func (r *rotator) createSecret(ctx context.Context, rot *rotation) (string, error) {
	const step = stepCreate
	done, err := r.begin(ctx, rot, step)
	if err != nil || done {
		return outcomeAlreadyCurrent, err
	}
	cur, err := r.loadCurrent(ctx, rot, step)
	if err != nil {
		return "", err
	}
	// A version that the stages do not list (the scheduled path's fresh
	// version token) has no value to find: reading it would only answer
	// ResourceNotFound. A listed one (a retried run resuming, an empty
	// placeholder Secrets Manager made) is read: only a value there means
	// nothing to mint. Should a concurrent run store this version after the
	// stages were described, PutSecretValue refuses the second value below.
	if _, listed := rot.stages[rot.token]; listed || !rot.scheduled {
		if _, found, err := r.loadPending(ctx, rot, step); err != nil || found {
			if err == nil {
				r.log.InfoContext(ctx, "AWSPENDING already holds a value: nothing minted", "step", step, "secret_arn", rot.arn, "version_id", rot.token)
			}
			return outcomeExists, err
		}
	}
	app, err := r.app(ctx, rot, step, cur)
	if err != nil {
		return "", err
	}
	info, err := r.inspectCurrent(ctx, rot, step, app)
	if err != nil {
		return "", err
	}
	tok, method, err := r.mintToken(ctx, rot, cur, app, info)
	if err != nil {
		return "", err
	}
	// From here a live token exists that only this invocation knows: store
	// it, or revoke it.
	iss := issued{token: tok.AccessToken, expiresAt: tok.ExpiresAt, issuedAt: r.now()}
	newInfo, derr := r.graph.DebugToken(ctx, app, tok.AccessToken)
	switch {
	case derr != nil:
		// Graph minted but cannot say more now. Keep the token (losing it
		// would orphan it); testSecret proves it before it becomes current.
		r.log.WarnContext(ctx, "debug_token of the new token failed; storing it with estimated metadata",
			"step", step, "secret_arn", rot.arn, "version_id", rot.token, "error", derr.Error())
		if iss.expiresAt.IsZero() && cur.ExpiringToken {
			iss.expiresAt = r.now().Add(expiringLifetime).UTC().Truncate(time.Second)
		}
	default:
		if err := newInfo.Check(cur.expectation()); err != nil {
			r.revokeOrphan(ctx, rot, step, app, tok.AccessToken)
			return "", tokenCheckErr(step, rot.arn, fmt.Errorf("the new token (%s) %w", method, err))
		}
		iss.expiresAt = newInfo.ExpiresAt
		if !newInfo.IssuedAt.IsZero() {
			iss.issuedAt = newInfo.IssuedAt
		}
		iss.scopes = newInfo.Scopes
		if iss.scopes == nil {
			iss.scopes = []string{}
		}
	}
	value, err := cur.withToken(iss)
	if err != nil {
		r.revokeOrphan(ctx, rot, step, app, tok.AccessToken)
		return "", formatErr(step, rot.arn, fmt.Errorf("encoding the new version: %w", err))
	}
	in := &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(rot.arn),
		ClientRequestToken: aws.String(rot.token),
		SecretString:       aws.String(value),
		VersionStages:      []string{stagePending},
	}
	if rot.rotationToken != "" {
		in.RotationToken = aws.String(rot.rotationToken)
	}
	if _, err := r.sm.PutSecretValue(ctx, in); err != nil {
		r.revokeOrphan(ctx, rot, step, app, tok.AccessToken)
		if isExists(err) {
			// Another invocation stored this version first: use its value,
			// and describe the stages again, which it may have moved on.
			rot.known = false
			r.log.InfoContext(ctx, "AWSPENDING was stored by a concurrent run; the token minted here was revoked",
				"step", step, "secret_arn", rot.arn, "version_id", rot.token)
			return outcomeExists, nil
		}
		return "", smErr(step, rot.arn, "PutSecretValue AWSPENDING", err)
	}
	stored, err := parseSecret(value)
	if err != nil { // cannot happen: value is cur with string fields replaced
		return "", formatErr(step, rot.arn, err)
	}
	rot.recordStage(stagePending, rot.token)
	rot.pending = stored
	if derr == nil {
		rot.pendingInfo = newInfo
	}
	rot.method = method
	r.log.InfoContext(ctx, "token stored as AWSPENDING", "step", step, "secret_arn", rot.arn, "version_id", rot.token,
		"method", method, "expires_at", formatTime(iss.expiresAt))
	return outcomeCreated, nil
}

// mintToken makes the new token: a refresh of the current token when it is
// a valid expiring token that matches the secret, else a new token from
// POST /{system-user-id}/access_tokens called with the minting token.
func (r *rotator) mintToken(ctx context.Context, rot *rotation, cur *secretDoc, app mint.App, info *mint.TokenInfo) (*mint.Token, string, error) {
	const step = stepCreate
	if deadline, ok := ctx.Deadline(); ok {
		if left := time.Until(deadline); left < r.headroom {
			return nil, "", graphErr(step, rot.arn, "making a token", fmt.Errorf(
				"not started with %s left before the deadline, too little to store the token: %w", left.Round(time.Millisecond), context.DeadlineExceeded))
		}
	}
	if cur.ExpiringToken && info != nil && info.IsValid && !info.NeverExpires() && info.Check(cur.expectation()) == nil {
		tok, err := r.graph.RefreshAccessToken(ctx, mint.RefreshRequest{App: app, AccessToken: cur.AccessToken, Info: info})
		if err != nil {
			return nil, "", graphErr(step, rot.arn, "refreshing the current token", err)
		}
		return tok, "refreshed", nil
	}

	minter, source := cur.AccessToken, "the managed token"
	if cur.MintingTokenRef != "" {
		var err error
		minter, err = rot.refs.get(ctx, r.sm, cur.MintingTokenRef, fieldAccessToken)
		if err != nil {
			return nil, "", referenceErr(step, rot.arn, fmt.Errorf("%s %q: %w", fieldMintingTokenRef, cur.MintingTokenRef, err))
		}
		source = fmt.Sprintf("the token in %s %q", fieldMintingTokenRef, cur.MintingTokenRef)
	} else {
		switch {
		case minter == "":
			return nil, "", mintingTokenErr(step, rot.arn,
				"the secret has no %s and no %s: seed the first token (metamint mint --json) or name a minting token", fieldAccessToken, fieldMintingTokenRef)
		case info != nil && !info.IsValid:
			return nil, "", mintingTokenErr(step, rot.arn,
				"the managed token mints its own successor and is not valid (%s): seed a new token (metamint mint --json) or set %s",
				tokenReason(info), fieldMintingTokenRef)
		}
	}
	if cur.InstallApp {
		err := r.graph.InstallApp(ctx, mint.InstallAppRequest{SystemUserID: cur.SystemUserID, App: app, AccessToken: minter})
		if err != nil {
			if errors.Is(err, mint.ErrInvalidToken) {
				return nil, "", mintingTokenErr(step, rot.arn, "installing the app: Graph refused %s as invalid: %v", source, err)
			}
			return nil, "", graphErr(step, rot.arn, "installing the app for the system user", err)
		}
	}
	tok, err := r.graph.CreateAccessToken(ctx, mint.TokenRequest{
		SystemUserID:        cur.SystemUserID,
		App:                 app,
		AccessToken:         minter,
		Scopes:              cur.Scopes,
		AllowUnlistedScopes: cur.AllowUnlistedScopes,
		Permanent:           !cur.ExpiringToken,
	})
	if err != nil {
		if errors.Is(err, mint.ErrInvalidToken) {
			return nil, "", mintingTokenErr(step, rot.arn, "minting: Graph refused %s as invalid: %v", source, err)
		}
		return nil, "", graphErr(step, rot.arn, "minting a token", err)
	}
	return tok, "minted", nil
}

func tokenReason(info *mint.TokenInfo) string {
	if info.Error == nil {
		return "debug_token says is_valid false"
	}
	return fmt.Sprintf("%s, code %d, subcode %d", info.Error.Message, info.Error.Code, info.Error.Subcode)
}

// revokeOrphan revokes a token this invocation minted and cannot store.
// A failure is logged: the token then lives until it expires.
func (r *rotator) revokeOrphan(ctx context.Context, rot *rotation, step string, app mint.App, token string) {
	// The invocation's own context may be what ended; give the revoke a
	// short context of its own.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.graph.RevokeAccessToken(rctx, mint.RevokeRequest{App: app, Token: token}); err != nil && !errors.Is(err, mint.ErrInvalidToken) {
		r.log.ErrorContext(ctx, "could not revoke a token that was minted but not stored; it stays valid until it expires",
			"step", step, "secret_arn", rot.name(), "version_id", rot.token, "error", err.Error())
		return
	}
	r.log.InfoContext(ctx, "revoked a token that was minted but not stored", "step", step, "secret_arn", rot.name(), "version_id", rot.token)
}

// setSecret has nothing to do: Meta activates a token when it issues it.
func (r *rotator) setSecret(ctx context.Context, rot *rotation) (string, error) {
	done, err := r.begin(ctx, rot, stepSet)
	if err != nil || done {
		return outcomeAlreadyCurrent, err
	}
	return outcomeNothingToSet, nil
}

// testSecret proves the pending token with debug_token: valid, a system user
// token, of the secret's app and system user, with every requested scope. It
// needs nothing from createSecret. When AWSPENDING has no value (Secrets
// Manager testing the configuration of a rotation it did not start), it
// checks instead that a rotation could succeed: the JSON parses, the
// references resolve, and a valid token exists to refresh or mint with.
func (r *rotator) testSecret(ctx context.Context, rot *rotation) (string, error) {
	const step = stepTest
	done, err := r.begin(ctx, rot, step)
	if err != nil || done {
		return outcomeAlreadyCurrent, err
	}
	pending, found, err := r.loadPending(ctx, rot, step)
	if err != nil {
		return "", err
	}
	if !found {
		return r.testConfiguration(ctx, rot)
	}
	if pending.AccessToken == "" {
		return "", tokenCheckErr(step, rot.arn, errors.New("AWSPENDING has no access_token"))
	}
	app, err := r.app(ctx, rot, step, pending)
	if err != nil {
		return "", err
	}
	info := rot.pendingInfo
	if info == nil {
		if info, err = r.graph.DebugToken(ctx, app, pending.AccessToken); err != nil {
			return "", graphErr(step, rot.arn, "inspecting the pending token (debug_token)", err)
		}
		rot.pendingInfo = info
	}
	if err := info.Check(pending.expectation()); err != nil {
		return "", tokenCheckErr(step, rot.arn, fmt.Errorf("the pending token: %w", err))
	}
	return outcomeTested, nil
}

func (r *rotator) testConfiguration(ctx context.Context, rot *rotation) (string, error) {
	const step = stepTest
	cur, err := r.loadCurrent(ctx, rot, step)
	if err != nil {
		return "", err
	}
	app, err := r.app(ctx, rot, step, cur)
	if err != nil {
		return "", err
	}
	if cur.MintingTokenRef != "" {
		if _, err := rot.refs.get(ctx, r.sm, cur.MintingTokenRef, fieldAccessToken); err != nil {
			return "", referenceErr(step, rot.arn, fmt.Errorf("%s %q: %w", fieldMintingTokenRef, cur.MintingTokenRef, err))
		}
	}
	info, err := r.inspectCurrent(ctx, rot, step, app)
	if err != nil {
		return "", err
	}
	if cur.MintingTokenRef == "" {
		switch {
		case info == nil:
			return "", mintingTokenErr(step, rot.arn, "the secret has no %s and no %s: a rotation could not mint", fieldAccessToken, fieldMintingTokenRef)
		case !info.IsValid:
			return "", mintingTokenErr(step, rot.arn, "the managed token is not valid (%s), so a rotation could not mint its successor", tokenReason(info))
		}
	}
	r.log.InfoContext(ctx, "AWSPENDING has no value: checked the configuration instead", "step", step, "secret_arn", rot.arn, "version_id", rot.token)
	return outcomeConfigTested, nil
}

// finishSecret makes the pending version AWSCURRENT. With revoke_previous,
// it first revokes the token of the version holding AWSPREVIOUS, which the
// move takes AWSPREVIOUS from (the token two generations old), so at most
// two tokens stay live. Revoking first makes the pair safe to retry: if the
// revoke fails, nothing moved and the next attempt tries again; if the move
// fails after it, the revoked token was already out of use (AWSCURRENT is
// one generation newer). Revoking after the move would lose the revoke for
// good when the invocation died in between, since a retried finishSecret
// finds the version already AWSCURRENT.
func (r *rotator) finishSecret(ctx context.Context, rot *rotation) (string, error) {
	const step = stepFinish
	done, err := r.begin(ctx, rot, step)
	if err != nil || done {
		return outcomeAlreadyCurrent, err
	}
	pending, found, err := r.loadPending(ctx, rot, step)
	if err != nil {
		return "", err
	}
	if !found {
		return "", stateErr(step, rot.arn, "AWSPENDING version %s has no value: createSecret has not stored one", rot.token)
	}
	curVersion := versionWith(rot.stages, stageCurrent)
	if pending.RevokePrevious {
		prev := versionWith(rot.stages, stagePrevious)
		if prev != "" && prev != rot.token && prev != curVersion {
			if err := r.revokeVersion(ctx, rot, prev, pending); err != nil {
				return "", err
			}
		}
	}
	in := &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:        aws.String(rot.arn),
		VersionStage:    aws.String(stageCurrent),
		MoveToVersionId: aws.String(rot.token),
	}
	if curVersion != "" {
		in.RemoveFromVersionId = aws.String(curVersion)
	}
	if _, err := r.sm.UpdateSecretVersionStage(ctx, in); err != nil {
		return "", smErr(step, rot.arn, "UpdateSecretVersionStage AWSCURRENT", err)
	}
	if curVersion != "" { // Secrets Manager gives AWSPREVIOUS to the version AWSCURRENT left
		rot.recordStage(stagePrevious, curVersion)
	}
	rot.recordStage(stageCurrent, rot.token)
	r.log.InfoContext(ctx, "AWSCURRENT moved", "step", step, "secret_arn", rot.arn, "version_id", rot.token, "previous_version_id", curVersion)
	if rot.scheduled {
		// Secrets Manager strips AWSPENDING after a rotation it ran; a
		// rotation run here does it itself, so the secret ends in the state
		// the next RotateSecret expects.
		_, err := r.sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
			SecretId:            aws.String(rot.arn),
			VersionStage:        aws.String(stagePending),
			RemoveFromVersionId: aws.String(rot.token),
		})
		if err != nil {
			r.log.WarnContext(ctx, "could not remove AWSPENDING from the new current version", "step", step, "secret_arn", rot.arn, "error", err.Error())
		} else {
			rot.dropStage(stagePending, rot.token)
		}
	}
	return outcomeFinished, nil
}

// revokeVersion revokes the token stored in version, the one the stages
// show with AWSPREVIOUS. It never revokes a token that the current or
// pending version also holds. The read names the label too, so Secrets
// Manager confirms it: had AWSCURRENT moved since the stages were described
// (AWSPREVIOUS moves with it), the read fails and nothing is revoked.
func (r *rotator) revokeVersion(ctx context.Context, rot *rotation, version string, pending *secretDoc) error {
	const step = stepFinish
	out, err := r.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(rot.arn),
		VersionId:    aws.String(version),
		VersionStage: aws.String(stagePrevious),
	})
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return smErr(step, rot.arn, "GetSecretValue AWSPREVIOUS", err)
	}
	if out.SecretString == nil {
		return nil
	}
	doc, err := parseSecret(*out.SecretString)
	if err != nil || doc.AccessToken == "" {
		r.log.WarnContext(ctx, "AWSPREVIOUS holds no token metamint can read; nothing revoked",
			"step", step, "secret_arn", rot.arn, "previous_version_id", version)
		return nil
	}
	if doc.AccessToken == pending.AccessToken {
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
	err = r.graph.RevokeAccessToken(ctx, mint.RevokeRequest{App: app, Token: doc.AccessToken})
	switch {
	case err == nil:
		r.log.InfoContext(ctx, "revoked the token two generations old", "step", step, "secret_arn", rot.arn, "revoked_version_id", version)
	case errors.Is(err, mint.ErrInvalidToken):
		r.log.InfoContext(ctx, "the token two generations old was already invalid", "step", step, "secret_arn", rot.arn, "revoked_version_id", version)
	default:
		return graphErr(step, rot.arn, "revoking the token two generations old", err)
	}
	return nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// refCache reads referenced secrets (app secrets, minting tokens) once per
// invocation, however many managed secrets name them. Safe for concurrent
// use.
type refCache struct {
	mu      sync.Mutex
	entries map[string]*refEntry
}

type refEntry struct {
	once  sync.Once
	value string
	err   error
}

func newRefCache() *refCache { return &refCache{entries: map[string]*refEntry{}} }

// get returns the value of the secret ref: its whole SecretString, or field
// when it is a JSON object.
func (c *refCache) get(ctx context.Context, sm secretsAPI, ref, field string) (string, error) {
	key := field + "\x00" + ref
	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		e = &refEntry{}
		c.entries[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
			SecretId:     aws.String(ref),
			VersionStage: aws.String(stageCurrent),
		})
		if err != nil {
			e.err = fmt.Errorf("secrets manager GetSecretValue: %w", err)
			return
		}
		if out.SecretString == nil {
			e.err = errors.New("the referenced secret holds binary data, not a string")
			return
		}
		e.value, e.err = referencedValue(*out.SecretString, field)
	})
	return e.value, e.err
}
