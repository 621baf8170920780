package mint

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// supportedScopes is the union of the scopes Meta lists for system user
// tokens on the page this project was built from and the longer list on the
// current "Install Apps, Generate, Refresh, and Revoke Tokens" page.
// Capability-gated scopes are included: Graph refuses them for businesses
// without the capability, with an error the hint explains.
var supportedScopes = []string{
	"ads_management",
	"ads_read",
	"attribution_read",
	"business_creative_insights",
	"business_creative_insights_share",
	"business_creative_management",
	"business_data_management",
	"business_management",
	"catalog_management",
	"commerce_account_manage_orders",
	"commerce_account_read_orders",
	"commerce_account_read_reports",
	"commerce_account_read_settings",
	"commerce_manage_accounts",
	"instagram_basic",
	"instagram_branded_content_ads_brand",
	"instagram_branded_content_brand",
	"instagram_content_publish",
	"instagram_manage_comments",
	"instagram_manage_insights",
	"instagram_manage_messages",
	"instagram_shopping_tag_products",
	"leads_retrieval",
	"manage_notifications",
	"page_events",
	"pages_manage_ads",
	"pages_manage_cta",
	"pages_manage_engagement",
	"pages_manage_instant_articles",
	"pages_manage_metadata",
	"pages_manage_posts",
	"pages_messaging",
	"pages_read_engagement",
	"pages_read_user_content",
	"pages_show_list",
	"private_computation_access",
	"publish_video",
	"read_audience_network_insights",
	"read_insights",
	"read_page_mailboxes",
	"rsvp_event",
	"whatsapp_business_management",
	"whatsapp_business_messaging",
}

// SupportedScopes returns, sorted, the permissions Meta documents for system
// user access tokens. The slice is a copy.
func SupportedScopes() []string {
	return slices.Clone(supportedScopes)
}

// IsSupportedScope reports whether scope is on the supported list.
func IsSupportedScope(scope string) bool {
	_, found := slices.BinarySearch(supportedScopes, scope)
	return found
}

// ParseScopes splits a list of scopes separated by commas and/or white space,
// as users write them in workflow files and flags, drops duplicates and keeps
// the first-seen order. It does not check the names; see CheckScopes.
func ParseScopes(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// UnlistedScopeError reports scopes that are not on the supported list. It
// matches ErrInvalidRequest with errors.Is. Front ends that let users opt in
// to scopes Meta added after this list was written turn it into a warning.
type UnlistedScopeError struct {
	Scopes []string // the unlisted scope names, in request order
}

func (e *UnlistedScopeError) Error() string {
	noun := "scope"
	if len(e.Scopes) > 1 {
		noun = "scopes"
	}
	return fmt.Sprintf("mint: %s %s not on the list of supported system user scopes; "+
		"check the spelling, or allow unlisted scopes if Meta added it recently",
		noun, quoteList(e.Scopes, QuoteInput))
}

// Is reports whether target is ErrInvalidRequest.
func (e *UnlistedScopeError) Is(target error) bool { return target == ErrInvalidRequest }

// CheckScopes validates a scope list before any request is made. An empty
// list or an empty or malformed name is an error that wraps ErrInvalidRequest.
// Names missing from the supported list give a *UnlistedScopeError, which
// callers may downgrade to a warning.
func CheckScopes(scopes []string) error {
	if len(scopes) == 0 {
		return invalidf("scopes: at least one scope is required")
	}
	var unlisted []string
	for _, s := range scopes {
		if !validScopeName(s) {
			return invalidf("scopes: %s is not a valid scope name (lowercase letters, digits and underscores)", QuoteInput(s))
		}
		if !IsSupportedScope(s) {
			unlisted = append(unlisted, s)
		}
	}
	if len(unlisted) > 0 {
		return &UnlistedScopeError{Scopes: unlisted}
	}
	return nil
}

func validScopeName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// quoteList quotes each of ss with quote (QuoteInput for inputs, QuoteCut
// for Graph's texts) and joins them with commas.
func quoteList(ss []string, quote func(string) string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return strings.Join(q, ", ")
}

// maxQuote is how many characters of an input or a Graph text a message
// quotes.
const maxQuote = 40

// QuoteCut quotes s for a message with Go escapes, cut to its first 40
// characters and then naming its size: a huge value is named, never echoed
// whole, and the result holds no control character or line break. The
// package quotes inputs and Graph's texts with it in its errors; front ends
// use it for theirs.
func QuoteCut(s string) string { return quoteCutN(s, maxQuote) }

// QuoteInput quotes a value a person gave, for a message saying it is
// wrong: whole, with Go escapes, when it has at most 40 characters and does
// not look like a secret (looksSecret), and otherwise by its size alone. It
// never cuts a value short: a secret pasted in the wrong place is masked
// whole by a CI runner, never a piece of it. The package quotes every input
// with it; front ends use it for theirs.
func QuoteInput(s string) string {
	if utf8.RuneCountInString(s) <= maxQuote && !looksSecret(s) {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("a value of %d bytes that is not shown (it may be a secret)", len(s))
}

// minSecretWord is the length from which looksSecret takes a word for a
// secret: shorter than a Meta app secret (32 hex characters) or a classic
// GitHub token (40), longer than any scope, version or ID's typo.
const minSecretWord = 16

// looksSecret reports whether s is short enough to quote yet has the shape
// of a secret: one word of at least minSecretWord letters, digits, '_' and
// '-' with both a letter and a digit in it, as an app secret or a GitHub
// token has. No scope name, Graph version, URL or host:port has it.
func looksSecret(s string) bool {
	if len(s) < minSecretWord {
		return false
	}
	var letter, digit bool
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
			letter = true
		case '0' <= r && r <= '9':
			digit = true
		case r == '_' || r == '-':
		default:
			return false
		}
	}
	return letter && digit
}

// quoteCutN quotes s, cut to its first n characters.
func quoteCutN(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(string(r[:n])), len(s))
}

// maxMessageQuote is how many characters of a Graph message (debug_token's
// error.message) a message quotes: enough for Meta's longest reasons.
const maxMessageQuote = 300
