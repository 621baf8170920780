package rotation

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/secret"
)

// The rotation steps, as Secrets Manager spells them on the wire.
const (
	StepCreate = "createSecret"
	StepSet    = "setSecret"
	StepTest   = "testSecret"
	StepFinish = "finishSecret"
)

// Steps are the four steps in order.
var Steps = []string{StepCreate, StepSet, StepTest, StepFinish}

// Outcomes of a step, reported in the response and the logs.
const (
	OutcomeAlreadyCurrent = "already_current" // the version is AWSCURRENT: nothing left to do
	OutcomeCreated        = "created"         // a token was minted or refreshed and stored as AWSPENDING
	OutcomeExists         = "exists"          // AWSPENDING already held a usable value: nothing minted
	OutcomeNothingToSet   = "nothing_to_set"
	OutcomeTested         = "tested"        // the pending token passed debug_token
	OutcomeConfigTested   = "config_tested" // no pending value (testSecret on its own): the configuration was checked
	OutcomeFinished       = "finished"      // AWSCURRENT moved
)

// Event is one step of a rotation Secrets Manager runs.
type Event struct {
	SecretID      string // name or ARN
	VersionID     string // the new version's ID: the event's ClientRequestToken
	RotationToken string // passed back to PutSecretValue; never logged
	Step          string // createSecret, setSecret, testSecret or finishSecret
}

// StepResult is what a step did.
type StepResult struct {
	SecretARN string
	State     State  // the state the step found
	Outcome   string // one of the Outcome constants
	// RevocationsFailed counts the revocations finishSecret tried and
	// failed (see the package doc, "Revocations"); they never fail it.
	RevocationsFailed int
}

// Step runs one step of a rotation that Secrets Manager drives. Every step
// starts as Secrets Manager's rotation templates do (rotation not turned
// off, the version a version of the secret), computes the state, refines
// PendingStored as far as the step needs (setSecret reads nothing,
// createSecret and finishSecret read the value, testSecret also asks
// debug_token), and switches on it. A step that fails returns one of the
// package's error classes.
func (r *Rotator) Step(ctx context.Context, ev Event) (StepResult, error) {
	rot := &rotation{secretID: ev.SecretID, version: ev.VersionID, rotationToken: ev.RotationToken, refs: secret.NewResolver(r.SM),
		step: ev.Step, logger: r.Log}
	var fn func(context.Context, *rotation, State) (string, error)
	refine := r.readPending
	switch ev.Step {
	case StepCreate:
		fn = r.createSecret
	case StepSet:
		fn, refine = r.setSecret, nil
	case StepTest:
		fn, refine = r.testSecret, r.settlePending
	case StepFinish:
		fn = r.finishSecret
	default:
		return StepResult{}, stateErr(ev.Step, ev.SecretID, "unknown rotation step %q", ev.Step)
	}
	state, err := r.begin(ctx, rot)
	if err == nil && state == PendingStored && refine != nil {
		state, err = refine(ctx, rot)
	}
	if err == nil && (state == OtherPending || state == NoPending) && rot.stages[rot.version] == nil {
		err = r.unlabelled(ctx, rot)
	}
	if err != nil {
		return StepResult{SecretARN: rot.name(), State: state, RevocationsFailed: rot.revocationsFailed}, err
	}
	outcome, err := fn(ctx, rot, state)
	res := StepResult{SecretARN: rot.name(), State: state, Outcome: outcome, RevocationsFailed: rot.revocationsFailed}
	if err != nil {
		return res, err
	}
	rot.log().InfoContext(ctx, "step done", "version_id", rot.version, "state", state.String(), "outcome", outcome)
	return res, nil
}

// begin describes the secret and computes the state of the rotation's
// labels: rotation must not be explicitly turned off.
func (r *Rotator) begin(ctx context.Context, rot *rotation) (State, error) {
	desc, err := r.describe(ctx, rot)
	if err != nil {
		return 0, err
	}
	if desc.RotationEnabled != nil && !*desc.RotationEnabled {
		return 0, stateErr(rot.step, rot.arn, "rotation is disabled for this secret")
	}
	return labelState(rot.stages, rot.version, false), nil
}

// unlabelled checks whether the event's version exists without labels
// (DescribeSecret omits such a version): another writer moved AWSPENDING
// off it to a version of its own, or took it off, during the rotation. Its
// token, if createSecret stored one, was never current, and may now be
// held by no one: it is judged as a superseded version is, at once
// (settleRevocations: revoked unless AWSCURRENT, AWSPENDING, AWSPREVIOUS
// or minting_token_ref holds it, or it is not this secret's live token;
// marked for a later run when the revocation fails). The step then fails
// with a ConcurrentChangeError. A version that does not exist returns nil.
//
// A version created before AWSCURRENT's version, or whose token was issued
// before AWSCURRENT's, may have been current once (an event delivered late,
// after later rotations): it is left alone, as the revocations of former
// current tokens are revoke_previous's to decide.
func (r *Rotator) unlabelled(ctx context.Context, rot *rotation) error {
	read := func(version string) (*secretsmanager.GetSecretValueOutput, error) {
		return r.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(rot.arn), VersionId: aws.String(version)})
	}
	out, err := read(rot.version)
	switch {
	case err != nil && isNotFound(err):
		return nil
	case err != nil:
		return smErr(rot.step, rot.arn, "GetSecretValue of the version", err)
	}
	rot.exists = true
	doc, _ := parseStored("the version", out)
	if cv := versionWith(rot.stages, StageCurrent); cv != "" {
		cur, err := read(cv)
		if err != nil {
			return smErr(rot.step, rot.arn, "GetSecretValue AWSCURRENT", err)
		}
		older := cur.CreatedDate != nil && out.CreatedDate != nil && cur.CreatedDate.After(*out.CreatedDate)
		if curDoc, _ := parseStored(StageCurrent, cur); doc != nil && curDoc != nil && !doc.IssuedAt.IsZero() && curDoc.IssuedAt.After(doc.IssuedAt) {
			older = true
		}
		if older {
			rot.log().InfoContext(ctx, "the version has no labels and is older than AWSCURRENT's (it may have been current): left alone", "version_id", rot.version)
			return nil
		}
	}
	now := otherPending(rot.stages, rot.version)
	what := "took AWSPENDING off it"
	if now != "" {
		what = "moved AWSPENDING to version " + now
	}
	fate := "it holds no token"
	if doc != nil && doc.AccessToken != "" {
		rot.log().WarnContext(ctx, "another writer "+what+" during the rotation; the token stored in the rotation's version is revoked unless AWSCURRENT, AWSPENDING or AWSPREVIOUS holds it",
			"version_id", rot.version, "pending_version_id", now)
		rot.supersede(rot.version)
		r.settleRevocations(ctx, rot)
		fate = "the token stored in it was revoked unless AWSCURRENT, AWSPENDING or AWSPREVIOUS holds it (the log says which)"
	}
	return &ConcurrentChangeError{Failure{rot.step, rot.arn, fmt.Errorf(
		"another writer %s during the rotation, leaving version %s without labels: %s. The rotation ends here; the next one starts afresh",
		what, rot.version, fate)}}
}

// notPendingErr is the error of a step whose version is not AWSPENDING.
func notPendingErr(rot *rotation, state State) error {
	if state == NoPending || (state == OtherPending && rot.stages[rot.version] == nil) {
		return stateErr(rot.step, rot.arn, "version %s is not a version of the secret with a staging label", rot.version)
	}
	return stateErr(rot.step, rot.arn, "version %s is not AWSPENDING (its labels: %q)", rot.version, rot.stages[rot.version])
}

// createSecret mints (or refreshes) a token and stores it as AWSPENDING,
// once per version token.
func (r *Rotator) createSecret(ctx context.Context, rot *rotation, state State) (string, error) {
	switch state {
	case Current:
		return OutcomeAlreadyCurrent, nil
	case PendingEmpty:
		return r.create(ctx, rot)
	case PendingStored:
		// Stored once per version token; testSecret proves it.
		rot.log().InfoContext(ctx, "AWSPENDING already holds a value: nothing minted", "version_id", rot.version)
		return OutcomeExists, nil
	case PendingUnusable:
		return "", r.discardAndFail(ctx, rot)
	default: // NoPending, NotPending, OtherPending
		return "", notPendingErr(rot, state)
	}
}

// discardAndFail discards the rotation's own pending version, which a
// rotation event cannot replace (its version ID is Secrets Manager's, and a
// version's value never changes), and fails the step: the rotation ends,
// and the next one (scheduled, or Secrets Manager's next) starts fresh.
func (r *Rotator) discardAndFail(ctx context.Context, rot *rotation) error {
	if err := r.discard(ctx, rot, rot.version); err != nil {
		return err
	}
	err := fmt.Errorf("the pending version %s holds an unusable token (%s); it was discarded, and the next rotation mints afresh", rot.version, rot.unusable)
	if rot.pendingInfo != nil { // debug_token said so
		return tokenCheckErr(rot.step, rot.arn, err)
	}
	return &RotationStateError{Failure{rot.step, rot.arn, err}}
}

// setSecret has nothing to do: Meta activates a token when it issues it.
func (r *Rotator) setSecret(_ context.Context, rot *rotation, state State) (string, error) {
	switch state {
	case Current:
		return OutcomeAlreadyCurrent, nil
	case PendingStored:
		return OutcomeNothingToSet, nil
	default:
		return "", notPendingErr(rot, state)
	}
}

// testSecret proves the pending token with debug_token: valid, a system user
// token, of the secret's app and system user, with every requested scope. It
// needs nothing from createSecret. When AWSPENDING has no value (Secrets
// Manager testing the configuration of a rotation it did not start), it
// checks instead that a rotation could succeed.
func (r *Rotator) testSecret(ctx context.Context, rot *rotation, state State) (string, error) {
	switch state {
	case Current:
		return OutcomeAlreadyCurrent, nil
	case PendingEmpty:
		if err := r.checkConfiguration(ctx, rot); err != nil {
			return "", err
		}
		rot.log().InfoContext(ctx, "AWSPENDING has no value: checked the configuration instead", "version_id", rot.version)
		return OutcomeConfigTested, nil
	case PendingUsable:
		return OutcomeTested, nil
	case PendingUnusable:
		return "", r.discardAndFail(ctx, rot)
	default:
		return "", notPendingErr(rot, state)
	}
}

// checkConfiguration checks that a rotation could succeed: the JSON parses,
// the references resolve, and a valid token exists to refresh or mint with.
func (r *Rotator) checkConfiguration(ctx context.Context, rot *rotation) error {
	cur, err := r.loadCurrent(ctx, rot)
	if err != nil {
		return err
	}
	app, err := r.app(ctx, rot, cur)
	if err != nil {
		return err
	}
	if _, rerr := rot.refs.MintingToken(ctx, cur); rerr != nil {
		return referenceErr(rot.step, rot.arn, rerr)
	}
	if _, rerr := rot.refs.MintingAppSecret(ctx, cur); rerr != nil {
		return referenceErr(rot.step, rot.arn, rerr)
	}
	info, err := r.inspectCurrent(ctx, rot, app)
	if err != nil {
		return err
	}
	if cur.MintingTokenRef == "" {
		switch {
		case info == nil:
			return mintingTokenErr(rot.step, rot.arn, "the secret has no %s and no %s: a rotation could not mint", secret.FieldAccessToken, secret.FieldMintingTokenRef)
		case !info.IsValid:
			return mintingTokenErr(rot.step, rot.arn, "the managed token is not valid (%s), so a rotation could not mint its successor", tokenReason(info))
		}
	}
	return nil
}

// finishSecret makes the pending version AWSCURRENT (see promote).
func (r *Rotator) finishSecret(ctx context.Context, rot *rotation, state State) (string, error) {
	switch state {
	case Current:
		// A retried finishSecret settles the revocations that are due,
		// as a run does.
		r.settleRevocations(ctx, rot)
		return OutcomeAlreadyCurrent, nil
	case PendingEmpty:
		return "", stateErr(rot.step, rot.arn, "AWSPENDING version %s has no value: createSecret has not stored one", rot.version)
	case PendingStored:
		if err := r.promote(ctx, rot); errors.Is(err, errEdited) {
			return "", r.discardAndFail(ctx, rot)
		} else if err != nil {
			return "", err
		}
		r.settleRevocations(ctx, rot)
		return OutcomeFinished, nil
	case PendingUnusable:
		return "", r.discardAndFail(ctx, rot)
	default:
		return "", notPendingErr(rot, state)
	}
}
