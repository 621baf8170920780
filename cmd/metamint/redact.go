package main

import (
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"

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
