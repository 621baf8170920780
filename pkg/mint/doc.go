// Package mint mints and manages Meta Business Manager system user access
// tokens through the Graph API, the way Meta documents it at
// https://developers.facebook.com/docs/business-management-apis/system-users/install-apps-and-generate-tokens/.
//
// # The flow
//
//  1. Proof. Graph checks that a call comes from a server that knows the app
//     secret: appsecret_proof is the hex HMAC-SHA256 of the calling token keyed
//     by the secret of the app that generated that token (AppSecretProof,
//     TimedAppSecretProof). The Client adds it where a call needs it, keyed
//     with MintingAppSecret when the request sets one (one admin token minting
//     for several apps), else with App.Secret.
//  2. Install. A system user must install the app before it can hold a token
//     for it: Client.InstallApp, POST /{system-user-id}/applications.
//  3. Mint. Client.CreateAccessToken, POST /{system-user-id}/access_tokens,
//     returns the new token. It asks for an expiring (60-day) token unless told
//     otherwise, and Graph does not say when the token expires.
//  4. Inspect. Client.DebugToken, GET /debug_token with the app access token,
//     says whether the token is valid, whose it is, its scopes and its expiry.
//     TokenInfo.Check compares that with what was asked for.
//     Client.CreateVerifiedAccessToken runs steps 2 to 4 as one flow, hands
//     the checked token to the caller's Deliver function, and revokes a
//     token that fails a step after its creation, delivery included (within
//     CleanupTimeout, even when the context is done), so no live token is
//     left that the caller was not given.
//  5. Keep it fresh. Client.RefreshAccessToken exchanges a valid expiring
//     token for a new 60-day one (never a permanent one);
//     Client.RenewAccessToken does so and proves the new token renews the
//     old (TokenInfo.CheckRenewal: same app, system user and scopes, a later
//     expiry), revoking a new token that fails (unless
//     RenewRequest.MayRevoke says another party may hold it: ErrKept),
//     never the old one.
//     Client.RevokeAccessToken and Client.RevokeAllAccessTokens end tokens.
//     Client.SystemUsers lists a business's system users.
//
// # Errors
//
// A call refused before anything is sent returns an error matching
// ErrInvalidRequest. Graph's refusals are *GraphError values: use errors.As
// to read Code, Subcode and FBTraceID, GraphError.Hint for what to do, and
// errors.Is(err, ErrInvalidToken) for an expired or revoked token. No error
// text contains a secret: tokens, app secrets and proofs are redacted, also
// from the URLs of transport errors, and from every text decoded from Graph
// (TokenInfo, its Error, SystemUser). Those texts are otherwise as Graph sent
// them: escape them for where they are shown. Error strings never need it:
// GraphError.Error and TokenInfo.Check render Graph's texts on one line of
// printable characters. A token Graph issues is checked
// (CheckTokenValue) before anything else; one that fails is revoked and the
// call returns an error matching ErrMalformedToken.
//
// # Retries
//
// A Client retries only under an explicit RetryPolicy (WithRetry), and only
// what is safe: see RetryPolicy. Every method takes a context, whose deadline
// bounds all attempts and waits.
//
// # Security
//
// Calling tokens travel in the Authorization header and other secrets in POST
// bodies, except where Graph only takes them in the URL: the token debug_token
// inspects, GET /oauth/access_token's refresh parameters, every parameter of
// GET /oauth/revoke, the caller included, as Meta documents them, and the
// appsecret_proof of a call without a body (DELETE
// /{system-user-id}/access_tokens, GET /{business-id}/system_users). Those
// URLs are sanitized in every error. Only https is allowed, or http to a
// loopback host for tests. Redirects are not followed. Each HTTP exchange of
// the default HTTP client is bounded by DefaultTimeout (30 s). Response
// bodies are read up to 1 MiB. The package reads no environment variables or
// files and logs nothing.
//
// The package minttest emulates the Graph endpoints used here, for tests.
package mint
