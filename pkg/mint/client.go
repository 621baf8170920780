package mint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/metamint/metamint/internal/baseurl"
	"github.com/metamint/metamint/internal/clock"
)

const (
	// DefaultBaseURL is the Graph API host.
	DefaultBaseURL = "https://graph.facebook.com"
	// DefaultVersion is the Graph API version every request names unless
	// WithVersion says otherwise. Released 2026-11-04.
	DefaultVersion = "v27.0"
	// DefaultTimeout bounds each HTTP exchange of the default HTTP client.
	DefaultTimeout = 30 * time.Second

	// maxBodySize caps every response body read from Graph.
	maxBodySize = 1 << 20
)

// Client calls the Graph API endpoints that mint and manage system user
// access tokens. Create one with NewClient; the zero value is not usable.
// A Client is safe for concurrent use by multiple goroutines, holds no
// secrets, and neither logs nor caches anything.
type Client struct {
	hc         *http.Client
	baseURL    string // scheme://host[/prefix], no trailing slash
	version    string
	retry      RetryPolicy
	now        func() time.Time
	sleep      func(context.Context, time.Duration) error
	timedProof bool
	userAgent  string
	pacer      *pacer // nil unless WithPacing
}

// Option configures a Client. Options validate their argument and make
// NewClient fail on a bad one.
type Option func(*Client) error

// NewClient returns a Client for DefaultBaseURL and DefaultVersion, with no
// retries and an HTTP client of its own: net/http's default transport
// (HTTPS_PROXY and NO_PROXY honoured) keeping up to 64 idle connections to
// Graph, and a DefaultTimeout per exchange. Nil options are skipped.
func NewClient(opts ...Option) (*Client, error) {
	c := &Client{
		hc:        &http.Client{Timeout: DefaultTimeout, Transport: defaultTransport()},
		baseURL:   DefaultBaseURL,
		version:   DefaultVersion,
		now:       time.Now,
		sleep:     clock.Sleep,
		userAgent: "metamint",
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	// Graph answers API calls directly. Following a redirect could carry a
	// request, and its secrets, somewhere else: report it instead.
	c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c, nil
}

// maxIdleConnsPerHost lets many goroutines sharing a Client (a Lambda
// rotating a fleet, say) reuse their connections to Graph instead of opening,
// and TLS-handshaking, a new one for most calls: net/http keeps only 2 idle
// connections per host by default.
const maxIdleConnsPerHost = 64

// defaultTransport is net/http's default transport, proxy settings from the
// environment included, with more idle connections kept per host.
func defaultTransport() http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t = t.Clone()
	t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	return t
}

// WithHTTPClient makes the Client send requests through a copy of hc, so
// later changes to hc do not affect it. Use it for proxies, custom transports
// and minttest's Server.Client.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return invalidf("WithHTTPClient: nil *http.Client")
		}
		cp := *hc
		c.hc = &cp
		return nil
	}
}

// WithBaseURL sets the Graph host, for example a minttest Server's URL or a
// proxy. It must be https, or http on a loopback host; a path prefix is
// kept, a trailing slash dropped.
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

// CheckBaseURL validates a Graph base URL as WithBaseURL does and returns it
// without its trailing slash.
func CheckBaseURL(raw string) (string, error) {
	clean, shown, problem := baseurl.Check(raw)
	if problem != "" {
		return "", invalidf("graph API URL %s %s", QuoteInput(shown), problem)
	}
	return clean, nil
}

// CheckVersion validates a Graph API version as WithVersion does: the form
// vMAJOR.MINOR, such as v27.0.
func CheckVersion(v string) error {
	// A hand-written check: a package-level regexp would cost every program
	// that imports mint its compilation at start-up, which a Lambda cold
	// start feels.
	major, minor, ok := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	if !strings.HasPrefix(v, "v") || !ok || major == "" || major[0] == '0' || !isDigits(major) ||
		minor == "" || !isDigits(minor) {
		return invalidf("graph API version %s is not of the form v27.0", QuoteInput(v))
	}
	return nil
}

// WithVersion sets the Graph API version, such as "v27.0", that every
// request path names.
func WithVersion(v string) Option {
	return func(c *Client) error {
		if err := CheckVersion(v); err != nil {
			return err
		}
		c.version = v
		return nil
	}
}

// WithRetry turns on retries under p. See RetryPolicy for what is retried.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) error {
		if err := p.validate(); err != nil {
			return err
		}
		c.retry = p
		return nil
	}
}

// WithClock sets the clock used for time-stamped proofs and for turning
// expires_in into a time. Tests use it; the default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		if now == nil {
			return invalidf("WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithSleep replaces how the Client waits, between a call's attempts
// (RetryPolicy) and for pacing (WithPacing): sleep must wait d, or return
// ctx's error when ctx ends first. A program uses it to say that it waits
// (Meta may ask for minutes), a test to wait by an injected clock, such as
// a minttest Server's, instead of the machine's. The Client still starts
// no wait that would pass ctx's deadline, judged by the machine's clock.
// The default is a timer.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) error {
		if sleep == nil {
			return invalidf("WithSleep: nil sleep")
		}
		c.sleep = sleep
		return nil
	}
}

// WithTimedProof makes the Client send time-stamped proofs (appsecret_proof
// over "token|time" plus appsecret_time), which Graph accepts for 5 minutes,
// instead of the classic proof over the token alone.
func WithTimedProof() Option {
	return func(c *Client) error {
		c.timedProof = true
		return nil
	}
}

// BaseURL returns the Graph host the Client calls.
func (c *Client) BaseURL() string { return c.baseURL }

// Version returns the Graph API version the Client names in every path.
func (c *Client) Version() string { return c.version }

// call describes one Graph request.
type call struct {
	method string
	path   string     // after the version, starting with "/"
	query  url.Values // sent in the URL
	form   url.Values // sent as the POST body
	token  string     // sent as "Authorization: Bearer"
	// idempotent calls may be sent again after an ambiguous failure (an
	// error or a non-Graph 5xx once the request was written). Calls that
	// create tokens are not: a lost answer may hide a live token.
	idempotent bool
	// unpaced calls skip Pacing's waits: revocations end a token's life, and
	// waiting out a throttle could leave the token live past the deadline.
	unpaced bool
	secrets []string // values to redact from every error
	// proofSecret keys the appsecret_proof of token ("" for none), which
	// stampProof adds before each attempt.
	proofSecret string
	// proofToken is the calling token the proof is made over when it
	// travels as a parameter rather than in token (a revoke's caller).
	proofToken string
	sentProofs []string // timed proofs of earlier attempts, redacted too
}

func (cl *call) name() string { return cl.method + " " + cl.path }

// redactor removes cl's secrets, and every proof, from a text. A proof is
// derived from secrets; Graph may echo it, so it is one too: the one sent
// (timed or not), and the classic proof of each of the call's tokens keyed
// with each of its secrets (mint cannot tell a token from an app secret
// here, so it takes every pair), whether or not the call sent it. A refresh
// or a revoke sends none, yet the proof of its calling token is a
// credential.
func (cl *call) redactor() *redactor {
	values := append([]string{cl.token}, cl.secrets...)
	secrets := append([]string{cl.form.Get("appsecret_proof"), cl.query.Get("appsecret_proof")}, values...)
	secrets = append(secrets, cl.sentProofs...)
	for _, key := range values {
		for _, token := range values {
			if key != "" && token != "" && key != token {
				secrets = append(secrets, AppSecretProof(key, token))
			}
		}
	}
	return newRedactor(secrets...)
}

// do sends cl under the retry policy and returns the response body of the
// first success.
func (c *Client) do(ctx context.Context, cl *call) ([]byte, error) {
	for attempt := 1; ; attempt++ {
		if c.pacer != nil && !cl.unpaced {
			if err := c.pacer.wait(ctx); err != nil {
				return nil, fmt.Errorf("mint: %s: %w", cl.name(), err)
			}
		}
		c.stampProof(cl)
		body, err := c.once(ctx, cl, cl.redactor())
		if err == nil {
			return body, nil
		}
		wait, retry := c.retry.decide(attempt, err, cl.idempotent)
		if !retry {
			return nil, err
		}
		if !c.wait(ctx, wait) {
			return nil, err
		}
	}
}

// stampProof puts the appsecret_proof of cl's token under cl.proofSecret
// in cl's form, or in its query when it sends no form, just before an
// attempt. A time-stamped proof (WithTimedProof, with appsecret_time) is
// made anew each time: Meta's Login Security page says one is "considered
// expired after 5 minutes", and a retry or a pacing wait may take longer
// than that. Without proofSecret it adds nothing: the proof is then
// optional.
func (c *Client) stampProof(cl *call) {
	if cl.proofSecret == "" {
		return
	}
	over := cl.token
	if over == "" {
		over = cl.proofToken
	}
	v := cl.form
	if v == nil {
		if cl.query == nil {
			cl.query = url.Values{}
		}
		v = cl.query
	}
	if !c.timedProof {
		if !v.Has("appsecret_proof") {
			v.Set("appsecret_proof", AppSecretProof(cl.proofSecret, over))
		}
		return
	}
	if sent := v.Get("appsecret_proof"); sent != "" {
		cl.sentProofs = append(cl.sentProofs, sent)
	}
	proof, t := TimedAppSecretProof(cl.proofSecret, over, c.now())
	v.Set("appsecret_proof", proof)
	v.Set("appsecret_time", t)
}

// once makes one HTTP exchange.
func (c *Client) once(ctx context.Context, cl *call, red *redactor) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mint: %s: %w", cl.name(), err)
	}
	u := c.baseURL + "/" + c.version + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var body io.Reader
	if cl.form != nil {
		body = strings.NewReader(cl.form.Encode())
	}
	// net/http calls WroteRequest on its own write goroutine.
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), cl.method, u, body)
	if err != nil {
		return nil, red.wrap(fmt.Errorf("mint: %s: %w", cl.name(), err))
	}
	if cl.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cl.token != "" {
		req.Header.Set("Authorization", "Bearer "+cl.token)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)

	resp, err := c.hc.Do(req)
	if err != nil {
		// Prefer the context's own error: it says why far better.
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("mint: %s: %w", cl.name(), cerr)
		}
		return nil, &transportError{err: red.wrap(fmt.Errorf("mint: %s: %w", cl.name(), err)), sent: wrote.Load()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize+1))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("mint: %s: %w", cl.name(), cerr)
		}
		return nil, &transportError{err: red.wrap(fmt.Errorf("mint: %s: reading response: %w", cl.name(), err)), sent: true}
	}
	if len(data) > maxBodySize {
		return nil, fmt.Errorf("mint: %s: response body exceeds %d bytes", cl.name(), maxBodySize)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		gerr := decodeGraphError(resp.StatusCode, resp.Header, data)
		gerr.redact(red)
		if c.pacer != nil {
			c.pacer.observe(gerr.Usage, gerr.Throttled())
		}
		return nil, gerr
	}
	if c.pacer != nil {
		c.pacer.observe(ParseUsage(resp.Header), false)
	}
	return data, nil
}

// transportError is a failure without an HTTP response. sent tells whether
// the request had been written when it happened.
type transportError struct {
	err  error
	sent bool
}

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// redactor removes known secret values, and the values of sensitive query
// parameters, from error texts.
type redactor struct{ secrets []string }

const redacted = "[REDACTED]"

// sensitiveParams are the Graph parameters whose values are secrets.
var sensitiveParams = []string{
	"access_token", "input_token", "appsecret_proof", "client_secret",
	"fb_exchange_token", "revoke_token",
}

func newRedactor(secrets ...string) *redactor {
	r := &redactor{}
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, s, url.QueryEscape(s))
		}
	}
	return r
}

func (r *redactor) replace(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return s
}

// wrap returns err with every secret removed from its text. A *url.Error in
// the chain gets a sanitized URL, so errors.As callers see no secret either.
func (r *redactor) wrap(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		uerr.URL = sanitizeURL(uerr.URL)
	}
	msg := r.replace(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// sanitizeURL replaces the values of sensitive query parameters in raw.
func sanitizeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return redacted
	}
	q := u.Query()
	changed := false
	for _, p := range sensitiveParams {
		if q.Has(p) {
			q.Set(p, redacted)
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}
