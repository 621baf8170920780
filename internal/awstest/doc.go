// Package awstest runs the real AWS parts metamint is tested and measured
// against, and breaks them on purpose: moto's Secrets Manager, a
// fault-injecting proxy in front of it, and the Lambda bootstrap under
// aws-lambda-rie. The cmd/lambda tests and the bench/scenarios program share
// it; it is ordinary (non-test) code so that a main package can import it.
//
// Every part is a real process or server on a free loopback port. A missing
// tool is an error naming it (moto_server, aws-lambda-rie with `make
// tools`); the testing.TB helpers (NewMoto, SharedMoto, NewProxy, NewRIE,
// Bootstrap) turn that into t.Fatal, never a skip. Processes run in their own
// process group and are stopped as a group (SIGTERM, then SIGKILL), so the
// pyenv shim's python and rie's bootstrap go too.
//
// # Moto
//
// StartMoto (or NewMoto / SharedMoto in tests) starts moto_server -H
// 127.0.0.1 -p PORT, waits until it answers, turns off Docker for Lambda and
// creates the function of RotationLambdaARN, so that RotateSecret with that
// ARN creates the AWSPENDING placeholder as Secrets Manager does.
//
// # The proxy and its faults
//
// StartProxy (or NewProxy) puts a Proxy in front of moto. Clients use
// Proxy.URL as their Secrets Manager endpoint. It reads the operation from
// X-Amz-Target ("secretsmanager.PutSecretValue"), counts every request
// (every SDK attempt) per operation (Calls, CallCounts), and applies the
// Faults injected with Inject, the first matching Rule striking:
//
//   - BeforeCommit: the attempt is answered with an AWS error (default HTTP
//     500 InternalServiceError; any Status and ErrorType, such as 503
//     ServiceUnavailable or 400 ThrottlingException) or its connection is
//     dropped (Drop), and moto never sees it.
//   - AfterCommit: the attempt is forwarded, moto commits it, and its answer
//     is replaced by the error, or the connection is dropped: the write
//     happened, the caller is told it failed.
//   - Hold: the attempt is forwarded, moto commits it, and the answer is
//     withheld until the client gives up (its context is cancelled and it
//     closes the connection) or the Proxy closes. No timer is involved: the
//     client's own deadline or cancellation decides.
//
// AfterCommit and Hold strike only attempts that moto answered with success
// (there is nothing committed to lose otherwise). Times counts attempts,
// not calls: the AWS SDK's default retryer makes up to 3 attempts per call
// and retries 5xx answers and dropped connections, so Times: 3 loses every
// attempt of one call, and Times: Forever every attempt until Rule.Remove.
// SecretID and Match narrow a fault to some requests, for example one secret
// in a fleet. Rule.Hits counts the attempts struck; Rule.WaitHits and
// Rule.WaitDone wait, by count, until attempts were struck (for Hold: moto
// committed, the answer is withheld) or their handling finished.
//
// The proxy also adds what moto lacks of Secrets Manager:
//
//   - PutSecretValue with the ClientRequestToken of an existing version and a
//     different SecretString or SecretBinary is refused with 400
//     ResourceExistsException ("You can't modify an existing version, you can
//     only create new versions."); the same value stays moto's idempotent
//     success. (moto overwrites the version.)
//   - DescribeSecret's VersionIdsToStages lists only versions with staging
//     labels, as on AWS; moto lists a version whose last label was removed
//     with an empty list.
//   - A SecretString, or a decoded SecretBinary, over MaxSecretSize (65,536
//     bytes) in CreateSecret, PutSecretValue or UpdateSecret is refused with
//     400 ValidationException.
//
// # Quotas
//
// Proxy.Limit puts a Quota in force: a token bucket shared by some
// operations (WriteOps: Secrets Manager's write quota), Rate tokens a second
// and Burst in hand, as AWS enforces its request quotas. A request that
// finds the bucket empty is answered 400 ThrottlingException "Rate
// exceeded" before moto sees it: nothing is written. Limit.Stats counts the
// requests let through and throttled, and the ordinal of the last throttled
// one, so a test asserts "no throttle after the first burst" by count. The
// bucket's clock can be injected (Quota.Now).
//
// Errors are AWS JSON 1.1 error bodies, {"__type":"...","message":"..."},
// with the x-amzn-ErrorType header, which the SDK decodes into its typed
// exceptions (for example *types.ResourceExistsException). No answer the
// proxy makes up holds a request's secret values.
//
// For example, a PutSecretValue whose every attempt is committed and lost,
// in a fleet where only one secret fails:
//
//	moto := awstest.SharedMoto(t)
//	proxy := awstest.NewProxy(t, moto.URL)
//	lost := proxy.Inject(awstest.Fault{
//		Op:       "PutSecretValue",
//		Stage:    awstest.AfterCommit,
//		Times:    3, // every attempt of one SDK call
//		SecretID: "fleet/17",
//	})
//	sm := awstest.SecretsManager(proxy.URL)
//	// ... run the code under test against sm or proxy.URL ...
//	if got := lost.Hits(); got != 3 {
//		t.Errorf("lost PutSecretValue attempts = %d; want 3", got)
//	}
//
// A held answer, released by cancelling the caller's context:
//
//	held := proxy.Inject(awstest.Fault{Op: "PutSecretValue", Stage: awstest.Hold, Times: 1})
//	ctx, cancel := context.WithCancel(t.Context())
//	go func() { _, err := sm.PutSecretValue(ctx, in); errc <- err }()
//	if err := held.WaitHits(t.Context(), 1); err != nil { // moto has committed
//		t.Fatal(err)
//	}
//	cancel() // the client gives up; the proxy lets go
//
// # aws-lambda-rie
//
// Bootstrap (tests; once per process) or BuildBootstrap builds ./cmd/lambda
// as it ships. StartRIE (or NewRIE) runs it under aws-lambda-rie, found on
// PATH or in .tools/bin, with both of rie's addresses on free ports and a
// clean environment plus RIEConfig.Env; RIE.Invoke posts an event to
// /2015-03-31/functions/function/invocations, and RIE.Output holds
// everything rie and the function printed, for canary checks.
//
// Call Shutdown from TestMain to stop the shared Moto and remove the built
// bootstrap.
package awstest
