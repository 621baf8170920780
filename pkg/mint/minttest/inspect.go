package minttest

import (
	"net/url"
	"slices"
	"time"
)

// Request is a request the server received, as recorded before it was
// answered.
type Request struct {
	Method   string
	Endpoint Endpoint // "" when the path is not one the emulator serves
	Path     string   // the URL path, such as /v27.0/debug_token
	RawQuery string   // the URL query, encoded, as sent
	// Form holds the query and body parameters together, as
	// http.Request.Form does (the body is read for POST, PUT and PATCH).
	Form url.Values
	// Authorization reports whether the calling token came in an
	// Authorization header rather than as an access_token parameter.
	Authorization bool
	Time          time.Time // when it arrived, on the emulator clock
}

// Requests returns a copy of every request received since the server started
// or since ResetRequests, oldest first, including those a fault answered. The
// log is kept in memory, so a long-lived server (such as one serving a
// benchmark) should call ResetRequests now and then.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Form = cloneValues(r.Form)
		out[i] = r
	}
	return out
}

// ResetRequests forgets the requests recorded so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// TokenState is the server's record of a token.
type TokenState struct {
	Value      string
	Type       string // "SYSTEM_USER" or "USER"
	AppID      string
	UserID     string
	BusinessID string
	Scopes     []string
	IssuedAt   time.Time // on the emulator clock
	ExpiresAt  time.Time // zero when it never expires
	Revoked    bool
}

// Tokens returns a copy of every token, those issued by IssueToken and Seed
// as well as those minted over HTTP, in issue order. App tokens
// ({app-id}|{secret}) are not stored and not listed.
func (s *Server) Tokens() []TokenState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TokenState, len(s.tokens))
	for i, t := range s.tokens {
		out[i] = t.clone()
	}
	return out
}

// Token returns a copy of the token with the given value, and whether it
// exists.
func (s *Server) Token(value string) (TokenState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokenByValue[value]
	if !ok {
		return TokenState{}, false
	}
	return t.clone(), true
}

func (t *TokenState) clone() TokenState {
	c := *t
	c.Scopes = slices.Clone(t.Scopes)
	return c
}

// Minted returns how many tokens the server created over HTTP: by
// POST /{system-user-id}/access_tokens and by refreshing through
// /oauth/access_token, including those whose answer a fault replaced.
func (s *Server) Minted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minted
}

// Installs returns the IDs of the apps installed for a system user, in install
// order. It panics when the system user is unknown.
func (s *Server) Installs(systemUserID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustSystemUserLocked("Installs", systemUserID)
	return slices.Clone(s.installs[systemUserID])
}
