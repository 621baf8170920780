package mint

import (
	"fmt"
	"strings"
	"testing"
)

// TestQuotesAreCut: a huge input is named by a short prefix, never echoed
// whole, in every message that quotes one.
func TestQuotesAreCut(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("q", 127<<10)
	for name, err := range map[string]error{
		"scope":   CheckScopes([]string{"ads_read", huge}),
		"version": CheckVersion(huge),
		"url":     func() error { _, err := CheckBaseURL("https://" + huge + "/?x"); return err }(),
		"id":      requireIDs("app ID", huge),
	} {
		if err == nil || len(err.Error()) > 300 || !strings.Contains(err.Error(), "bytes)") {
			t.Errorf("%s: error of %d bytes; want a short quote naming the size", name, len(fmt.Sprint(err)))
		}
	}
}

// TestQuoteCut pins the exported quoting the front ends share.
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
