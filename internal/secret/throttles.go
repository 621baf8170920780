package secret

import (
	"context"
	"errors"
	"fmt"
	"slices"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/metamint/metamint/internal/pace"
)

// ThrottleCodes are the error codes that say "over a request quota, not
// now", as Secrets Manager's quota page lists them under "Add retries to
// your application" (server-side throttling errors). A request answered
// with one was not carried out. LimitExceededException is left out: from
// Secrets Manager it means a quota of secrets or versions, which no retry
// within an invocation fixes.
var ThrottleCodes = []string{
	"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
	"TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
	"RequestLimitExceeded", "BandwidthLimitExceeded", "RequestThrottled", "SlowDown", "EC2ThrottledException",
}

// Throttled reports whether err is an AWS service's throttle of the
// request: "not now". It never costs a token or fails a secret: the Lambda
// sends the request again after a backoff (cmd/lambda's pacing), and one
// the invocation's time ran out waiting for is deferred
// (rotation.CutShort); the action's keyless steps read again within their
// deadline.
func Throttled(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && slices.Contains(ThrottleCodes, api.ErrorCode())
}

// Patient wires p into a Secrets Manager client (as an option of the client
// or of one call): any call Secrets Manager throttles (Throttled) is sent
// again, the same request (the same ClientRequestToken, so a write is
// idempotent), after p's jittered backoff, for as long as the context's
// deadline allows a wait. Each attempt of an operation named in paced also
// waits for its slot in p, and a throttle of one slows p down. The loop is
// inside one SDK attempt, so a call made with a single attempt still gets
// an answer that is its own: a throttle carried nothing out. A throttle the
// deadline left no time to wait out is a *ThrottleError.
func Patient(p *pace.Pacer, paced ...string) func(*secretsmanager.Options) {
	return func(o *secretsmanager.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Finalize.Insert(&patient{p: p, paced: paced}, "Retry", middleware.After)
		})
	}
}

// patient is the Finalize middleware of Patient.
type patient struct {
	p     *pace.Pacer
	paced []string
}

func (*patient) ID() string { return "metamint.Patient" }

func (m *patient) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	paced := slices.Contains(m.paced, awsmiddleware.GetOperationName(ctx))
	for attempt := 0; ; attempt++ {
		if paced {
			if err := m.p.Wait(ctx); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
		}
		out, md, err := next.HandleFinalize(ctx, in)
		if !Throttled(err) {
			return out, md, err
		}
		if paced {
			m.p.Throttled()
		}
		if werr := m.p.Backoff(ctx, attempt); werr != nil {
			return out, md, &ThrottleError{err: err, wait: werr}
		}
		// The layers below (the payload hash, the signature, the
		// transport) read the body again from where the last send left it.
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			if rerr := req.RewindStream(); rerr != nil {
				return out, md, err
			}
		}
	}
}

// ThrottleError is a throttle the context's time ran out waiting for:
// Secrets Manager's answer (the request was not carried out) and the wait
// that could not be made (it matches context.DeadlineExceeded, so the
// Lambda defers the secret).
type ThrottleError struct {
	err  error // the throttle
	wait error // *pace.WaitError
}

func (e *ThrottleError) Error() string {
	return fmt.Sprintf("throttled, and no time left to send it again: %v", e.err)
}

func (e *ThrottleError) Unwrap() []error { return []error{e.err, e.wait} }

// RetryableError is false: the SDK's retryer must not send it again either.
func (e *ThrottleError) RetryableError() bool { return false }
