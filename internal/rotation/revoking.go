package rotation

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/metamint/metamint/internal/secret"
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
	// A token is made only once AWSCURRENT was read (create).
	minter, err := heldMintingToken(rctx, rot, rot.current)
	if err != nil {
		rot.log().ErrorContext(ctx, "the minting token could not be read to compare; the token made but not stored is kept, not revoked", "version_id", rot.version, "error", err.Error())
		return
	}
	if held := heldAs(token, rot.current.AccessToken, minter); held != "" {
		rot.log().ErrorContext(ctx, "the token made but not stored is "+held+"; it is not revoked", "version_id", rot.version)
		return
	}
	if stage, err := r.holdingStage(rctx, rot, token); err != nil {
		rot.log().ErrorContext(ctx, "AWSCURRENT, AWSPENDING and AWSPREVIOUS could not be read again to compare; the token made but not stored is kept, not revoked", "version_id", rot.version, "error", err.Error())
		return
	} else if stage != "" {
		rot.log().ErrorContext(ctx, "the token made but not stored is held by "+stage+" now (another rotation stored the same token); it is not revoked", "version_id", rot.version)
		return
	}
	if err := r.revoke(rctx, app, token); err != nil {
		rot.log().ErrorContext(ctx, "could not revoke a token that was made but not stored; it stays valid until it expires", "version_id", rot.version, "error", err.Error())
		return
	}
	rot.log().InfoContext(ctx, "revoked a token that was made but not stored", "version_id", rot.version)
}

// heldMintingToken is the minting token doc names (its minting_token_ref's,
// else its own access_token), to keep from revocation. A reference to a
// secret that does not exist (ResourceNotFoundException: deleted for good)
// holds no token: "", so that an old reference never blocks the
// revocations for good. Any other error means it cannot tell.
func heldMintingToken(ctx context.Context, rot *rotation, doc *secret.Doc) (string, error) {
	m, err := rot.refs.MintingToken(ctx, doc)
	if err != nil && isNotFound(err) {
		rot.log().WarnContext(ctx, "the secret minting_token_ref names does not exist; it holds no token to keep from revocation",
			"minting_token_ref", doc.MintingTokenRef)
		return "", nil
	}
	return m, err
}

// revoke revokes token with app. Graph answering "invalid token" is an
// error, not a judgement: the token was live a moment ago (a revoke done
// whose answer was lost, or a refusal that says nothing of the token), so
// it counts as revoked only when debug_token then finds it invalid.
func (r *Rotator) revoke(ctx context.Context, app mint.App, token string) error {
	err := r.Graph.RevokeAccessToken(ctx, mint.RevokeRequest{App: app, Token: token})
	if errors.Is(err, mint.ErrInvalidToken) {
		if info, derr := r.Graph.DebugToken(ctx, app, token); derr == nil && !info.IsValid {
			return nil
		}
	}
	return err
}

// holdingStage reads AWSCURRENT, AWSPENDING and AWSPREVIOUS as they are
// now and returns the one whose value holds token, or "": another rotation,
// which Graph answered the same token (Meta does not promise a new token per
// refresh), may have stored it since this one read AWSCURRENT, and made it
// current and previous since. An error (AWSPENDING or AWSPREVIOUS absent
// aside) means it cannot tell.
func (r *Rotator) holdingStage(ctx context.Context, rot *rotation, token string) (string, error) {
	for _, stage := range []string{StageCurrent, StagePending, StagePrevious} {
		out, err := r.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(rot.name()), VersionStage: aws.String(stage)})
		switch {
		case err != nil && stage != StageCurrent && isNotFound(err):
		case err != nil:
			return "", err
		case strings.Contains(aws.ToString(out.SecretString), token):
			return stage, nil
		}
	}
	return "", nil
}

// revokeLabel is the label that marks version for revocation after t.
func revokeLabel(t time.Time, version string) string {
	return fmt.Sprintf("%s%d_%s", StageRevokePrefix, t.Unix(), version)
}

// revokeDue parses label, found on version: when the revocation is due,
// and whether label is a revocation label of version. A label naming
// another version (moved or copied onto this one) or whose time does not
// parse is not: labels are anyone's to write, and only revokeLabel's own
// form, on the version it names, marks a token for revocation.
func revokeDue(label, version string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(label, StageRevokePrefix)
	if !ok {
		return time.Time{}, false
	}
	secs, named, ok := strings.Cut(rest, "_")
	if !ok || named != version {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// markForRevocation gives version a revocation label due at after. A
// version already marked no later than after keeps its label; a label due
// later (left by hand, or forged) is replaced, so no label someone else
// wrote keeps a token live past after. The label holds the version (and so
// its token) in the secret until a run revoked the token or it expired.
func (r *Rotator) markForRevocation(ctx context.Context, rot *rotation, version string, after time.Time) error {
	var later []string
	for _, l := range rot.stages[version] {
		if t, ok := revokeDue(l, version); ok {
			if !t.After(after) {
				return nil
			}
			later = append(later, l)
		}
	}
	label := revokeLabel(after, version)
	if _, err := r.SM.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:        aws.String(rot.arn),
		VersionStage:    aws.String(label),
		MoveToVersionId: aws.String(version),
	}); err != nil {
		return smErr(rot.step, rot.arn, "UpdateSecretVersionStage "+StageRevokePrefix+"...", labelQuota(rot, err))
	}
	rot.recordStage(label, version)
	rot.log().InfoContext(ctx, "version marked for revocation", "marked_version_id", version, "revoke_after", formatTime(after))
	for _, l := range later {
		r.dropRevocation(ctx, rot, l, version, "a later revocation label replaced")
	}
	return nil
}

// markOrJudge marks version for revocation after after (markForRevocation).
// When the secret's staging labels are used up (LimitExceededException:
// Secrets Manager allows 20 across its versions, and other tools' labels
// and revocations that keep failing count) and the revocation is due
// already, the version is judged at the end of the run instead, labelled
// or not (rot.superseded): a label that cannot be written never blocks a
// rotation on every run.
func (r *Rotator) markOrJudge(ctx context.Context, rot *rotation, version string, after time.Time) error {
	err := r.markForRevocation(ctx, rot, version, after)
	if err == nil || !isException[*types.LimitExceededException](err, "LimitExceededException") || after.After(r.now()) {
		return err
	}
	rot.log().WarnContext(ctx, "the secret's staging labels are used up: the version is judged for revocation at the end of this run, without a label",
		"revoke_version_id", version, "error", err.Error())
	rot.supersede(version)
	return nil
}

// dueRevocations returns the labels and versions whose revocation is due.
func dueRevocations(stages map[string][]string, now time.Time) map[string]string {
	due := map[string]string{}
	for v, labels := range stages {
		for _, l := range labels {
			if t, ok := revokeDue(l, v); ok && !t.After(now) {
				due[l] = v
			}
		}
	}
	return due
}

// settleRevocations revokes the tokens of the versions whose revocation is
// due, judged by AWSCURRENT: its app secret, its minting token. It never
// revokes the token of AWSCURRENT (as read, as described, and as read
// again just before the revoke: another writer may restore a token any
// time), of a version holding AWSPENDING or AWSPREVIOUS,
// of a version whose own revocation is not due yet, or behind
// minting_token_ref; a token already invalid or expired, or of
// another app or system user, is not revoked (not metamint's to revoke).
// Each of those, and each revocation that succeeded, drops its label. A
// revocation that fails keeps it: a later run tries again. Only a
// judgement of the token drops a label, never an error that may be about
// metamint's own credential: Graph refusing for good to inspect the token
// counts as "another app's" only when AWSCURRENT's app inspects the
// secret's own token (appInspects). Nothing here
// fails the rotation; failures are counted in rot.revocationsFailed and
// logged.
//
// rot.superseded are judged the same way, labelled or not: a version this
// run superseded may have lost its label to a concurrent write (a rotation
// event storing its token there), and its token must not stay live outside
// the secret. One whose revocation fails is marked for a later run.
func (r *Rotator) settleRevocations(ctx context.Context, rot *rotation) {
	if len(dueRevocations(rot.stages, r.now())) == 0 && len(rot.superseded) == 0 {
		return
	}
	superseded := rot.superseded
	rot.superseded = nil
	// mark gives a version whose revocation failed, and that holds no
	// revocation label of its own (a superseded one), a label due now:
	// without it no later run finds the version.
	mark := func(version string) {
		if slices.ContainsFunc(rot.stages[version], func(l string) bool { _, ok := revokeDue(l, version); return ok }) {
			return
		}
		if merr := r.markForRevocation(ctx, rot, version, r.now()); merr != nil {
			rot.log().ErrorContext(ctx, "a superseded version could not be marked for revocation; its token stays live until it expires",
				"revoke_version_id", version, "error", merr.Error())
		}
	}
	// fail counts a failed revocation, of version, or of every version
	// due when version is "" (nothing could be judged).
	fail := func(version, msg string, err error) {
		rot.revocationsFailed++
		rot.log().WarnContext(ctx, msg+"; a later run tries again", "revoke_version_id", version, "error", err.Error())
		if version != "" {
			mark(version)
			return
		}
		for _, v := range superseded {
			mark(v)
		}
	}
	desc, err := r.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(rot.arn)})
	if err != nil {
		fail("", "revocations due, and the secret could not be described", err)
		return
	}
	rot.stages = desc.VersionIdsToStages
	due := dueRevocations(rot.stages, r.now())
	for _, v := range superseded {
		if !slices.Contains(slices.Collect(maps.Values(due)), v) {
			due[supersededKey+v] = v
		}
	}
	if len(due) == 0 {
		return
	}
	cur, err := r.loadCurrent(ctx, rot)
	if err != nil {
		fail("", "revocations due, and AWSCURRENT could not be read", err)
		return
	}
	app, err := r.app(ctx, rot, cur)
	if err != nil {
		fail("", "revocations due, and AWSCURRENT's app secret could not be read", err)
		return
	}
	minter, err := heldMintingToken(ctx, rot, cur)
	if err != nil {
		fail("", "revocations due, and the minting token could not be read to compare", err)
		return
	}
	held := map[string]bool{cur.AccessToken: true, minter: true}
	if rot.pending != nil {
		held[rot.pending.AccessToken] = true
	}
	// inspects says whether app can inspect a token known to be the
	// secret's, asked once per settle (see appInspects).
	var probed bool
	var probeErr error
	inspects := func() error {
		if !probed {
			probed, probeErr = true, r.appInspects(ctx, rot, app, cur)
		}
		return probeErr
	}
	dueVersions := slices.Collect(maps.Values(due))
	for v, labels := range rot.stages {
		// AWSCURRENT's token, as read, is held above. Read, since they
		// may hold the token of a version due (a copy another tool
		// stored): a pending version (another rotation's, or this
		// one's), AWSCURRENT when another writer moved it since it was
		// read (a value restored, say), AWSPREVIOUS, and a version
		// whose own revocation is not due yet (its grace period). One
		// that cannot be read may hold any token: nothing is revoked.
		if v == rot.currentVer || (rot.pending != nil && v == rot.version) {
			continue
		}
		if holdsAWSStage(labels) ||
			(markedLater(labels, v, r.now()) && !slices.Contains(dueVersions, v)) {
			doc, _, err := r.readVersionDoc(ctx, rot, v)
			if err != nil {
				fail("", "revocations due, and a version holding AWSCURRENT, AWSPENDING or AWSPREVIOUS, or marked for a later revocation, could not be read to compare", err)
				return
			}
			if doc != nil {
				held[doc.AccessToken] = true
			}
			// AWSCURRENT as it is now, or a pending version that may
			// become it: the token behind its minting_token_ref mints
			// (TestMintingRefSetDuringRunNotRevoked).
			if doc != nil && (slices.Contains(labels, StageCurrent) || slices.Contains(labels, StagePending)) {
				m, err := heldMintingToken(ctx, rot, doc)
				if err != nil {
					fail("", "revocations due, and the minting token of a version holding AWSCURRENT or AWSPENDING could not be read to compare", err)
					return
				}
				held[m] = true
			}
		}
	}
	for _, label := range slices.Sorted(maps.Keys(due)) {
		version := due[label]
		if holdsAWSStage(rot.stages[version]) {
			// AWSPREVIOUS: a move of AWSCURRENT that failed after the
			// mark; the next move marks the version again.
			r.dropRevocation(ctx, rot, label, version, "the version holds AWSCURRENT, AWSPENDING or AWSPREVIOUS again; not revoked")
			continue
		}
		doc, found, err := r.readVersionDoc(ctx, rot, version)
		switch {
		case err != nil:
			fail(version, "the version to revoke could not be read", err)
			continue
		case !found || doc == nil || doc.AccessToken == "":
			r.dropRevocation(ctx, rot, label, version, "the version holds no token metamint can read; nothing to revoke")
			continue
		case held[doc.AccessToken]:
			r.dropRevocation(ctx, rot, label, version, "the version's token is held by AWSCURRENT, AWSPENDING, AWSPREVIOUS, a version whose revocation is not due yet, or minting_token_ref; not revoked")
			continue
		}
		// Whether the token expired is debug_token's to say, never the
		// version's own expires_at.
		info, err := r.Graph.DebugToken(ctx, app, doc.AccessToken)
		var gerr *mint.GraphError
		switch {
		case errors.As(err, &gerr) && !gerr.Temporary() && inspects() != nil:
			// The same refusal may be about the app secret itself (a
			// wrong or reset one in AWSCURRENT): nothing is judged.
			fail(version, "Graph refuses debug_token of the token to revoke, and of the secret's own token, with AWSCURRENT's app", err)
			continue
		case errors.As(err, &gerr) && !gerr.Temporary():
			// The app inspects the secret's own token, and Graph
			// refuses to inspect this one with it (a token of another
			// app, say): not this secret's token to revoke.
			r.dropRevocation(ctx, rot, label, version, "Graph refuses to inspect the version's token with AWSCURRENT's app, which inspects the secret's own token; not revoked")
			continue
		case err != nil:
			fail(version, "debug_token of the token to revoke failed", err)
			continue
		}
		if !info.IsValid || info.Check(mint.Expectation{AppID: cur.AppID, SystemUserID: cur.SystemUserID}) != nil {
			r.dropRevocation(ctx, rot, label, version, "the version's token is not a live token of this secret's app and system user; not revoked")
			continue
		}
		// The stages were read before the judgement's Graph calls and
		// their waits: a person may have restored the token as
		// AWSCURRENT since (TestRestoredAfterDescribeNotRevoked).
		if stage, err := r.holdingStage(ctx, rot, doc.AccessToken); err != nil {
			fail(version, "AWSCURRENT, AWSPENDING and AWSPREVIOUS could not be read again to compare before the revoke", err)
			continue
		} else if stage != "" {
			r.dropRevocation(ctx, rot, label, version, "the version's token is held by "+stage+" now (restored since the secret was described); not revoked")
			continue
		}
		if err := r.revoke(ctx, app, doc.AccessToken); err != nil {
			fail(version, "could not revoke the token of a version marked for revocation", err)
			continue
		}
		r.dropRevocation(ctx, rot, label, version, "revoked the token of a version marked for revocation")
	}
}

// appInspects reports whether debug_token with app answers for a token
// known to be the secret's: AWSCURRENT's, as settling read it (cur). Only
// then is Graph refusing for good to inspect another token a
// judgement of that token (another app's, say) rather than of app's own
// credential: a wrong or reset app secret in AWSCURRENT makes Graph refuse
// every debug_token, and the due revocations must wait for the right one.
// It logs, once, what a person should check.
func (r *Rotator) appInspects(ctx context.Context, rot *rotation, app mint.App, cur *secret.Doc) error {
	// cur is AWSCURRENT as this rotation read it (loadCurrent keeps its
	// first read). An answer the rotation had earlier is not reused: the
	// app secret may have been reset in Meta's dashboard since.
	err := errors.New("AWSCURRENT holds no token to inspect")
	if cur.AccessToken != "" {
		_, err = r.Graph.DebugToken(ctx, app, cur.AccessToken)
	}
	var gerr *mint.GraphError
	switch {
	case errors.As(err, &gerr) && !gerr.Temporary():
		rot.log().ErrorContext(ctx, "AWSCURRENT's app secret cannot inspect the secret's own token: check that app_secret (or the secret app_secret_ref names) "+
			"holds the current secret of app_id's app (Meta's app dashboard, Settings > Basic; a reset there changes it); revocations due wait for a later run",
			"error", err.Error())
	case err != nil:
		rot.log().WarnContext(ctx, "AWSCURRENT's app secret could not be checked on the secret's own token; revocations due wait for a later run", "error", err.Error())
	}
	return err
}

// holdsAWSStage reports whether labels hold AWSCURRENT, AWSPENDING or
// AWSPREVIOUS: a version whose token may be in use.
func holdsAWSStage(labels []string) bool {
	return slices.ContainsFunc(labels, func(l string) bool { return l == StageCurrent || l == StagePending || l == StagePrevious })
}

// markedLater reports whether version holds a revocation label of its own
// that is not due at now.
func markedLater(labels []string, version string, now time.Time) bool {
	return slices.ContainsFunc(labels, func(l string) bool { t, ok := revokeDue(l, version); return ok && t.After(now) })
}

// supersededKey prefixes, in settleRevocations, a superseded version
// that holds no revocation label.
const supersededKey = "superseded "

// dropRevocation takes a revocation label off version, saying why.
func (r *Rotator) dropRevocation(ctx context.Context, rot *rotation, label, version, why string) {
	if strings.HasPrefix(label, supersededKey) {
		rot.log().InfoContext(ctx, why, "revoke_version_id", version)
		return
	}
	if _, err := r.SM.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:            aws.String(rot.arn),
		VersionStage:        aws.String(label),
		RemoveFromVersionId: aws.String(version),
	}); err != nil {
		rot.log().WarnContext(ctx, why+"; its revocation label could not be removed, a later run looks again",
			"revoke_version_id", version, "error", err.Error())
		return
	}
	rot.dropStage(label, version)
	rot.log().InfoContext(ctx, why, "revoke_version_id", version)
}

// readVersionDoc reads and parses version, whatever its labels. found is
// false only on ResourceNotFound; a value that does not parse is found
// with a nil doc.
func (r *Rotator) readVersionDoc(ctx context.Context, rot *rotation, version string) (*secret.Doc, bool, error) {
	out, err := r.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:  aws.String(rot.arn),
		VersionId: aws.String(version),
	})
	if err != nil {
		if isNotFound(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	doc, err := parseStored("the version", out)
	if err != nil {
		return nil, true, nil
	}
	return doc, true, nil
}
