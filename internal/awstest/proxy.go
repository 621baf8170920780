package awstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Stage is where in a request's life a Fault strikes.
type Stage int

const (
	// BeforeCommit answers with an error without forwarding: moto is
	// untouched.
	BeforeCommit Stage = iota
	// AfterCommit forwards the request, lets moto commit it, then answers
	// with an error (or drops the connection) instead of moto's answer: the
	// write happened but the caller cannot know.
	AfterCommit
	// Hold forwards the request, lets moto commit it, then withholds the
	// answer until the client gives up (its context is cancelled and the
	// connection closed) or the Proxy closes: the answer never arrives.
	Hold
)

func (s Stage) String() string {
	switch s {
	case BeforeCommit:
		return "BeforeCommit"
	case AfterCommit:
		return "AfterCommit"
	case Hold:
		return "Hold"
	}
	return fmt.Sprintf("Stage(%d)", int(s))
}

// Forever is the Fault.Times that strikes every matching attempt until the
// Rule is removed.
const Forever = -1

// MaxSecretSize is Secrets Manager's limit on SecretString and on the decoded
// SecretBinary: 65,536 bytes.
const MaxSecretSize = 65536

// Fault is one injected failure of a Secrets Manager operation.
type Fault struct {
	// Op is the operation, as in X-Amz-Target "secretsmanager.<Op>", for
	// example "PutSecretValue". Required.
	Op string
	// Stage is where the fault strikes (zero: BeforeCommit).
	Stage Stage
	// Times is how many matching attempts fail; every SDK attempt counts
	// (the SDK's default retryer makes up to 3 per call). Forever for all.
	// Required: 0 panics.
	Times int
	// SecretID, when set, limits the fault to requests whose SecretId is
	// exactly this (a name or an ARN, as the client sends it).
	SecretID string
	// Match, when set, limits the fault to requests for which it returns
	// true. It gets the decoded JSON body (nil if it is not a JSON object);
	// it must not keep or print it: it holds secret values. It is called
	// under the Proxy's lock and must not call the Proxy.
	Match func(body map[string]any) bool
	// Status is the HTTP status answered (zero: 500).
	Status int
	// ErrorType is the error's __type and x-amzn-ErrorType (zero:
	// "InternalServiceError"), for example "ServiceUnavailable" or
	// "ThrottlingException" with Status 400.
	ErrorType string
	// Message is the error's message (zero: one naming the fault).
	Message string
	// Drop closes the connection instead of answering (BeforeCommit and
	// AfterCommit; Hold never answers anyway).
	Drop bool
	// Do, when set on a BeforeCommit fault, is run (outside the Proxy's
	// lock, so it may call moto through the Proxy itself) before the
	// matching attempt, which then goes on to moto as usual instead of
	// failing: the way to make another writer act at an exact point, such
	// as a rotation event storing its version between a run's read and its
	// write.
	Do func()
}

// Rule is an injected Fault. Its methods are safe for concurrent use.
type Rule struct {
	p      *Proxy
	f      Fault
	left   int // attempts left; Forever for unlimited
	hits   int // attempts the fault struck
	done   int // of those, the ones whose handling has finished
	active bool
}

// Proxy is an HTTP proxy in front of moto's Secrets Manager (AWS JSON 1.1
// protocol) that injects Faults, counts calls per operation, and adds
// Secrets Manager behaviours moto lacks (see the package doc). Its methods
// are safe for concurrent use; one Proxy can serve parallel tests.
type Proxy struct {
	// URL is the proxy's endpoint, http://127.0.0.1:PORT.
	URL string

	target  string
	client  *http.Client
	srv     *http.Server
	closing chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex
	rules   []*Rule
	calls   map[string]int
	changed chan struct{} // closed and replaced on every change of a Rule's counts

	puts keyedMutex // serialises PutSecretValue per SecretId for the ResourceExists check
}

// StartProxy starts a Proxy in front of target (a Moto's URL) on a free
// loopback port. The caller must call Close.
func StartProxy(target string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("awstest: proxy listener: %w", err)
	}
	p := &Proxy{
		URL:     "http://" + l.Addr().String(),
		target:  strings.TrimRight(target, "/"),
		client:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}},
		closing: make(chan struct{}),
		calls:   map[string]int{},
		changed: make(chan struct{}),
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: time.Minute, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// NewProxy starts a Proxy in front of target for one test and closes it
// when the test ends.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p, err := StartProxy(target)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return p
}

// Close releases every held answer, closes the listener and connections,
// and waits for the requests in flight.
func (p *Proxy) Close() {
	p.mu.Lock()
	select {
	case <-p.closing:
	default:
		close(p.closing)
	}
	p.mu.Unlock()
	_ = p.srv.Close()
	p.wg.Wait()
	p.client.CloseIdleConnections()
}

// Inject adds f and returns its Rule. Rules are tried in the order they were
// injected; the first that matches an attempt strikes. It panics on a Fault
// without Op or Times, as a misuse.
func (p *Proxy) Inject(f Fault) *Rule {
	if f.Op == "" || f.Times == 0 || f.Times < Forever {
		panic(fmt.Sprintf("awstest: Inject(Fault{Op: %q, Times: %d}): Op and Times (>0 or Forever) are required", f.Op, f.Times))
	}
	if f.Status == 0 {
		f.Status = http.StatusInternalServerError
	}
	if f.ErrorType == "" {
		f.ErrorType = "InternalServiceError"
	}
	if f.Message == "" {
		f.Message = fmt.Sprintf("injected by awstest: %s %s", f.Op, f.Stage)
	}
	r := &Rule{p: p, f: f, left: f.Times, active: true}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, r)
	return r
}

// Calls returns how many requests (SDK attempts) for op reached the proxy,
// whatever their fate.
func (p *Proxy) Calls(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[op]
}

// CallCounts returns the number of requests per operation so far.
func (p *Proxy) CallCounts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := make(map[string]int, len(p.calls))
	for k, v := range p.calls {
		m[k] = v
	}
	return m
}

// ResetCalls sets every operation's count back to zero, between the phases
// of a test or a measurement. Rules keep their counts.
func (p *Proxy) ResetCalls() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = map[string]int{}
}

// Hits returns how many attempts the rule struck so far.
func (r *Rule) Hits() int {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	return r.hits
}

// Remove stops the rule from striking again; attempts it holds stay held
// until their clients give up.
func (r *Rule) Remove() {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	r.active = false
}

// WaitHits waits until the rule has struck n attempts: for Hold and
// AfterCommit that means moto has committed them. It returns ctx's error if
// ctx ends first.
func (r *Rule) WaitHits(ctx context.Context, n int) error {
	return r.wait(ctx, func() bool { return r.hits >= n })
}

// WaitDone waits until the handling of n struck attempts has finished: the
// error was answered, the connection dropped, or (Hold) the client gave up.
func (r *Rule) WaitDone(ctx context.Context, n int) error {
	return r.wait(ctx, func() bool { return r.done >= n })
}

func (r *Rule) wait(ctx context.Context, cond func() bool) error {
	for {
		r.p.mu.Lock()
		ok, ch := cond(), r.p.changed
		r.p.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("awstest: waiting for %s %s fault: %w", r.f.Op, r.f.Stage, ctx.Err())
		}
	}
}

// notifyLocked wakes the waiters; p.mu is held.
func (p *Proxy) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// strike finds the first active rule for stage that matches, and counts the
// attempt against it.
func (p *Proxy) strike(stage Stage, op string, body map[string]any) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.rules {
		if !r.active || r.f.Stage != stage || r.f.Op != op || r.left == 0 {
			continue
		}
		if r.f.SecretID != "" {
			if id, _ := body["SecretId"].(string); id != r.f.SecretID {
				continue
			}
		}
		if r.f.Match != nil && !r.f.Match(body) {
			continue
		}
		if r.left > 0 {
			r.left--
		}
		r.hits++
		p.notifyLocked()
		return r
	}
	return nil
}

func (r *Rule) finish() {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	r.done++
	r.p.notifyLocked()
}

// maxBody bounds a request body: 64 KiB of secret, base64 and JSON escaping.
const maxBody = 1 << 20

// ServeHTTP handles one Secrets Manager request: counts it, applies the
// faults and the emulated checks, and forwards it to moto. StartProxy
// serves it on Proxy.URL.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	p.wg.Add(1)
	defer p.wg.Done()
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "secretsmanager.")
	raw, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	if err != nil || len(raw) > maxBody {
		writeAWSError(w, http.StatusBadRequest, "ValidationException", "awstest: request body unreadable or over 1 MiB")
		return
	}
	var body map[string]any
	_ = json.Unmarshal(raw, &body)

	p.mu.Lock()
	p.calls[op]++
	p.mu.Unlock()

	if r := p.strike(BeforeCommit, op, body); r != nil {
		if r.f.Do == nil {
			defer r.finish()
			r.fail(w)
			return
		}
		r.f.Do()
		r.finish()
	}
	switch op {
	case "CreateSecret", "PutSecretValue", "UpdateSecret":
		if field, n := oversized(body); n > MaxSecretSize {
			writeAWSError(w, http.StatusBadRequest, "ValidationException",
				fmt.Sprintf("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", field, MaxSecretSize))
			return
		}
	}
	unlock := func() {}
	if op == "PutSecretValue" {
		id, _ := body["SecretId"].(string)
		token, _ := body["ClientRequestToken"].(string)
		if id != "" && token != "" {
			// The check and the write are one step for a given secret.
			unlock = p.puts.lock(id)
			differs, checkErr := p.versionDiffers(req, id, token, body)
			if checkErr != nil {
				unlock()
				writeAWSError(w, http.StatusBadGateway, "InternalServiceError", "awstest: checking the version in moto: "+checkErr.Error())
				return
			}
			if differs {
				unlock()
				writeAWSError(w, http.StatusBadRequest, "ResourceExistsException",
					"You can't modify an existing version, you can only create new versions.")
				return
			}
		}
	}

	resp, err := p.forward(req, raw)
	unlock()
	if err != nil {
		writeAWSError(w, http.StatusBadGateway, "InternalServiceError", "awstest: forwarding to moto: "+err.Error())
		return
	}
	if resp.status < 300 {
		for _, stage := range []Stage{AfterCommit, Hold} {
			r := p.strike(stage, op, body)
			if r == nil {
				continue
			}
			defer r.finish()
			if stage == Hold {
				select {
				case <-req.Context().Done():
				case <-p.closing:
				}
				hijackClose(w)
				return
			}
			r.fail(w)
			return
		}
	}
	if op == "DescribeSecret" && resp.status < 300 {
		resp.body = omitUnlabelled(resp.body)
	}
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// omitUnlabelled drops, from a DescribeSecret answer, the versions without
// staging labels, as Secrets Manager does (VersionIdsToStages lists "the
// versions of the secret that have staging labels attached"); moto lists
// them with an empty list. An answer it cannot decode passes unchanged.
func omitUnlabelled(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return body
	}
	stages, ok := m["VersionIdsToStages"].(map[string]any)
	if !ok {
		return body
	}
	changed := false
	for v, labels := range stages {
		if l, ok := labels.([]any); ok && len(l) == 0 {
			delete(stages, v)
			changed = true
		}
	}
	if !changed {
		return body
	}
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// fail answers the rule's error, or drops the connection.
func (r *Rule) fail(w http.ResponseWriter) {
	if r.f.Drop {
		hijackClose(w)
		return
	}
	writeAWSError(w, r.f.Status, r.f.ErrorType, r.f.Message)
}

// hijackClose closes the client's connection without an answer.
func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			_ = c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// forward sends the request to moto. moto finishes it even when the client
// gives up meanwhile, as Secrets Manager would.
func (p *Proxy) forward(req *http.Request, raw []byte) (answer, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), 2*time.Minute)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, req.Method, p.target+req.URL.RequestURI(), bytes.NewReader(raw))
	if err != nil {
		return answer{}, err
	}
	for k, v := range req.Header {
		out.Header[k] = v
	}
	out.Header.Del("Content-Length")
	out.ContentLength = int64(len(raw))
	resp, err := p.client.Do(out)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return answer{}, err
	}
	h := resp.Header.Clone()
	h.Del("Content-Length")
	return answer{status: resp.StatusCode, header: h, body: b}, nil
}

// versionDiffers reports whether secret id already has a version token whose
// value differs from the request's: Secrets Manager then refuses with
// ResourceExistsException, where moto overwrites. It asks moto directly.
func (p *Proxy) versionDiffers(req *http.Request, id, token string, body map[string]any) (bool, error) {
	q, _ := json.Marshal(map[string]string{"SecretId": id, "VersionId": token})
	get, err := http.NewRequestWithContext(context.WithoutCancel(req.Context()), http.MethodPost, p.target+"/", bytes.NewReader(q))
	if err != nil {
		return false, err
	}
	get.Header.Set("Content-Type", "application/x-amz-json-1.1")
	get.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	get.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00")
	resp, err := p.client.Do(get)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return false, err
	}
	if resp.StatusCode >= 300 {
		// No such version (or no value on it yet: the empty AWSPENDING
		// placeholder that RotateSecret makes): moto's answer stands.
		return false, nil
	}
	var have struct {
		SecretString *string
		SecretBinary *string
	}
	if err := json.Unmarshal(b, &have); err != nil {
		return false, errors.New("GetSecretValue answer is not JSON")
	}
	wantString, hasString := body["SecretString"].(string)
	wantBinary, hasBinary := body["SecretBinary"].(string)
	same := hasString == (have.SecretString != nil) && hasBinary == (have.SecretBinary != nil) &&
		(!hasString || wantString == *have.SecretString) &&
		(!hasBinary || sameBinary(wantBinary, *have.SecretBinary))
	return !same, nil
}

func sameBinary(a, b string) bool {
	x, err1 := base64.StdEncoding.DecodeString(a)
	y, err2 := base64.StdEncoding.DecodeString(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return bytes.Equal(x, y)
}

// oversized returns the secret field of body and its size in bytes
// (SecretBinary decoded), the larger of the two.
func oversized(body map[string]any) (string, int) {
	field, n := "", 0
	if s, ok := body["SecretString"].(string); ok && len(s) > n {
		field, n = "secretString", len(s)
	}
	if s, ok := body["SecretBinary"].(string); ok {
		size := base64.StdEncoding.DecodedLen(len(s))
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			size = len(b)
		}
		if size > n {
			field, n = "secretBinary", size
		}
	}
	return field, n
}

// writeAWSError answers an AWS JSON 1.1 error, as Secrets Manager does.
func writeAWSError(w http.ResponseWriter, status int, errType, message string) {
	b, _ := json.Marshal(map[string]string{"__type": errType, "message": message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", errType)
	w.Header().Set("X-Amzn-Requestid", requestID())
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// keyedMutex is a mutex per key.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
