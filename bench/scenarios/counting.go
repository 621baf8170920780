package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/metamint/metamint/pkg/mint/minttest"
)

// counts is what a counting server saw during one measured run.
type counts struct {
	Requests    int
	ByKind      map[string]int // Graph: debug_token, refresh, mint, ...; Secrets Manager: the operation
	Errors      map[string]int // answers with status >= 400, by kind
	Throttled   int            // Graph code 4 answers (the emulator's rate limit)
	Conns       int            // TCP connections the clients opened
	MaxInflight int
	Busy        time.Duration          // the sum of the requests' durations
	Arrivals    map[string][]time.Time // by kind
}

// all is every arrival, of the given kinds or of all kinds when none is given.
func (c counts) all(kinds ...string) []time.Time {
	var t []time.Time
	for k, a := range c.Arrivals {
		if len(kinds) == 0 || slices.Contains(kinds, k) {
			t = append(t, a...)
		}
	}
	return t
}

// peakIn is the most requests of the given kinds (all when none) that
// arrived within any window of length w.
func (c counts) peakIn(w time.Duration, kinds ...string) int {
	return peakIn(c.all(kinds...), w)
}

// peakIn is the most of times that fall within any window of length w.
func peakIn(times []time.Time, w time.Duration) int {
	t := slices.Clone(times)
	slices.SortFunc(t, func(a, b time.Time) int { return a.Compare(b) })
	best, lo := 0, 0
	for hi := range t {
		for t[hi].Sub(t[lo]) >= w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// counter counts the requests of one HTTP server. Every method is safe for
// concurrent use.
type counter struct {
	kind func(*http.Request) string

	mu       sync.Mutex
	c        counts
	inflight int
}

func newCounter(kind func(*http.Request) string) *counter {
	k := &counter{kind: kind}
	k.take()
	return k
}

// take returns the counts so far and starts again from zero.
func (k *counter) take() counts {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.c
	k.c = counts{ByKind: map[string]int{}, Errors: map[string]int{}, Arrivals: map[string][]time.Time{}}
	return c
}

func (k *counter) connState(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		k.mu.Lock()
		k.c.Conns++
		k.mu.Unlock()
	}
}

// wrap counts every request next serves; graph marks a Graph server,
// whose code 4 answers count as throttled.
func (k *counter) wrap(next http.Handler, graph bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := k.kind(r)
		start := time.Now()
		k.mu.Lock()
		k.c.Requests++
		k.c.ByKind[kind]++
		k.c.Arrivals[kind] = append(k.c.Arrivals[kind], start)
		k.inflight++
		k.c.MaxInflight = max(k.c.MaxInflight, k.inflight)
		k.mu.Unlock()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK, keep: graph}
		defer func() {
			k.mu.Lock()
			defer k.mu.Unlock()
			k.inflight--
			k.c.Busy += time.Since(start)
			if rec.status >= 400 {
				k.c.Errors[kind]++
			}
			if graph && isThrottled(rec.status, rec.body.Bytes()) {
				k.c.Throttled++
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// recorder keeps the status and, for Graph, the start of the body.
type recorder struct {
	http.ResponseWriter
	status int
	keep   bool
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.keep && r.body.Len() < 4096 {
		r.body.Write(p[:min(len(p), 4096-r.body.Len())])
	}
	return r.ResponseWriter.Write(p)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// isThrottled reports whether a Graph answer is a rate-limit refusal:
// an error object with code 4, 17, 32, 341, 613 or 80000-80014 (the emulator
// sends 4 for app token calls and 80004 for system user token calls).
func isThrottled(status int, body []byte) bool {
	if status < 400 {
		return false
	}
	var e struct {
		Error struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	switch c := e.Error.Code; {
	case c == 4, c == 17, c == 32, c == 341, c == 613, c >= 80000 && c <= 80014:
		return true
	}
	return false
}

// graphKind names the Graph call a request makes.
func graphKind(r *http.Request) string {
	p := strings.Trim(r.URL.Path, "/")
	switch {
	case strings.HasSuffix(p, "/debug_token"):
		return "debug_token"
	case strings.HasSuffix(p, "/oauth/access_token"):
		return "refresh"
	case strings.HasSuffix(p, "/oauth/revoke"):
		return "revoke"
	case strings.HasSuffix(p, "/access_tokens") && r.Method == http.MethodPost:
		return "mint"
	case strings.HasSuffix(p, "/access_tokens") && r.Method == http.MethodDelete:
		return "revoke_all"
	case strings.HasSuffix(p, "/applications"):
		return "install"
	case strings.HasSuffix(p, "/system_users"):
		return "system_users"
	}
	return "other"
}

// smKind names the Secrets Manager operation of a request
// (X-Amz-Target: secretsmanager.GetSecretValue).
func smKind(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		_, op, _ := strings.Cut(t, ".")
		return op
	}
	return "other"
}

// httpServer serves h on a free loopback port until stopped.
type httpServer struct {
	URL string
	srv *http.Server
}

func serveLoopback(cl *cleanups, h http.Handler, k *counter) (*httpServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &httpServer{URL: "http://" + l.Addr().String(), srv: &http.Server{Handler: h, ConnState: k.connState, ReadHeaderTimeout: time.Minute}}
	go func() { _ = s.srv.Serve(l) }()
	cl.add(s.close)
	return s, nil
}

func (s *httpServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
}

// graph is the in-process Graph emulator behind a counting handler, on a
// loopback listener the bootstrap (a child process) reaches.
type graph struct {
	srv *minttest.Server
	fx  minttest.Fixture
	k   *counter
	URL string
}

func startGraph(cl *cleanups) (*graph, error) {
	srv := minttest.NewServer()
	cl.add(srv.Close)
	fx := srv.Seed()
	k := newCounter(graphKind)
	hs, err := serveLoopback(cl, k.wrap(srv, true), k)
	if err != nil {
		return nil, err
	}
	return &graph{srv: srv, fx: fx, k: k, URL: hs.URL}, nil
}

// smProxy is a reverse proxy in front of moto that counts Secrets Manager
// calls and the time moto takes to answer them.
type smProxy struct {
	k   *counter
	URL string
}

func startSMProxy(cl *cleanups, motoURL string) (*smProxy, error) {
	u, err := url.Parse(motoURL)
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, context.Canceled) {
			return
		}
		w.WriteHeader(http.StatusBadGateway)
	}
	k := newCounter(smKind)
	hs, err := serveLoopback(cl, k.wrap(rp, false), k)
	if err != nil {
		return nil, err
	}
	return &smProxy{k: k, URL: hs.URL}, nil
}
