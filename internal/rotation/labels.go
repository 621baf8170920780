package rotation

import (
	"context"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
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
// token differs from it), then loses AWSPENDING. Nothing is revoked: the
// token is already unusable, or, if debug_token erred, stored.
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
		return smErr(rot.step, rot.arn, "UpdateSecretVersionStage "+StageDiscarded, err)
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
		return smErr(rot.step, rot.arn, "UpdateSecretVersionStage remove AWSPENDING", err)
	}
	rot.dropStage(StagePending, version)
	rot.log().WarnContext(ctx, "discarded a pending version that holds an unusable token",
		"discarded_version_id", version, "reason", rot.unusable)
	return nil
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
			stopped := r.now()
			if !cur.IssuedAt.IsZero() && cur.IssuedAt.Before(stopped) {
				stopped = cur.IssuedAt
			}
			if err := r.markOrJudge(ctx, rot, prev, stopped.Add(r.revokeGrace())); err != nil {
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
		if derr != nil || !slices.Contains(desc.VersionIdsToStages[rot.version], StageCurrent) {
			return smErr(rot.step, rot.arn, "UpdateSecretVersionStage AWSCURRENT", err)
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
