package rotation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/pkg/mint"
)

// State is what Secrets Manager and debug_token say about one rotation (a
// secret and a version token). Every step computes it first and switches on
// it; the package doc has the table of state × step → action.
type State int

const (
	// NoPending means the rotation's version does not exist, and no other
	// version than AWSCURRENT's carries AWSPENDING.
	NoPending State = iota
	// Current means the rotation's version holds AWSCURRENT; it is finished.
	Current
	// OtherPending means AWSPENDING is on another version than the rotation's:
	// another rotation's, possibly stranded.
	OtherPending
	// NotPending means the rotation's version exists but carries neither
	// AWSPENDING nor AWSCURRENT (a rotation event for a version that lost
	// the label, or was never given it; a run's version whose AWSPENDING was
	// removed by hand). DescribeSecret omits a version without labels, so a
	// run knows it only once a write under its version token was refused
	// and the read-back found the version.
	NotPending
	// PendingEmpty means the rotation's version carries AWSPENDING and holds no
	// value yet (the placeholder Secrets Manager creates before
	// createSecret).
	PendingEmpty
	// PendingStored means the rotation's version carries AWSPENDING and holds a
	// value whose token is not yet proven.
	PendingStored
	// PendingUsable means the pending value's token is valid, of the secret's
	// app and system user, with every requested scope (debug_token).
	PendingUsable
	// PendingUnusable means the pending value is unreadable, or its token is
	// invalid, revoked, expired or not what the secret asks for. It is
	// discarded and replaced, never resumed.
	PendingUnusable
)

var stateNames = [...]string{"no_pending", "current", "other_pending", "not_pending",
	"pending_empty", "pending_stored", "pending_usable", "pending_unusable"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// readPending refines a pending rotation: PendingEmpty when its version has
// no value (only ResourceNotFound means that), PendingUnusable when the value
// is not a managed secret, else PendingStored with rot.pending set.
func (r *Rotator) readPending(ctx context.Context, rot *rotation) (State, error) {
	if rot.pending != nil {
		return PendingStored, nil
	}
	out, err := r.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(rot.name()),
		VersionId:    aws.String(rot.version),
		VersionStage: aws.String(StagePending),
	})
	if err != nil {
		if isNotFound(err) {
			return PendingEmpty, nil
		}
		return 0, smErr(rot.step, rot.name(), "GetSecretValue AWSPENDING", err)
	}
	doc, perr := parseStored(StagePending, out)
	if perr != nil || doc.AccessToken == "" {
		rot.unusable = "it holds no managed secret with an access_token"
		if perr != nil {
			rot.unusable = perr.Error()
		}
		return PendingUnusable, nil
	}
	rot.pending = doc
	return PendingStored, nil
}

// settlePending refines a pending rotation as far as it goes: readPending,
// then, when the version holds a token, inspectPending. The result is never
// PendingStored.
func (r *Rotator) settlePending(ctx context.Context, rot *rotation) (State, error) {
	state, err := r.readPending(ctx, rot)
	if err != nil || state != PendingStored {
		return state, err
	}
	return r.inspectPending(ctx, rot)
}

// inspectPending refines PendingStored, judged by AWSCURRENT, never by
// the pending value's own JSON: its user-owned fields must equal
// AWSCURRENT's, and debug_token (asked with AWSCURRENT's app secret) must
// find its token valid, of AWSCURRENT's app and system user, with every
// scope AWSCURRENT asks for, and not expired. Otherwise PendingUnusable. An
// error (Graph or AWSCURRENT's reference unreachable) decides nothing.
func (r *Rotator) inspectPending(ctx context.Context, rot *rotation) (State, error) {
	cur, err := r.loadCurrent(ctx, rot)
	if err != nil {
		return 0, err
	}
	if !rot.pending.SameUserFields(cur) {
		rot.unusable = "its fields differ from AWSCURRENT's"
		return PendingUnusable, nil
	}
	if rot.pendingInfo == nil {
		app, err := r.app(ctx, rot, cur)
		if err != nil {
			return 0, err
		}
		info, err := r.Graph.DebugToken(ctx, app, rot.pending.AccessToken)
		if err != nil {
			return 0, graphErr(rot.step, rot.name(), "inspecting the pending token (debug_token)", err)
		}
		rot.pendingInfo = info
	}
	if err := rot.pendingInfo.Check(cur.Expectation()); err != nil {
		rot.unusable = "the pending token " + err.Error()
		return PendingUnusable, nil
	}
	if !rot.pendingInfo.NeverExpires() && !rot.pendingInfo.ExpiresAt.After(r.now()) {
		rot.unusable = "the pending token has expired"
		return PendingUnusable, nil
	}
	return PendingUsable, nil
}

// parseStored parses the value of the version holding stage, as
// GetSecretValue returned it: a JSON SecretString, never binary data.
func parseStored(stage string, out *secretsmanager.GetSecretValueOutput) (*secret.Doc, error) {
	if out.SecretString == nil {
		return nil, errors.New(stage + " holds binary data; metamint needs a JSON SecretString")
	}
	doc, err := secret.Parse(*out.SecretString)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", stage, err)
	}
	return doc, nil
}

// tokenReason says why debug_token finds a token invalid, in the words of
// mint's TokenInfo.Check, which quotes Graph's error.message (Go escapes,
// cut short): one line without control characters.
func tokenReason(info *mint.TokenInfo) string {
	err := (&mint.TokenInfo{Error: info.Error}).Check(mint.Expectation{})
	return strings.TrimPrefix(err.Error(), mint.ErrInvalidToken.Error()+": ")
}
