package rotation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/pkg/mint"
)

// stepSchedule is the step a run's own checks report.
const stepSchedule = "schedule"

// plan is one secret of a run: it describes the secret once, computes the
// state of this cycle's rotation, and switches on it (see the package doc's
// table, column "run").
type plan struct {
	f      *Fleet
	r      *Rotator
	res    SecretResult
	force  bool
	mode   Mode
	claims *claimSet
	refs   *secret.Resolver
	desc   *secretsmanager.DescribeSecretOutput
	rot    *rotation
}

func (p *plan) run(ctx context.Context) SecretResult {
	if err := p.describe(ctx); err != nil {
		return p.fail(ctx, err)
	}
	if p.res.Status != "" {
		return p.res
	}
	state := labelState(p.rot.stages, p.rot.version, false)
	p.res.State = state.String()
	var err error
	switch state {
	case PendingStored:
		err = p.resume(ctx)
	case OtherPending:
		err = p.other(ctx)
	case NotPending:
		err = p.replace(ctx, p.rot.version)
	case Current:
		p.res.Status, p.res.Reason = StatusNotDue, "this cycle's rotation is already finished"
	default: // NoPending
		err = p.fresh(ctx)
	}
	if p.rot.current != nil {
		p.r.settleRevocations(ctx, p.rot)
		p.res.RevocationsFailed = p.rot.revocationsFailed
	}
	if err != nil {
		return p.fail(ctx, err)
	}
	return p.res
}

// describe reads the secret, claims it for this run and derives the
// version token of this cycle.
func (p *plan) describe(ctx context.Context) error {
	id := p.res.SecretID
	desc, err := p.r.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		return smErr(stepSchedule, id, "DescribeSecret", err)
	}
	p.desc = desc
	arn := aws.ToString(desc.ARN)
	p.res.SecretARN = arn
	if first, ok := p.claims.claim(arn, id); !ok {
		p.res.Status, p.res.Reason = StatusSkipped, fmt.Sprintf("the same secret as %q in this run", first)
		return nil
	}
	curVersion := versionWith(desc.VersionIdsToStages, StageCurrent)
	if curVersion == "" {
		return stateErr(stepSchedule, arn, "the secret has no AWSCURRENT version: put the secret's JSON first")
	}
	if p.mode == FanOut {
		if err := rotationConfigured(desc); err != nil {
			return err
		}
	}
	version := VersionToken(arn, curVersion, versionWith(desc.VersionIdsToStages, StageDiscarded))
	p.rot = &rotation{secretID: arn, version: version, refs: p.refs, arn: arn, stages: cloneStages(desc.VersionIdsToStages),
		step: stepSchedule, logger: p.r.Log}
	return nil
}

// of is a rotation of version, another version of the same secret in the
// same run: it keeps what the run read of the secret (its labels,
// AWSCURRENT) and what the run settles at its end (the versions it
// superseded, the revocations that failed), and nothing of rot's own
// version.
func (rot *rotation) of(version string) *rotation {
	return &rotation{secretID: rot.arn, arn: rot.arn, version: version, refs: rot.refs, stages: rot.stages, step: stepSchedule, logger: rot.logger,
		current: rot.current, currentVer: rot.currentVer, currentCreated: rot.currentCreated, currentInfo: rot.currentInfo,
		superseded: rot.superseded, revocationsFailed: rot.revocationsFailed}
}

// fresh is NoPending: rotate when due.
func (p *plan) fresh(ctx context.Context) error {
	due, reason, err := p.due(ctx)
	if err != nil || !due {
		return err
	}
	return p.rotate(ctx, reason)
}

// resume is this cycle's own pending version (PendingStored before it is
// read): an empty one is filled, a usable one finished, an unusable one
// discarded and replaced. Fan-out leaves it to Secrets Manager.
func (p *plan) resume(ctx context.Context) error {
	rot := p.rot
	if p.mode == FanOut {
		p.res.Status, p.res.VersionID = StatusSkipped, rot.version
		p.res.Reason = "the rotation of this cycle is in progress (AWSPENDING is on its version): Secrets Manager runs it " +
			"and retries a failed step; if it gave up, an inline run finishes it"
		return p.inProgress(ctx, rot.version)
	}
	if slices.Contains(rot.stages[rot.version], StagePrevious) {
		// The rotation finished, and AWSCURRENT was moved back off its
		// version since (a rollback): AWSPENDING is the finished run's
		// leftover. Resuming would undo the rollback.
		rot.unusable = "it was current once and AWSCURRENT was moved off it (it holds AWSPREVIOUS)"
		return p.replace(ctx, rot.version)
	}
	state, err := p.r.settlePending(ctx, rot)
	if err != nil {
		return err
	}
	p.res.State = state.String()
	switch state {
	case PendingEmpty:
		return p.rotate(ctx, "resuming the rotation an earlier run started; its pending version is still empty")
	case PendingUsable:
		return p.finish(ctx, "resuming the rotation an earlier run started")
	default: // PendingUnusable
		return p.replace(ctx, rot.version)
	}
}

// replace discards version (this cycle's, unusable or unlabelled) and
// rotates under the next version token.
func (p *plan) replace(ctx context.Context, version string) error {
	rot := p.rot
	if rot.unusable == "" {
		rot.unusable = "the version lost its AWSPENDING label"
	}
	reason := "replacing a pending version that cannot be used: " + rot.unusable
	if err := p.r.discard(ctx, rot, version); err != nil {
		return err
	}
	p.rot = rot.of(VersionToken(rot.arn, versionWith(rot.stages, StageCurrent), version))
	return p.rotate(ctx, reason)
}

// other is OtherPending: another rotation's version holds AWSPENDING. Left
// alone unless the secret is due (or forced) in inline mode; then a usable
// pending token is finished (adopted) and an empty or unusable one is
// superseded by a new version, which takes AWSPENDING from it.
func (p *plan) other(ctx context.Context) error {
	rot := p.rot
	version := otherPending(rot.stages, rot.version)
	if p.mode == FanOut {
		p.res.Status = StatusSkipped
		p.res.Reason = fmt.Sprintf("another rotation is in progress (AWSPENDING is on version %s); fan-out leaves it to Secrets Manager", version)
		return p.inProgress(ctx, version)
	}
	due, reason, err := p.due(ctx)
	if err != nil || !due {
		if err == nil {
			p.res.Reason = fmt.Sprintf("%s; another rotation's version %s holds AWSPENDING", p.res.Reason, version)
		}
		return err
	}
	theirs := rot.of(version)
	if slices.Contains(rot.stages[version], StagePrevious) {
		// AWSCURRENT left it, so it was current once: AWSPENDING is a
		// finished rotation's leftover (a run leaves it on the version it
		// makes current), not a rotation in progress. Finishing it would
		// undo whoever moved AWSCURRENT off it (a person rolling back):
		// superseded, unjudged.
		return p.rotate(ctx, fmt.Sprintf("%s; superseding version %s, which holds AWSPENDING and AWSPREVIOUS "+
			"(it was current once; AWSCURRENT is not moved back to it)", reason, version))
	}
	state, err := p.r.settlePending(ctx, theirs)
	why := state.String()
	if _, cut := CutShort(ctx, err); err != nil && cut {
		// A throttle (or the invocation's time running out) judges
		// nothing: "not now", the secret is deferred and the version,
		// perhaps usable, is left as it is.
		return err
	}
	// A token issued before the current one may have been current once
	// (its version labelled AWSPENDING by hand, say): never made current
	// again, and kept a grace period like a former current token.
	older := err == nil && issuedBefore(theirs.pendingInfo, rot.currentInfo) != ""
	switch {
	case err != nil:
		// A version that cannot be read or judged is superseded, never a
		// reason to fail the secret.
		why = "it cannot be judged: " + err.Error()
	case state == PendingUsable && theirs.pending.AccessToken == rot.current.AccessToken:
		why = "it holds the current token" // finishing it would change nothing
	case older:
		why = "its token was issued before the current token's: it may have been current once"
	case state == PendingUsable && p.expiresSoon(theirs.pendingInfo):
		// Made before AWSCURRENT, maybe long ago: finishing it would
		// move AWSCURRENT to a token due at once.
		why = "its token expires at " + formatTime(theirs.pendingInfo.ExpiresAt) + ", within " + p.f.RefreshBefore.String()
	case state == PendingUsable:
		p.rot = theirs
		return p.finish(ctx, reason+"; finishing another rotation's usable pending version (its fields and token match AWSCURRENT)")
	case theirs.unusable != "":
		why = theirs.unusable
	}
	if !slices.Contains(rot.stages[version], StagePrevious) {
		// Its token, if it holds one (or a rotation event stores one
		// before this run's version takes AWSPENDING), was never current:
		// revoked at the end of this run unless AWSCURRENT, AWSPENDING,
		// AWSPREVIOUS or a version marked later holds it then. A version holding AWSPREVIOUS is marked when
		// AWSCURRENT moves, with the grace period; an older token is
		// marked a grace period from now (a mark due earlier stays), and
		// judged once that is over.
		if older {
			if err := p.r.markForRevocation(ctx, rot, version, p.r.now().Add(p.r.revokeGrace())); err != nil {
				return err
			}
		} else {
			if err := p.r.markOrJudge(ctx, rot, version, p.r.now()); err != nil {
				return err
			}
			rot.supersede(version) // judged even if the label is lost; markOrJudge may have recorded it
		}
	}
	return p.rotate(ctx, fmt.Sprintf("%s; superseding another rotation's pending version %s (%s)", reason, version, why))
}

// rotate runs the rotation from createSecret (inline) or starts it
// (fan-out).
func (p *plan) rotate(ctx context.Context, reason string) error {
	rot := p.rot
	p.res.Reason, p.res.VersionID = reason, rot.version
	if p.mode == FanOut {
		return p.start(ctx)
	}
	rot.log().InfoContext(ctx, "rotating", "version_id", rot.version, "reason", reason)
	rot.step = StepCreate
	outcome, err := p.r.create(ctx, rot)
	if err != nil {
		return err
	}
	if outcome == OutcomeExists {
		return p.concurrent(ctx, reason)
	}
	return p.finish(ctx, reason)
}

// concurrent continues a rotation whose version another value holds: a
// concurrent run stored it first, or an earlier one whose AWSPENDING was
// since removed. The labels are read again, since that run may have
// finished. A version left without AWSPENDING (NotPending) is discarded and
// the rotation moves on to the next version token.
func (p *plan) concurrent(ctx context.Context, reason string) error {
	rot := p.rot
	rot.step = StepTest
	if _, err := p.r.describe(ctx, rot); err != nil {
		return err
	}
	state := labelState(rot.stages, rot.version, rot.exists)
	if state == PendingStored {
		var err error
		if state, err = p.r.settlePending(ctx, rot); err != nil {
			return err
		}
	}
	p.res.State = state.String()
	switch state {
	case Current:
		p.res.Status, p.res.Reason = StatusRotated, reason+"; a concurrent run stored and finished this version"
		// Report the token that is current now: the winner's.
		rot.current, rot.currentInfo, p.res.dead = nil, nil, false
		if _, err := p.r.loadCurrent(ctx, rot); err == nil {
			p.noteCurrentExpiry()
		}
		return nil
	case PendingUsable:
		return p.finish(ctx, reason+"; a concurrent run stored this version first")
	case NotPending:
		return p.replace(ctx, rot.version)
	default:
		return stateErr(StepTest, rot.arn, "a concurrent run stored version %s, and it is not usable now (%s); the next run replaces it", rot.version, state)
	}
}

// finish proves the pending token and makes it current, then takes
// AWSPENDING off it, which Secrets Manager does itself only after the
// rotations it runs.
func (p *plan) finish(ctx context.Context, reason string) error {
	rot := p.rot
	p.res.Reason, p.res.VersionID = reason, rot.version
	rot.step = StepTest
	if state, err := p.r.inspectPending(ctx, rot); err != nil {
		return err
	} else if state != PendingUsable {
		return tokenCheckErr(StepTest, rot.arn, errors.New(rot.unusable))
	}
	rot.step = StepFinish
	if err := p.r.promote(ctx, rot); errors.Is(err, errEdited) {
		return stateErr(rot.step, rot.arn, "version %s was not made current: %s; the next run rotates afresh", rot.version, rot.unusable)
	} else if err != nil {
		return err
	}
	// AWSPENDING stays on the new current version: a valid end state (a
	// finishSecret leaves it there too, until Secrets Manager strips it)
	// that no state reads as pending, and the next rotation's
	// PutSecretValue moves it. Taking it off would be a third write per
	// rotation against the account's shared write quota.
	p.res.Status, p.res.Method, p.res.dead = StatusRotated, rot.method, false
	p.res.ExpiresAt, p.res.expiresAt = formatTime(rot.pendingInfo.ExpiresAt), rot.pendingInfo.ExpiresAt
	p.res.neverExpires = rot.pendingInfo.NeverExpires()
	return nil
}

// start asks Secrets Manager to rotate the secret now (RotateSecret with
// RotateImmediately), with this cycle's version token as the
// ClientRequestToken: a retried run derives the same token, sees AWSPENDING
// on it and does not ask again.
//
// The call names the rotation function DescribeSecret reported. On AWS that
// changes nothing (RotateSecret without configuration uses the stored one);
// moto, without it, forgets the function and moves AWSCURRENT onto an empty
// version.
func (p *plan) start(ctx context.Context) error {
	rot := p.rot
	_, err := p.r.SM.RotateSecret(ctx, &secretsmanager.RotateSecretInput{
		SecretId:           aws.String(rot.arn),
		ClientRequestToken: aws.String(rot.version),
		RotationLambdaARN:  p.desc.RotationLambdaARN,
		RotateImmediately:  aws.Bool(true),
	})
	if err != nil {
		return smErr(stepSchedule, rot.arn, "RotateSecret", err)
	}
	rot.log().InfoContext(ctx, "rotation started", "version_id", rot.version)
	p.res.Status = StatusStarted
	p.noteCurrentExpiry()
	return nil
}

// due decides whether the secret's current token needs replacing: it is
// missing or invalid, no longer matches the secret, expires within
// RefreshBefore, or force is set. Not due sets the result.
func (p *plan) due(ctx context.Context) (bool, string, error) {
	r, rot := p.r, p.rot
	cur, err := r.loadCurrent(ctx, rot)
	if err != nil {
		return false, "", err
	}
	if cur.AccessToken == "" {
		return true, "the secret holds no token yet", nil
	}
	app, err := r.app(ctx, rot, cur)
	if err != nil {
		return false, "", err
	}
	info, err := r.inspectCurrent(ctx, rot, app)
	if err != nil {
		return false, "", err
	}
	p.noteCurrentExpiry()
	switch {
	case p.force:
		return true, "forced", nil
	case !info.IsValid:
		return true, "the current token is not valid: " + tokenReason(info), nil
	}
	if err := info.Check(cur.Expectation()); err != nil {
		return true, "the current token does not match the secret: " + err.Error(), nil
	}
	notDue := func(reason string) (bool, string, error) {
		p.res.Status, p.res.Reason = StatusNotDue, reason
		return false, reason, nil
	}
	if info.NeverExpires() {
		return notDue("the current token never expires")
	}
	before := p.f.RefreshBefore
	if p.expiresSoon(info) {
		return true, fmt.Sprintf("the current token expires at %s, within %s", formatTime(info.ExpiresAt), before), nil
	}
	return notDue(fmt.Sprintf("the current token expires at %s, more than %s away", formatTime(info.ExpiresAt), before))
}

// expiresSoon reports whether a valid token debug_token described expires
// within RefreshBefore: a current token that is due, or a pending one
// that would be due as soon as it were current.
func (p *plan) expiresSoon(info *mint.TokenInfo) bool {
	return !info.NeverExpires() && info.ExpiresAt.Sub(p.r.now()) <= p.f.RefreshBefore
}

// inProgress is a secret fan-out leaves to the rotation Secrets Manager
// runs on version: skipped, with its current token's stored expiry counted.
// A rotation in progress longer than the Fleet's StaleAfter (from the
// version's creation) is one Secrets Manager gave up on: the secret fails,
// so that the Failed alarm fires, and an inline run can finish it.
func (p *plan) inProgress(ctx context.Context, version string) error {
	if _, err := p.r.loadCurrent(ctx, p.rot); err == nil {
		p.noteCurrentExpiry()
	}
	// The pending version may be on any page.
	pages := secretsmanager.NewListSecretVersionIdsPaginator(p.r.SM, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(p.rot.arn)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			p.r.Log.WarnContext(ctx, "could not list the secret's versions to tell how long its rotation has been in progress",
				"secret_arn", p.rot.arn, "error", err.Error())
			return nil
		}
		for _, v := range out.Versions {
			if aws.ToString(v.VersionId) != version || v.CreatedDate == nil {
				continue
			}
			age, limit := p.r.now().Sub(*v.CreatedDate), p.f.staleAfter()
			if age > limit {
				p.res.Status = ""
				return stateErr(stepSchedule, p.rot.arn, "a rotation has been in progress for %s (AWSPENDING on version %s), longer than %s: "+
					"Secrets Manager has given up on it; run metamint inline ({\"rotate\": [...], \"mode\": \"inline\"}) or cancel it",
					age.Round(time.Minute), version, limit)
			}
			return nil
		}
	}
	return nil
}

// noteCurrentExpiry records the current token's expiry in the result:
// debug_token's when it was asked (an invalid, revoked or expired token is
// dead: 0 days), else the expires_at AWSCURRENT stores.
func (p *plan) noteCurrentExpiry() {
	info := p.rot.currentInfo
	switch {
	case info == nil:
		if cur := p.rot.current; cur != nil && !cur.ExpiresAt.IsZero() {
			p.res.ExpiresAt, p.res.expiresAt = formatTime(cur.ExpiresAt), cur.ExpiresAt
		}
	case !info.IsValid || (!info.NeverExpires() && !info.ExpiresAt.After(p.r.now())):
		p.res.dead = true
	case info.NeverExpires():
		p.res.neverExpires = true
	default:
		p.res.ExpiresAt, p.res.expiresAt = formatTime(info.ExpiresAt), info.ExpiresAt
	}
}

// fail records err: deferred when the invocation's time or Meta's rate
// limits ran out (CutShort), failed otherwise.
func (p *plan) fail(ctx context.Context, err error) SecretResult {
	res := p.res
	var sf interface{ FailedStep() string }
	if errors.As(err, &sf) {
		res.Step = sf.FailedStep()
	}
	res.ErrorType, res.Error = ErrorType(err), err.Error()
	if p.rot != nil && res.expiresAt.IsZero() && !res.neverExpires && !res.dead {
		p.noteCurrentExpiry()
		res.ExpiresAt, res.expiresAt, res.neverExpires, res.dead = p.res.ExpiresAt, p.res.expiresAt, p.res.neverExpires, p.res.dead
	}
	if reason, cut := CutShort(ctx, err); cut {
		res.Status, res.Reason = StatusDeferred, reason
		p.r.Log.WarnContext(ctx, "rotation deferred", "secret_id", res.SecretID, "secret_arn", res.SecretARN, "step", res.Step,
			"reason", reason, "error_type", res.ErrorType, "error", res.Error)
		return res
	}
	res.Status = StatusFailed
	p.r.Log.ErrorContext(ctx, "rotation failed", "secret_id", res.SecretID, "secret_arn", res.SecretARN, "step", res.Step,
		"error_type", res.ErrorType, "error", res.Error)
	return res
}
