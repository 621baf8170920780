package rotation

import (
	"context"
	"errors"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/metamint/metamint/internal/pace"
	"github.com/metamint/metamint/internal/secret"
)

// stored is what a PutSecretValue left in Secrets Manager.
type stored int

const (
	storedOurs    stored = iota // the version holds the value written
	storedTheirs                // the version holds another value: a concurrent run stored it first
	storedNothing               // provably nothing: Secrets Manager refused the write, and the version is absent
	storedUnknown               // cannot tell: the token may be stored and must not be revoked
)

// store puts value (holding token) as the rotation's AWSPENDING version and
// says what Secrets Manager then holds.
//
// Each PutSecretValue is one SDK attempt (oneAttempt): with the SDK's
// retries, an attempt that committed and lost its answer hides behind the
// answers of the next attempts, and the call's error would say nothing of
// it. store repeats the write once itself instead.
//
// A write that fails is never judged from its error alone: the version is
// read back, with a context of its own (the invocation's may be what ended).
// The token is provably not stored only when the version holds another
// value, or when Secrets Manager refused the write (refused: a 4xx it
// documents as a refusal of the request) and the version is absent. A write
// that got no answer (a timeout, a lost connection, a 5xx: the write may
// have committed, and a read-back may lag it) is sent once more (same
// version token, same value: idempotent), and only that repeat's success
// decides; failing again, the token is kept. A throttle (Throttled) is
// "not now", never a reason to revoke: the same write is sent once more
// too, and only a refusal of that repeat proves nothing stored.
func (r *Rotator) store(ctx context.Context, rot *rotation, value, token string) (stored, error) {
	in := &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(rot.arn),
		ClientRequestToken: aws.String(rot.version),
		SecretString:       aws.String(value),
		VersionStages:      []string{StagePending},
	}
	if rot.rotationToken != "" {
		in.RotationToken = aws.String(rot.rotationToken)
	}
	_, putErr := r.SM.PutSecretValue(ctx, in, oneAttempt)
	if putErr == nil {
		return storedOurs, nil
	}
	cctx, cancel := r.cleanupContext(ctx)
	defer cancel()
	held, found, err := r.readVersion(cctx, rot)
	rot.exists = rot.exists || found
	switch {
	case err != nil:
		rot.log().ErrorContext(ctx, "PutSecretValue failed and the version could not be read back; the new token may be stored, so it is kept", "version_id", rot.version, "error", putErr.Error(), "read_error", err.Error())
		return storedUnknown, smErr(rot.step, rot.arn, "PutSecretValue AWSPENDING (failed; the read-back failed too, the token may be stored)", putErr)
	case found && held == token:
		rot.log().WarnContext(ctx, "PutSecretValue's answer was lost; the read-back shows the version stored", "version_id", rot.version, "error", putErr.Error())
		return storedOurs, nil
	case found:
		rot.log().InfoContext(ctx, "the version was stored by a concurrent run; the token made here was not stored", "version_id", rot.version)
		return storedTheirs, nil
	case refused(putErr) && !secret.Throttled(putErr):
		return storedNothing, smErr(rot.step, rot.arn, "PutSecretValue AWSPENDING", labelQuota(rot, putErr))
	}
	_, repeatErr := r.SM.PutSecretValue(cctx, in, oneAttempt)
	if repeatErr == nil {
		rot.log().WarnContext(ctx, "PutSecretValue got no answer, or was throttled; the version was absent, and the same write sent again stored it", "version_id", rot.version, "error", putErr.Error())
		return storedOurs, nil
	}
	if (secret.Throttled(putErr) || unsent(putErr)) && (refused(repeatErr) || unsent(repeatErr)) {
		// Neither request was carried out (throttled, refused outright, or
		// never sent): provably nothing stored.
		return storedNothing, smErr(rot.step, rot.arn, "PutSecretValue AWSPENDING (throttled or never sent, and not carried out when sent again)", putErr)
	}
	rot.log().ErrorContext(ctx, "PutSecretValue got no answer and could not be repeated; the new token may still be stored, so it is kept", "version_id", rot.version, "error", putErr.Error())
	return storedUnknown, smErr(rot.step, rot.arn, "PutSecretValue AWSPENDING (no answer; the token may be stored)", putErr)
}

// oneAttempt makes a Secrets Manager call a single attempt: its error is
// then the answer to that one request (see store).
func oneAttempt(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 }

// refusals are the error codes with which Secrets Manager refuses a
// PutSecretValue request, as its API reference documents them (the
// operation's errors and the common errors): answered with a 4xx, the
// request was not carried out. ResourceExistsException is not one: it says
// the version exists, and the read-back decides whose it is.
// ThrottlingException proves nothing about an earlier attempt, but store
// makes one attempt per call, so it is that request's own answer (the
// Lambda's pacing sends a throttled request again within that attempt, so
// the attempt's answer is that of its one request that was not throttled).
var refusals = []string{
	"InvalidParameterException", "InvalidRequestException", "LimitExceededException",
	"EncryptionFailure", "DecryptionFailure", "ResourceNotFoundException", "MalformedPolicyDocumentException",
	"ValidationException", "ThrottlingException", "AccessDeniedException", "IncompleteSignature",
	"InvalidClientTokenId", "MissingAuthenticationToken", "NotAuthorized", "OptInRequired",
	"RequestExpired", "InvalidAction", "InvalidParameterCombination", "InvalidParameterValue",
	"InvalidQueryParameter", "MissingAction", "MissingParameter", "MalformedQueryString",
}

// refused reports whether err is Secrets Manager's refusal of the request:
// an HTTP 4xx answer with one of the refusals' codes. A 5xx, an undocumented
// 4xx (a proxy's 408, say) and a request with no answer are not: the write
// may have been carried out.
func refused(err error) bool {
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.StatusCode < 400 || re.Response.StatusCode > 499 {
		return false
	}
	var api smithy.APIError
	return errors.As(err, &api) && slices.Contains(refusals, api.ErrorCode())
}

// unsent reports whether err is the write pacer's (internal/pace): the
// request waited for a slot, or for the backoff after a throttle, and was
// never sent, so it carried nothing out, as a refusal does.
func unsent(err error) bool {
	var w *pace.WaitError
	return errors.As(err, &w)
}

// readVersion reads the access_token the rotation's version holds, whatever
// its labels (readVersionDoc): "" when the value is not a managed secret,
// another value than ours. found is false only on ResourceNotFound.
func (r *Rotator) readVersion(ctx context.Context, rot *rotation) (token string, found bool, err error) {
	doc, found, err := r.readVersionDoc(ctx, rot, rot.version)
	if doc == nil {
		return "", found, err
	}
	return doc.AccessToken, found, err
}
