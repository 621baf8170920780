package rotation

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/pkg/mint"
)

// Mode is how a run rotates the due secrets.
type Mode string

const (
	// Inline rotates each due secret in this invocation, through the four
	// steps in-process.
	Inline Mode = "inline"
	// FanOut calls RotateSecret on each due secret, so that Secrets
	// Manager runs each rotation in invocations of its own.
	FanOut Mode = "fanout"
)

// Statuses of one secret in a run.
const (
	StatusRotated = "rotated" // inline: the four steps ran; AWSCURRENT holds a new token
	// StatusStarted is fan-out's "due": RotateSecret started a rotation that
	// Secrets Manager runs in invocations of their own.
	StatusStarted  = "rotation_started"
	StatusNotDue   = "not_due"  // valid, matches the secret, and does not expire soon
	StatusSkipped  = "skipped"  // left alone on purpose (another rotation in progress, a duplicate)
	StatusDeferred = "deferred" // the invocation's time ran out first; the next run picks it up
	StatusFailed   = "failed"   // see error_type and error; AWSCURRENT was not moved unless finishSecret says so
)

// SecretResult is what a run did with one secret.
type SecretResult struct {
	SecretID  string `json:"secret_id"`
	SecretARN string `json:"secret_arn,omitempty"`
	Status    string `json:"status"`
	// State is the rotation's state when the run found it (see State).
	State string `json:"state,omitempty"`
	// Reason says why the secret was due, not due, skipped or deferred.
	Reason string `json:"reason,omitempty"`
	// Method is how the new token was made: "refreshed" or "minted"; empty
	// when a previous attempt had already stored it, and in fan-out mode.
	Method string `json:"method,omitempty"`
	// VersionID is the new version: the ClientRequestToken of the rotation.
	VersionID string `json:"version_id,omitempty"`
	// ExpiresAt is the current token's expiry (RFC 3339) after the run: the
	// new token's once rotated, the old one's otherwise, when known.
	ExpiresAt string `json:"expires_at,omitempty"`
	Step      string `json:"step,omitempty"` // the step that failed or was cut short
	// RevocationsFailed counts the revocations of versions marked for
	// revocation that failed in this run; a later run tries again.
	RevocationsFailed int    `json:"revocations_failed,omitempty"`
	ErrorType         string `json:"error_type,omitempty"`
	Error             string `json:"error,omitempty"`

	expiresAt    time.Time // ExpiresAt as a time; zero when unknown or never
	neverExpires bool      // the current token is known never to expire
	dead         bool      // the current token is invalid, revoked or expired: 0 days
}

// Summary counts the results of a run by status.
type Summary struct {
	Rotated         int `json:"rotated"`
	RotationStarted int `json:"rotation_started"`
	NotDue          int `json:"not_due"`
	Skipped         int `json:"skipped"`
	Deferred        int `json:"deferred"`
	Failed          int `json:"failed"`
	// RevocationsFailed counts the revocations that failed (the secrets'
	// RevocationsFailed summed); they never fail a secret.
	RevocationsFailed int `json:"revocations_failed"`
	// MinDaysToExpiry is the least days-to-expiry among the current tokens
	// of the secrets checked, after the run; a token that never expires
	// counts as NeverExpiresDays, one that is invalid, revoked or expired
	// as 0. A secret whose token was not inspected (skipped, failed
	// before debug_token, or deferred before it started) counts with the
	// expires_at its AWSCURRENT stores. nil when no secret gave an expiry.
	MinDaysToExpiry *float64 `json:"min_days_to_expiry,omitempty"`
}

// NeverExpiresDays is the days-to-expiry MinDaysToExpiry counts for a token
// that never expires (100 years), so that a run over permanent tokens still
// reports a value.
const NeverExpiresDays = 36500

// Defaults of a Fleet.
const (
	DefaultConcurrency   = 8
	DefaultRefreshBefore = 360 * time.Hour
	// DefaultStaleAfter is how long a rotation may be in progress before
	// it counts as failed: Secrets Manager retries a failed step for a few
	// hours at most, so past six it has given up.
	DefaultStaleAfter = 6 * time.Hour
	// DefaultMargin is the time a run keeps in hand before the deadline: it
	// starts no new secret past that point.
	DefaultMargin = 15 * time.Second
	// DefaultReserve is the end of every invocation that no Graph or
	// Secrets Manager call may use: calls still running then are cancelled,
	// so the function answers (and cleans up) before Lambda stops it.
	DefaultReserve = 5 * time.Second
)

// Fleet checks many secrets in one run, at most Concurrency at a time, and
// rotates the due ones: inline, each through the four steps in-process, or
// by fan-out, each with a RotateSecret that makes Secrets Manager run the
// steps. One failure does not stop the others; a deferred secret (the
// invocation's time, or Meta's rate limits, ran out) stops the run from
// starting more, since each would meet the same wall and spend calls
// against a throttle. Zero Concurrency, Margin and
// Reserve take the defaults above. Safe for concurrent use.
type Fleet struct {
	Rotator     *Rotator
	Concurrency int
	// RefreshBefore is how long before its expiry a token is due; zero
	// means only invalid, mismatched or expired tokens are
	// (DefaultRefreshBefore is the Lambda's default).
	RefreshBefore time.Duration
	// StaleAfter is how long a rotation may stay in progress (AWSPENDING
	// on a version) before a fan-out run counts the secret as failed;
	// zero means DefaultStaleAfter.
	StaleAfter time.Duration
	Margin     time.Duration
	Reserve    time.Duration
	// TimeLeft is how long the run has until its context's deadline, as
	// it decides whether to start another secret (Margin); nil means
	// time.Until. Tests inject it to reach the margin by count.
	TimeLeft func(deadline time.Time) time.Duration
	// CutOff returns the context the run's calls are made under: ctx
	// ending reserve before its deadline. nil means WithReserve. Tests
	// inject it to cut the calls off by count.
	CutOff func(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc)
}

// RunOptions are the choices of one run.
type RunOptions struct {
	Force bool // rotate every secret, due or not
	Mode  Mode // Inline when empty
}

// Run checks ids, most urgent first (see order), and returns the results
// in the order of ids.
func (f *Fleet) Run(ctx context.Context, ids []string, opts RunOptions) ([]SecretResult, Summary) {
	results := make([]SecretResult, len(ids))
	claims := &claimSet{arns: map[string]string{}}
	refs := secret.NewResolver(f.Rotator.SM)
	cutOff := WithReserve
	if f.CutOff != nil {
		cutOff = f.CutOff
	}
	work, cancel := cutOff(ctx, f.reserve())
	defer cancel()
	sem := make(chan struct{}, f.concurrency())
	var wg sync.WaitGroup
	var deferred atomic.Bool // a secret of this run was deferred
	order, keys := f.order(work, ids)
	var unstarted []int // deferred before they started
	for k, i := range order {
		id := ids[i]
		reason, late := f.late(ctx, &deferred)
		if !late {
			sem <- struct{}{} // a slot frees when a running secret is done
			if reason, late = f.late(ctx, &deferred); late {
				<-sem
			}
		}
		if late {
			for _, j := range order[k:] {
				results[j] = SecretResult{SecretID: ids[j], Status: StatusDeferred, Reason: reason}
			}
			unstarted = order[k:]
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			p := &plan{f: f, r: f.Rotator, res: SecretResult{SecretID: id}, force: opts.Force, mode: opts.Mode, claims: claims, refs: refs}
			results[i] = p.run(work)
			if results[i].Status == StatusDeferred {
				deferred.Store(true)
			}
		})
	}
	wg.Wait()
	for _, j := range unstarted {
		var u *urgency
		if keys != nil {
			u = &keys[j]
		}
		f.noteStoredExpiry(work, &results[j], u)
	}
	return results, summarize(results, f.Rotator.now())
}

func summarize(results []SecretResult, now time.Time) Summary {
	var sum Summary
	for _, r := range results {
		switch r.Status {
		case StatusRotated:
			sum.Rotated++
		case StatusStarted:
			sum.RotationStarted++
		case StatusNotDue:
			sum.NotDue++
		case StatusSkipped:
			sum.Skipped++
		case StatusDeferred:
			sum.Deferred++
		case StatusFailed:
			sum.Failed++
		}
		sum.RevocationsFailed += r.RevocationsFailed
		days := float64(NeverExpiresDays)
		switch {
		case r.dead:
			days = 0
		case !r.expiresAt.IsZero():
			days = max(0, math.Round(r.expiresAt.Sub(now).Hours()/24*100)/100)
		}
		if !r.expiresAt.IsZero() || r.neverExpires || r.dead {
			if sum.MinDaysToExpiry == nil || days < *sum.MinDaysToExpiry {
				sum.MinDaysToExpiry = &days
			}
		}
	}
	return sum
}

func (f *Fleet) staleAfter() time.Duration {
	if f.StaleAfter > 0 {
		return f.StaleAfter
	}
	return DefaultStaleAfter
}

func (f *Fleet) concurrency() int {
	if f.Concurrency > 0 {
		return f.Concurrency
	}
	return DefaultConcurrency
}

func (f *Fleet) reserve() time.Duration {
	if f.Reserve > 0 {
		return f.Reserve
	}
	return DefaultReserve
}

func (f *Fleet) timeLeft(deadline time.Time) time.Duration {
	if f.TimeLeft != nil {
		return f.TimeLeft(deadline)
	}
	return time.Until(deadline)
}

func (f *Fleet) margin() time.Duration {
	if f.Margin > 0 {
		return f.Margin
	}
	return DefaultMargin
}

// WithReserve returns ctx ending reserve before its deadline (when it has
// one), so that work cut off there still leaves the invocation time to
// clean up and answer.
func WithReserve(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-reserve))
	}
	return context.WithCancel(ctx)
}

// late reports whether the run must start no other secret: the invocation
// is too close to its deadline, or an earlier secret was deferred.
func (f *Fleet) late(ctx context.Context, deferred *atomic.Bool) (string, bool) {
	if ctx.Err() != nil {
		return "the invocation ended before this secret could start", true
	}
	if deferred.Load() {
		return "an earlier secret of this run was deferred (Meta's rate limits or the invocation's time ran out); the next run picks this one up", true
	}
	deadline, ok := ctx.Deadline()
	if ok && f.timeLeft(deadline) < f.margin() {
		return fmt.Sprintf("less than %s of the invocation was left; the next run picks it up", f.margin()), true
	}
	return "", false
}

// CutShort reports whether err stopped a secret because the invocation's
// time, or Meta's rate limits, ran out, rather than because something is
// wrong with the secret or Graph, and why. ctx is the context the secret's calls ran under.
func CutShort(ctx context.Context, err error) (string, bool) {
	if ctx.Err() != nil {
		return "the invocation's time ran out before this secret was done; the next run picks it up where it stopped", true
	}
	// A Secrets Manager throttle that outlasted the waits is AWS saying
	// "not now": the request was not carried out, and what the secret
	// holds is as the last accepted write left it.
	if secret.Throttled(err) {
		return "Secrets Manager throttled this secret's calls until this invocation could not wait longer (the account's quota is shared); the next run picks it up where it stopped", true
	}
	// A throttle that outlasted the retry policy is Meta saying "not now",
	// not something wrong with the secret: Meta's app-level limit (code 4,
	// X-App-Usage) gives no time at which access returns, a Business Use
	// Case limit may give one past the deadline.
	var gerr *mint.GraphError
	if errors.As(err, &gerr) && gerr.Throttled() {
		after := gerr.RetryAfter()
		if deadline, ok := ctx.Deadline(); ok && after > time.Until(deadline) {
			return fmt.Sprintf("Meta is throttling the app and expects access back in about %s, after this invocation's deadline; the next run picks it up",
				after.Round(time.Second)), true
		}
		return fmt.Sprintf("Meta is throttling the app (code %d) and this invocation's retries did not get through; the next run picks it up",
			gerr.Code), true
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

// rotationConfigured checks that Secrets Manager can rotate the secret
// itself, as fan-out mode asks it to: a rotation function is attached and
// rotation is not turned off.
func rotationConfigured(desc *secretsmanager.DescribeSecretOutput) error {
	arn := aws.ToString(desc.ARN)
	switch {
	case aws.ToString(desc.RotationLambdaARN) == "":
		return stateErr(stepSchedule, arn, "fan-out mode needs the secret's rotation configured with this function "+
			"(aws secretsmanager rotate-secret --rotation-lambda-arn); it has no rotation function")
	case desc.RotationEnabled != nil && !*desc.RotationEnabled:
		return stateErr(stepSchedule, arn, "fan-out mode needs the secret's rotation turned on; it is off")
	}
	return nil
}
