// Package rotation is metamint's rotation engine for Meta system user tokens
// kept in AWS Secrets Manager: a Rotator that runs one step of a rotation
// Secrets Manager drives (Rotator.Step), a Fleet that checks many secrets in
// one run and rotates the due ones (Fleet.Run), typed results, and one error
// type per failure class (the Lambda runtime reports the type's name as
// errorType). cmd/lambda parses events and configuration and wires this
// package to the AWS SDK and pkg/mint; the benchmarks drive the built Lambda.
// It lives in internal/ because it is the Lambda's engine, shared only with
// the Lambda's tests and benchmarks, and its API may change with them.
//
// # Files
//
// rotator.go holds the Rotator and its settings; rotation.go one rotation
// and what it read (AWSCURRENT, references); events.go the four steps of a
// rotation event; run.go the Fleet and its results; plan.go one secret of
// a run; state.go the states and how a pending version is judged;
// labels.go staging labels (discard, promote); minting.go making a token;
// storing.go PutSecretValue and its read-back; revoking.go revocations;
// versiontoken.go a run's version token; errors.go the error classes.
//
// # States
//
// Every step first computes the State of its rotation (a secret and a version
// token) from DescribeSecret's staging labels, the pending version's value
// (GetSecretValue) and, where it matters, debug_token of the pending token;
// then it switches on it:
//
//	NoPending        the rotation's version does not exist; no other version is AWSPENDING
//	Current          the rotation's version is AWSCURRENT: the rotation is finished
//	OtherPending     AWSPENDING is on another version (another rotation's, maybe stranded)
//	NotPending       the rotation's version exists without AWSPENDING or AWSCURRENT
//	PendingEmpty     the rotation's version is AWSPENDING without a value (Secrets Manager's placeholder)
//	PendingStored    ... with a value not yet proven (refined by debug_token into the next two)
//	PendingUsable    ... judged by AWSCURRENT: its user-owned fields equal AWSCURRENT's, and its token
//	                 is valid, of AWSCURRENT's app and system user, with every scope, not expired
//	PendingUnusable  ... whose value is unreadable, whose fields differ from AWSCURRENT's, or whose
//	                 token is invalid, revoked, expired or wrong
//
// # State × step → action
//
// Rotation events (Rotator.Step; the version token is Secrets Manager's). A
// step refines PendingStored only as far as it needs: setSecret reads no
// value, finishSecret reads the value but asks no debug_token. "n/a" marks a
// state the step never computes.
//
//	state            createSecret          setSecret        testSecret            finishSecret
//	Current          nothing               nothing          nothing               nothing
//	PendingStored    nothing               nothing_to_set   (read, debug_token)   move AWSCURRENT (1)
//	PendingEmpty     mint, store (2)       n/a              check configuration   error: nothing stored
//	PendingUsable    n/a                   n/a              pass                  n/a
//	PendingUnusable  discard, error        n/a              discard, error        discard, error
//	NoPending        error                 error            error                 error
//	NotPending       error                 error            error                 error
//	OtherPending     error                 error            error                 error
//
// (1) only when the value's user-owned fields equal AWSCURRENT's (else the
// version is discarded and the step fails: the secret was edited during the
// rotation); with revoke_previous, the version losing AWSPREVIOUS is first
// marked for revocation (see Revocations). finishSecret, Current included,
// then revokes what is due. (2) a refresh that answers the token it was
// given is no new token: the step mints instead, once.
//
// setSecret answers nothing_to_set for every version holding AWSPENDING,
// empty, usable or not. createSecret and finishSecret read the value, so
// "PendingUnusable" there is an unreadable value; testSecret's is also a
// value whose fields differ from AWSCURRENT's, or a token debug_token
// refuses. A rotation event never sees an unlabelled
// version as NotPending (DescribeSecret omits it): it is NoPending there.
//
// Scheduled and direct runs (Fleet.Run, inline mode; the version token is
// derived from the secret, its AWSCURRENT version and the last discarded
// version, so a retried run finds its own rotation again):
//
//	NoPending        due: mint, store, test, move AWSCURRENT; else not_due
//	PendingStored    read the value and ask debug_token: one of the next three
//	PendingEmpty     mint, store, test, move AWSCURRENT
//	PendingUsable    test, move AWSCURRENT (resume), whether due or forced or not
//	PendingUnusable  discard; mint under the next version token, store, test, move
//	NotPending       discard; as PendingUnusable
//	OtherPending     not due: not_due, left alone. Due or forced: the other version
//	                 judged by AWSCURRENT (never by its own JSON or references);
//	                 usable → test, move AWSCURRENT to it; empty, unusable, or
//	                 not judgeable (its value unreadable, debug_token failing; its
//	                 own references are never read) → mint under this cycle's token
//	                 (AWSPENDING moves to it): the other version is superseded, not
//	                 discarded, and (unless it holds AWSPREVIOUS) marked for
//	                 revocation due at once
//	Current          not_due
//
// Every run (fan-out too) then revokes what is due (see Revocations),
// whatever the secret's status, once it has read AWSCURRENT.
//
// A run's PutSecretValue can find the version already holding another
// value (ResourceExistsException; the read-back shows the value). The token
// made for it is revoked (provably not stored), the labels are read again,
// and the state decides: Current → rotated (a concurrent run finished it;
// the result reports the token current now, the winner's);
// PendingUsable → test, move AWSCURRENT; NotPending (the version exists
// without labels, its AWSPENDING removed by hand) → discard, mint under the
// next version token; anything else fails, and the next run derives the same
// token and meets the same state.
//
// In fan-out mode a run never mints: due secrets get RotateSecret, and a
// pending version (its own or another's) is left to Secrets Manager: the
// secret is skipped, and its current token's stored expires_at still counts
// in MinDaysToExpiry. A pending version older than Fleet.StaleAfter
// (default 6h; ListSecretVersionIds' CreatedDate) is a rotation Secrets
// Manager gave up on: the secret fails (RotationStateError, logged), so the
// Failed alarm fires; an inline run heals it.
//
// # Revocations
//
// No path revokes a token held by AWSCURRENT, by a version holding
// AWSPENDING, or behind minting_token_ref. A version whose token is to be
// revoked gets the label METAMINT_REVOKE_<unix seconds>_<version>, the time
// from which the revocation is due (StageRevokePrefix; it counts only on
// the version it names, other labels are left as found): the label keeps the
// version, and so the token, in the secret, and is how later runs remember
// a revocation across invocations. promote marks the version that loses
// AWSPREVIOUS (the token two generations old) due RevokeGrace (default 24h,
// METAMINT_REVOKE_GRACE) after its token stopped being current (AWSCURRENT's
// issued_at, or now when unknown): a consumer that cached it keeps working.
// A superseded version is marked due at once: its token was never current.
// A version already marked keeps its label when due no later; a later one
// is replaced.
// A run, and finishSecret, revoke the due ones judged by AWSCURRENT:
// its app secret (never the old version's references), its minting token.
// A token already invalid or expired, of another app or system user, or
// that Graph refuses to inspect with AWSCURRENT's app (a permanent error),
// is not revoked; its label goes. A revocation that fails keeps its label and
// is counted in RevocationsFailed (an EMF metric): it never fails a
// rotation, and later runs try again until it succeeds or the token
// expires. The versions a run superseded are judged at its end even if a
// concurrent write took their label (a rotation event storing its token in
// its version just before the run's version took AWSPENDING): no live
// token is left in an unlabelled version.
//
// "Discard" gives the version the label METAMINT_DISCARDED (which moves off
// the version that held it) and takes AWSPENDING off it; it revokes nothing.
// Only this cycle's version is discarded: METAMINT_DISCARDED feeds the
// version token, so discarding it moves the run on to the next token.
// Another rotation's version is superseded instead (a new version takes
// AWSPENDING from it), which leaves this cycle's token as it is.
// A version's value never changes, so a discarded version is never resumed
// and never written again: a rotation event fails (the next rotation starts
// afresh), a run derives the next version token from it.
//
// # Writes whose answer is lost
//
// A PutSecretValue that fails is never judged from its error: the version is
// read back (with a short context of its own, since the invocation's may be
// what ended). Holding the token just made: stored, carry on. Holding
// another value: a concurrent run stored it first; the token made here
// provably is not stored and is revoked. Absent after Secrets Manager
// refused the write (a 4xx it documents as a refusal): provably not stored,
// revoked. Absent after a write that got no answer (timeout, lost
// connection, a 5xx, an undocumented 4xx): it may have landed, so the same
// write (same version token, same value, idempotent) is sent once more; each
// PutSecretValue is one SDK attempt, so no retry's answer hides a committed
// attempt. If the repeat fails too, or nothing can be read,
// the token may be stored: it is kept, the step fails, and the next run
// finds the version (PendingStored) or mints anew. An UpdateSecretVersionStage of AWSCURRENT that fails is read back
// with DescribeSecret: if the version holds AWSCURRENT, the move happened.
//
// # Throttles
//
// A Secrets Manager throttle (Throttled: ThrottlingException and the other
// codes AWS documents) carried nothing out. The Lambda's pacing sends the
// same request again after a backoff within the call; a throttle that still
// reaches the engine (the invocation's time ran out) never fails a secret:
// store sends the write once more, and CutShort defers the secret, whose
// labels stay as the last accepted write left them. A request the pacing
// never sent (its wait would pass the deadline) carried nothing out either.
// When neither the write nor its repeat was carried out, the token made for
// it is provably not stored, and it is revoked rather than left live outside
// the secret; any other failure keeps it.
//
// Referenced secrets (app_secret_ref, minting_token_ref,
// minting_app_secret_ref) are read through internal/secret's Resolver, which
// keeps only successful reads: a throttled read fails one secret, and the
// next secret that needs the reference reads it again.
package rotation
