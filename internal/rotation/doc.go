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
// consent.go the minting token's consent tag; throttles.go Secrets
// Manager's throttle codes; urgency.go the order of a run's secrets;
// versiontoken.go a run's version token; errors.go the error classes.
//
// # Steps of a rotation event
//
// Every step starts as Secrets Manager's own rotation functions do: rotation
// must not be explicitly disabled, the ClientRequestToken must be a version
// of the secret, a version already AWSCURRENT means the step has nothing
// left to do (success), otherwise it must be AWSPENDING. Every step is safe
// to run twice or concurrently.
//
//   - createSecret reads the AWSPENDING value of its version: a value there
//     (a retry) means nothing to do. Only ResourceNotFoundException means
//     absent; any other error fails the step. Otherwise it reads AWSCURRENT,
//     makes a token once (see How a new token is made), inspects it with
//     debug_token and stores the new JSON as AWSPENDING.
//   - setSecret has nothing to do: Meta activates a token when it issues it.
//   - testSecret proves the pending token with debug_token, judged by
//     AWSCURRENT (its app secret, app, system user and scopes; the pending
//     value's user-owned fields must equal AWSCURRENT's): valid,
//     SYSTEM_USER, every scope, not expired. A pending version that fails is
//     discarded and the step fails with a TokenCheckError, so the rotation
//     ends instead of being retried on a version that can never pass. It
//     needs nothing from createSecret. Invoked with no pending value (a
//     deploy with RotateImmediatelyOnUpdate false), it checks the
//     configuration instead: the JSON, the references, and a valid token to
//     refresh or mint with. It mints nothing.
//   - finishSecret moves AWSCURRENT to the new version (the old current
//     becomes AWSPREVIOUS) only when its user-owned fields equal
//     AWSCURRENT's. With revoke_previous it first marks the version that
//     loses AWSPREVIOUS, so a retried step loses nothing, then revokes the
//     marked tokens that are due (see Revocations).
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
// version as NotPending (DescribeSecret omits it): it is NoPending or
// OtherPending there, and a step that finds it existing judges its token
// (see Revocations: another writer moving AWSPENDING).
//
// Scheduled and direct runs (Fleet.Run, inline mode; the version token is
// derived from the secret, its AWSCURRENT version and the last discarded
// version, so a retried run finds its own rotation again):
//
//	NoPending        due: mint, store, test, move AWSCURRENT; else not_due
//	PendingStored    read the value and ask debug_token: one of the next three
//	PendingEmpty     mint, store, test, move AWSCURRENT
//	PendingUsable    test, move AWSCURRENT (resume), whether due or forced or not; a version
//	                 holding AWSPREVIOUS too was current once, and AWSCURRENT moved back
//	                 off it (a rollback): as PendingUnusable, never resumed
//	PendingUnusable  discard; mint under the next version token, store, test, move
//	NotPending       discard; as PendingUnusable
//	OtherPending     not due: not_due, left alone. Due or forced: a version holding
//	                 AWSPREVIOUS too (it was current once; AWSPENDING is its finished
//	                 rotation's leftover) is superseded unjudged; any other version is
//	                 judged by AWSCURRENT (never by its own JSON or references);
//	                 usable → test, move AWSCURRENT to it; empty, unusable, due
//	                 itself (its token expires within RefreshBefore), holding
//	                 the current token, holding a token issued before the current
//	                 token's (it may have been current once), or
//	                 not judgeable (its value unreadable, debug_token failing; its
//	                 own references are never read; a throttle, or the time running
//	                 out, defers the secret instead) → mint under this cycle's token
//	                 (AWSPENDING moves to it): the other version is superseded, not
//	                 discarded, and (unless it holds AWSPREVIOUS) marked for
//	                 revocation due at once, or RevokeGrace from now for an older
//	                 token (a mark due earlier stays; TestOlderPendingNotAdopted)
//	Current          not_due
//
// Every run (fan-out too) then revokes what is due (see Revocations),
// whatever the secret's status, once it has read AWSCURRENT.
//
// Everything is judged by the current AWSCURRENT, and nothing else is
// adopted: another version (an older cycle's AWSPENDING, AWSPREVIOUS, a
// value another tool wrote) is finished only when its user-owned fields
// equal AWSCURRENT's, its token is valid for AWSCURRENT's app, system
// user and scopes, and it was not issued before AWSCURRENT's token; never
// when the version holds AWSPREVIOUS. AWSCURRENT never moves to a value
// whose fields differ, nor to a token that did not pass debug_token. Force never resumes an
// unusable pending version.
//
// A run's version token (VersionToken) is a name-based UUID of the secret's
// ARN, its AWSCURRENT version ID and the version labelled
// METAMINT_DISCARDED, if any. A run retried before the rotation finished
// derives the same token, finds the pending value and resumes without
// minting. Once AWSCURRENT moved, or the pending version was discarded, the
// next attempt derives a new token, so a broken version never comes back.
//
// An inline run describes the secret once: the four steps check the stages
// it showed, kept up to date with the run's own writes, and createSecret
// reads AWSPENDING only when they show a version of the cycle's token. A
// finished inline run leaves AWSPENDING on the new current version, a valid
// end state (finishSecret leaves it there too, until Secrets Manager strips
// it) that no state reads as pending. The next rotation's PutSecretValue
// moves it: a write to take it off would spend the shared write quota for
// nothing.
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
// # How a new token is made
//
// When the current token is a valid expiring token that matches the secret,
// it is refreshed (oauth/access_token). Otherwise a token is minted (POST
// /{system-user-id}/access_tokens) with the minting token, after installing
// the app (POST /{system-user-id}/applications) when install_app is on. The
// minting token is minting_token_ref's, or else the managed token itself,
// which cannot mint once it is invalid (MintingTokenError). Before a mint
// with minting_token_ref, the reference's tag metamint:minting-for must
// list the managed secret (consent.go; ConsentError).
//
// When Graph answers, as the new token, a token the secret already holds
// (the current token, or the minting token: minting_token_ref's is read to
// compare after a refresh too, when it can be read), the step fails with a
// TokenCheckError: storing it would change nothing, and revoking it would
// cut off AWSCURRENT or every secret that mints with that token. It is
// neither stored nor revoked. So is a token debug_token says was issued
// before the current token (AWSPREVIOUS's, say, or a version's marked for a
// later revocation): an older token, not a new one, which would move the
// secret back (TestAnsweredHeldTokenIsRefused in cmd/lambda). A new token
// that debug_token says does not match the secret is revoked at once, and
// the step fails.
//
// # Revocations
//
// No path revokes a token held by AWSCURRENT, by a version holding
// AWSPENDING or AWSPREVIOUS (also when the move of AWSCURRENT failed after
// its mark: TestFailedMoveKeepsPrevious), or behind minting_token_ref. A token is revoked by itself
// (oauth/revoke with its app's credentials), never by the minting token:
// Meta requires the caller to be a token of the revoked token's app. A version whose token is to be
// revoked gets the label METAMINT_REVOKE_<unix seconds>_<version>, the time
// from which the revocation is due (StageRevokePrefix; it counts only on
// the version it names, other labels are left as found): the label keeps the
// version, and so the token, in the secret, and is how later runs remember
// a revocation across invocations. promote marks the version that loses
// AWSPREVIOUS (the token two generations old) due RevokeGrace (default 24h,
// METAMINT_REVOKE_GRACE) after its token stopped being current (AWSCURRENT's
// issued_at, or now when unknown): a consumer that cached it keeps working.
// When AWSPREVIOUS's version is newer than AWSCURRENT's (created, or its
// token issued, later: AWSCURRENT was moved back by hand, a moment ago for
// all the run knows) or cannot be read, the grace counts from now
// (TestRollbackKeepsGrace in cmd/lambda).
// A superseded version is marked due at once: its token was never current.
// A version already marked keeps its label when due no later; a later one
// is replaced.
// A run, and finishSecret, revoke the due ones judged by AWSCURRENT:
// its app secret (never the old version's references), its minting token.
// A token that AWSCURRENT, AWSPENDING, AWSPREVIOUS or a version marked for
// a later revocation also holds (a copy another tool stored) is not
// revoked; its label goes (TestPendingCopyOfPreviousNotRevoked).
// A token debug_token finds invalid or expired (the version's own
// expires_at decides nothing), of another app or system user, or that Graph
// refuses to inspect with AWSCURRENT's app (a permanent error) while that
// app inspects the secret's own token, is not revoked; its label goes.
// Only such a judgement drops a label, never an error that may be about
// AWSCURRENT's app secret (wrong, or reset in Meta's dashboard: Graph then
// refuses every debug_token, and the label stays;
// TestWrongAppSecretKeepsRevocations), nor a revoke answered "invalid
// token" that debug_token does not confirm (TestRevokeAnsweredInvalidIsChecked).
// While a pending version cannot be read, no token
// is revoked: it may hold it; so while a minting_token_ref of AWSCURRENT or
// of a pending version cannot be read, except when its secret does not
// exist (ResourceNotFoundException: deleted for good), which holds no
// token (TestPendingWithDeletedMintingRefDoesNotWedge in cmd/lambda). A
// revocation that fails keeps its label and is counted in
// RevocationsFailed (an EMF metric): it never fails a rotation, and later
// runs try again until it succeeds or the token expires. The versions a run superseded are judged at its end even if a
// concurrent write took their label (a rotation event storing its token in
// its version just before the run's version took AWSPENDING): no live
// token is left in an unlabelled version. One that cannot be judged then
// (a read fails) is marked due, for a later run. Past the grace period at most two
// tokens of a secret stay live: AWSCURRENT's and AWSPREVIOUS's.
//
// Secrets Manager allows 20 staging labels across a secret's versions.
// When a mark is refused for that quota (LimitExceededException) and its
// revocation is due already, the version is judged at the end of the run
// without a label, as a superseded one is; a mark not yet due fails the
// step, until it is (TestLabelQuotaDoesNotWedge in cmd/lambda).
//
// A PutSecretValue of AWSPENDING or a move refused for it fails the step:
// a token made and not stored is revoked as any refused write's is, no
// stored token is revoked, and the error names the quota and the labels
// neither AWS's nor metamint's, to remove (TestLabelQuotaNamesTheLabels).
//
// The revocations are judged by the labels as they are when they are
// settled (DescribeSecret again): when another writer moved AWSCURRENT
// since the run read it (a value restored by hand, say), the token of the
// version holding it now is read and held too, with the token behind its
// minting_token_ref (TestRestoredValueNotRevoked,
// TestMintingRefSetDuringRunNotRevoked in cmd/lambda). Just before each revoke,
// AWSCURRENT, AWSPENDING and AWSPREVIOUS are read again (holdingStage): a
// restore during the judgement's Graph calls keeps the token too
// (TestRestoredAfterDescribeNotRevoked).
//
// "Discard" gives the version the label METAMINT_DISCARDED (which moves off
// the version that held it) and takes AWSPENDING off it; it revokes nothing
// then. Unless it holds AWSPREVIOUS (it was current once), or debug_token
// found its token invalid or expired (TestDeadDiscardSpendsNoLabel), the
// version is also marked for revocation RevokeGrace from then: its token, never
// current, may still be live (made from the JSON before an edit, short of
// a scope, or stored by a rotation whose AWSPENDING was removed by hand),
// and a later run judges and revokes it as any marked version's, so no
// live token stays in a discarded version (TestDiscardedTokenRevoked in
// cmd/lambda). A mark refused for the label quota leaves it as it was.
// Only this cycle's version is discarded: METAMINT_DISCARDED feeds the
// version token, so discarding it moves the run on to the next token.
// Another rotation's version is superseded instead (a new version takes
// AWSPENDING from it), which leaves this cycle's token as it is.
// A version's value never changes, so a discarded version is never resumed
// and never written again: a rotation event fails (the next rotation starts
// afresh), a run derives the next version token from it.
//
// Another writer may move AWSPENDING off a rotation event's version to a
// version of its own (or take it off) between createSecret and
// finishSecret. The version is then unlabelled, and its token may be held
// by no one: any step that finds it so judges it at once as a superseded
// version, after reading AWSCURRENT, AWSPENDING and AWSPREVIOUS: revoked
// unless one of them (the other writer's version holding a copy, say) or
// minting_token_ref holds it. The step fails with a ConcurrentChangeError
// (TestPendingMovedDuringRotation in cmd/lambda).
//
// A version created, or whose token was issued, before AWSCURRENT's may
// have been current once (an event delivered late): it is left alone, and
// the step fails as before (TestLateEventOnFormerCurrentNotRevoked).
//
// # Writes whose answer is lost
//
// Secrets Manager may store a value and lose the answer: a 5xx after the
// commit, or an answer slower than the invocation's deadline. No write is
// judged from its error alone (store, in storing.go).
//
// A PutSecretValue that fails is read back: GetSecretValue of the version,
// on a short context of its own, since the invocation's may be what ended.
//
//   - The version holds the token just made: it is stored, carry on.
//   - It holds another value: a concurrent run stored it first. The token
//     made here provably is not stored and is revoked.
//   - It is absent after Secrets Manager refused the write (a 4xx it
//     documents as a refusal of the request, such as ValidationException,
//     InvalidParameterException, InvalidRequestException,
//     LimitExceededException or AccessDeniedException; the full list is
//     refusals): provably not stored, revoked.
//   - It is absent after a write that got no answer (a timeout, a lost
//     connection, a 5xx, an undocumented 4xx): it might have committed, and
//     the read-back can lag it. The same write (same version token, same
//     value: idempotent) is sent once more, and only its success decides.
//     A throttled write is sent once more too (see Throttles).
//   - When the repeat fails too, or nothing can be read, the token may be
//     stored: it is kept, the step fails, and the next run finds the
//     version (PendingStored) or mints anew.
//
// Before a token made here is revoked as not stored (revokeOrphan),
// AWSCURRENT, AWSPENDING and AWSPREVIOUS are read again: another rotation
// that Graph answered the same token may have stored it meanwhile (and
// made it current, then previous). A token either
// holds, or one they cannot be read to compare with, is kept
// (TestOrphanHeldMeanwhileNotRevoked in cmd/lambda).
//
// Each PutSecretValue is a single SDK attempt (RetryMaxAttempts 1 on that
// call). With the SDK's retries, an attempt that committed and lost its
// answer would hide behind the next attempts' answers (a
// ThrottlingException says nothing about an earlier attempt), and a refusal
// could not be told from a lost commit. The engine repeats the write once
// itself instead (TestPutSecretValueRetryHidesTheCommit in cmd/lambda).
//
// An UpdateSecretVersionStage of AWSCURRENT that fails is read back with
// DescribeSecret: if the version holds AWSCURRENT, the move happened and the
// step succeeds.
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
//
// # How a stranded rotation heals
//
// A rotation can be left half-way: Secrets Manager gave up after a failed
// step, an invocation timed out, or a pending version holds a token that was
// revoked or expired since. Nobody needs to edit staging labels: the next
// inline run (scheduled, or a direct {"rotate": ["id"]}) heals the secret.
//
//   - This cycle's own pending version with a usable token is resumed:
//     tested and made current, nothing minted again.
//   - This cycle's unusable pending version, or its version left without
//     labels (AWSPENDING removed by hand, as AWS advises after
//     CancelRotateSecret), is discarded and replaced by a new version under
//     the next version token. Nothing that may be in use is revoked; the
//     discarded version's token is revoked a grace period later.
//   - Another rotation's empty or unusable pending version (say Secrets
//     Manager's rotation stuck before createSecret stored anything) is
//     superseded once the secret is due: the new version takes AWSPENDING
//     from it. A Secrets Manager rotation still running on it then fails its
//     next step ("not AWSPENDING"), which is harmless: the secret is rotated.
//   - AWSCURRENT is never moved to a token that did not pass debug_token, so
//     it holds a live token throughout.
//
// # Inline and fan-out
//
// A run checks each secret the same way in both modes: it describes the
// secret, reads AWSCURRENT once and asks debug_token once about its token.
// Inline, the run drives the four steps in-process. Fan-out, it calls
// RotateSecret with RotateImmediately and, as ClientRequestToken, the same
// per-cycle version token the inline mode uses; Secrets Manager then
// invokes the function once per step. The call names the rotation function
// DescribeSecret reports, which leaves the configuration as it was. A
// secret without rotation configured fails with a RotationStateError.
//
// A retried fan-out run finds AWSPENDING on the cycle's version and starts
// nothing (skipped). Fan-out never takes over another rotation in progress,
// forced or not: Secrets Manager retries a failed rotation itself. If it
// gave up, AWSPENDING stays on the cycle's version; past StaleAfter the
// secret fails (see the run table above). An inline run ({"rotate": [...],
// "mode": "inline"}) resumes it with the same version token and finishes
// it, minting at most once.
//
// Inline is the cheaper mode: one invocation per run, one Graph client
// whose pacing sees the whole fleet's usage, referenced secrets read once
// per run, and two debug_token calls per rotation. Fan-out invocations share
// nothing: each describes the secret and reads what it needs again, asks
// debug_token twice more per secret, and paces only itself.
//
// # Calls per rotation
//
// The minimum, pinned by TestRotationCalls and
// TestScheduledGraphAndSecretCalls in cmd/lambda, for a secret whose
// expiring token is valid and due (a refresh; revoke_previous on):
//
//	inline, the whole rotation
//	    Graph: debug_token of the current token, oauth/access_token (refresh), debug_token of the new token
//	    Secrets Manager: DescribeSecret 1 (its stages serve all four steps), GetSecretValue 2 (AWSCURRENT,
//	    the app secret), PutSecretValue 1, UpdateSecretVersionStage 1 (move AWSCURRENT)
//	fan-out, the run's check
//	    Graph: debug_token of the current token
//	    Secrets Manager: DescribeSecret 1, GetSecretValue 2 (AWSCURRENT, the app secret), RotateSecret 1
//	fan-out, createSecret invocation
//	    Graph: debug_token of the current token, oauth/access_token, debug_token of the new token
//	    Secrets Manager: DescribeSecret 1, GetSecretValue 3 (AWSCURRENT, the empty AWSPENDING, the app
//	    secret), PutSecretValue 1
//	fan-out, setSecret invocation
//	    Secrets Manager: DescribeSecret 1
//	fan-out, testSecret invocation
//	    Graph: debug_token of the pending token
//	    Secrets Manager: DescribeSecret 1, GetSecretValue 3 (AWSPENDING, AWSCURRENT, the app secret)
//	fan-out, finishSecret invocation
//	    Secrets Manager: DescribeSecret 1, GetSecretValue 2 (AWSPENDING, AWSCURRENT),
//	    UpdateSecretVersionStage 1
//
// A secret that is not due costs the check only: DescribeSecret,
// GetSecretValue of AWSCURRENT and of its app_secret_ref (none for an inline
// app_secret), and one debug_token. A secret that holds no token yet asks
// no debug_token.
//
// Writes: an inline rotation makes two, fan-out the same two plus
// RotateSecret. From the second generation on, the move also marks the
// version two generations old for revocation: one more
// UpdateSecretVersionStage, and one more GetSecretValue (that version, to
// date the mark). Once the grace period is over, the next run (or
// finishSecret) revokes it: DescribeSecret, GetSecretValue of that version
// (and of AWSCURRENT, its references, AWSPREVIOUS, a pending version and
// a version marked for a later revocation, where not yet read), debug_token and oauth/revoke of its token, and one
// UpdateSecretVersionStage to drop the label.
//
// A token that cannot be refreshed (invalid, permanent, not matching the
// secret) is minted instead: POST /{system-user-id}/access_tokens in place of
// oauth/access_token, after POST .../applications with install_app. A
// minting_token_ref adds one GetSecretValue and, before any token is made,
// one DescribeSecret of that reference (its consent tag); so does a
// minting_app_secret_ref, one GetSecretValue.
//
// In a run, a referenced secret (app secret, minting token) read
// successfully is read once however many secrets name it, and every value
// and token is read or inspected once per rotation. A run of more than
// Concurrency secrets reads each AWSCURRENT first, to order them by urgency
// (Fleet.order), and keeps only the order: the secret's plan reads
// AWSCURRENT again, so a run holds no value or token of a secret it is not
// working on, and its memory does not grow with the fleet (the order costs
// one GetSecretValue per secret; reads are quota's cheap side). A retried run
// resuming a pending version adds one GetSecretValue of it and stores
// nothing.
//
// Secrets Manager still decides. A PutSecretValue refused because a
// concurrent run stored the version first revokes the token minted here
// and costs one more DescribeSecret, a read of the stored value, and reads
// of AWSCURRENT and AWSPENDING before the revocation. If another writer
// moved AWSCURRENT meanwhile, Secrets Manager refuses the move, read back
// with one DescribeSecret, and the rotation fails with nothing revoked: a
// ConcurrentChangeError that says the new token is kept in AWSPENDING and
// what the next attempt does (TestCurrentPutDuringRun in cmd/lambda).
//
// # Tests
//
// The lost-answer and healing scenarios run against moto behind the fault
// proxy of internal/awstest: TestLostPutSecretValueAnswer,
// TestHeldPutSecretValueAnswer, TestLostUpdateSecretVersionStageAnswer,
// TestLostLabelAnswers, TestSharedReferenceFailsOnce, TestConcurrentRuns,
// TestPutSecretValueRetryHidesTheCommit, TestCycleVersionWithoutLabelsHeals
// and TestAnsweredHeldTokenIsRefused, each on the rotation-event, direct and
// scheduled paths where it applies, and TestBootstrapLostAnswers through the
// built bootstrap under aws-lambda-rie (all in cmd/lambda). After each, the
// secret is rotated in that run or the next, AWSCURRENT holds a live token,
// no live token is left outside AWSCURRENT and AWSPREVIOUS, and nothing
// secret is logged.
//
// Other writers, versions other tools left, Graph throttles around
// revocations and the staging-label quota (writers_test.go in cmd/lambda,
// the other writer acting at an exact point through the fault proxy):
// besides the tests named above, TestShortLivedPendingNotAdopted,
// TestPendingCopyOfCurrentNotAdopted, TestThrottledJudgingDefers and
// TestThrottledRevocationWaits.
package rotation
