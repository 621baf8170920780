package mint

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidRequest is matched (errors.Is) by every error that a Client
// returns before it sends anything: a missing or malformed argument, an
// unlisted scope, a refusal to refresh a permanent token.
var ErrInvalidRequest = errors.New("mint: invalid request")

// ErrInvalidToken is matched (errors.Is) by a *GraphError for code 190 (or
// 102): the calling or inspected token has expired, was revoked, or is not a
// token at all. Such a token must be replaced, not retried.
var ErrInvalidToken = errors.New("mint: invalid access token")

// invalidf returns a validation error that wraps ErrInvalidRequest. Messages
// name the input and never include its value when the value may be secret.
func invalidf(format string, args ...any) error {
	return &RequestError{Reason: fmt.Sprintf(format, args...)}
}

// RequestError is the error for a request, option or input refused before
// anything is sent. It matches ErrInvalidRequest with errors.Is. Reason names
// the input and never holds a secret, so front ends can show it as it is,
// under their own names for the input.
type RequestError struct {
	Reason string // such as "app secret is empty"
}

func (e *RequestError) Error() string { return "mint: invalid request: " + e.Reason }

// Is reports whether target is ErrInvalidRequest.
func (e *RequestError) Is(target error) bool { return target == ErrInvalidRequest }

// GraphError is an error answered by the Graph API, or an HTTP failure status
// without a Graph error body (then Code is 0). Fields hold Graph's error object
// as documented at https://developers.facebook.com/docs/graph-api/guides/error-handling.
// Texts are copied from Graph with every secret of the request replaced by
// "[REDACTED]". Type and FBTraceID are kept as they are only when they are
// at most 64 letters, digits and + / = - _ . : (as Meta's are); anything else
// is replaced by its quoted form, cut to 40 characters.
type GraphError struct {
	StatusCode  int    // HTTP status
	Message     string // error.message
	Type        string // error.type, such as OAuthException
	Code        int    // error.code
	Subcode     int    // error.error_subcode
	UserTitle   string // error.error_user_title
	UserMessage string // error.error_user_msg
	IsTransient bool   // error.is_transient
	FBTraceID   string // error.fbtrace_id, for reports to Meta

	// Usage is what Meta's rate-limit headers said on this response.
	Usage Usage

	// fromGraph is true when the body held a Graph error object: Graph then
	// states that the call failed, which makes a retry safe.
	fromGraph bool
}

func (e *GraphError) Error() string {
	var b strings.Builder
	b.WriteString("mint: graph: ")
	if e.Message != "" {
		b.WriteString(printable(e.Message))
	} else {
		fmt.Fprintf(&b, "HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, " (code %d", e.Code)
		if e.Subcode != 0 {
			fmt.Fprintf(&b, ", subcode %d", e.Subcode)
		}
		b.WriteString(")")
	}
	if e.FBTraceID != "" {
		fmt.Fprintf(&b, " [fbtrace_id %s]", e.FBTraceID)
	}
	return b.String()
}

// printable renders a text from Graph for an error string: as it is when
// it is valid UTF-8 of printable characters, and otherwise with Go escapes
// (\n, \x1b, \u202e), so that it stays one line that cannot drive a
// terminal or start a line of its own in a log.
func printable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !strconv.IsGraphic(r) }) {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// Is makes errors.Is(err, ErrInvalidToken) true for codes 190 and 102.
func (e *GraphError) Is(target error) bool {
	return target == ErrInvalidToken && (e.Code == 190 || e.Code == 102)
}

// Temporary reports whether Graph said the failure is transient: is_transient
// is set, or the code is one Meta's error-handling guide says to wait on and
// retry (1, 2, 4, 17, 32, 341, 613, 80000-80014), or the status is 429 or 5xx.
// Code 1 ("An unknown error has occurred", "possibly a temporary issue due to
// downtime") is temporary whatever its type, except Graph's answer to a wrong
// client_secret, "Error validating client secret.", which states its cause.
// Code 368 (temporarily blocked for policy violations) is not: the block
// outlasts any retry within one run, so the caller has to wait.
func (e *GraphError) Temporary() bool {
	if e.IsTransient || e.Throttled() {
		return true
	}
	switch e.Code {
	case 1:
		return !e.badClientSecret()
	case 2:
		return true
	}
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// badClientSecret reports Graph's answer to a client_secret that does not
// match client_id (code 1, "Error validating client secret.").
func (e *GraphError) badClientSecret() bool {
	return e.Code == 1 && strings.Contains(strings.ToLower(e.Message), "client secret")
}

// Throttled reports whether the error is one of Graph's rate-limit errors.
func (e *GraphError) Throttled() bool {
	switch {
	case e.Code == 4, e.Code == 17, e.Code == 32, e.Code == 341, e.Code == 613:
		return true
	case e.Code >= 80000 && e.Code <= 80014:
		return true
	}
	return false
}

// RetryAfter is how long Meta asked callers to wait, from
// estimated_time_to_regain_access in the usage headers; 0 when it did not say.
func (e *GraphError) RetryAfter() time.Duration { return e.Usage.RegainAccessIn }

// Hint returns one actionable sentence for the common failures, or "".
func (e *GraphError) Hint() string {
	msg := strings.ToLower(e.Message)
	switch {
	case strings.Contains(msg, "appsecret_proof"):
		return "Graph refused the appsecret_proof: it must be keyed with the secret of the app that generated the calling access token. When that token comes from another app than the one you mint for, give that app's secret as minting-app-secret (action), METAMINT_MINTING_APP_SECRET (CLI) or minting_app_secret_ref (managed secret)."
	case e.Code == 100 && strings.Contains(msg, "app access token"):
		return "debug_token needs the app access token app_id|app_secret; a system user token cannot inspect itself."
	case e.Code == 190 || e.Code == 102:
		return tokenHint(e.Subcode)
	case e.Code == 415 || e.Subcode == 2859009:
		return "Meta requires two-factor authentication for this admin user: mint with an admin system user token instead of a person's token."
	case e.Code == 2635:
		return "This Graph API version is deprecated: set a current version (for example v27.0)."
	case e.Code == 368:
		return "Meta has temporarily blocked this app or user for policy violations (code 368): wait before trying again (a block lasts longer than a retry can wait), and check the app's status in the App Dashboard."
	case e.Throttled():
		if d := e.RetryAfter(); d > 0 {
			return fmt.Sprintf("Meta is throttling this app or business: wait about %s before trying again.", d.Round(time.Minute))
		}
		return "Meta is throttling this app or business: wait and try again later, with fewer calls."
	case e.badClientSecret():
		return "Check the app ID and app secret: Graph could not validate the client secret."
	case e.Code == 1:
		return "Graph answered an unknown error (code 1), which Meta says is possibly temporary: wait and try again; if it persists, check that the Graph API version and endpoint exist."
	case strings.Contains(msg, "install"):
		return "The app is not installed for this system user: install it first (POST /{system-user-id}/applications: install-app in the action, --install-app in the CLI, install_app in a managed secret)."
	case e.Code == 100 && e.Subcode == 33:
		return "The object does not exist or the token cannot reach it: assign the asset (ad account, page, WhatsApp account, app) to the system user in Business Settings, with the tasks the call needs; debug_token's granular_scopes list what a token reaches."
	case e.Code == 3 || e.Code == 10 || (e.Code >= 200 && e.Code <= 299):
		return "Graph refused for a permission or capability reason. Check that the system user has the app installed and the scopes granted in Business Settings, and whether one of Meta's restrictions applies: the app is not owned by the system user's Business Manager, the app is a test app (make the system user a tester instead), or the app has not called this endpoint in the last 90 days. A valid token that cannot act on an ad account, page or WhatsApp account needs that asset assigned to the system user in Business Settings; debug_token's granular_scopes list what a token reaches."
	case e.Code == 100 && strings.Contains(msg, "expiring"):
		return "This business requires expiring tokens: mint with expiring tokens on (set_token_expires_in_60_days=true)."
	}
	return ""
}

func tokenHint(subcode int) string {
	switch subcode {
	case 463:
		return "The access token has expired: mint or refresh a new one."
	case 458:
		return "The app is no longer installed for the token's user: install it again and mint a new token."
	case 460:
		return "The token's user changed their password: issue a new calling token."
	case 459, 464:
		return "The token's user must log in to Facebook to resolve a checkpoint before tokens work again."
	case 466, 467:
		return "The access token was revoked or is invalid: use a current token."
	}
	return "The access token is invalid, expired or revoked: use a current token of the same Business Manager."
}

// graphErrorBody is the wire form of Graph's error object.
type graphErrorBody struct {
	Error *struct {
		Message     string  `json:"message"`
		Type        string  `json:"type"`
		Code        flexInt `json:"code"`
		Subcode     flexInt `json:"error_subcode"`
		UserTitle   string  `json:"error_user_title"`
		UserMessage string  `json:"error_user_msg"`
		IsTransient bool    `json:"is_transient"`
		FBTraceID   string  `json:"fbtrace_id"`
	} `json:"error"`
}

// decodeGraphError builds the error for a failed response. It never fails:
// a body that holds no Graph error object yields a status-only GraphError.
func decodeGraphError(status int, header http.Header, body []byte) *GraphError {
	e := &GraphError{StatusCode: status, Usage: ParseUsage(header)}
	var b graphErrorBody
	if json.Unmarshal(body, &b) == nil && b.Error != nil {
		e.fromGraph = true
		e.Message = b.Error.Message
		e.Type = b.Error.Type
		e.Code = int(b.Error.Code)
		e.Subcode = int(b.Error.Subcode)
		e.UserTitle = b.Error.UserTitle
		e.UserMessage = b.Error.UserMessage
		e.IsTransient = b.Error.IsTransient
		e.FBTraceID = b.Error.FBTraceID
	}
	if e.FBTraceID == "" {
		e.FBTraceID = header.Get("x-fb-trace-id")
	}
	return e
}

// redact replaces every secret in the error's texts. Type and FBTraceID,
// which Error prints, are then kept only when short and plain (see
// plainField): a gateway that echoes the request into them leaks nothing and
// injects nothing.
func (e *GraphError) redact(r *redactor) {
	e.Message = r.replace(e.Message)
	e.UserTitle = r.replace(e.UserTitle)
	e.UserMessage = r.replace(e.UserMessage)
	e.Type = plainField(r.replace(e.Type))
	e.FBTraceID = plainField(r.replace(e.FBTraceID))
}

// maxPlainField is the longest error.type or fbtrace_id kept as it is.
// Meta's are far shorter (OAuthException; trace IDs of about a dozen
// characters).
const maxPlainField = 64

// plainField returns s when it is at most maxPlainField letters, digits and
// the base64 punctuation + / = - _ . : and otherwise its quoted, cut form
// (see QuoteCut), which holds no control character and no line break.
func plainField(s string) string {
	if len(s) > maxPlainField {
		return QuoteCut(s)
	}
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case strings.ContainsRune("+/=-_.:", r):
		default:
			return QuoteCut(s)
		}
	}
	return s
}

// flexInt decodes a JSON number or a numeric string, as Graph sends either.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	var v json.Number
	if err := json.Unmarshal(b, &v); err != nil {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return err
		}
		v = json.Number(s)
	}
	if v == "" {
		*n = 0
		return nil
	}
	i, err := v.Int64()
	if err != nil {
		return err
	}
	*n = flexInt(i)
	return nil
}

// flexString decodes a JSON string or number (Graph IDs appear as both).
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		*s = flexString(str)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*s = flexString(n.String())
	return nil
}
