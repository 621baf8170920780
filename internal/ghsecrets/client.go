package ghsecrets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/metamint/metamint/internal/baseurl"
	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/pkg/mint"
)

// DefaultBaseURL is GitHub.com's REST API.
const DefaultBaseURL = "https://api.github.com"

// apiVersion is the REST API version every request names.
const apiVersion = "2022-11-28"

// maxBody bounds every response body read.
const maxBody = 1 << 20

// defaultTimeout bounds one exchange with the default HTTP client.
const defaultTimeout = 30 * time.Second

// Client calls GitHub's REST API for Actions secrets with one token. It is
// safe for concurrent use. The zero value is not usable: call NewClient.
type Client struct {
	hc      *http.Client
	baseURL string
	token   string
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	waiting func(call string, wait time.Duration)
}

// Option configures a Client.
type Option func(*Client) error

// WithHTTPClient sends requests through a copy of hc (tests pass the
// stand-in's client).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("ghsecrets: nil HTTP client")
		}
		cp := *hc
		c.hc = &cp
		return nil
	}
}

// WithClock sets the clock the client reads a rate limit's reset time
// against, and the function it waits with (tests pass fakes that return at
// once). sleep returns the context's error when it ends first.
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(c *Client) error {
		if now == nil || sleep == nil {
			return errors.New("ghsecrets: nil clock")
		}
		c.now, c.sleep = now, sleep
		return nil
	}
}

// WithWaitNotice calls notice before each wait for a rate limit, with the
// call that was limited ("PUT /repos/{owner}/{repo}/actions/secrets/{secret_name}")
// and how long the client waits: a front end says so, so that a wait of a
// minute or more does not look like a hang.
func WithWaitNotice(notice func(call string, wait time.Duration)) Option {
	return func(c *Client) error {
		c.waiting = notice
		return nil
	}
}

// WithBaseURL sets the REST API base URL, such as a GitHub Enterprise
// Server's "https://HOST/api/v3"; see CheckBaseURL.
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := CheckBaseURL(raw)
		if err != nil {
			return err
		}
		c.baseURL = u
		return nil
	}
}

// CheckBaseURL validates a REST API base URL: https, or http for a
// loopback host only (the token must not cross a network in the clear), no
// query, no user info. It returns the URL without a trailing slash.
func CheckBaseURL(raw string) (string, error) {
	clean, shown, problem := baseurl.Check(raw)
	if problem != "" {
		return "", fmt.Errorf("ghsecrets: the GitHub API URL %s %s", mint.QuoteInput(shown), problem)
	}
	return clean, nil
}

// NewClient returns a Client that authenticates with token (an installation
// token of a GitHub App or a fine-grained personal access token), calling
// DefaultBaseURL unless an option says otherwise.
func NewClient(token string, opts ...Option) (*Client, error) {
	if token == "" {
		return nil, errors.New("ghsecrets: empty token")
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return nil, errors.New("ghsecrets: the token holds white space, control or non-ASCII characters")
	}
	c := &Client{hc: &http.Client{Timeout: defaultTimeout}, baseURL: DefaultBaseURL, token: token, now: time.Now, sleep: clock.Sleep}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	// Never follow a redirect: it could carry the token to another host.
	c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c, nil
}

// ErrNoAnswer is matched (errors.Is) by the error of a write GitHub may or
// may not have stored: the connection failed after the request was sent,
// no answer came before the deadline, or GitHub answered a server error or
// a redirect (which proves no refusal).
var ErrNoAnswer = errors.New("ghsecrets: no answer from GitHub")

// noAnswerError is a write whose outcome is unknown.
type noAnswerError struct {
	call string
	why  string
	err  error
}

func (e *noAnswerError) Error() string {
	return "ghsecrets: " + e.call + ": no answer from GitHub (" + e.why + ")"
}
func (e *noAnswerError) Unwrap() []error { return []error{ErrNoAnswer, e.err} }

// APIError is an answer of GitHub with a 4xx status: GitHub refused the
// request, and a write it refused stored nothing.
type APIError struct {
	Call       string // such as "GET /repos/{owner}/{repo}/actions/secrets/public-key"
	StatusCode int
	// Message is GitHub's message, quoted with Go escapes and cut short.
	Message string
	// Target is the secret the call was for.
	Target Target
	// RateLimited is true when GitHub answered that the client is over a
	// rate limit (rateLimited): the request was not carried out, and may
	// be sent again after the wait GitHub asks for. The client has already
	// waited and sent it again while that fitted (see Client).
	RateLimited bool
	// RetryAt is when GitHub said to try again (retry-after, or
	// x-ratelimit-reset when no request is left); zero when it did not say.
	RetryAt time.Time
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("ghsecrets: %s: GitHub answered HTTP %d", e.Call, e.StatusCode)
	if e.Message != "" {
		msg += " " + e.Message
	}
	return msg
}

// Advice says what the token or the target lacks, naming the fine-grained
// permission GitHub requires for the target, or when to try again over a
// rate limit; "" for other refusals.
func (e *APIError) Advice() string {
	perm := e.Target.Permission()
	if e.RateLimited {
		when := "in a few minutes"
		if !e.RetryAt.IsZero() {
			when = "after " + e.RetryAt.UTC().Format(time.RFC3339)
		}
		return "GitHub's rate limit for the token was exceeded, for longer than this run could wait; GitHub did not carry out the request: run again " + when
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return "the token is not valid (expired, revoked or mistyped); it needs " + perm
	case http.StatusForbidden:
		return "the token lacks a permission: it needs " + perm
	case http.StatusNotFound:
		return "GitHub found nothing there that the token can see: check the names (the " + e.Target.Where() + ", and for an organization secret the secret itself), and that the token has access with " + perm
	}
	return ""
}

// request is one REST call.
type request struct {
	method string
	route  string // the documented route, for errors
	path   string // escaped
	body   any
	target Target
	write  bool
	again  func(context.Context) error // see do
}

// Rate limits. GitHub answers a client over its primary or a secondary
// rate limit with 403 or 429, and says when to try again: retry-after in
// seconds, or x-ratelimit-remaining 0 and x-ratelimit-reset; otherwise the
// client waits at least a minute, longer at each further limit
// (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api).
// Such a request was not carried out, so sending it again is safe, a write
// too: do waits and sends it again, up to rateLimitTries times, while the
// wait is at most maxRateLimitWait and ends before ctx's deadline.
// Otherwise the *APIError says RateLimited and RetryAt.
const (
	rateLimitTries   = 4
	maxRateLimitWait = 2 * time.Minute
	// secondaryWait is the first wait when GitHub names none.
	secondaryWait = time.Minute
	// maxRetryAfter bounds a retry-after, in seconds.
	maxRetryAfter = 365 * 24 * 60 * 60
)

// do sends r, and again after each rate limit while it may wait (see Rate
// limits), and decodes a 2xx JSON answer into out (nil: none expected).
// r.again, when set, runs after each wait, before the request is sent
// again; its error ends do, the request unsent.
func (c *Client) do(ctx context.Context, r request, out any) error {
	for try := 1; ; try++ {
		err := c.send(ctx, r, out)
		var aerr *APIError
		if !errors.As(err, &aerr) || !aerr.RateLimited || try == rateLimitTries {
			return err
		}
		wait := secondaryWait << (try - 1)
		if !aerr.RetryAt.IsZero() {
			wait = max(aerr.RetryAt.Sub(c.now()), 0)
		}
		if deadline, ok := ctx.Deadline(); wait > maxRateLimitWait || (ok && c.now().Add(wait).After(deadline)) {
			return err
		}
		if c.waiting != nil {
			c.waiting(aerr.Call, wait)
		}
		if c.sleep(ctx, wait) != nil {
			return err
		}
		if r.again != nil {
			if gerr := r.again(ctx); gerr != nil {
				return gerr
			}
		}
	}
}

// rateLimited reports whether a 4xx answer says the client is over a rate
// limit, and when GitHub said to try again (zero when it did not).
func (c *Client) rateLimited(resp *http.Response, message string) (bool, time.Time) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return false, time.Time{}
	}
	h := resp.Header
	var at time.Time
	if s, err := strconv.ParseInt(strings.TrimSpace(h.Get("Retry-After")), 10, 64); err == nil && s >= 0 {
		// Clamped, so that the sum cannot overflow: a year is as good
		// as never for a step.
		at = c.now().Add(time.Duration(min(s, maxRetryAfter)) * time.Second)
	} else if t, err := http.ParseTime(h.Get("Retry-After")); err == nil {
		at = t
	}
	exhausted := strings.TrimSpace(h.Get("X-Ratelimit-Remaining")) == "0"
	if reset, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-Ratelimit-Reset")), 10, 64); exhausted && at.IsZero() && err == nil {
		at = time.Unix(reset, 0)
	}
	// A time already past (a clock apart from GitHub's, a broken proxy)
	// names no wait: the client waits as if none were named. One beyond a
	// year is a year.
	if now := c.now(); !at.After(now) {
		at = time.Time{}
	} else if limit := now.Add(maxRetryAfter * time.Second); at.After(limit) {
		at = limit
	}
	limited := resp.StatusCode == http.StatusTooManyRequests || exhausted || h.Get("Retry-After") != "" ||
		strings.Contains(strings.ToLower(message), "rate limit")
	if !limited {
		return false, time.Time{}
	}
	return true, at
}

// send sends r once and decodes a 2xx JSON answer into out.
func (c *Client) send(ctx context.Context, r request, out any) error {
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("ghsecrets: encoding %s: %w", r.route, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.baseURL+r.path, body)
	if err != nil {
		return fmt.Errorf("ghsecrets: %s: %w", r.route, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", apiVersion)
	req.Header.Set("User-Agent", "metamint")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	call := r.method + " " + r.route
	resp, err := c.hc.Do(req)
	if err != nil {
		cerr := c.scrubError(cause(ctx, err))
		why := "the connection failed"
		if ctx.Err() != nil {
			why = "the step's deadline passed"
		} else if uerr := (*url.Error)(nil); errors.As(err, &uerr) && uerr.Timeout() {
			why = "no answer within the client's timeout"
		}
		if r.write {
			return &noAnswerError{call: call, why: why, err: cerr}
		}
		return fmt.Errorf("ghsecrets: %s: %s: %w", call, why, cerr)
	}
	defer func() { _ = resp.Body.Close() }()
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	switch {
	case resp.StatusCode >= 500:
		if r.write {
			return &noAnswerError{call: call, why: fmt.Sprintf("HTTP %d", resp.StatusCode), err: errors.New(resp.Status)}
		}
		return fmt.Errorf("ghsecrets: %s: GitHub answered HTTP %d%s", call, resp.StatusCode, c.messageOf(data))
	case resp.StatusCode >= 400:
		aerr := &APIError{Call: call, StatusCode: resp.StatusCode, Message: strings.TrimSpace(c.messageOf(data)), Target: r.target}
		aerr.RateLimited, aerr.RetryAt = c.rateLimited(resp, rawMessage(data))
		return aerr
	case resp.StatusCode >= 300:
		// A redirect, not followed. It proves no refusal: 303 is how a
		// server answers a write it has done.
		if r.write {
			return &noAnswerError{call: call, why: fmt.Sprintf("HTTP %d, a redirect, not followed", resp.StatusCode), err: errors.New(resp.Status)}
		}
		return fmt.Errorf("ghsecrets: %s: GitHub answered HTTP %d, a redirect, not followed: check the GitHub API URL", call, resp.StatusCode)
	}
	if rerr != nil {
		if r.write {
			return &noAnswerError{call: call, why: "the answer was cut off", err: rerr}
		}
		return fmt.Errorf("ghsecrets: %s: reading the answer: %w", call, rerr)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("ghsecrets: %s: the answer is not the JSON GitHub documents", call)
	}
	return nil
}

// cause prefers the context's error, so errors.Is(err,
// context.DeadlineExceeded) holds when the step ran out of time. The URL
// holds no secret, but the transport's error may quote what the server
// answered (a malformed status line): see scrubError.
func cause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// scrubError returns err with the client's token removed from its text
// (scrub), unwrapping to err, as pkg/mint's redacted errors do.
func (c *Client) scrubError(err error) error {
	if msg := c.scrub(err.Error()); msg != err.Error() {
		return &scrubbedError{msg: msg, err: err}
	}
	return err
}

// scrubbedError is an error whose text has the token removed.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// rawMessage returns GitHub's error message from body as it came, for
// matching only: it is never shown.
func rawMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Message
}

// messageOf returns GitHub's error message from body, quoted and cut short,
// with the token removed (scrub); "" when there is none.
func (c *Client) messageOf(body []byte) string {
	msg := rawMessage(body)
	if msg == "" {
		return ""
	}
	return " " + mint.QuoteCut(c.scrub(msg))
}

// scrub removes the client's token from a text GitHub answered, should
// GitHub ever echo it. It runs before any cut: a piece of a token is not
// masked by a CI runner.
func (c *Client) scrub(s string) string { return strings.ReplaceAll(s, c.token, "[token]") }
