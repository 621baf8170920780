package secret

import (
	"errors"
	"slices"

	"github.com/aws/smithy-go"
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
