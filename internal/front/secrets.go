package front

import (
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/metamint/metamint/pkg/mint"
)

// Secrets is every secret value a front end knows of, and every value
// derived from them that is a secret too: each token's appsecret_proof
// under each app secret (it lets whoever holds it call Graph as that app),
// and each value's URL-query form, in which a URL quotes it. The action
// registers each with the runner (::add-mask::) the moment it is known;
// the CLI removes them from everything it prints (Redact).
type Secrets struct {
	// Hide, when not nil, is called with each value the moment it is
	// known, before the call that added it returns, and before any other
	// call adding it returns. It is called with s locked: it must not
	// call s's methods.
	Hide func(v string)
	// MinLen is the shortest value kept: the CLI keeps none shorter than
	// 8 bytes, which would blank out ordinary words. Real app secrets and
	// tokens are far longer.
	MinLen int

	mu     sync.Mutex
	keys   []string // app secrets
	tokens []string
	values []string // every value to hide, longest first
}

// Add adds a secret that derives nothing: a GitHub token, say.
func (s *Secrets) Add(v string) { s.add(nil, v) }

// AddKey adds an app secret.
func (s *Secrets) AddKey(secret string) { s.add(&s.keys, secret) }

// AddToken adds an access token.
func (s *Secrets) AddToken(token string) { s.add(&s.tokens, token) }

func (s *Secrets) add(list *[]string, v string) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) < s.MinLen {
		return
	}
	// Hidden with s locked: a second caller adding the same value waits
	// until it is hidden.
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.derive(list, v) {
		if s.Hide != nil {
			s.Hide(d)
		}
	}
}

// derive records v in list (nil for a value that derives nothing) and
// returns the values to hide that are new: v, its URL-query form and the
// proofs of every token under every app secret. s is locked.
func (s *Secrets) derive(list *[]string, v string) (added []string) {
	derived := []string{v, url.QueryEscape(v)}
	if list != nil {
		if slices.Contains(*list, v) {
			return nil
		}
		*list = append(*list, v)
		for _, k := range s.keys {
			for _, t := range s.tokens {
				derived = append(derived, mint.AppSecretProof(k, t))
			}
		}
	}
	for _, d := range derived {
		if !slices.Contains(s.values, d) {
			s.values = append(s.values, d)
			added = append(added, d)
		}
	}
	slices.SortStableFunc(s.values, func(a, b string) int { return len(b) - len(a) })
	return added
}

// Redact replaces every value in text with [REDACTED], longest first, so
// that a value holding another is removed whole.
func (s *Secrets) Redact(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.values {
		text = strings.ReplaceAll(text, v, "[REDACTED]")
	}
	return text
}
