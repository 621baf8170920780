package minttest

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxBodyBytes bounds a request body.
const maxBodyBytes = 1 << 20

// call is one parsed request.
type call struct {
	method   string
	path     string
	rawQuery string
	scheme   string
	host     string
	query    url.Values // the URL's query alone, for building paging links
	form     url.Values // query and body parameters, as in http.Request.Form
	parseErr error

	version  string   // the version segment of the path, "" when there is none
	endpoint Endpoint // "" when the path is not one the emulator serves
	objectID string   // the first segment after the version: the {id} of an edge

	token    string // the calling token, "" when none was sent
	inHeader bool   // the token came in the Authorization header
	conflict bool   // the header and the parameters carry different tokens
}

// reply is what the server answers, before the common headers are added.
type reply struct {
	status int
	err    *Error // a Graph error, written as {"error": ...} with the trace ID
	raw    []byte // a raw body, written as is when non-nil
	body   any    // otherwise, marshalled to JSON
	header http.Header
}

func success(body any) reply { return reply{status: http.StatusOK, body: body} }

func failure(e *Error) reply { return reply{status: http.StatusBadRequest, err: e} }

// ServeHTTP answers one Graph API request. It is the handler the server runs;
// it can also be mounted elsewhere. A request that is given up on (its context
// ends, or the server closes, while it waits) is aborted by panicking with
// http.ErrAbortHandler, as net/http expects.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	trace := randomText(base62, 11)
	c := newCall(w, r)

	s.mu.Lock()
	s.recordLocked(c)
	latency := s.latency
	s.mu.Unlock()

	s.pause(r.Context(), latency)

	s.mu.Lock()
	fault := s.takeFaultLocked(c.endpoint)
	usage, bucHeader, throttle := s.admitLocked(c)
	var rep reply
	switch {
	case fault != nil && fault.replaces() && !fault.AfterEffect:
		// The fault answers instead of the real operation.
	case throttle != nil:
		rep = *throttle
	default:
		rep = s.serveLocked(c)
	}
	if bucHeader != nil && rep.header == nil {
		rep.header = bucHeader
	}
	s.mu.Unlock()

	var extra http.Header
	if fault != nil {
		s.pause(r.Context(), fault.Delay)
		if fault.Hang {
			s.hang(r.Context())
		}
		if fault.replaces() {
			rep = fault.reply()
		}
		extra = fault.Header
	}
	writeReply(w, c, rep, usage, trace, extra)
}

// newCall parses r: its parameters, its path and its calling token.
func newCall(w http.ResponseWriter, r *http.Request) *call {
	c := &call{
		method:   r.Method,
		path:     r.URL.Path,
		rawQuery: r.URL.RawQuery,
		scheme:   "http",
		host:     r.Host,
		query:    r.URL.Query(),
	}
	if r.TLS != nil {
		c.scheme = "https"
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		// G120 has no sanitizer to see the MaxBytesReader above: TestMultipartForm proves the bound.
		c.parseErr = r.ParseMultipartForm(maxBodyBytes) //nolint:gosec // G120: r.Body is bounded above
	} else {
		c.parseErr = r.ParseForm()
	}
	c.form = r.Form
	if c.form == nil {
		c.form = url.Values{}
	}

	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if _, ok := parseVersion(segs[0]); ok {
		c.version, segs = segs[0], segs[1:]
	}
	if len(segs) > 0 {
		c.objectID = segs[0]
	}
	c.endpoint = route(r.Method, segs)

	tokens := c.form["access_token"]
	if tok, ok := bearerToken(r.Header.Get("Authorization")); ok {
		tokens = append([]string{tok}, tokens...)
		c.inHeader = true
	}
	for _, tok := range tokens {
		switch {
		case tok == "":
		case c.token == "":
			c.token = tok
		case tok != c.token:
			c.conflict = true
		}
	}
	return c
}

// bearerToken returns the token of an "Authorization: Bearer {token}" or
// "Authorization: OAuth {token}" header.
func bearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "OAuth") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// route names the endpoint that method and the path segments after the
// version address, or returns "" when the emulator does not serve them.
func route(method string, segs []string) Endpoint {
	switch {
	case len(segs) == 1 && segs[0] == "debug_token" && method == http.MethodGet:
		return EndpointDebugToken
	case len(segs) != 2:
		return ""
	case segs[0] == "oauth" && segs[1] == "access_token" && method == http.MethodGet:
		return EndpointExchange
	case segs[0] == "oauth" && segs[1] == "revoke" && method == http.MethodGet:
		return EndpointRevoke
	case segs[1] == "applications" && method == http.MethodPost:
		return EndpointApplications
	case segs[1] == "access_tokens" && method == http.MethodPost:
		return EndpointAccessTokens
	case segs[1] == "access_tokens" && method == http.MethodDelete:
		return EndpointRevokeAll
	case segs[1] == "system_users" && method == http.MethodGet:
		return EndpointSystemUsers
	}
	return ""
}

// serveLocked performs the call and returns its answer. It runs with s.mu held.
func (s *Server) serveLocked(c *call) reply {
	if c.parseErr != nil {
		return failure(errBadBody())
	}
	if c.version == "" {
		return failure(errNoVersion())
	}
	if v, _ := parseVersion(c.version); v.less(s.minVersion) {
		return failure(errDeprecatedVersion())
	}
	if c.form.Has("method") {
		return failure(errMethodOverride())
	}
	switch c.endpoint {
	case EndpointApplications:
		return s.postApplications(c)
	case EndpointAccessTokens:
		return s.postAccessTokens(c)
	case EndpointRevokeAll:
		return s.deleteAccessTokens(c)
	case EndpointDebugToken:
		return s.getDebugToken(c)
	case EndpointExchange:
		return s.exchangeToken(c)
	case EndpointRevoke:
		return s.revokeToken(c)
	case EndpointSystemUsers:
		return s.getSystemUsers(c)
	}
	return failure(errUnsupported(c.method, c.objectID))
}

// recordLocked appends c to the request log.
func (s *Server) recordLocked(c *call) {
	s.requests = append(s.requests, Request{
		Method:        c.method,
		Endpoint:      c.endpoint,
		Path:          c.path,
		RawQuery:      c.rawQuery,
		Form:          cloneValues(c.form),
		Authorization: c.inHeader,
		Time:          s.nowLocked(),
	})
}

// pause waits d. When the request's context ends or the server closes first,
// it aborts the request.
func (s *Server) pause(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		panic(http.ErrAbortHandler)
	case <-s.closing:
		panic(http.ErrAbortHandler)
	}
}

// hang waits until the request's context ends or the server closes, then
// aborts the request.
func (s *Server) hang(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-s.closing:
	}
	panic(http.ErrAbortHandler)
}

// writeReply writes rep with the headers every Graph response carries, and
// X-App-Usage when usage is not negative, then extra, which replaces headers
// of the same name.
func writeReply(w http.ResponseWriter, c *call, rep reply, usage int, trace string, extra http.Header) {
	version := c.version
	if version == "" {
		version = latestVersion
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Facebook-Api-Version", version)
	h.Set("X-Fb-Trace-Id", trace)
	if usage >= 0 {
		h.Set("X-App-Usage", appUsage(usage))
	}
	for _, more := range []http.Header{rep.header, extra} {
		for k, vs := range more {
			h[http.CanonicalHeaderKey(k)] = slices.Clone(vs)
		}
	}

	body := rep.raw
	if body == nil {
		var err error
		if rep.err != nil {
			body, err = json.Marshal(errorEnvelope{Error: errorObject{Error: rep.err, FBTraceID: trace}})
		} else {
			body, err = json.Marshal(rep.body)
		}
		if err != nil {
			panic("minttest: encoding a reply: " + err.Error()) // a bug in this package
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(body) // the client has gone: there is no one left to tell
}

// errorEnvelope is the body of a Graph error response.
type errorEnvelope struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	*Error
	FBTraceID string `json:"fbtrace_id"`
}

// version is a Graph API version, vMAJOR.MINOR.
type version struct{ major, minor int }

// parseVersion parses "vNN.N".
func parseVersion(s string) (version, bool) {
	rest, ok := strings.CutPrefix(s, "v")
	if !ok {
		return version{}, false
	}
	major, minor, ok := strings.Cut(rest, ".")
	if !ok {
		return version{}, false
	}
	var v version
	var okMajor, okMinor bool
	v.major, okMajor = parseDigits(major)
	v.minor, okMinor = parseDigits(minor)
	return v, okMajor && okMinor
}

// parseDigits parses a non-empty run of ASCII digits, without sign.
func parseDigits(s string) (int, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func (v version) less(w version) bool {
	return v.major < w.major || v.major == w.major && v.minor < w.minor
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
