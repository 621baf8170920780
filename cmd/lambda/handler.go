package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/internal/version"
	"github.com/metamint/metamint/pkg/mint"
)

// secretsAPI is the Secrets Manager client the Lambda uses: the rotation
// engine's calls and ListSecrets for METAMINT_SECRET_TAG.
// *secretsmanager.Client satisfies it.
type secretsAPI interface {
	rotation.SecretsManager
	secretsmanager.ListSecretsAPIClient
}

var _ secretsAPI = (*secretsmanager.Client)(nil)

// handler is the Lambda function: one entry point for the three event
// shapes. It is safe for concurrent use.
type handler struct {
	rot       *rotation.Rotator
	fleet     *rotation.Fleet
	list      secretsmanager.ListSecretsAPIClient
	secretIDs []string
	secretTag *secretTag
	mode      rotation.Mode
	// listPage is the page size of ListSecrets.
	listPage int32
	log      *slog.Logger
	metrics  *metrics
	// reserve is the end of a rotation event's invocation that its calls
	// may not use (see rotation.DefaultReserve).
	reserve time.Duration
	// invoked is set once the first invocation started: cold_start is
	// true for that one only.
	invoked atomic.Bool
	// version names this build in the "run done" record (version.Short).
	version string
}

// newHandler wires the engine. Logs go through log; metrics (EMF lines) to
// out.
func newHandler(sm secretsAPI, graph *mint.Client, log *slog.Logger, out io.Writer, cfg config, rt runtimeEnv, now func() time.Time) *handler {
	rot := &rotation.Rotator{SM: sm, Graph: graph, Log: log, Now: now, RevokeGrace: cfg.revokeGrace}
	return &handler{
		rot: rot,
		fleet: &rotation.Fleet{
			Rotator:       rot,
			Concurrency:   cfg.concurrency,
			RefreshBefore: cfg.refreshBefore,
			StaleAfter:    cfg.staleAfter,
		},
		list:      sm,
		secretIDs: cfg.secretIDs,
		secretTag: cfg.secretTag,
		mode:      rotation.Mode(cfg.mode),
		listPage:  maxListPage,
		log:       log,
		metrics:   &metrics{w: out, function: rt.functionName, now: now},
		reserve:   rotation.DefaultReserve,
		version:   version.Short(),
	}
}

// Response is the function's answer. A rotation event fills Step to
// Outcome (Secrets Manager ignores it); a scheduled or direct run fills
// Results and Summary.
type Response struct {
	// Trigger is "rotation", "schedule" or "direct".
	Trigger string `json:"trigger"`
	// Mode is how a scheduled or direct run rotated: "inline" or "fanout".
	Mode rotation.Mode `json:"mode,omitempty"`

	Step      string `json:"step,omitempty"`
	SecretARN string `json:"secret_arn,omitempty"`
	VersionID string `json:"version_id,omitempty"`
	Outcome   string `json:"outcome,omitempty"`

	Results []rotation.SecretResult `json:"results,omitempty"`
	Summary *rotation.Summary       `json:"summary,omitempty"`
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
// for this run; empty means METAMINT_MODE. Schedule, set by the template's
// schedule to its ARN (the context attribute <aws.scheduler.schedule-arn>),
// makes the run a scheduled one (trigger "schedule").
type directEvent struct {
	Rotate   []string      `json:"rotate"`
	Force    bool          `json:"force"`
	Mode     rotation.Mode `json:"mode"`
	Schedule string        `json:"schedule"`
}

const directShape = `{"rotate": ["secret-id", ...], "force": false, "mode": "inline", "schedule": "arn"}`

// maxScheduleARN bounds a schedule ARN the event carries, for the log: the
// payload is the invoker's text.
const maxScheduleARN = 256

// parseEvent discriminates the payload on its keys, matched exactly (not
// case-insensitively as encoding/json would), then decodes the shape.
func parseEvent(payload []byte) (event, error) {
	switch {
	case !utf8.Valid(payload):
		return event{}, eventErr(errors.New("the payload is not UTF-8"))
	case !json.Valid(payload):
		return event{}, eventErr(errors.New("the payload is not JSON, or is truncated"))
	}
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
			return event{}, eventErr(fmt.Errorf("rotation event: %w", secret.JSONErrorWithoutData(err)))
		}
		if ev.SecretID == "" || ev.ClientRequestToken == "" || ev.Step == "" {
			return event{}, eventErr(errors.New("rotation event: Step, SecretId and ClientRequestToken must be non-empty strings"))
		}
		if !slices.Contains(rotation.Steps, ev.Step) {
			return event{}, eventErr(fmt.Errorf("rotation event: unknown Step %q; want createSecret, setSecret, testSecret or finishSecret", truncate(ev.Step)))
		}
		return event{trigger: triggerRotation, rotation: ev}, nil
	case str("source") == "aws.events" && str("detail-type") == "Scheduled Event":
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return event{}, eventErr(fmt.Errorf("scheduled event: %w", secret.JSONErrorWithoutData(err)))
		}
		return event{trigger: triggerSchedule, schedule: ev}, nil
	case has("rotate"):
		var unknown []string
		for k := range keys {
			if k != "rotate" && k != "force" && k != "mode" && k != "schedule" {
				unknown = append(unknown, truncate(k))
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			return event{}, eventErr(fmt.Errorf("direct invocation: unknown fields %q; want %s", unknown, directShape))
		}
		var ev directEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return event{}, eventErr(fmt.Errorf("direct invocation: want %s: %w", directShape, secret.JSONErrorWithoutData(err)))
		}
		if ev.Mode != "" && ev.Mode != rotation.Inline && ev.Mode != rotation.FanOut {
			return event{}, eventErr(fmt.Errorf("direct invocation: mode %q is neither %s nor %s", truncate(string(ev.Mode)), rotation.Inline, rotation.FanOut))
		}
		for _, id := range ev.Rotate {
			if strings.TrimSpace(id) == "" {
				return event{}, eventErr(errors.New("direct invocation: rotate holds an empty secret ID"))
			}
		}
		if ev.Schedule != "" {
			return event{trigger: triggerSchedule, direct: ev}, nil
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

// Invoke is the runtime's entry point (lambda.Handler): it takes the raw
// payload, so that a payload that is not UTF-8, not JSON or truncated is an
// EventError with an ERROR log line like every other bad payload, rather than
// the runtime's own decoding error.
func (h *handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	resp, err := h.Handle(ctx, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// Handle runs one invocation. A rotation step that fails returns its error,
// which makes Secrets Manager fail (and later retry) the rotation. A
// scheduled or direct run returns per-secret results and, when any secret
// failed, a RunFailedError too: the runtime then reports the invocation as
// failed (the results are in the "run done" log line and the metrics).
func (h *handler) Handle(ctx context.Context, payload json.RawMessage) (Response, error) {
	ctx = context.WithValue(ctx, coldStartKey{}, !h.invoked.Swap(true))
	ev, err := parseEvent(payload)
	if err != nil {
		h.log.ErrorContext(ctx, "invocation refused", "error_type", errorType(err), "error", err.Error())
		h.metrics.emit([]metric{count("Failed", 1)}, map[string]string{"trigger": "event"})
		return Response{}, err
	}
	switch ev.trigger {
	case triggerRotation:
		return h.handleRotation(ctx, ev.rotation)
	case triggerSchedule:
		if ev.direct.Schedule != "" { // EventBridge Scheduler
			h.log.InfoContext(ctx, "scheduled run", "trigger", ev.trigger, "schedule", truncateN(ev.direct.Schedule, maxScheduleARN))
			return h.handleRun(ctx, ev.trigger, ev.direct.Rotate, ev.direct.Force, ev.direct.Mode)
		}
		h.log.InfoContext(ctx, "scheduled run", "trigger", ev.trigger, "event_id", ev.schedule.ID, "resources", ev.schedule.Resources)
		return h.handleRun(ctx, ev.trigger, nil, false, "")
	default:
		return h.handleRun(ctx, ev.trigger, ev.direct.Rotate, ev.direct.Force, ev.direct.Mode)
	}
}

func (h *handler) handleRotation(ctx context.Context, ev events.SecretsManagerSecretRotationEvent) (Response, error) {
	h.log.InfoContext(ctx, "rotation step", "trigger", triggerRotation, "step", ev.Step, "secret_id", ev.SecretID, "version_id", ev.ClientRequestToken)
	ctx, cancel := rotation.WithReserve(ctx, h.reserve)
	defer cancel()
	res, err := h.rot.Step(ctx, rotation.Event{SecretID: ev.SecretID, VersionID: ev.ClientRequestToken, RotationToken: ev.RotationToken, Step: ev.Step})
	props := map[string]string{"trigger": triggerRotation, "step": ev.Step}
	if err != nil {
		h.log.ErrorContext(ctx, "rotation step failed", "step", ev.Step, "secret_arn", res.SecretARN, "version_id", ev.ClientRequestToken,
			"state", res.State.String(), "error_type", errorType(err), "error", err.Error())
		h.metrics.emit([]metric{count("Rotated", 0), count("Failed", 1)}, props)
		return Response{}, err
	}
	rotated := 0
	if res.Outcome == rotation.OutcomeFinished {
		rotated = 1
	}
	values := []metric{count("Rotated", rotated), count("Failed", 0)}
	if ev.Step == rotation.StepFinish {
		values = append(values, count("RevocationsFailed", res.RevocationsFailed))
	}
	h.metrics.emit(values, props)
	return Response{Trigger: triggerRotation, Step: ev.Step, SecretARN: res.SecretARN, VersionID: ev.ClientRequestToken, Outcome: res.Outcome}, nil
}

func (h *handler) handleRun(ctx context.Context, trigger string, ids []string, force bool, mode rotation.Mode) (Response, error) {
	if mode == "" {
		mode = h.mode
	}
	ids, err := h.targets(ctx, ids)
	listDeferred := ""
	if reason, cut := rotation.CutShort(ctx, err); err != nil && cut {
		// A throttle (or the time running out) while listing is "not
		// now": the listed secrets are checked, the tagged ones are
		// deferred to the next run, which lists them again.
		listDeferred = "listing the secrets tagged " + h.secretTag.String() + ": " + reason
		h.log.WarnContext(ctx, "the tagged secrets are deferred", "trigger", trigger, "reason", listDeferred,
			"error_type", errorType(err), "error", err.Error())
		ids, err = slices.Clone(h.secretIDs), nil
	}
	if err != nil {
		h.log.ErrorContext(ctx, "listing the secrets to check failed", "trigger", trigger, "error_type", errorType(err), "error", err.Error())
		h.metrics.emit([]metric{count("Failed", 1)}, map[string]string{"trigger": trigger})
		return Response{}, err
	}
	if len(ids) == 0 && listDeferred == "" {
		if h.secretTag == nil {
			err := configErr(errors.New("no secrets to rotate: set METAMINT_SECRET_IDS or METAMINT_SECRET_TAG, or list secret IDs in the event's rotate field"))
			h.log.ErrorContext(ctx, "nothing to do", "trigger", trigger, "error_type", errorType(err), "error", err.Error())
			h.metrics.emit([]metric{count("Failed", 1)}, map[string]string{"trigger": trigger})
			return Response{}, err
		}
		h.log.WarnContext(ctx, "no secret carries the tag, and METAMINT_SECRET_IDS is empty", "trigger", trigger, "tag", h.secretTag.String())
	}
	h.log.InfoContext(ctx, "run started", "trigger", trigger, "mode", string(mode), "secrets", len(ids), "force", force)
	results, sum := h.fleet.Run(ctx, ids, rotation.RunOptions{Force: force, Mode: mode})
	if listDeferred != "" {
		sum.Deferred++ // the tagged secrets, how many unknown
	}
	attrs := []any{"trigger", trigger, "mode", string(mode), "rotated", sum.Rotated, "rotation_started", sum.RotationStarted,
		"not_due", sum.NotDue, "skipped", sum.Skipped, "deferred", sum.Deferred, "failed", sum.Failed,
		"revocations_failed", sum.RevocationsFailed, "version", h.version}
	values := []metric{count("Rotated", sum.Rotated), count("RotationStarted", sum.RotationStarted), count("NotDue", sum.NotDue),
		count("Skipped", sum.Skipped), count("Deferred", sum.Deferred), count("Failed", sum.Failed),
		count("RevocationsFailed", sum.RevocationsFailed)}
	if sum.MinDaysToExpiry != nil {
		attrs = append(attrs, "min_days_to_expiry", *sum.MinDaysToExpiry)
		values = append(values, metric{"MinDaysToExpiry", "None", *sum.MinDaysToExpiry})
	}
	h.metrics.emit(values, map[string]string{"trigger": trigger, "mode": string(mode)})
	resp := Response{Trigger: trigger, Mode: mode, Results: results, Summary: &sum}
	if sum.Failed > 0 {
		err := runFailedErr(trigger, results, sum)
		h.log.ErrorContext(ctx, "run done", append(attrs, "results", results, "error_type", errorType(err), "error", err.Error())...)
		return resp, err
	}
	h.log.InfoContext(ctx, "run done", attrs...)
	return resp, nil
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
	tagged, err := listTagged(ctx, h.list, *h.secretTag, h.listPage)
	if err != nil {
		return nil, &rotation.SecretsManagerError{Failure: rotation.Failure{Step: "schedule",
			Err: fmt.Errorf("secrets manager ListSecrets (METAMINT_SECRET_TAG %s): %w", h.secretTag, err)}}
	}
	for _, e := range tagged {
		arn := aws.ToString(e.ARN)
		if !slices.Contains(ids, arn) && !slices.Contains(ids, aws.ToString(e.Name)) {
			ids = append(ids, arn)
		}
	}
	return ids, nil
}
