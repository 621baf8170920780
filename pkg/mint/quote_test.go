package mint

import (
	"fmt"
	"strings"
	"testing"
)

// TestInputsAreNeverCut: a long input is named by its size, never echoed
// whole or in part, in every message that quotes one.
func TestInputsAreNeverCut(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("q", 127<<10)
	for name, err := range map[string]error{
		"scope":   CheckScopes([]string{"ads_read", huge}),
		"version": CheckVersion(huge),
		"url":     func() error { _, err := CheckBaseURL("https://" + huge + "/?x"); return err }(),
		"id":      requireIDs("app ID", huge),
		// The scopes a token lacks are the ones the request asked for.
		"scope not granted": (&TokenInfo{IsValid: true, Type: "SYSTEM_USER", Scopes: []string{"ads_read"}}).Check(Expectation{Scopes: []string{"ads_read", huge}}),
	} {
		if err == nil || len(err.Error()) > 300 || !strings.Contains(err.Error(), "bytes that is not shown") || strings.Contains(err.Error(), "qqq") {
			t.Errorf("%s: error %.300q; want it to name the size and show no piece", name, fmt.Sprint(err))
		}
	}
}

// TestQuoteInput pins how an input is quoted: whole up to 40 characters,
// escaped, and otherwise by its size alone.
func TestQuoteInput(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"", `""`},
		{"yes", `"yes"`},
		{"1\x1b[31m\n::warning::x", `"1\x1b[31m\n::warning::x"`},
		{strings.Repeat("é", 40), `"` + strings.Repeat("é", 40) + `"`},
		{strings.Repeat("é", 41), "a value of 82 bytes that is not shown (it may be a secret)"},
		{"whatsapp_business_management", `"whatsapp_business_management"`},
		{"v27.0", `"v27.0"`},
		{"127.0.0.1:8080", `"127.0.0.1:8080"`},
		{"https://graph.facebook.com/x1", `"https://graph.facebook.com/x1"`},
		{"1234567890123456789", `"1234567890123456789"`},
		{"9f86d081884c7d659a2feaa0c55ad015", "a value of 32 bytes that is not shown (it may be a secret)"},
		{"ghp_0123456789abcdefghijABCDEFGHIJ012345", "a value of 40 bytes that is not shown (it may be a secret)"},
	} {
		if got := QuoteInput(tt.in); got != tt.want {
			t.Errorf("QuoteInput(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

// TestQuoteCut pins the exported quoting of Graph's texts.
func TestQuoteCut(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 50)
	for _, tt := range []struct{ in, want string }{
		{"", `""`},
		{"ads_read", `"ads_read"`},
		{"1\x1b[31m\n::warning::x", `"1\x1b[31m\n::warning::x"`},
		{long, `"` + strings.Repeat("é", 40) + `"… (100 bytes)`},
	} {
		if got := QuoteCut(tt.in); got != tt.want {
			t.Errorf("QuoteCut(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}
