package main

import (
	"context"
	"fmt"
	"slices"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/metamint/metamint/internal/pace"
	"github.com/metamint/metamint/internal/secret"
)

// pacedOps are the Secrets Manager writes a run paces with
// METAMINT_SECRETS_WRITE_RATE. PutSecretValue, UpdateSecret and
// UpdateSecretVersionStage share the account's write quota (50 a second per
// region); RotateSecret has a 50 of its own, paced with them so that one
// setting bounds every write the function makes.
var pacedOps = []string{"PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage", "RotateSecret"}

// pacedWrites wires p into a Secrets Manager client: each attempt of a
// paced write waits for its slot, and any call Secrets Manager throttles
// (secret.Throttled) is sent again, the same request (the same
// ClientRequestToken, so a write is idempotent), after a jittered backoff,
// for as long as the context allows.
// A throttled write also slows p down. The loop is inside one SDK attempt,
// so a call made with a single attempt (PutSecretValue, see
// internal/rotation) still gets an answer that is its own: a throttle
// carried nothing out.
func pacedWrites(p *pace.Pacer) func(*secretsmanager.Options) {
	return func(o *secretsmanager.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Finalize.Insert(&pacing{p: p}, "Retry", middleware.After)
		})
	}
}

// pacing is the Finalize middleware of pacedWrites.
type pacing struct{ p *pace.Pacer }

func (*pacing) ID() string { return "metamint.Pacing" }

func (m *pacing) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	paced := slices.Contains(pacedOps, awsmiddleware.GetOperationName(ctx))
	for attempt := 0; ; attempt++ {
		if paced {
			if err := m.p.Wait(ctx); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
		}
		out, md, err := next.HandleFinalize(ctx, in)
		if !secret.Throttled(err) {
			return out, md, err
		}
		if paced {
			m.p.Throttled()
		}
		if werr := m.p.Backoff(ctx, attempt); werr != nil {
			return out, md, &throttleError{err: err, wait: werr}
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

// throttleError is a throttle the invocation's time ran out waiting for:
// Secrets Manager's answer (the request was not carried out) and the wait
// that could not be made (it matches context.DeadlineExceeded, so the run
// defers the secret).
type throttleError struct {
	err  error // the throttle
	wait error // *pace.WaitError
}

func (e *throttleError) Error() string {
	return fmt.Sprintf("throttled, and no time left to send it again: %v", e.err)
}

func (e *throttleError) Unwrap() []error { return []error{e.err, e.wait} }

// RetryableError is false: the SDK's retryer must not send it again either.
func (e *throttleError) RetryableError() bool { return false }
