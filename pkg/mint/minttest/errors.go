package minttest

import (
	"fmt"
	"strings"
	"time"
)

// The Graph errors the emulator answers. docs/emulator-wire.md pins the codes
// and texts; the texts marked "our choice" there (and those it leaves open,
// listed in the package documentation) are the emulator's own.

func oauthError(code int, msg string) *Error {
	return &Error{Type: "OAuthException", Code: code, Message: msg}
}

func methodError(msg string) *Error {
	return &Error{Type: "GraphMethodException", Code: 100, Message: msg}
}

// withSubcode sets e's error_subcode and returns e.
func withSubcode(e *Error, subcode int) *Error {
	e.Subcode = subcode
	return e
}

func errBadBody() *Error {
	return oauthError(100, "(#100) The request parameters could not be parsed")
}

func errNoVersion() *Error {
	return oauthError(100, "(#100) The path must start with a Graph API version, such as /"+latestVersion+"/")
}

func errDeprecatedVersion() *Error {
	return oauthError(2635, "(#2635) You are calling a deprecated version of the Graph API. "+
		"Please update to the latest version: "+latestVersion+".")
}

func errMethodOverride() *Error {
	return oauthError(100, "(#100) HTTP method override is not supported for this app")
}

func errUnsupported(method, id string) *Error {
	return withSubcode(methodError(fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, "+
		"cannot be loaded due to missing permissions, or does not support this operation.",
		strings.ToLower(method), id)), 33)
}

func errConflictingTokens() *Error {
	return oauthError(100, "(#100) Conflicting access tokens")
}

func errTokenRequired() *Error {
	return oauthError(104, "An access token is required to request this resource.")
}

func errInvalidToken() *Error {
	return oauthError(190, "Invalid OAuth access token - Cannot parse access token")
}

// expiredLayout is how Graph writes the expiry time in its message; the
// emulator writes it in UTC.
const expiredLayout = "Monday, 02-Jan-06 15:04:05 MST"

func errExpired(at time.Time) *Error {
	return withSubcode(oauthError(190, "Error validating access token: Session has expired on "+at.UTC().Format(expiredLayout)+"."), 463)
}

// errRevoked is the answer to a revoked token. Its subcode is 467, "Invalid
// Access Token: Access token has expired, been revoked, or is otherwise
// invalid", the one Meta's error-handling page lists for a revoked token
// (https://developers.facebook.com/docs/graph-api/guides/error-handling);
// the legacy 466 is not on that page. The message is our choice.
func errRevoked() *Error {
	return withSubcode(oauthError(190, "Error validating access token: The session was invalidated explicitly using an API call."), 467)
}

func errProofMissing() *Error {
	return methodError("API calls from the server require an appsecret_proof argument")
}

func errProofInvalid() *Error {
	return methodError("Invalid appsecret_proof provided in the API argument")
}

func errMissingParam(name string) *Error {
	return oauthError(100, "(#100) The parameter "+name+" is required")
}

func errInvalidBool(name string) *Error {
	return oauthError(100, "(#100) Param "+name+" must be a boolean")
}

func errWrongBusiness(objectID string) *Error {
	return oauthError(200, "(#200) The access token must belong to a user or system user of the same business as object "+objectID)
}

func errInvalidBusinessApp() *Error {
	return oauthError(100, "(#100) Param business_app must be a valid app ID")
}

func errAppOtherBusiness() *Error {
	return oauthError(200, "(#200) The app must belong to the same business as the system user")
}

func errNotInstalled(appID string) *Error {
	return oauthError(200, "(#200) The app "+appID+" is not installed for this system user. "+
		"Install it with POST /{system-user-id}/applications first.")
}

func errInvalidScope(name string) *Error {
	return oauthError(100, "(#100) Invalid scope: "+name)
}

func errExpiringRequired() *Error {
	return oauthError(100, "(#100) This business requires expiring system user access tokens: "+
		"set set_token_expires_in_60_days=true")
}

func errNeedAppToken() *Error {
	return oauthError(100, "(#100) You must provide an app access token, "+
		"or a user access token that is an owner or developer of the app")
}

func errAppMismatch() *Error {
	return oauthError(100, "(#100) The App_id in the input_token did not match the Viewing App")
}

func errInvalidClientID() *Error {
	return oauthError(101, "Error validating application. Invalid application ID.")
}

func errInvalidClientSecret() *Error {
	return oauthError(1, "Error validating client secret.")
}

func errUnsupportedGrant(grant string) *Error {
	return oauthError(100, "(#100) Unsupported grant_type: "+grant)
}

func errTokenOfOtherApp(appID string) *Error {
	return oauthError(190, "Error validating access token: The token does not belong to application "+appID+".")
}

func errInvalidRevokeToken() *Error {
	return oauthError(100, "(#100) Param revoke_token must be a valid access token")
}

func errRevokeMismatch() *Error {
	return oauthError(100, "(#100) client_id, revoke_token and access_token must belong to the same app")
}

func errInvalidLimit() *Error {
	return oauthError(100, "(#100) Param limit must be a positive integer")
}

func errInvalidCursor() *Error {
	return oauthError(100, "(#100) Param after must be a cursor from a previous page")
}

func errBeforeUnsupported() *Error {
	return oauthError(100, "(#100) Paging backwards with before is not emulated: use after")
}

// errAppThrottled is Meta's answer when an app reaches its platform rate
// limit; it comes with X-App-Usage. Like Meta's samples on its rate-limiting
// page, it carries no is_transient: clients classify throttles by code.
func errAppThrottled() *Error {
	return oauthError(4, "(#4) Application request limit reached")
}

// errBusinessThrottled is Meta's answer when a business reaches a Business
// Use Case limit: for Ads Management, "error code 80004, error subcode
// 2446079" (Meta's rate-limiting page). It comes with
// X-Business-Use-Case-Usage, and no is_transient.
func errBusinessThrottled() *Error {
	e := oauthError(80004, "(#80004) There have been too many calls from this business. Wait a bit and try again.")
	e.Subcode = 2446079
	return e
}
