package rotation

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/metamint/metamint/pkg/mint"
)

// The Lambda runtime reports a returned error as {"errorType", "errorMessage"},
// where errorType is the Go type name of the error value itself. Each failure
// class therefore has its own named type, so that errorType says what went
// wrong (SecretFormatError, GraphUnavailableError...) and alarms and log
// queries can match on it. Every message names the step and the secret and
// never holds a secret: mint's errors are already redacted, SDK errors carry no
// secret values, and JSON errors are reduced to their kind and offset.

// Failure is the part every error class shares.
type Failure struct {
	Step      string // createSecret... for rotations, "schedule" for a run's own checks
	SecretARN string // the secret's ARN, or the ID as given before it is known
	Err       error
}

func (f *Failure) Error() string {
	var b strings.Builder
	b.WriteString(f.Step)
	if f.SecretARN != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(f.SecretARN)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(f.Err.Error())
	return b.String()
}

func (f *Failure) Unwrap() error { return f.Err }

// FailedStep is the step that failed.
func (f *Failure) FailedStep() string { return f.Step }

// SecretFormatError is a managed secret whose JSON is malformed or misses a
// field the Lambda needs.
type SecretFormatError struct{ Failure }

// ReferenceError is an app_secret_ref, minting_app_secret_ref or
// minting_token_ref that cannot be read or holds no usable value.
type ReferenceError struct{ Failure }

// RotationStateError is a version and staging-label state that rules out
// the step: rotation disabled, a token that is not a version of the secret,
// a version that is not AWSPENDING, a secret with no AWSCURRENT value, a
// pending version discarded as unusable.
type RotationStateError struct{ Failure } //nolint:revive // the name is the errorType the docs and alarms know

// ConcurrentChangeError is a step refused because another writer changed
// the secret's staging labels during the rotation: it moved AWSCURRENT
// before the move to the new version, or moved AWSPENDING off the
// rotation's version. Nothing is misconfigured; the message says what
// became of the rotation's token and what happens next.
type ConcurrentChangeError struct{ Failure }

// SecretsManagerError is a failed Secrets Manager call on the managed
// secret.
type SecretsManagerError struct{ Failure }

// MintingTokenError is a missing or invalid token to mint with: the managed
// token when it mints its own successor, or the minting_token_ref token.
type MintingTokenError struct{ Failure }

// GraphRefusedError is a Graph API refusal that retrying will not fix
// (permissions, app not installed, bad app secret...). Its message carries
// Graph's code, fbtrace_id and a hint.
type GraphRefusedError struct{ Failure }

// GraphUnavailableError is a Graph API failure that may pass: an outage, a
// timeout, throttling. Retrying later (the next rotation attempt or schedule)
// is the fix.
type GraphUnavailableError struct{ Failure }

// TokenCheckError is a token that debug_token says is not what the secret
// asks for: invalid, not a system user token, another app or system user, or
// missing scopes; or a new token Graph answered that the secret already
// holds (the current or the minting token), refused unstored and unrevoked.
type TokenCheckError struct{ Failure }

func formatErr(step, arn string, err error) error {
	return &SecretFormatError{Failure{step, arn, err}}
}
func referenceErr(step, arn string, err error) error {
	return &ReferenceError{Failure{step, arn, err}}
}
func stateErr(step, arn string, format string, args ...any) error {
	return &RotationStateError{Failure{step, arn, fmt.Errorf(format, args...)}}
}
func smErr(step, arn, op string, err error) error {
	return &SecretsManagerError{Failure{step, arn, fmt.Errorf("secrets manager %s: %w", op, err)}}
}
func mintingTokenErr(step, arn string, format string, args ...any) error {
	return &MintingTokenError{Failure{step, arn, fmt.Errorf(format, args...)}}
}
func tokenCheckErr(step, arn string, err error) error {
	return &TokenCheckError{Failure{step, arn, err}}
}

// graphErr classifies a pkg/mint error from doing what.
func graphErr(step, arn, what string, err error) error {
	wrapped := fmt.Errorf("%s: %w", what, err)
	var gerr *mint.GraphError
	switch {
	case errors.Is(err, mint.ErrInvalidRequest):
		// mint refused before sending: the secret asked for something
		// invalid, such as an unlisted scope.
		return formatErr(step, arn, wrapped)
	case errors.As(err, &gerr) && !gerr.Temporary():
		if hint := gerr.Hint(); hint != "" {
			wrapped = fmt.Errorf("%w. Hint: %s", wrapped, hint)
		}
		return &GraphRefusedError{Failure{step, arn, wrapped}}
	default:
		// Temporary Graph errors, transport failures, deadlines.
		return &GraphUnavailableError{Failure{step, arn, wrapped}}
	}
}

// ErrorType is the name the Lambda runtime gives err: its dynamic type's
// name, such as "GraphRefusedError".
func ErrorType(err error) string {
	t := fmt.Sprintf("%T", err)
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:]
	}
	return t
}

// isNotFound reports whether err is Secrets Manager's ResourceNotFoundException,
// the only error that means "absent".
func isNotFound(err error) bool {
	return isException[*types.ResourceNotFoundException](err, "ResourceNotFoundException")
}

// isException reports whether err is the Secrets Manager exception E: as
// its typed error, or as any API error with its code.
func isException[E error](err error, code string) bool {
	var typed E
	if errors.As(err, &typed) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}
