package main

import (
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/metamint/metamint/pkg/mint"
)

// minSecretLen is the shortest value the redactor hides; shorter ones would
// blank out ordinary words. Real app secrets and tokens are far longer.
const minSecretLen = 8

// redactor remembers every secret the CLI has seen (the secret environment
// variables, a token read from stdin, tokens Graph issued) and removes them,
// and the appsecret_proof of each token under each app secret, from text.
//
// pkg/mint already redacts the secrets of a request from its errors. This is
// defense in depth for the CLI's diagnostics: it also hides secrets that were
// not part of the failing request, and proofs.
type redactor struct {
	mu     sync.Mutex
	keys   []string // app secrets
	tokens []string
	values []string // every string to hide, longest first
}

func (r *redactor) addKey(secret string) { r.add(&r.keys, secret) }

func (r *redactor) addToken(token string) { r.add(&r.tokens, token) }

func (r *redactor) add(list *[]string, v string) {
	v = strings.TrimSpace(v)
	if len(v) < minSecretLen {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.Contains(*list, v) {
		return
	}
	*list = append(*list, v)
	var values []string
	for _, s := range append(slices.Clone(r.keys), r.tokens...) {
		values = append(values, s, url.QueryEscape(s))
	}
	for _, k := range r.keys {
		for _, t := range r.tokens {
			values = append(values, mint.AppSecretProof(k, t))
		}
	}
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	r.values = slices.Compact(values)
}

func (r *redactor) replace(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, "[REDACTED]")
	}
	return s
}

// redactWriter writes through r. Each diagnostic is written with one call,
// so a secret never straddles two writes.
type redactWriter struct {
	w io.Writer
	r *redactor
}

func (rw *redactWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(rw.w, rw.r.replace(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// termWriter escapes, in everything written to a terminal or a pipe, the
// control characters that could move the cursor, recolour, retitle or hide
// text: every C0 and C1 control but newline and tab, DEL, and Unicode format
// characters such as bidi overrides. Each is shown as \uXXXX.
type termWriter struct{ w io.Writer }

func (tw *termWriter) Write(p []byte) (int, error) {
	s := string(p)
	if strings.IndexFunc(s, func(r rune) bool { return r != '\n' && r != '\t' && isControl(r) }) >= 0 {
		var b strings.Builder
		for _, r := range s {
			if r != '\n' && r != '\t' && isControl(r) {
				fmt.Fprintf(&b, "\\u%04x", r)
				continue
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	if _, err := io.WriteString(tw.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// isControl reports runes a terminal must not get raw.
func isControl(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError
}

// termText makes one field of Graph's text fit one line: line breaks and
// tabs become spaces, other control characters \uXXXX.
func termText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
