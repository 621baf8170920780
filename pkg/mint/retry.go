package mint

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds how a Client retries a failed call. Retries are opt-in
// (WithRetry); the zero value retries nothing.
//
// A call is retried only when that is safe:
//   - Graph answered with an error object that is Temporary (is_transient,
//     or one of the codes Meta says to wait on and retry). Graph then states
//     that the call did nothing, so even a token creation is retried.
//   - The request failed before it was written (DNS, connect, TLS).
//   - For calls that create nothing (install, debug_token, revoke, list), a
//     429 or 5xx without a Graph error body, or a failure after the request
//     was written. Token creation and refresh are never retried after such an
//     ambiguous failure: the token may exist, and a second one would be an
//     orphan that nobody revokes.
//
// Other 4xx answers are never retried. The wait before each retry is a capped
// exponential backoff with jitter, or, when Graph throttled (Throttled) and
// Meta's usage headers carry estimated_time_to_regain_access, that
// estimate: on another error the headers may report a budget another use
// case exhausted, which this call did not wait for. A wait longer than MaxDelay,
// or one that would pass the context's deadline, ends the retries at once
// and returns the last error.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts, the first included. 0 or 1
	// means no retry.
	MaxAttempts int
	// BaseDelay is the wait before the first retry; each retry doubles it.
	BaseDelay time.Duration
	// MaxDelay caps each wait.
	MaxDelay time.Duration
}

// DefaultRetryPolicy is the policy the metamint action, Lambda and CLI share:
// four attempts, waiting about 0.5 s, 1 s and 2 s, never more than 30 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 4, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}
}

func (p RetryPolicy) validate() error {
	switch {
	case p.MaxAttempts < 0 || p.MaxAttempts > 20:
		return invalidf("RetryPolicy.MaxAttempts %d is outside 0-20", p.MaxAttempts)
	case p.BaseDelay < 0 || p.MaxDelay < 0:
		return invalidf("RetryPolicy delays must not be negative")
	case p.MaxAttempts > 1 && (p.BaseDelay == 0 || p.MaxDelay < p.BaseDelay):
		return invalidf("RetryPolicy needs 0 < BaseDelay <= MaxDelay to retry")
	}
	return nil
}

// decide says whether to retry after attempt failed with err, and how long
// to wait first.
func (p RetryPolicy) decide(attempt int, err error, idempotent bool) (time.Duration, bool) {
	if attempt >= p.MaxAttempts || !retryable(err, idempotent) {
		return 0, false
	}
	wait := p.backoff(attempt)
	var gerr *GraphError
	if errors.As(err, &gerr) && gerr.Throttled() && gerr.RetryAfter() > 0 {
		wait = gerr.RetryAfter()
	}
	if wait > p.MaxDelay {
		return 0, false
	}
	return wait, true
}

// backoff returns a wait in [d/2, d] for d = BaseDelay * 2^(attempt-1),
// capped at MaxDelay.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	// Jitter only spreads retries out: nothing depends on it being unpredictable.
	return d/2 + rand.N(d/2+1) //nolint:gosec // G404: jitter, not a secret
}

// retryable classifies err; see RetryPolicy.
func retryable(err error, idempotent bool) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var gerr *GraphError
	if errors.As(err, &gerr) {
		if gerr.fromGraph {
			return gerr.Temporary()
		}
		return idempotent && gerr.Temporary()
	}
	var terr *transportError
	if errors.As(err, &terr) {
		return !terr.sent || idempotent
	}
	return false
}

// wait waits d (c.sleep) or until ctx is done, and reports whether the
// full wait passed. It gives up at once when ctx's deadline falls inside
// the wait.
func (c *Client) wait(ctx context.Context, d time.Duration) bool {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return false
	}
	return c.sleep(ctx, d) == nil && ctx.Err() == nil
}
