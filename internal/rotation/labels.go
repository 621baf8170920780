package rotation

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Staging labels.
const (
	StageCurrent  = "AWSCURRENT"
	StagePending  = "AWSPENDING"
	StagePrevious = "AWSPREVIOUS"
	// StageDiscarded marks the last pending version metamint discarded as
	// unusable. A version's value cannot change, so a scheduled rotation
	// derives its version token from this version too (see VersionToken):
	// the next attempt gets a fresh version instead of the broken one.
	StageDiscarded = "METAMINT_DISCARDED"
	// StageRevokePrefix starts the label of a version whose token is to be
	// revoked once its grace period is over: METAMINT_REVOKE_<unix
	// seconds>_<version>, the time after which the revocation is due. The
	// label keeps the version (and so its token) in the secret until a run
	// revoked it or it expired; see the package doc, "Revocations".
	StageRevokePrefix = "METAMINT_REVOKE_"
)

// labelState is the state the staging labels alone give for version. exists
// says the version is known to exist (a read-back found it): Secrets
// Manager's DescribeSecret omits a version without labels, so without it
// an unlabelled version looks absent. A version that exists without
// AWSPENDING or AWSCURRENT is NotPending, whether or not another version is
// pending: its version token cannot be stored under again.
func labelState(stages map[string][]string, version string, exists bool) State {
	labels, listed := stages[version]
	switch {
	case slices.Contains(labels, StageCurrent):
		return Current
	case slices.Contains(labels, StagePending):
		return PendingStored // refined by readPending
	case listed || exists:
		return NotPending
	case otherPending(stages, version) != "":
		return OtherPending
	}
	return NoPending
}

// otherPending returns the version other than version and AWSCURRENT's that
// carries AWSPENDING, or "".
func otherPending(stages map[string][]string, version string) string {
	for v, labels := range stages {
		if v != version && slices.Contains(labels, StagePending) && !slices.Contains(labels, StageCurrent) {
			return v
		}
	}
	return ""
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

// cloneStages copies VersionIdsToStages so a rotation can update its copy.
func cloneStages(m map[string][]string) map[string][]string { return maps.Clone(m) }

// discard takes a pending version that holds an unusable value out of the
// way: it gets StageDiscarded first (so a scheduled rotation's next version
// token differs from it), then loses AWSPENDING. Nothing is revoked now.
// Its token may still be live (made from the JSON before an edit, short of
// a scope): unless the version holds AWSPREVIOUS or AWSCURRENT, or
// debug_token found its token invalid or expired, it is marked for
// revocation a grace period from now, before it loses
// AWSPENDING (so a lost answer there leaves it marked), and judged then as
// any marked version (an invalid token's label just goes). A mark refused
// (the label quota) is logged: the token then lives until it expires, as
// before.
func (r *Rotator) discard(ctx context.Context, rot *rotation, version string) error {
	in := &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:        aws.String(rot.arn),
		VersionStage:    aws.String(StageDiscarded),
		MoveToVersionId: aws.String(version),
	}
	if old := versionWith(rot.stages, StageDiscarded); old != "" && old != version {
		in.RemoveFromVersionId = aws.String(old)
	}
	if _, err := r.SM.UpdateSecretVersionStage(ctx, in); err != nil {
		return smErr(rot.step, rot.arn, "UpdateSecretVersionStage "+StageDiscarded, labelQuota(rot, err))
	}
	rot.recordStage(StageDiscarded, version)
	wasCurrent := slices.ContainsFunc(rot.stages[version], func(l string) bool { return l == StagePrevious || l == StageCurrent })
	if !wasCurrent && !r.knownDead(rot, version) {
		if err := r.markForRevocation(ctx, rot, version, r.now().Add(r.revokeGrace())); err != nil {
			rot.log().WarnContext(ctx, "the discarded version could not be marked for revocation; its token, if live, stays so until it expires",
				"discarded_version_id", version, "error", err.Error())
		}
	}
	if !slices.Contains(rot.stages[version], StagePending) {
		return nil
	}
	if _, err := r.SM.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:            aws.String(rot.arn),
		VersionStage:        aws.String(StagePending),
		RemoveFromVersionId: aws.String(version),
	}); err != nil {
		return smErr(rot.step, rot.arn, "UpdateSecretVersionStage remove AWSPENDING", err)
	}
	rot.dropStage(StagePending, version)
	rot.log().WarnContext(ctx, "discarded a pending version that holds an unusable token",
		"discarded_version_id", version, "reason", rot.unusable)
	return nil
}

// knownDead reports whether debug_token said the token of version, the
// rotation's own, is invalid or expired: no mark is spent on it.
func (r *Rotator) knownDead(rot *rotation, version string) bool {
	info := rot.pendingInfo
	return version == rot.version && info != nil && (!info.IsValid || (!info.NeverExpires() && !info.ExpiresAt.After(r.now())))
}

// promote makes the rotation's version AWSCURRENT, judged by the
// AWSCURRENT it replaces: a value whose user-owned fields differ from it
// (the secret was edited during the rotation) never becomes current. With
// revoke_previous (AWSCURRENT's), the version holding AWSPREVIOUS, which
// the move takes AWSPREVIOUS from (the token two generations old), is first
// marked for revocation: due RevokeGrace after its token stopped being
// current (when AWSCURRENT's token was issued; now when unknown). A run
// revokes it once due (settleRevocations), so at most two tokens stay live
// past the grace period, and none is revoked while a consumer may still
// hold it as current.
//
// A move whose answer is lost is read back (DescribeSecret): when the
// version holds AWSCURRENT, the move happened.
func (r *Rotator) promote(ctx context.Context, rot *rotation) error {
	curVersion := versionWith(rot.stages, StageCurrent)
	cur, err := r.loadCurrent(ctx, rot)
	if err != nil {
		return err
	}
	if !rot.pending.SameUserFields(cur) {
		rot.unusable = "its fields differ from AWSCURRENT's (the secret was edited during the rotation)"
		return errEdited
	}
	if cur.RevokePrevious {
		prev := versionWith(rot.stages, StagePrevious)
		if prev != "" && prev != rot.version && prev != curVersion {
			if err := r.markOrJudge(ctx, rot, prev, r.stoppedCurrent(ctx, rot, prev).Add(r.revokeGrace())); err != nil {
				return err
			}
		}
	}
	in := &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:        aws.String(rot.arn),
		VersionStage:    aws.String(StageCurrent),
		MoveToVersionId: aws.String(rot.version),
	}
	if curVersion != "" {
		in.RemoveFromVersionId = aws.String(curVersion)
	}
	if _, err := r.SM.UpdateSecretVersionStage(ctx, in); err != nil {
		cctx, cancel := r.cleanupContext(ctx)
		defer cancel()
		desc, derr := r.SM.DescribeSecret(cctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(rot.arn)})
		if derr == nil {
			if now := versionWith(desc.VersionIdsToStages, StageCurrent); now != "" && now != curVersion && now != rot.version {
				rot.stages = desc.VersionIdsToStages
				return currentMovedErr(ctx, rot, curVersion, now, err)
			}
		}
		if derr != nil || !slices.Contains(desc.VersionIdsToStages[rot.version], StageCurrent) {
			return smErr(rot.step, rot.arn, "UpdateSecretVersionStage AWSCURRENT", labelQuota(rot, err))
		}
		rot.log().WarnContext(ctx, "UpdateSecretVersionStage's answer was lost; the read-back shows AWSCURRENT moved", "version_id", rot.version, "error", err.Error())
		rot.stages = desc.VersionIdsToStages
	} else {
		if curVersion != "" { // Secrets Manager gives AWSPREVIOUS to the version AWSCURRENT left
			rot.recordStage(StagePrevious, curVersion)
		}
		rot.recordStage(StageCurrent, rot.version)
	}
	rot.log().InfoContext(ctx, "AWSCURRENT moved", "version_id", rot.version, "previous_version_id", curVersion)
	return nil
}

// stoppedCurrent estimates when the token of prev, the version holding
// AWSPREVIOUS, stopped being current: when AWSCURRENT moved to the version
// holding it now, which AWSCURRENT's issued_at dates when a rotation made
// it. AWSCURRENT moved back by hand (a rollback: the label moved onto an
// older version, or an older value put again) leaves prev newer than
// AWSCURRENT, its version created or its token issued later: then, as when
// issued_at is unknown or prev cannot be read, the move may have been a
// moment ago, and it is now. A later estimate only delays a revocation.
func (r *Rotator) stoppedCurrent(ctx context.Context, rot *rotation, prev string) time.Time {
	now, cur := r.now(), rot.current
	if cur.IssuedAt.IsZero() || !cur.IssuedAt.Before(now) {
		return now
	}
	out, err := r.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(rot.arn), VersionId: aws.String(prev)})
	if err != nil {
		rot.log().WarnContext(ctx, "AWSPREVIOUS could not be read to date the end of its token's time as current; its grace period counts from now",
			"revoke_version_id", prev, "error", err.Error())
		return now
	}
	doc, _ := parseStored(StagePrevious, out)
	movedBack := out.CreatedDate != nil && !rot.currentCreated.IsZero() && out.CreatedDate.After(rot.currentCreated)
	if movedBack || (doc != nil && doc.IssuedAt.After(cur.IssuedAt)) {
		rot.log().WarnContext(ctx, "AWSPREVIOUS is newer than AWSCURRENT (AWSCURRENT was moved back by hand); its grace period counts from now",
			"revoke_version_id", prev)
		return now
	}
	return cur.IssuedAt
}

// currentMovedErr is the move of AWSCURRENT to the rotation's version
// refused because another writer moved AWSCURRENT from curVersion to now
// since the rotation read it: a person restoring or editing the secret,
// another tool. The rotation's token is kept where it is stored, and the
// error says so in an operator's words (a ConcurrentChangeError, not a
// misconfiguration).
func currentMovedErr(ctx context.Context, rot *rotation, curVersion, now string, err error) error {
	rot.log().WarnContext(ctx, "another writer moved AWSCURRENT during the rotation; the move was refused and the new token is kept",
		"version_id", rot.version, "read_current_version_id", curVersion, "current_version_id", now)
	return &ConcurrentChangeError{Failure{rot.step, rot.arn, fmt.Errorf(
		"another writer moved AWSCURRENT from version %s to version %s during the rotation, so Secrets Manager refused "+
			"the move to version %s (%w). The new token is kept in version %s (AWSPENDING), not revoked. Next: "+
			"a retried finishSecret makes it current if its fields equal the new AWSCURRENT's; the next run finishes it "+
			"once the secret is due if its fields and token match the new AWSCURRENT, else supersedes it",
		curVersion, now, rot.version, err, rot.version)}}
}

// labelQuotaMax is Secrets Manager's quota of staging labels across a
// secret's versions.
const labelQuotaMax = 20

// labelQuota returns err, Secrets Manager's answer to a write that adds a
// staging label, with what to do when it is LimitExceededException: the
// secret's labels are used up, and the labels a person may remove are
// named (those neither AWS's nor metamint's own, as the rotation last saw
// them). metamint's revocation labels are counted, not offered: each keeps
// a token until a run revokes it.
func labelQuota(rot *rotation, err error) error {
	if !isException[*types.LimitExceededException](err, "LimitExceededException") {
		return err
	}
	var others []string
	var marks int
	for _, v := range slices.Sorted(maps.Keys(rot.stages)) {
		for _, l := range rot.stages[v] {
			switch {
			case l == StageCurrent || l == StagePending || l == StagePrevious || l == StageDiscarded:
			case strings.HasPrefix(l, StageRevokePrefix):
				marks++
			case len(others) < labelQuotaMax:
				others = append(others, fmt.Sprintf("%q on version %s", l, v))
			}
		}
	}
	hint := "no label but AWS's and metamint's was seen: look for the secret's other labels"
	if len(others) > 0 {
		hint = "remove the labels no tool needs (aws secretsmanager update-secret-version-stage --remove-from-version-id), of: " +
			strings.Join(others, ", ")
	}
	return fmt.Errorf("%w; a secret's versions hold at most %d staging labels (a Secrets Manager quota), and this one's "+
		"may be used up: %s (%d more are metamint's revocation labels, which runs remove once their token is revoked)",
		err, labelQuotaMax, hint, marks)
}
