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
