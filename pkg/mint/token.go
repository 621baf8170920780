package mint

import (
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
