// Package minttest is a stateful emulator of the Meta Graph API calls that
// install apps for Business Manager system users and mint, inspect, refresh,
// revoke and list their access tokens. It is built like net/http/httptest:
// NewServer starts a real HTTP server on a loopback port, and the code under
// test talks to Server.URL with Server.Client.
//
// It keeps businesses, apps, system users, app installs and tokens, and
// answers as Graph does (docs/emulator-wire.md in the metamint repository pins
// every status, code and message):
//
//   - POST /{v}/{system-user-id}/applications installs an app for a system user.
//   - POST /{v}/{system-user-id}/access_tokens mints a system user token.
//   - DELETE /{v}/{system-user-id}/access_tokens revokes all of a system user's tokens.
//   - GET /{v}/debug_token inspects a token, called with an app token or a
//     token of one of the app's Developers.
//   - GET /{v}/oauth/access_token refreshes a token (the method Meta documents;
//     a POST is refused).
//   - GET /{v}/oauth/revoke revokes one token (POST is unsupported, as Meta
//     documents GET only).
//   - GET /{v}/{business-id}/system_users lists a business's system users, paged.
//
// It checks appsecret_proof, classic and timed, with its own HMAC code (it
// shares no code with package mint, so it can judge it), keyed by the secret
// of the app that generated the calling token, which may be another app of
// the business than business_app. A revocation's caller must be a token of
// client_id's app, as Meta requires. It refuses versions
// older than its minimum, HTTP method overrides and the retired
// /{id}/ads_access_token edge. Tokens are random, Graph-looking strings; an
// expiring token lives 60 days on the emulator clock.
//
// # Using it in tests
//
//	srv := minttest.NewServer()
//	defer srv.Close()
//	fx := srv.Seed() // a business, an app, an admin system user with a token, a system user
//
//	// Point the client under test at srv.URL with srv.Client(), and have it
//	// install fx.AppID for fx.SystemUserID and mint a token with fx.AdminToken.
//
//	if got := srv.Installs(fx.SystemUserID); len(got) != 1 { ... }
//	if got := srv.Minted(); got != 1 { ... }
//	srv.Advance(61 * 24 * time.Hour) // every expiring token is now expired
//
// Seeding methods (Seed, AddBusiness, AddApp, AddSystemUser, InstallApp,
// IssueToken, AssignAssets, MintNextAs) and inspection methods (Requests, Tokens, Token, Minted,
// Installs) change and read the state directly; they panic on misuse, such as
// a duplicate or unknown ID. Every method is safe for concurrent use.
//
// # Clock
//
// The emulator clock starts at the time given to WithClock (default: now),
// runs at wall-clock speed, and jumps forward with Advance. Token issue and
// expiry times and the 5-minute window of timed proofs use it.
//
// # Faults and throttling
//
// FailNext makes the next calls to an endpoint answer a given Graph error,
// status, raw body or headers, after a delay, never (Hang), or after doing the
// real work (AfterEffect, for "the server did it but the answer was lost").
// SetLatency slows every call. SetRateLimit throttles each app to a number of
// calls per sliding window of the emulator clock, answering with Meta's pairs:
// code 80004 (subcode 2446079) with X-Business-Use-Case-Usage for calls made with a user or
// system user token, code 4 with X-App-Usage for app token calls. MintNextAs
// makes the next issued tokens carry given values, such as one with a
// newline, for hostile-Graph tests.
//
// # Texts the wire contract leaves open
//
// Where docs/emulator-wire.md gives no text, the emulator answers HTTP 400
// with type OAuthException and:
//
//   - a caller of another business (or an app token) on a system user or
//     business edge: code 200, "(#200) The access token must belong to a user
//     or system user of the same business as object {id}";
//   - a missing required parameter (business_app, scope, input_token,
//     grant_type, fb_exchange_token, set_token_expires_in_60_days on a
//     system user token's refresh, revoke_token): code 100, "(#100) The
//     parameter {name} is required";
//   - a non-boolean set_token_expires_in_60_days: code 100;
//   - a grant_type other than fb_exchange_token: code 100;
//   - an fb_exchange_token of another app than client_id: code 190;
//   - an unknown revoke_token: code 100;
//   - an invalid limit or after cursor on system_users, or any before cursor:
//     code 100;
//   - an unparsable request body: code 100.
//
// An app token ({app-id}|{secret}) is never asked for appsecret_proof by
// App.RequireProof, since it carries the secret itself; a proof sent with it
// is still checked.
//
// # What it does not emulate
//
//   - Real rate-limit accounting: Business Use Case limits per type, CPU and
//     time shares, Page and ad account usage headers. It counts calls per app
//     only.
//   - App Review and access tiers (Limited or Full Marketing API access), Business
//     Verification and per-tier system user quotas.
//   - Two-factor authentication requirements, except by injecting their error
//     with FailNext.
//   - The historical rule that access_tokens was available only to apps that
//     had called it within 90 days.
//   - Test apps, testers and app roles other than App.Developers on
//     debug_token; apps not owned by the system user's
//     business (an install is refused); Business On Behalf Of and client
//     businesses.
//   - Other Graph objects and edges, fields selection, batch requests,
//     creating or renaming system users, and DELETE /{user-id}/permissions.
//   - Paging backwards with before cursors, and time-based paging.
//   - Localised error_user_title and error_user_msg, and the Pacific time
//     zone in expiry messages (it writes UTC).
//   - Version auto-upgrade and the differences between versions: any version
//     from the minimum on behaves the same.
//   - Short-lived user tokens, data_access_expires_at, and token metadata.
package minttest
