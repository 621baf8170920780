package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Statuses of one secret in a scheduled or direct run.
const (
	statusRotated  = "rotated"  // the four steps ran; AWSCURRENT holds a new token
	statusNotDue   = "not_due"  // valid, matches the secret, and does not expire soon
	statusSkipped  = "skipped"  // left alone on purpose (another rotation in progress, a duplicate)
	statusDeferred = "deferred" // not started: the invocation's deadline was near
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
	// when a previous attempt had already stored it.
	Method    string `json:"method,omitempty"`
	VersionID string `json:"version_id,omitempty"`
	// ExpiresAt is the current token's expiry (RFC 3339), after the run.
	ExpiresAt string `json:"expires_at,omitempty"`
	Step      string `json:"step,omitempty"` // the step that failed
	ErrorType string `json:"error_type,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Summary counts the results of a run by status.
type Summary struct {
	Rotated  int `json:"rotated"`
	NotDue   int `json:"not_due"`
	Skipped  int `json:"skipped"`
	Deferred int `json:"deferred"`
	Failed   int `json:"failed"`
}

// fleet rotates many secrets in one invocation: each due secret goes through
// the rotator's four steps in-process, with at most concurrency secrets at
// a time, and one failure does not stop the others.
type fleet struct {
	rot           *rotator
	concurrency   int
	refreshBefore time.Duration
	// margin is how much of the invocation's remaining time a secret needs
	// to be started; closer to the deadline, the rest are deferred to the
	// next run, so no rotation is cut off half-way.
	margin time.Duration
}

// run rotates the due secrets among ids, results in the order of ids.
func (f *fleet) run(ctx context.Context, ids []string, force bool) ([]SecretResult, Summary) {
	results := make([]SecretResult, len(ids))
	claims := &claimSet{arns: map[string]string{}}
	refs := newRefCache()
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = f.one(ctx, id, force, claims, refs)
		}()
	}
	wg.Wait()
	var sum Summary
	for _, r := range results {
		switch r.Status {
		case statusRotated:
			sum.Rotated++
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

// one decides whether the secret is due and, if so, rotates it.
func (f *fleet) one(ctx context.Context, id string, force bool, claims *claimSet, refs *refCache) SecretResult {
	r := f.rot
	res := SecretResult{SecretID: id}
	fail := func(err error) SecretResult {
		res.Status = statusFailed
		res.ErrorType = errorType(err)
		res.Error = err.Error()
		var sf interface{ stepName() string }
		if errors.As(err, &sf) {
			res.Step = sf.stepName()
		}
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
	token := versionToken(res.SecretARN, curVersion)
	rot := &rotation{secretID: res.SecretARN, token: token, scheduled: true, refs: refs, arn: res.SecretARN, described: desc}

	pendingVersion := ""
	for v, labels := range desc.VersionIdsToStages {
		if v != curVersion && slices.Contains(labels, stagePending) {
			pendingVersion = v
		}
	}
	var reason string
	switch {
	case pendingVersion == token:
		reason = "resuming the rotation an earlier run started"
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
