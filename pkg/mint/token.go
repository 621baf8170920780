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
	// Error is Graph's reason when IsValid is false.
	Error *TokenError
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
// error wraps ErrInvalidToken when the token is not valid.
func (i *TokenInfo) Check(want Expectation) error {
	if !i.IsValid {
		reason := "no reason given"
		if i.Error != nil {
			reason = fmt.Sprintf("%s (code %d, subcode %d)", i.Error.Message, i.Error.Code, i.Error.Subcode)
		}
		return fmt.Errorf("%w: debug_token says the token is not valid: %s", ErrInvalidToken, reason)
	}
	var problems []string
	if i.Type != "SYSTEM_USER" {
		problems = append(problems, fmt.Sprintf("type is %q, want SYSTEM_USER", i.Type))
	}
	if want.AppID != "" && i.AppID != want.AppID {
		problems = append(problems, fmt.Sprintf("app is %s, want %s", i.AppID, want.AppID))
	}
	if want.SystemUserID != "" && i.UserID != want.SystemUserID {
		problems = append(problems, fmt.Sprintf("system user is %s, want %s", i.UserID, want.SystemUserID))
	}
	var missing []string
	for _, s := range want.Scopes {
		if !slices.Contains(i.Scopes, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "scopes not granted: "+quoteList(missing))
	}
	if len(problems) > 0 {
		return fmt.Errorf("mint: the token does not match the request: %s", strings.Join(problems, "; "))
	}
	return nil
}

// SystemUser is one entry of GET /{business-id}/system_users.
type SystemUser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}
