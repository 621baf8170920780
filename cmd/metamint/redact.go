package main

import (
	"io"

	"github.com/metamint/metamint/internal/front"
)

// minSecretLen is the shortest value the CLI hides; shorter ones would
// blank out ordinary words. Real app secrets and tokens are far longer.
const minSecretLen = 8

// newSecrets returns the set of every secret the CLI has seen (the secret
// environment variables, a token read from stdin, tokens Graph issued),
// removed from its diagnostics with the proofs derived from them.
//
// pkg/mint already redacts the secrets of a request from its errors. This
// is defense in depth: it also hides secrets that were not part of the
// failing request, and proofs.
func newSecrets() *front.Secrets { return &front.Secrets{MinLen: minSecretLen} }

// redactWriter writes through s.Redact. Each diagnostic is written with
// one call, so a secret never straddles two writes.
type redactWriter struct {
	w io.Writer
	s *front.Secrets
}

func (rw *redactWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(rw.w, rw.s.Redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
