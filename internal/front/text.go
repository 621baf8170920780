package front

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/metamint/metamint/pkg/mint"
)

// Message is err's text for a person, without the prefix of the package
// that made it (mint, ghsecrets): a refused request shows its reason alone.
func Message(err error) string {
	var rerr *mint.RequestError
	if errors.As(err, &rerr) {
		return rerr.Reason
	}
	msg := err.Error()
	for _, prefix := range []string{"mint: ", "ghsecrets: "} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			return rest
		}
	}
	return msg
}

// GraphReport is a Graph error rendered for a person, in parts each front
// end lays out its own way. Every part is one line, Graph's texts escaped
// by the escape function it was built with.
type GraphReport struct {
	Message string // Graph's message, or what stands for a missing one
	Details string // HTTP status, and type, code, subcode and fbtrace_id when Graph sent them
	Says    string // Meta's text for the user (error_user_title and _msg), or ""
	Usage   string // the rate-limit usage when Graph throttles, or ""
	Hint    string // what to do, or ""
}

// ReportGraphError renders e, with escape applied to every text Graph sent.
func ReportGraphError(e *mint.GraphError, escape func(string) string) GraphReport {
	r := GraphReport{Message: strings.TrimSuffix(escape(e.Message), ".")}
	if r.Message == "" {
		r.Message = "the response holds no Graph error object"
	}
	details := []string{fmt.Sprintf("HTTP %d", e.StatusCode)}
	if e.Type != "" {
		details = append(details, "type "+escape(e.Type))
	}
	if e.Code != 0 {
		details = append(details, fmt.Sprintf("code %d", e.Code))
	}
	if e.Subcode != 0 {
		details = append(details, fmt.Sprintf("subcode %d", e.Subcode))
	}
	if e.FBTraceID != "" {
		details = append(details, "fbtrace_id "+escape(e.FBTraceID))
	}
	r.Details = strings.Join(details, ", ")
	if says := escape(strings.TrimSpace(e.UserTitle + " " + e.UserMessage)); says != "" {
		r.Says = says
		if !strings.HasSuffix(says, ".") {
			r.Says += "."
		}
	}
	if e.Throttled() || e.StatusCode == 429 {
		r.Usage = fmt.Sprintf("%d%% of the budget used", e.Usage.Percent())
		if d := e.Usage.RegainAccessIn; d > 0 {
			r.Usage += fmt.Sprintf(", access expected back in %s", d)
		}
	}
	r.Hint = e.Hint()
	return r
}

// Describe renders err on one line of a workflow log: for a Graph error
// its message, details, what Meta says, the rate-limit usage and the hint;
// otherwise the library's message. It ends with a full stop.
func Describe(err error) string {
	var gerr *mint.GraphError
	if !errors.As(err, &gerr) {
		msg := LogLine(Message(err))
		if !strings.HasSuffix(msg, ".") {
			msg += "."
		}
		return msg
	}
	r := ReportGraphError(gerr, LogLine)
	s := "Graph API error: " + r.Message + " (" + r.Details + ")."
	if r.Says != "" {
		s += " Meta says: " + r.Says
	}
	if r.Usage != "" {
		s += " Rate-limit usage: " + r.Usage + "."
	}
	if r.Hint != "" {
		s += " Hint: " + r.Hint
	}
	return s
}

// Scopes quotes scopes for a sentence with its verb: `scope "a" is` or
// `scopes "a", "b" are`, each shown whole or not at all (mint.QuoteInput).
func Scopes(scopes []string) string {
	q := make([]string, len(scopes))
	for i, s := range scopes {
		q[i] = mint.QuoteInput(s)
	}
	if len(q) == 1 {
		return "scope " + q[0] + " is"
	}
	return "scopes " + strings.Join(q, ", ") + " are"
}

// Time renders t in RFC 3339 UTC, or "" for the zero time (never).
func Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Expiry says when a token expiring at t expires, for a sentence: "expires
// 2026-12-03T21:00:00Z", or "never expires" for the zero time (debug_token's
// expires_at 0).
func Expiry(t time.Time) string {
	if t.IsZero() {
		return "never expires"
	}
	return "expires " + Time(t)
}

// Days renders a time left in days and hours, such as "4d23h".
func Days(d time.Duration) string {
	if d <= 0 {
		return "the past"
	}
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int((d%(24*time.Hour))/time.Hour))
}

// GitHubWait says that GitHub's rate limit answered call and that the
// client waits d before sending it again (ghsecrets.WithWaitNotice).
func GitHubWait(call string, d time.Duration) string {
	return fmt.Sprintf("GitHub's rate limit answered %s: waiting %s before sending it again", call, d.Round(time.Second))
}
