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

// SecretsManager is the part of the Secrets Manager client rotation uses.
// *secretsmanager.Client satisfies it.
type SecretsManager interface {
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(context.Context, *secretsmanager.UpdateSecretVersionStageInput, ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
	RotateSecret(context.Context, *secretsmanager.RotateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error)
}

var _ SecretsManager = (*secretsmanager.Client)(nil)

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

// Defaults of a Rotator.
const (
	// DefaultHeadroom is the least time createSecret must have left before
	// its context's deadline to start making a token.
	DefaultHeadroom = 5 * time.Second
	// DefaultCleanup is how long the calls that must still happen after a
	// context ended (a read-back after a lost write, the revoke of a token
	// that provably was not stored) may take.
	DefaultCleanup = 4 * time.Second
)

// expiringLifetime is how long Meta says an expiring system user token
// lives. It estimates expires_at only when debug_token cannot say.
const expiringLifetime = 60 * 24 * time.Hour

// Rotator runs rotation steps. Its zero value is not usable: SM, Graph and
// Log are required. It holds no per-rotation state and is safe for
// concurrent use once built.
type Rotator struct {
	SM    SecretsManager
	Graph *mint.Client // one client for every rotation, so Meta's usage headers pace them all
	Log   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Headroom is the time left before the deadline below which no mint
	// or refresh starts: a token Graph issues when the invocation can no
	// longer store it would stay live. Zero means DefaultHeadroom.
	Headroom time.Duration
	// Cleanup bounds the calls made after the context ended; zero means
	// DefaultCleanup.
	Cleanup time.Duration
}

func (r *Rotator) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Rotator) headroom() time.Duration {
	if r.Headroom > 0 {
		return r.Headroom
	}
	return DefaultHeadroom
}

// cleanupContext is a context for calls that must happen even though ctx
// may have ended: reading back a lost write, revoking an orphan.
func (r *Rotator) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := r.Cleanup
	if d <= 0 {
		d = DefaultCleanup
	}
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

// rotation is one rotation of one secret, identified by its version token,
// and what was read about it. The rotation-event path builds one per
// invocation; a scheduled run carries one through all four steps.
type rotation struct {
	secretID      string // as given: name or ARN
	token         string // ClientRequestToken: the new version's ID
	rotationToken string // from the event; passed back to PutSecretValue; never logged
	refs          *secret.Resolver

	arn    string
	stages map[string][]string // VersionIdsToStages: described, then updated by this rotation's own accepted writes
	exists bool                // the version is known to exist (a read-back found it), labelled or not

	current     *secret.Doc     // AWSCURRENT's value
	currentInfo *mint.TokenInfo // debug_token of current.AccessToken
	pending     *secret.Doc     // the rotation's AWSPENDING value
	pendingInfo *mint.TokenInfo // debug_token of pending.AccessToken
	unusable    string          // why the pending value is unusable
	method      string          // "refreshed" or "minted", once a token was made
}

func (rot *rotation) name() string {
	if rot.arn != "" {
		return rot.arn
	}
	return rot.secretID
}

func (rot *rotation) arnOrID() string { return rot.name() }

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

// describe reads the secret's ARN and stages.
func (r *Rotator) describe(ctx context.Context, rot *rotation, step string) (*secretsmanager.DescribeSecretOutput, error) {
	desc, err := r.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(rot.secretID)})
	if err != nil {
		return nil, smErr(step, rot.name(), "DescribeSecret", err)
	}
	rot.arn = aws.ToString(desc.ARN)
	rot.stages = desc.VersionIdsToStages
	return desc, nil
}

// loadCurrent reads and parses AWSCURRENT's value once per rotation.
func (r *Rotator) loadCurrent(ctx context.Context, rot *rotation, step string) (*secret.Doc, error) {
	if rot.current != nil {
		return rot.current, nil
	}
	out, err := r.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(rot.arnOrID()),
		VersionStage: aws.String(StageCurrent),
	})
	if err != nil {
		if isNotFound(err) {
			return nil, stateErr(step, rot.name(), "the secret has no AWSCURRENT value: put the secret's JSON (app_id, system_user_id, scopes, app_secret_ref, access_token) first")
		}
		return nil, smErr(step, rot.name(), "GetSecretValue AWSCURRENT", err)
	}
	doc, err := parseStored(StageCurrent, out)
	if err != nil {
		return nil, formatErr(step, rot.name(), err)
	}
	if len(doc.UnlistedScopes) > 0 {
		r.Log.WarnContext(ctx, "scopes not on the supported list, allowed by allow_unlisted_scopes",
			"step", step, "secret_arn", rot.name(), "scopes", doc.UnlistedScopes)
	}
	rot.current = doc
	return doc, nil
}

// app resolves the app of doc, secret included.
func (r *Rotator) app(ctx context.Context, rot *rotation, step string, doc *secret.Doc) (mint.App, error) {
	s, err := rot.refs.AppSecret(ctx, doc)
	if err != nil {
		return mint.App{}, referenceErr(step, rot.name(), err)
	}
	return mint.App{ID: doc.AppID, Secret: s}, nil
}

// inspectCurrent returns debug_token of the current token, asked once per
// rotation; nil when the secret holds no token yet.
func (r *Rotator) inspectCurrent(ctx context.Context, rot *rotation, step string, app mint.App) (*mint.TokenInfo, error) {
	if rot.currentInfo != nil || rot.current.AccessToken == "" {
		return rot.currentInfo, nil
	}
	info, err := r.Graph.DebugToken(ctx, app, rot.current.AccessToken)
	if err != nil {
		return nil, graphErr(step, rot.name(), "inspecting the current token (debug_token)", err)
	}
	rot.currentInfo = info
	return info, nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
