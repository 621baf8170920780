package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/metamint/metamint/pkg/mint"
)

// Defaults of the environment.
const (
	defaultRefreshBefore = 360 * time.Hour
	defaultConcurrency   = 8
	maxConcurrency       = 64
	// defaultMargin is the time a scheduled run keeps in hand before the
	// invocation's deadline: it starts no new secret past that point.
	defaultMargin = 15 * time.Second
	// defaultReserve is the end of every invocation that no Graph or
	// Secrets Manager call may use: calls still running then are cancelled,
	// so the function answers (and revokes a token it could not store)
	// before Lambda stops it.
	defaultReserve = 5 * time.Second
	// maxInvocation is the longest a Lambda invocation can run.
	maxInvocation = 15 * time.Minute
)

// The modes of a scheduled or direct run.
const (
	// modeInline rotates each due secret in this invocation, through the
	// four steps in-process.
	modeInline = "inline"
	// modeFanOut calls RotateSecret on each due secret, so that Secrets
	// Manager runs each rotation in invocations of its own.
	modeFanOut = "fanout"
)

// config is the Lambda's environment, read once at cold start.
type config struct {
	graphURL      string        // METAMINT_GRAPH_API_URL
	graphVersion  string        // METAMINT_GRAPH_API_VERSION
	secretIDs     []string      // METAMINT_SECRET_IDS
	refreshBefore time.Duration // METAMINT_REFRESH_BEFORE
	concurrency   int           // METAMINT_CONCURRENCY
	mode          string        // METAMINT_MODE: modeInline or modeFanOut
	secretTag     *secretTag    // METAMINT_SECRET_TAG; nil when unset
}

// loadConfig reads the METAMINT_* variables through getenv. Errors name the
// variable.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		graphURL:      mint.DefaultBaseURL,
		graphVersion:  mint.DefaultVersion,
		refreshBefore: defaultRefreshBefore,
		concurrency:   defaultConcurrency,
		mode:          modeInline,
	}
	if v := strings.TrimSpace(getenv("METAMINT_GRAPH_API_URL")); v != "" {
		u, err := mint.CheckBaseURL(v)
		if err != nil {
			return c, configErr(fmt.Errorf("METAMINT_GRAPH_API_URL: %w", err))
		}
		c.graphURL = u
	}
	if v := strings.TrimSpace(getenv("METAMINT_GRAPH_API_VERSION")); v != "" {
		c.graphVersion = v
	}
	c.secretIDs = splitIDs(getenv("METAMINT_SECRET_IDS"))
	if v := strings.TrimSpace(getenv("METAMINT_REFRESH_BEFORE")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return c, configErr(fmt.Errorf("METAMINT_REFRESH_BEFORE %q is not a non-negative Go duration such as 360h", v))
		}
		c.refreshBefore = d
	}
	if v := strings.TrimSpace(getenv("METAMINT_CONCURRENCY")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxConcurrency {
			return c, configErr(fmt.Errorf("METAMINT_CONCURRENCY %q is not a number from 1 to %d", v, maxConcurrency))
		}
		c.concurrency = n
	}
	if v := strings.TrimSpace(getenv("METAMINT_MODE")); v != "" {
		if v != modeInline && v != modeFanOut {
			return c, configErr(fmt.Errorf("METAMINT_MODE %q is neither %s nor %s", truncate(v), modeInline, modeFanOut))
		}
		c.mode = v
	}
	if v := strings.TrimSpace(getenv("METAMINT_SECRET_TAG")); v != "" {
		t, err := parseSecretTag(v)
		if err != nil {
			return c, configErr(fmt.Errorf("METAMINT_SECRET_TAG %w", err))
		}
		c.secretTag = t
	}
	return c, nil
}

// retryPolicy is the Lambda's Graph retry policy: mint.DefaultRetryPolicy
// (four attempts, about 0.5 s, 1 s and 2 s apart), except that a wait Meta
// asks for is never too long. When Graph throttles, its usage headers say when
// access returns (estimated_time_to_regain_access, in whole minutes), and
// the default policy gives up on any wait over 30 s: a one-minute estimate
// would fail every rotation in flight. Here MaxDelay is the longest
// invocation, so the only bound is the invocation's own deadline: mint
// starts no wait (a retry's or the pacer's) that would pass it, and the run
// reports the secrets it could not finish as deferred.
func retryPolicy() mint.RetryPolicy {
	p := mint.DefaultRetryPolicy()
	p.MaxDelay = maxInvocation
	return p
}

// graphOptions configure the one Graph client every rotation of an
// invocation shares, so that Meta's usage headers pace all of them.
func graphOptions(cfg config) []mint.Option {
	return []mint.Option{
		mint.WithBaseURL(cfg.graphURL),
		mint.WithVersion(cfg.graphVersion),
		mint.WithRetry(retryPolicy()),
		// When the usage headers near their limits, every goroutine slows
		// down; when Graph throttles, every call waits until access returns.
		mint.WithPacing(mint.Pacing{}),
	}
}

// splitIDs splits a comma- or whitespace-separated list of secret IDs and
// drops duplicates, keeping the first-seen order.
func splitIDs(s string) []string {
	var ids []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	}) {
		if !slices.Contains(ids, f) {
			ids = append(ids, f)
		}
	}
	return ids
}

// handler is the Lambda function: one entry point for the three event
// shapes. It is safe for concurrent use.
type handler struct {
	rot       *rotator
	fleet     *fleet
	sm        fleetAPI
	secretIDs []string
	secretTag *secretTag
	mode      string
	// listPage is the page size of ListSecrets.
	listPage int32
	log      *slog.Logger
}

func newHandler(sm fleetAPI, graph *mint.Client, log *slog.Logger, cfg config, now func() time.Time) *handler {
	rot := &rotator{sm: sm, graph: graph, log: log, now: now, headroom: defaultHeadroom}
	return &handler{
		rot: rot,
		fleet: &fleet{
			sm:            sm,
			rot:           rot,
			concurrency:   cfg.concurrency,
			refreshBefore: cfg.refreshBefore,
			margin:        defaultMargin,
			reserve:       defaultReserve,
		},
		sm:        sm,
		secretIDs: cfg.secretIDs,
		secretTag: cfg.secretTag,
		mode:      cfg.mode,
		listPage:  maxListPage,
		log:       log,
	}
}

// Response is the function's answer. A rotation event fills Step to
// Outcome (Secrets Manager ignores it); a scheduled or direct run fills
// Results and Summary.
type Response struct {
	// Trigger is "rotation", "schedule" or "direct".
	Trigger string `json:"trigger"`
	// Mode is how a scheduled or direct run rotated: "inline" or "fanout".
	Mode string `json:"mode,omitempty"`

	Step      string `json:"step,omitempty"`
	SecretARN string `json:"secret_arn,omitempty"`
	VersionID string `json:"version_id,omitempty"`
	Outcome   string `json:"outcome,omitempty"`

	Results []SecretResult `json:"results,omitempty"`
	Summary *Summary       `json:"summary,omitempty"`
}

// The event shapes.
const (
	triggerRotation = "rotation"
	triggerSchedule = "schedule"
	triggerDirect   = "direct"
)

// event is an invocation payload, discriminated.
type event struct {
	trigger  string
	rotation events.SecretsManagerSecretRotationEvent
	schedule events.EventBridgeEvent
	direct   directEvent
}

// directEvent is the payload of a direct invocation and of the EventBridge
// Scheduler target: {"rotate": ["secret-id", ...], "force": false}. An empty
// list means the configured secrets: METAMINT_SECRET_IDS and those tagged
// METAMINT_SECRET_TAG. Mode, "inline" or "fanout", overrides METAMINT_MODE
// for this run; empty means METAMINT_MODE.
type directEvent struct {
	Rotate []string `json:"rotate"`
	Force  bool     `json:"force"`
	Mode   string   `json:"mode"`
}

const directShape = `{"rotate": ["secret-id", ...], "force": false, "mode": "inline"}`

// parseEvent discriminates the payload on its keys, matched exactly (not
// case-insensitively as encoding/json would), then decodes the shape.
func parseEvent(payload []byte) (event, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(payload, &keys); err != nil || keys == nil {
		return event{}, eventErr(errors.New("the payload is not a JSON object"))
	}
	has := func(k string) bool { _, ok := keys[k]; return ok }
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(keys[k], &s)
		return s
	}
	switch {
	case has("Step") && has("SecretId") && has("ClientRequestToken"):
		var ev events.SecretsManagerSecretRotationEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return event{}, eventErr(fmt.Errorf("rotation event: %w", jsonErrorWithoutData(err)))
		}
		if ev.SecretID == "" || ev.ClientRequestToken == "" || ev.Step == "" {
			return event{}, eventErr(errors.New("rotation event: Step, SecretId and ClientRequestToken must be non-empty strings"))
		}
		if !slices.Contains(steps, ev.Step) {
			return event{}, eventErr(fmt.Errorf("rotation event: unknown Step %q; want createSecret, setSecret, testSecret or finishSecret", truncate(ev.Step)))
		}
		return event{trigger: triggerRotation, rotation: ev}, nil
	case str("source") == "aws.events" && str("detail-type") == "Scheduled Event":
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return event{}, eventErr(fmt.Errorf("scheduled event: %w", jsonErrorWithoutData(err)))
		}
		return event{trigger: triggerSchedule, schedule: ev}, nil
	case has("rotate"):
		var unknown []string
		for k := range keys {
			if k != "rotate" && k != "force" && k != "mode" {
				unknown = append(unknown, truncate(k))
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			return event{}, eventErr(fmt.Errorf("direct invocation: unknown fields %q; want %s", unknown, directShape))
		}
		var ev directEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return event{}, eventErr(fmt.Errorf("direct invocation: want %s: %w", directShape, jsonErrorWithoutData(err)))
		}
		if ev.Mode != "" && ev.Mode != modeInline && ev.Mode != modeFanOut {
			return event{}, eventErr(fmt.Errorf("direct invocation: mode %q is neither %s nor %s", truncate(ev.Mode), modeInline, modeFanOut))
		}
		for _, id := range ev.Rotate {
			if strings.TrimSpace(id) == "" {
				return event{}, eventErr(errors.New("direct invocation: rotate holds an empty secret ID"))
			}
		}
		return event{trigger: triggerDirect, direct: ev}, nil
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, truncate(k))
	}
	slices.Sort(names)
	if len(names) > 10 {
		names = append(names[:10], "...")
	}
	return event{}, eventErr(fmt.Errorf("unrecognized event with fields %q: want a Secrets Manager rotation event "+
		"(Step, SecretId, ClientRequestToken), an EventBridge Scheduled Event (source aws.events), "+
		"or %s", names, directShape))
}

func truncate(s string) string {
	const n = 40
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Handle runs one invocation. A rotation step that fails returns its error,
// which makes Secrets Manager fail (and later retry) the rotation. A
// scheduled or direct run returns per-secret results, failures included,
// and no error: one failed secret does not hide what happened to the others.
func (h *handler) Handle(ctx context.Context, payload json.RawMessage) (Response, error) {
	ev, err := parseEvent(payload)
	if err != nil {
		h.log.ErrorContext(ctx, "invocation refused", "error_type", errorType(err), "error", err.Error())
		return Response{}, err
	}
	switch ev.trigger {
	case triggerRotation:
		return h.handleRotation(ctx, ev.rotation)
	case triggerSchedule:
		h.log.InfoContext(ctx, "scheduled run", "trigger", ev.trigger, "event_id", ev.schedule.ID, "resources", ev.schedule.Resources)
		return h.handleRun(ctx, ev.trigger, nil, false, "")
	default:
		return h.handleRun(ctx, ev.trigger, ev.direct.Rotate, ev.direct.Force, ev.direct.Mode)
	}
}

func (h *handler) handleRotation(ctx context.Context, ev events.SecretsManagerSecretRotationEvent) (Response, error) {
	h.log.InfoContext(ctx, "rotation step", "trigger", triggerRotation, "step", ev.Step, "secret_id", ev.SecretID, "version_id", ev.ClientRequestToken)
	rot := &rotation{
		secretID:      ev.SecretID,
		token:         ev.ClientRequestToken,
		rotationToken: ev.RotationToken,
		refs:          newRefCache(),
	}
	ctx, cancel := withReserve(ctx, h.fleet.reserve)
	defer cancel()
	outcome, err := h.rot.runStep(ctx, rot, ev.Step)
	if err != nil {
		h.log.ErrorContext(ctx, "rotation step failed", "step", ev.Step, "secret_arn", rot.name(), "version_id", ev.ClientRequestToken,
			"error_type", errorType(err), "error", err.Error())
		return Response{}, err
	}
	return Response{Trigger: triggerRotation, Step: ev.Step, SecretARN: rot.name(), VersionID: ev.ClientRequestToken, Outcome: outcome}, nil
}

func (h *handler) handleRun(ctx context.Context, trigger string, ids []string, force bool, mode string) (Response, error) {
	if mode == "" {
		mode = h.mode
	}
	ids, err := h.targets(ctx, ids)
	if err != nil {
		h.log.ErrorContext(ctx, "listing the secrets to check failed", "trigger", trigger, "error_type", errorType(err), "error", err.Error())
		return Response{}, err
	}
	if len(ids) == 0 {
		if h.secretTag == nil {
			err := configErr(errors.New("no secrets to rotate: set METAMINT_SECRET_IDS or METAMINT_SECRET_TAG, or list secret IDs in the event's rotate field"))
			h.log.ErrorContext(ctx, "nothing to do", "trigger", trigger, "error_type", errorType(err), "error", err.Error())
			return Response{}, err
		}
		h.log.WarnContext(ctx, "no secret carries the tag, and METAMINT_SECRET_IDS is empty", "trigger", trigger, "tag", h.secretTag.String())
	}
	h.log.InfoContext(ctx, "run started", "trigger", trigger, "mode", mode, "secrets", len(ids), "force", force)
	results, sum := h.fleet.run(ctx, ids, force, mode)
	h.log.InfoContext(ctx, "run done", "trigger", trigger, "mode", mode, "rotated", sum.Rotated, "rotation_started", sum.RotationStarted,
		"not_due", sum.NotDue, "skipped", sum.Skipped, "deferred", sum.Deferred, "failed", sum.Failed)
	return Response{Trigger: trigger, Mode: mode, Results: results, Summary: &sum}, nil
}

// targets returns the secrets a run checks. A non-empty rotate list in the
// event means exactly those secrets, so that a forced run never touches
// others. Otherwise: METAMINT_SECRET_IDS in order, then the secrets tagged
// METAMINT_SECRET_TAG that are not already listed by ARN or name. (Two IDs
// that name one secret in other ways, such as a partial ARN, are caught
// when the run describes them: the second is reported skipped.)
func (h *handler) targets(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) > 0 {
		return splitIDs(strings.Join(ids, ",")), nil
	}
	ids = slices.Clone(h.secretIDs)
	if h.secretTag == nil {
		return ids, nil
	}
	tagged, err := listTagged(ctx, h.sm, *h.secretTag, h.listPage)
	if err != nil {
		return nil, smErr("schedule", "", fmt.Sprintf("ListSecrets (METAMINT_SECRET_TAG %s)", h.secretTag), err)
	}
	for _, e := range tagged {
		arn := aws.ToString(e.ARN)
		if !slices.Contains(ids, arn) && !slices.Contains(ids, aws.ToString(e.Name)) {
			ids = append(ids, arn)
		}
	}
	return ids, nil
}

// withReserve returns ctx ending reserve before its deadline (when it has
// one), so that work cut off there still leaves the invocation time to
// clean up and answer.
func withReserve(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-reserve))
	}
	return context.WithCancel(ctx)
}
