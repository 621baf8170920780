package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/pkg/mint"
)

// fleetAPI is what scheduled and direct runs need besides the rotation
// steps: listing the tagged secrets, and starting rotations in fan-out mode.
// *secretsmanager.Client satisfies it.
type fleetAPI interface {
	secretsAPI
	ListSecrets(context.Context, *secretsmanager.ListSecretsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
	RotateSecret(context.Context, *secretsmanager.RotateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error)
}

var _ fleetAPI = (*secretsmanager.Client)(nil)

// Statuses of one secret in a scheduled or direct run.
const (
	statusRotated = "rotated" // inline: the four steps ran; AWSCURRENT holds a new token
	// statusStarted is fan-out's "due": RotateSecret started a rotation that
	// Secrets Manager runs in invocations of their own.
	statusStarted  = "rotation_started"
	statusNotDue   = "not_due"  // valid, matches the secret, and does not expire soon
	statusSkipped  = "skipped"  // left alone on purpose (another rotation in progress, a duplicate)
	statusDeferred = "deferred" // the invocation's time ran out first; the next run picks it up
	statusFailed   = "failed"   // see error_type and error; AWSCURRENT was not moved unless finishSecret says so
)

// SecretResult is what a scheduled or direct run did with one secret.
type SecretResult struct {
	SecretID  string `json:"secret_id"`
	SecretARN string `json:"secret_arn,omitempty"`
	Status    string `json:"status"`
	// Reason says why the secret was due, not due, skipped or deferred.
	Reason string `json:"reason,omitempty"`
	// Method is how the new token was made: "refreshed" or "minted"; empty
	// when a previous attempt had already stored it, and in fan-out mode.
	Method string `json:"method,omitempty"`
	// VersionID is the new version: the ClientRequestToken of the rotation.
	VersionID string `json:"version_id,omitempty"`
	// ExpiresAt is the current token's expiry (RFC 3339) after the run: the
	// new token's once rotated, the old one's otherwise.
	ExpiresAt string `json:"expires_at,omitempty"`
	Step      string `json:"step,omitempty"` // the step that failed or was cut short
	ErrorType string `json:"error_type,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Summary counts the results of a run by status.
type Summary struct {
	Rotated         int `json:"rotated"`
	RotationStarted int `json:"rotation_started"`
	NotDue          int `json:"not_due"`
	Skipped         int `json:"skipped"`
	Deferred        int `json:"deferred"`
	Failed          int `json:"failed"`
}

// fleet checks many secrets in one invocation, at most concurrency at a
// time, and rotates the due ones: inline, each through the rotator's four
// steps in-process, or by fan-out, each with a RotateSecret that makes
// Secrets Manager run the steps. One failure does not stop the others.
type fleet struct {
	sm            fleetAPI
	rot           *rotator
	concurrency   int
	refreshBefore time.Duration
	// margin is how much of the invocation's remaining time a secret needs
	// to be started; closer to the deadline, the rest are deferred to the
	// next run, so no rotation is cut off half-way.
	margin time.Duration
	// reserve is the end of the invocation that the secrets' calls may not
	// use; see defaultReserve.
	reserve time.Duration
}

// run checks ids in mode and returns the results in the order of ids.
func (f *fleet) run(ctx context.Context, ids []string, force bool, mode string) ([]SecretResult, Summary) {
	results := make([]SecretResult, len(ids))
	claims := &claimSet{arns: map[string]string{}}
	refs := newRefCache()
	// Every secret's calls share one cut-off, reserve before the deadline.
	work, cancel := withReserve(ctx, f.reserve)
	defer cancel()
	sem := make(chan struct{}, max(f.concurrency, 1))
	var wg sync.WaitGroup
	for i, id := range ids {
		reason, late := f.late(ctx)
		if !late {
			sem <- struct{}{} // a slot frees when a running secret is done
			if reason, late = f.late(ctx); late {
				<-sem
			}
		}
		if late {
			for j := i; j < len(ids); j++ {
				results[j] = SecretResult{SecretID: ids[j], Status: statusDeferred, Reason: reason}
			}
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = f.one(work, id, force, mode, claims, refs)
		})
	}
	wg.Wait()
	var sum Summary
	for _, r := range results {
		switch r.Status {
		case statusRotated:
			sum.Rotated++
		case statusStarted:
			sum.RotationStarted++
		case statusNotDue:
			sum.NotDue++
		case statusSkipped:
			sum.Skipped++
		case statusDeferred:
			sum.Deferred++
		case statusFailed:
			sum.Failed++
		}
	}
	return results, sum
}

// late reports whether the invocation is too close to its deadline to start
// another secret.
func (f *fleet) late(ctx context.Context) (string, bool) {
	if ctx.Err() != nil {
		return "the invocation ended before this secret could start", true
	}
	deadline, ok := ctx.Deadline()
	if ok && time.Until(deadline) < f.margin {
		return fmt.Sprintf("less than %s of the invocation was left; the next run picks it up", f.margin), true
	}
	return "", false
}

// cutShort reports whether err stopped a secret because the invocation's
// time ran out, rather than because something is wrong with the secret or
// Graph, and why. ctx is the context the secret's calls ran under.
func cutShort(ctx context.Context, err error) (string, bool) {
	if ctx.Err() != nil {
		return "the invocation's time ran out before this secret was done; the next run picks it up where it stopped", true
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return "", false
	}
	var gerr *mint.GraphError
	if errors.As(err, &gerr) && gerr.Throttled() && gerr.RetryAfter() > time.Until(deadline) {
		return fmt.Sprintf("Meta is throttling the app and expects access back in about %s, after this invocation's deadline; the next run picks it up",
			gerr.RetryAfter().Round(time.Second)), true
	}
	// mint refuses to start a wait for Meta's rate limits, and createSecret
	// a mint, that would pass the deadline; both wrap DeadlineExceeded. An
	// HTTP client's own timeout wraps it too, inside a *url.Error: that is
	// Graph failing, not the invocation's time running out.
	var uerr *url.Error
	if errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &uerr) {
		return "Meta's rate limits asked for a wait that would end after this invocation's deadline, " +
			"or too little time was left to make a token and store it; the next run picks it up", true
	}
	return "", false
}

// claimSet makes sure one run rotates a secret once, even when it is listed
// twice (by name and by ARN).
type claimSet struct {
	mu   sync.Mutex
	arns map[string]string // ARN -> the ID that claimed it
}

func (c *claimSet) claim(arn, id string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if first, taken := c.arns[arn]; taken {
		return first, false
	}
	c.arns[arn] = id
	return "", true
}

// one decides whether the secret is due and, if so, rotates it (inline) or
// starts its rotation (fan-out).
func (f *fleet) one(ctx context.Context, id string, force bool, mode string, claims *claimSet, refs *refCache) SecretResult {
	r := f.rot
	fanOut := mode == modeFanOut
	res := SecretResult{SecretID: id}
	fail := func(err error) SecretResult {
		var sf interface{ stepName() string }
		if errors.As(err, &sf) {
			res.Step = sf.stepName()
		}
		res.ErrorType, res.Error = errorType(err), err.Error()
		if reason, cut := cutShort(ctx, err); cut {
			res.Status, res.Reason = statusDeferred, reason
			r.log.WarnContext(ctx, "rotation deferred", "secret_id", id, "secret_arn", res.SecretARN, "step", res.Step,
				"reason", reason, "error_type", res.ErrorType, "error", res.Error)
			return res
		}
		res.Status = statusFailed
		r.log.ErrorContext(ctx, "rotation failed", "secret_id", id, "secret_arn", res.SecretARN, "step", res.Step,
			"error_type", res.ErrorType, "error", res.Error)
		return res
	}

	desc, err := r.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		return fail(smErr("schedule", id, "DescribeSecret", err))
	}
	res.SecretARN = aws.ToString(desc.ARN)
	if first, ok := claims.claim(res.SecretARN, id); !ok {
		res.Status, res.Reason = statusSkipped, fmt.Sprintf("the same secret as %q in this run", first)
		return res
	}
	curVersion := versionWith(desc.VersionIdsToStages, stageCurrent)
	if curVersion == "" {
		return fail(stateErr("schedule", res.SecretARN, "the secret has no AWSCURRENT version: put the secret's JSON first"))
	}
	if fanOut {
		if err := rotationConfigured(desc); err != nil {
			return fail(err)
		}
	}
	token := versionToken(res.SecretARN, curVersion)
	// The four steps check these stages instead of describing the secret
	// again; the rotation keeps them up to date with its own writes.
	rot := &rotation{secretID: res.SecretARN, token: token, scheduled: true, refs: refs, arn: res.SecretARN,
		stages: maps.Clone(desc.VersionIdsToStages), known: true}

	pendingVersion := ""
	for v, labels := range desc.VersionIdsToStages {
		if v != curVersion && slices.Contains(labels, stagePending) {
			pendingVersion = v
		}
	}
	var reason string
	switch {
	case pendingVersion == token && fanOut:
		res.Status, res.VersionID = statusSkipped, token
		res.Reason = "the rotation of this cycle is in progress (AWSPENDING is on its version): Secrets Manager runs it " +
			"and retries a failed step; if it gave up, an inline run finishes it"
		return res
	case pendingVersion == token:
		reason = "resuming the rotation an earlier run started"
	case pendingVersion != "" && fanOut:
		res.Status = statusSkipped
		res.Reason = fmt.Sprintf("another rotation is in progress (AWSPENDING is on version %s); fan-out leaves it to Secrets Manager, "+
			"an inline run with force takes it over", pendingVersion)
		return res
	case pendingVersion != "" && !force:
		res.Status = statusSkipped
		res.Reason = fmt.Sprintf("another rotation is in progress (AWSPENDING is on version %s); force takes it over", pendingVersion)
		return res
	default:
		var due bool
		due, reason, err = f.due(ctx, rot, force)
		if err != nil {
			return fail(err)
		}
		if !due {
			res.Status, res.Reason = statusNotDue, reason
			if rot.currentInfo != nil {
				res.ExpiresAt = formatTime(rot.currentInfo.ExpiresAt)
			}
			return res
		}
	}
	res.Reason, res.VersionID = reason, token

	if fanOut {
		if err := f.start(ctx, rot, desc); err != nil {
			return fail(err)
		}
		res.Status = statusStarted
		if rot.currentInfo != nil { // the rotation has only started
			res.ExpiresAt = formatTime(rot.currentInfo.ExpiresAt)
		}
		return res
	}

	r.log.InfoContext(ctx, "rotating", "secret_arn", res.SecretARN, "version_id", token, "reason", reason)
	for _, step := range steps {
		if _, err := r.runStep(ctx, rot, step); err != nil {
			return fail(err)
		}
	}
	res.Status = statusRotated
	res.Method = rot.method
	if rot.pendingInfo != nil {
		res.ExpiresAt = formatTime(rot.pendingInfo.ExpiresAt)
	}
	return res
}

// rotationConfigured checks that Secrets Manager can rotate the secret
// itself, as fan-out mode asks it to: a rotation function is attached and
// rotation is not turned off.
func rotationConfigured(desc *secretsmanager.DescribeSecretOutput) error {
	arn := aws.ToString(desc.ARN)
	switch {
	case aws.ToString(desc.RotationLambdaARN) == "":
		return stateErr("schedule", arn, "fan-out mode needs the secret's rotation configured with this function "+
			"(aws secretsmanager rotate-secret --rotation-lambda-arn); it has no rotation function")
	case desc.RotationEnabled != nil && !*desc.RotationEnabled:
		return stateErr("schedule", arn, "fan-out mode needs the secret's rotation turned on; it is off")
	}
	return nil
}

// start asks Secrets Manager to rotate the secret now (RotateSecret with
// RotateImmediately), with the version token of this cycle as the
// ClientRequestToken: a retried run derives the same token, sees AWSPENDING
// on it and does not ask again. Secrets Manager then invokes the rotation
// function once per step.
//
// The call names the rotation function DescribeSecret reported. On AWS that
// changes nothing (RotateSecret without configuration uses the stored one);
// moto, without it, forgets the function and moves AWSCURRENT onto an empty
// version.
func (f *fleet) start(ctx context.Context, rot *rotation, desc *secretsmanager.DescribeSecretOutput) error {
	_, err := f.sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{
		SecretId:           aws.String(rot.arn),
		ClientRequestToken: aws.String(rot.token),
		RotationLambdaARN:  desc.RotationLambdaARN,
		RotateImmediately:  aws.Bool(true),
	})
	if err != nil {
		return smErr("schedule", rot.arn, "RotateSecret", err)
	}
	f.rot.log.InfoContext(ctx, "rotation started", "secret_arn", rot.arn, "version_id", rot.token)
	return nil
}

// due decides whether the secret's current token needs replacing: it is
// missing or invalid, no longer matches the secret, expires within
// refreshBefore, or force is set.
func (f *fleet) due(ctx context.Context, rot *rotation, force bool) (bool, string, error) {
	const step = "schedule"
	r := f.rot
	cur, err := r.loadCurrent(ctx, rot, step)
	if err != nil {
		return false, "", err
	}
	if cur.AccessToken == "" {
		return true, "the secret holds no token yet", nil
	}
	app, err := r.app(ctx, rot, step, cur)
	if err != nil {
		return false, "", err
	}
	info, err := r.inspectCurrent(ctx, rot, step, app)
	if err != nil {
		return false, "", err
	}
	switch {
	case force:
		return true, "forced", nil
	case !info.IsValid:
		return true, "the current token is not valid: " + tokenReason(info), nil
	}
	if err := info.Check(cur.expectation()); err != nil {
		return true, "the current token does not match the secret: " + err.Error(), nil
	}
	if info.NeverExpires() {
		return false, "the current token never expires", nil
	}
	left := info.ExpiresAt.Sub(r.now())
	if left <= f.refreshBefore {
		return true, fmt.Sprintf("the current token expires at %s, within %s", formatTime(info.ExpiresAt), f.refreshBefore), nil
	}
	return false, fmt.Sprintf("the current token expires at %s, more than %s away", formatTime(info.ExpiresAt), f.refreshBefore), nil
}

// versionNamespace is the UUID namespace of metamint's version tokens.
var versionNamespace = [16]byte{0x6d, 0x65, 0x74, 0x61, 0x6d, 0x69, 0x6e, 0x74, 0x8a, 0x1e, 0x4c, 0x2b, 0x9f, 0x03, 0x5d, 0x71}

// versionToken is the ClientRequestToken of a scheduled rotation: a name-based
// (version 5) UUID of the secret's ARN and its AWSCURRENT version ID. A run
// retried before the rotation finished derives the same token and resumes
// (the pending value is already stored: nothing is minted twice); once
// AWSCURRENT moved, the next cycle derives a new one.
func versionToken(arn, currentVersion string) string {
	h := sha1.New()
	h.Write(versionNamespace[:])
	h.Write([]byte(arn + "\n" + currentVersion))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	b := hex.EncodeToString(u[:])
	return b[0:8] + "-" + b[8:12] + "-" + b[12:16] + "-" + b[16:20] + "-" + b[20:32]
}
