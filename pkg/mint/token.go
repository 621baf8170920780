package mint

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// App identifies a Meta app. Its app access token is "ID|Secret".
type App struct {
	ID     string // the app ID (business_app, client_id)
	Secret string // the app secret; never printed by String
}

// AccessToken returns the app access token, "ID|Secret".
func (a App) AccessToken() string { return a.ID + "|" + a.Secret }

// String describes the app without its secret.
func (a App) String() string { return "mint.App{ID: " + a.ID + ", Secret: " + redacted + "}" }

// GoString is String, so %#v does not print the secret either.
func (a App) GoString() string { return a.String() }

// LogValue keeps the secret out of log/slog output.
func (a App) LogValue() slog.Value { return slog.StringValue(a.String()) }

// Token is an access token Graph issued.
type Token struct {
	// AccessToken is the token itself. It is a secret: String, GoString and
	// LogValue leave it out.
	AccessToken string
	// ExpiresAt is when the token expires, when Graph said so. Token
	// creation does not say (use DebugToken); refresh does. The zero value
	// means unknown.
	ExpiresAt time.Time
}

// String describes the token without its value.
func (t Token) String() string {
	exp := "unknown"
	if !t.ExpiresAt.IsZero() {
		exp = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return "mint.Token{AccessToken: " + redacted + ", ExpiresAt: " + exp + "}"
}

// GoString is String.
func (t Token) GoString() string { return t.String() }

// LogValue keeps the token out of log/slog output.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// TokenInfo is what GET /debug_token says about a token. See
// https://developers.facebook.com/docs/graph-api/reference/debug_token.
type TokenInfo struct {
	AppID       string // the app the token belongs to
	Application string // the app's name
	Type        string // "SYSTEM_USER" for system user tokens
	UserID      string // the (app-scoped) system user ID
	IsValid     bool
	// IssuedAt is when the token was issued; zero when Graph did not say.
	IssuedAt time.Time
	// ExpiresAt is when the token expires; zero means it never expires.
	ExpiresAt time.Time
	// DataAccessExpiresAt is when data access expires; zero means never.
	DataAccessExpiresAt time.Time
	Scopes              []string
	// GranularScopes are debug_token's granular_scopes: for a scope limited
	// to some objects, the IDs of the ad accounts, pages, WhatsApp Business
	// accounts or other assets it reaches. A scope without TargetIDs applies
	// to every object the system user may act on.
	GranularScopes []GranularScope
	// Error is Graph's reason when IsValid is false.
	Error *TokenError
}

// tokenInfoJSON is TokenInfo's JSON form, in its field order. Lists are
// never null, times are RFC 3339 UTC or "" for the zero time, and error is
// left out when there is none.
type tokenInfoJSON struct {
	IsValid             bool                `json:"is_valid"`
	Type                string              `json:"type"`
	AppID               string              `json:"app_id"`
	Application         string              `json:"application"`
	UserID              string              `json:"user_id"`
	Scopes              []string            `json:"scopes"`
	GranularScopes      []granularScopeJSON `json:"granular_scopes"`
	IssuedAt            string              `json:"issued_at"`
	ExpiresAt           string              `json:"expires_at"`
	DataAccessExpiresAt string              `json:"data_access_expires_at"`
	Error               *tokenErrorJSON     `json:"error,omitempty"`
}

// granularScopeJSON is one entry of granular_scopes in TokenInfo's JSON form:
// target_ids is [] rather than left out when debug_token listed none.
type granularScopeJSON struct {
	Scope     string   `json:"scope"`
	TargetIDs []string `json:"target_ids"`
}

type tokenErrorJSON struct {
	Code    int    `json:"code"`
	Subcode int    `json:"subcode"`
	Message string `json:"message"`
}

// MarshalJSON encodes the TokenInfo in metamint's own form, the one
// metamint inspect --json prints:
//
//	{"is_valid": true, "type": "SYSTEM_USER", "app_id": "...", "application": "...",
//	 "user_id": "...", "scopes": ["ads_read"],
//	 "granular_scopes": [{"scope": "ads_read", "target_ids": ["act_1"]}],
//	 "issued_at": "2026-01-02T03:04:05Z", "expires_at": "", "data_access_expires_at": "",
//	 "error": {"code": 190, "subcode": 463, "message": "..."}}
//
// Times are RFC 3339 in UTC, with fractional seconds only when the time has
// them (debug_token's never do), and "" for the zero time: a token that
// never expires has "expires_at": "". A year past 9999 is written whole,
// which UnmarshalJSON refuses. Lists are [] rather than null, and
// error is left out when Error is nil. This is not debug_token's wire form,
// which has Unix seconds and 0 for never; DebugToken decodes that itself.
// A TokenInfo holds no secret, so the whole of it is encoded.
func (i TokenInfo) MarshalJSON() ([]byte, error) {
	out := tokenInfoJSON{
		IsValid:        i.IsValid,
		Type:           i.Type,
		AppID:          i.AppID,
		Application:    i.Application,
		UserID:         i.UserID,
		Scopes:         i.Scopes,
		GranularScopes: make([]granularScopeJSON, 0, len(i.GranularScopes)),
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	for _, g := range i.GranularScopes {
		ids := g.TargetIDs
		if ids == nil {
			ids = []string{}
		}
		out.GranularScopes = append(out.GranularScopes, granularScopeJSON{Scope: g.Scope, TargetIDs: ids})
	}
	out.IssuedAt = timeJSON(i.IssuedAt)
	out.ExpiresAt = timeJSON(i.ExpiresAt)
	out.DataAccessExpiresAt = timeJSON(i.DataAccessExpiresAt)
	if e := i.Error; e != nil {
		out.Error = &tokenErrorJSON{Code: e.Code, Subcode: e.Subcode, Message: e.Message}
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes the form MarshalJSON writes, so that a TokenInfo
// survives a round trip: times come back in UTC, "" as the zero time, and
// an empty list as nil. It refuses a time that is not RFC 3339, naming its
// field. It does not read debug_token's wire form (Unix seconds): use
// Client.DebugToken for that.
func (i *TokenInfo) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil // encoding/json's convention: null leaves the value as it is
	}
	var in tokenInfoJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	out := TokenInfo{
		AppID:       in.AppID,
		Application: in.Application,
		Type:        in.Type,
		UserID:      in.UserID,
		IsValid:     in.IsValid,
	}
	if len(in.Scopes) > 0 {
		out.Scopes = in.Scopes
	}
	for _, g := range in.GranularScopes {
		gs := GranularScope{Scope: g.Scope}
		if len(g.TargetIDs) > 0 {
			gs.TargetIDs = g.TargetIDs
		}
		out.GranularScopes = append(out.GranularScopes, gs)
	}
	var err error
	if out.IssuedAt, err = parseTimeJSON("issued_at", in.IssuedAt); err != nil {
		return err
	}
	if out.ExpiresAt, err = parseTimeJSON("expires_at", in.ExpiresAt); err != nil {
		return err
	}
	if out.DataAccessExpiresAt, err = parseTimeJSON("data_access_expires_at", in.DataAccessExpiresAt); err != nil {
		return err
	}
	if e := in.Error; e != nil {
		out.Error = &TokenError{Code: e.Code, Subcode: e.Subcode, Message: e.Message}
	}
	*i = out
	return nil
}

// timeJSON renders t as RFC 3339 UTC, or "" when it is the zero time. A
// year past 9999, which only a broken debug_token answer holds, is written
// with all its digits rather than refused, as metamint inspect --json always
// did; parseTimeJSON refuses it.
func timeJSON(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// parseTimeJSON reads what timeJSON wrote for the field name.
func parseTimeJSON(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	var t time.Time
	if err := t.UnmarshalText([]byte(s)); err != nil {
		return time.Time{}, fmt.Errorf("mint: TokenInfo %s %s is not an RFC 3339 time", name, QuoteCut(s))
	}
	return t.UTC(), nil
}

// GranularScope is one entry of debug_token's granular_scopes.
type GranularScope struct {
	Scope     string   `json:"scope"`
	TargetIDs []string `json:"target_ids,omitempty"`
}

// TargetsOf returns the target IDs debug_token listed for scope, or nil
// when it listed none.
func (i *TokenInfo) TargetsOf(scope string) []string {
	for _, g := range i.GranularScopes {
		if g.Scope == scope {
			return g.TargetIDs
		}
	}
	return nil
}

// redact replaces every secret in the texts Graph sent.
func (i *TokenInfo) redact(r *redactor) {
	i.AppID = r.replace(i.AppID)
	i.Application = r.replace(i.Application)
	i.Type = r.replace(i.Type)
	i.UserID = r.replace(i.UserID)
	for k := range i.Scopes {
		i.Scopes[k] = r.replace(i.Scopes[k])
	}
	for k := range i.GranularScopes {
		g := &i.GranularScopes[k]
		g.Scope = r.replace(g.Scope)
		for j := range g.TargetIDs {
			g.TargetIDs[j] = r.replace(g.TargetIDs[j])
		}
	}
	if i.Error != nil {
		i.Error.Message = r.replace(i.Error.Message)
	}
}

// TokenError is the error debug_token reports inside its data for an
// invalid token.
type TokenError struct {
	Code    int
	Subcode int
	Message string
}

// NeverExpires reports whether the token is permanent (expires_at 0).
func (i *TokenInfo) NeverExpires() bool { return i.ExpiresAt.IsZero() }

// Expectation is what a minted token must be: its app, its system user and
// the scopes it must carry.
type Expectation struct {
	AppID        string
	SystemUserID string
	Scopes       []string
}

// Check reports every way the token falls short of want: invalid, not a
// system user token, another app or system user, or scopes missing. The
// error wraps ErrInvalidToken when the token is not valid. Graph's texts in
// it (type, app_id, user_id, error.message) are quoted with Go escapes and
// cut short (QuoteCut); the scopes missing are want's, an input, quoted
// whole or by size (QuoteInput). The error is one line without control
// characters.
func (i *TokenInfo) Check(want Expectation) error {
	if !i.IsValid {
		reason := "no reason given"
		if i.Error != nil {
			reason = fmt.Sprintf("%s (code %d, subcode %d)", quoteCutN(i.Error.Message, maxMessageQuote), i.Error.Code, i.Error.Subcode)
		}
		return fmt.Errorf("%w: debug_token says the token is not valid: %s", ErrInvalidToken, reason)
	}
	var problems []string
	if i.Type != "SYSTEM_USER" {
		problems = append(problems, fmt.Sprintf("type is %s, want SYSTEM_USER", QuoteCut(i.Type)))
	}
	if want.AppID != "" && i.AppID != want.AppID {
		problems = append(problems, fmt.Sprintf("app is %s, want %s", QuoteCut(i.AppID), want.AppID))
	}
	if want.SystemUserID != "" && i.UserID != want.SystemUserID {
		problems = append(problems, fmt.Sprintf("system user is %s, want %s", QuoteCut(i.UserID), want.SystemUserID))
	}
	var missing []string
	for _, s := range want.Scopes {
		if !slices.Contains(i.Scopes, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "scopes not granted: "+quoteList(missing, QuoteInput))
	}
	if len(problems) > 0 {
		return fmt.Errorf("mint: the token does not match the request: %s", strings.Join(problems, "; "))
	}
	return nil
}

// SystemUser is one entry of GET /{business-id}/system_users. Its texts come
// from Graph as they are (every secret of the request removed): escape them
// for where they are shown.
type SystemUser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// CheckTokenValue reports whether s has the form of an access token: 1 to
// 4096 printable ASCII characters without spaces. Graph's tokens always do; a
// value with a newline, a control character or a space would break the
// header, log line or file it is written to, so every token Graph issues is
// checked this way before any other use.
func CheckTokenValue(s string) error {
	if s == "" {
		return invalidf("the token is empty")
	}
	if len(s) > maxTokenLen {
		return invalidf("the token is longer than %d bytes", maxTokenLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return invalidf("the token holds a space, control or non-ASCII character at byte %d", i)
		}
	}
	return nil
}

// maxTokenLen bounds a token's length; Graph's are a few hundred bytes.
const maxTokenLen = 4096
