package minttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Endpoint names one Graph call the emulator serves, for FailNext and in a
// recorded Request.
type Endpoint string

// The endpoints the emulator serves.
const (
	// EndpointApplications is POST /{system-user-id}/applications.
	EndpointApplications Endpoint = "applications"
	// EndpointAccessTokens is POST /{system-user-id}/access_tokens (minting).
	EndpointAccessTokens Endpoint = "access_tokens"
	// EndpointRevokeAll is DELETE /{system-user-id}/access_tokens.
	EndpointRevokeAll Endpoint = "access_tokens:delete"
	// EndpointDebugToken is GET /debug_token.
	EndpointDebugToken Endpoint = "debug_token"
	// EndpointExchange is GET /oauth/access_token (refresh).
	EndpointExchange Endpoint = "oauth/access_token"
	// EndpointRevoke is GET /oauth/revoke.
	EndpointRevoke Endpoint = "oauth/revoke"
	// EndpointSystemUsers is GET /{business-id}/system_users.
	EndpointSystemUsers Endpoint = "system_users"
)

var endpoints = []Endpoint{
	EndpointApplications, EndpointAccessTokens, EndpointRevokeAll, EndpointDebugToken,
	EndpointExchange, EndpointRevoke, EndpointSystemUsers,
}

// Error is a Graph API error object. It marshals to the object inside
// {"error": ...}; the server adds fbtrace_id when it answers.
type Error struct {
	Message     string `json:"message"`
	Type        string `json:"type"` // OAuthException when empty in a Fault
	Code        int    `json:"code"`
	Subcode     int    `json:"error_subcode,omitempty"`
	UserTitle   string `json:"error_user_title,omitempty"`
	UserMessage string `json:"error_user_msg,omitempty"`
	IsTransient bool   `json:"is_transient"`
}

// Fault replaces the server's answer to matching requests; see FailNext.
//
// A Fault that sets Error, Body or Status replaces the answer. One that sets
// none of them lets the real answer through, after Delay and with Header
// added: use it to slow down one call or to add a usage header to a success.
type Fault struct {
	// Status is the HTTP status. It defaults to 400 when Error is set and to
	// 500 when only Body is set.
	Status int
	// Error is the Graph error to answer.
	Error *Error
	// Body is a raw body to answer instead of Error: malformed JSON, a bare
	// `true`, an HTML error page. An empty non-nil Body answers no body.
	Body []byte
	// Header holds headers added to the answer, replacing the server's own
	// of the same name (such as X-App-Usage or X-Business-Use-Case-Usage).
	Header http.Header
	// Delay is how long the server waits before answering. A client that
	// gives up first sees its own timeout.
	Delay time.Duration
	// Hang makes the server never answer: the request is held until the
	// client gives up or the server closes, and then aborted.
	Hang bool
	// AfterEffect makes the server perform the real operation (mint, install,
	// revoke...) before answering with the fault, as when Graph did the work
	// but the response was lost.
	AfterEffect bool
	// Times is how many consecutive matching requests get the fault. It
	// defaults to 1.
	Times int
}

// replaces reports whether the fault replaces the real answer.
func (f *Fault) replaces() bool {
	return f.Error != nil || f.Body != nil || f.Status != 0
}

// reply returns the answer the fault replaces the real one with.
func (f *Fault) reply() reply {
	rep := reply{status: f.Status, raw: f.Body}
	if rep.raw == nil {
		if f.Error != nil {
			rep.err = f.Error
		} else {
			rep.raw = []byte{}
		}
	}
	if rep.status == 0 {
		rep.status = http.StatusInternalServerError
		if f.Error != nil {
			rep.status = http.StatusBadRequest
		}
	}
	return rep
}

type pendingFault struct {
	fault Fault
	left  int
}

// FailNext makes the next f.Times requests to e get f instead of (or, with
// AfterEffect, after) the real answer. Faults queue: a second FailNext for the
// same endpoint takes effect once the first is used up. A fault applies before
// any check of the request, so even an invalid request gets it. The request
// still waits the latency (SetLatency) and counts against the rate limit
// (SetRateLimit), but a fault that replaces the answer is answered instead of
// the throttling error. FailNext panics on an unknown endpoint, a negative
// Times or Delay, or a Status outside 100-599.
func (s *Server) FailNext(e Endpoint, f Fault) {
	switch {
	case !slices.Contains(endpoints, e):
		panic(fmt.Sprintf("minttest: FailNext(%q): unknown endpoint", e))
	case f.Times < 0:
		panic(fmt.Sprintf("minttest: FailNext(%q): negative Times %d", e, f.Times))
	case f.Delay < 0:
		panic(fmt.Sprintf("minttest: FailNext(%q): negative Delay %v", e, f.Delay))
	case f.Status != 0 && (f.Status < 100 || f.Status > 599):
		panic(fmt.Sprintf("minttest: FailNext(%q): invalid Status %d", e, f.Status))
	}
	if f.Times == 0 {
		f.Times = 1
	}
	// Copy what the caller could change afterwards.
	if f.Error != nil {
		graphErr := *f.Error
		if graphErr.Type == "" {
			graphErr.Type = "OAuthException"
		}
		f.Error = &graphErr
	}
	if f.Body != nil {
		f.Body = slices.Clone(f.Body)
	}
	f.Header = f.Header.Clone()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[e] = append(s.faults[e], &pendingFault{fault: f, left: f.Times})
}

// takeFaultLocked returns the fault the next request to e gets, if any, and
// uses it up.
func (s *Server) takeFaultLocked(e Endpoint) *Fault {
	queue := s.faults[e]
	if len(queue) == 0 {
		return nil
	}
	p := queue[0]
	p.left--
	if p.left == 0 {
		s.faults[e] = queue[1:]
	}
	f := p.fault
	return &f
}

// SetLatency makes every request wait d before it is served, on top of any
// fault's Delay. A request whose client gives up while waiting is aborted.
// Zero (the default) removes the latency.
func (s *Server) SetLatency(d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("minttest: SetLatency(%v): negative latency", d))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// rateLimit is a sliding-window call limit per app, on the emulator clock.
type rateLimit struct {
	calls  int
	window time.Duration
	hits   map[string][]time.Time // app ID to the times of its admitted calls, oldest first
}

// SetRateLimit lets each app make at most calls calls per window; a call
// counts for the app of its calling token (for /oauth/access_token without
// one, the client_id). A call over the limit is refused with HTTP 400,
// without is_transient (Meta's samples carry none), with Meta's pair of code
// and header:
//
//   - a call made with a user or system user token hits its business's
//     Business Use Case limit: code 80004, subcode 2446079, "(#80004) There
//     have been too many calls ...", and an X-Business-Use-Case-Usage header (type
//     ads_management) whose estimated_time_to_regain_access (in minutes,
//     rounded up) says when the oldest call leaves the window;
//   - a call made with the app token, or by client_id alone, hits the app's
//     platform limit: code 4, "(#4) Application request limit reached", with
//     X-App-Usage at 100 percent and no regain estimate, as Meta sends it.
//
// Refused calls do not count. Every response to a call counted against the
// limit reports the percentage used in X-App-Usage; an admitted call made
// with a user or system user token reports it in X-Business-Use-Case-Usage
// too (regain 0). Without a limit, no response carries a usage header: Meta
// sends them with "most API responses once enough calls have been made to an
// endpoint" (https://developers.facebook.com/docs/graph-api/overview/rate-limiting/),
// so a client must not count on them.
//
// The window slides on the emulator clock (Now): in real time, as a benchmark
// runs, and by Advance, as Graph's would once that time has passed, so a
// test can reach the end of a throttle by count. Calls or window of zero or
// less remove the limit. Setting a limit forgets the calls counted so far.
func (s *Server) SetRateLimit(calls int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if calls <= 0 || window <= 0 {
		s.limit = rateLimit{}
		return
	}
	s.limit = rateLimit{calls: calls, window: window, hits: make(map[string][]time.Time)}
}

// admitLocked counts c against its app's rate limit. It returns the percentage
// of the limit used (-1 when c is not counted: no limit is set, or c names no
// known app), the X-Business-Use-Case-Usage header of an admitted call made
// with a user or system user token, and, when c is over the limit, the
// throttling answer.
func (s *Server) admitLocked(c *call) (usage int, header http.Header, throttle *reply) {
	if s.limit.calls == 0 {
		return -1, nil, nil
	}
	app, business, userToken := s.callerAppLocked(c)
	if app == "" {
		return -1, nil, nil
	}
	now := s.nowLocked()
	hits := s.limit.hits[app]
	for len(hits) > 0 && !hits[0].After(now.Add(-s.limit.window)) {
		hits = hits[1:]
	}
	if len(hits) >= s.limit.calls {
		s.limit.hits[app] = hits
		regain := hits[0].Add(s.limit.window).Sub(now)
		minutes := int((regain + time.Minute - 1) / time.Minute)
		if !userToken || business == "" {
			rep := failure(errAppThrottled())
			return 100, nil, &rep
		}
		rep := failure(errBusinessThrottled())
		rep.header = http.Header{"X-Business-Use-Case-Usage": {businessUsage(business, 100, minutes)}}
		return 100, nil, &rep
	}
	hits = append(hits, now)
	s.limit.hits[app] = hits
	usage = min(100, len(hits)*100/s.limit.calls)
	if userToken && business != "" {
		// Meta: "All API responses made by your app that are rate limited
		// using the BUC logic include an X-Business-Use-Case-Usage".
		header = http.Header{"X-Business-Use-Case-Usage": {businessUsage(business, usage, 0)}}
	}
	return usage, header, nil
}

// callerAppLocked returns the app a call counts for, the business of its
// caller, and whether the caller is a user or system user token; appID is ""
// when the call names no known app.
func (s *Server) callerAppLocked(c *call) (appID, businessID string, userToken bool) {
	if id, secret, ok := strings.Cut(c.token, "|"); ok {
		if a := s.apps[id]; a != nil && sameSecret(secret, a.Secret) {
			return a.ID, a.BusinessID, false
		}
	} else if t := s.tokenByValue[c.token]; t != nil {
		return t.AppID, t.BusinessID, true
	}
	if c.endpoint == EndpointExchange || c.endpoint == EndpointRevoke {
		if a := s.apps[c.form.Get("client_id")]; a != nil {
			return a.ID, a.BusinessID, false
		}
	}
	return "", "", false
}

// appUsage is the X-App-Usage header value. The emulator measures calls only,
// so it reports the same percentage for CPU and time.
func appUsage(percent int) string {
	return fmt.Sprintf(`{"call_count":%d,"total_cputime":%d,"total_time":%d}`, percent, percent, percent)
}

// businessUsage is the X-Business-Use-Case-Usage header value of a call, at
// percent of the limit, regaining access in regainMinutes when throttled.
func businessUsage(businessID string, percent, regainMinutes int) string {
	type useCase struct {
		Type          string `json:"type"`
		CallCount     int    `json:"call_count"`
		TotalCPUTime  int    `json:"total_cputime"`
		TotalTime     int    `json:"total_time"`
		RegainMinutes int    `json:"estimated_time_to_regain_access"`
	}
	b, _ := json.Marshal(map[string][]useCase{businessID: {{
		Type:          "ads_management",
		CallCount:     percent,
		TotalCPUTime:  percent,
		TotalTime:     percent,
		RegainMinutes: regainMinutes,
	}}})
	return string(b)
}
