package minttest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// proofWindow is how far a timed appsecret_proof's appsecret_time may be from
// the emulator clock, either side.
const proofWindow = 5 * time.Minute

// principal is who makes a call: the holder of a user or system user token, or
// an app through its app token ({app-id}|{secret}).
type principal struct {
	token *TokenState // nil for an app token
	app   *App        // the app the calling token belongs to
}

// businessID returns the caller's business; an app token has none.
func (p principal) businessID() string {
	if p.token == nil {
		return ""
	}
	return p.token.BusinessID
}

// authenticateLocked checks the calling token and its appsecret_proof, which
// must be present when proofRequired or when the token's app requires it.
func (s *Server) authenticateLocked(c *call, proofRequired bool) (principal, *Error) {
	if c.conflict {
		return principal{}, errConflictingTokens()
	}
	if c.token == "" {
		return principal{}, errTokenRequired()
	}
	p, e := s.lookupCallerLocked(c.token)
	if e != nil {
		return principal{}, e
	}
	if e := s.checkProofLocked(c, p, proofRequired); e != nil {
		return principal{}, e
	}
	return p, nil
}

// lookupCallerLocked resolves a calling token, which must be valid now.
func (s *Server) lookupCallerLocked(value string) (principal, *Error) {
	if id, secret, ok := strings.Cut(value, "|"); ok {
		a := s.apps[id]
		if a == nil || !sameSecret(secret, a.Secret) {
			return principal{}, errInvalidToken()
		}
		return principal{app: a}, nil
	}
	t := s.tokenByValue[value]
	if t == nil {
		return principal{}, errInvalidToken()
	}
	if e := s.tokenErrorLocked(t); e != nil {
		return principal{}, e
	}
	return principal{token: t, app: s.apps[t.AppID]}, nil
}

// tokenErrorLocked returns why t cannot be used now, or nil when it can.
func (s *Server) tokenErrorLocked(t *TokenState) *Error {
	switch {
	case t.Revoked:
		return errRevoked()
	case !t.ExpiresAt.IsZero() && !s.nowLocked().Before(t.ExpiresAt):
		return errExpired(t.ExpiresAt)
	}
	return nil
}

// checkProofLocked checks c's appsecret_proof, keyed by the secret of the app
// the calling token belongs to. A missing proof is an error when required, or
// when the app requires proofs of its user and system user tokens (an app
// token carries the secret itself, so the setting does not apply to it).
func (s *Server) checkProofLocked(c *call, p principal, required bool) *Error {
	proof := c.form.Get("appsecret_proof")
	if proof == "" {
		if required || p.token != nil && p.app.RequireProof {
			return errProofMissing()
		}
		return nil
	}
	msg := c.token
	if c.form.Has("appsecret_time") {
		raw := c.form.Get("appsecret_time")
		sec, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return errProofInvalid()
		}
		if skew := s.nowLocked().Sub(time.Unix(sec, 0)); skew > proofWindow || skew < -proofWindow {
			return errProofInvalid()
		}
		msg += "|" + raw
	}
	if !hmac.Equal([]byte(proof), []byte(hmacSHA256Hex(p.app.Secret, msg))) {
		return errProofInvalid()
	}
	return nil
}

// hmacSHA256Hex is the lowercase hex HMAC-SHA256 of msg keyed by key: the
// appsecret_proof formula.
func hmacSHA256Hex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// sameSecret compares two secrets in constant time.
func sameSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// clientAppLocked checks the client_id and client_secret parameters and
// returns their app.
func (s *Server) clientAppLocked(c *call) (*App, *Error) {
	a := s.apps[c.form.Get("client_id")]
	if a == nil {
		return nil, errInvalidClientID()
	}
	if !sameSecret(c.form.Get("client_secret"), a.Secret) {
		return nil, errInvalidClientSecret()
	}
	return a, nil
}
