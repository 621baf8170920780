package rotation

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/pkg/mint"
)

// rotation is one rotation of one secret, identified by its version token,
// and what was read about it. The rotation-event path builds one per
// invocation; a scheduled run carries one through all four steps.
type rotation struct {
	secretID      string // as given: name or ARN
	version       string // the new version's ID: the ClientRequestToken of the rotation
	rotationToken string // from the event; passed back to PutSecretValue; never logged
	refs          *secret.Resolver
	step          string       // the step running: an event's, or "schedule", createSecret... in a run
	logger        *slog.Logger // the Rotator's; see log

	arn    string
	stages map[string][]string // VersionIdsToStages: described, then updated by this rotation's own accepted writes
	exists bool                // the version is known to exist (a read-back found it), labelled or not

	current        *secret.Doc     // AWSCURRENT's value
	currentVer     string          // the version current was read from
	currentCreated time.Time       // when currentVer was created (GetSecretValue's CreatedDate); zero when unknown
	currentInfo    *mint.TokenInfo // debug_token of current.AccessToken
	pending        *secret.Doc     // the rotation's AWSPENDING value
	pendingInfo    *mint.TokenInfo // debug_token of pending.AccessToken
	unusable       string          // why the pending value is unusable
	method         string          // "refreshed" or "minted", once a token was made

	revocationsFailed int      // revocations that failed in this run (settleRevocations)
	superseded        []string // versions this run superseded, judged for revocation at its end
}

// supersede records version as superseded by this run: judged for
// revocation at its end (settleRevocations), labelled or not.
func (rot *rotation) supersede(version string) {
	if !slices.Contains(rot.superseded, version) {
		rot.superseded = append(rot.superseded, version)
	}
}

func (rot *rotation) name() string {
	if rot.arn != "" {
		return rot.arn
	}
	return rot.secretID
}

// log is the rotation's logger with the step and the secret.
func (rot *rotation) log() *slog.Logger {
	return rot.logger.With("step", rot.step, "secret_arn", rot.name())
}

// describe reads the secret's ARN and stages.
func (r *Rotator) describe(ctx context.Context, rot *rotation) (*secretsmanager.DescribeSecretOutput, error) {
	desc, err := r.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(rot.secretID)})
	if err != nil {
		return nil, smErr(rot.step, rot.name(), "DescribeSecret", err)
	}
	rot.arn = aws.ToString(desc.ARN)
	rot.stages = desc.VersionIdsToStages
	return desc, nil
}

// loadCurrent reads and parses AWSCURRENT's value once per rotation.
func (r *Rotator) loadCurrent(ctx context.Context, rot *rotation) (*secret.Doc, error) {
	if rot.current != nil {
		return rot.current, nil
	}
	out, err := r.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(rot.name()),
		VersionStage: aws.String(StageCurrent),
	})
	if err != nil {
		if isNotFound(err) {
			return nil, stateErr(rot.step, rot.name(), "the secret has no AWSCURRENT value: put the secret's JSON (app_id, system_user_id, scopes, app_secret_ref, access_token) first")
		}
		return nil, smErr(rot.step, rot.name(), "GetSecretValue AWSCURRENT", err)
	}
	doc, err := parseStored(StageCurrent, out)
	if err != nil {
		return nil, formatErr(rot.step, rot.name(), err)
	}
	if len(doc.UnlistedScopes) > 0 {
		rot.log().WarnContext(ctx, "scopes not on the supported list, allowed by allow_unlisted_scopes", "scopes", doc.UnlistedScopes)
	}
	rot.current, rot.currentVer, rot.currentCreated = doc, aws.ToString(out.VersionId), aws.ToTime(out.CreatedDate)
	return doc, nil
}

// app resolves the app of doc, secret included.
func (r *Rotator) app(ctx context.Context, rot *rotation, doc *secret.Doc) (mint.App, error) {
	s, err := rot.refs.AppSecret(ctx, doc)
	if err != nil {
		return mint.App{}, referenceErr(rot.step, rot.name(), err)
	}
	return mint.App{ID: doc.AppID, Secret: s}, nil
}

// inspectCurrent returns debug_token of the current token, asked once per
// rotation; nil when the secret holds no token yet.
func (r *Rotator) inspectCurrent(ctx context.Context, rot *rotation, app mint.App) (*mint.TokenInfo, error) {
	if rot.currentInfo != nil || rot.current.AccessToken == "" {
		return rot.currentInfo, nil
	}
	info, err := r.Graph.DebugToken(ctx, app, rot.current.AccessToken)
	if err != nil {
		return nil, graphErr(rot.step, rot.name(), "inspecting the current token (debug_token)", err)
	}
	rot.currentInfo = info
	return info, nil
}
