package minttest

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

const (
	// latestVersion is the newest Graph API version the emulator knows of; the
	// deprecated-version error tells callers to move to it.
	latestVersion = "v27.0"

	defaultMinVersion = "v21.0"

	// expiringLifetime is how long an expiring system user token lives.
	expiringLifetime = 60 * 24 * time.Hour
)

// Server is a running Graph API emulator. Create it with NewServer and stop it
// with Close. All its methods are safe for concurrent use, including while it
// serves requests.
type Server struct {
	// URL is the base URL of the emulator, of the form http://127.0.0.1:PORT,
	// with no trailing slash. Graph paths go after it: URL + "/v27.0/debug_token".
	URL string

	ts        *httptest.Server
	closing   chan struct{} // closed by Close to release waiting requests
	closeOnce sync.Once

	minVersion version         // read-only after NewServer
	scopes     map[string]bool // read-only after NewServer
	realStart  time.Time       // read-only after NewServer; carries the monotonic clock

	mu sync.Mutex // guards everything below

	clockStart   time.Time
	clockOffset  time.Duration     // the sum of Advance calls
	ids          map[string]string // every seeded object ID to its kind, for duplicate checks
	businesses   map[string]*Business
	apps         map[string]*App
	systemUsers  map[string]*SystemUser
	userOrder    []string            // system user IDs in the order they were added
	installs     map[string][]string // system user ID to installed app IDs, in install order
	tokens       []*TokenState       // in issue order
	tokenByValue map[string]*TokenState
	minted       int
	requests     []Request
	faults       map[Endpoint][]*pendingFault
	latency      time.Duration
	limit        rateLimit
	nextValues   []string                       // values for the next issued tokens (MintNextAs)
	assets       map[string]map[string][]string // system user ID to scope to target IDs
}

// config collects what the options set.
type config struct {
	listener    net.Listener
	minVersion  string
	clock       time.Time
	extraScopes []string
}

// Option configures a Server in NewServer.
type Option func(*config)

// WithListener makes the server serve on l instead of a new listener on
// 127.0.0.1:0. The server takes ownership of l and closes it in Close. The
// command "metamint emulator --addr" uses it.
func WithListener(l net.Listener) Option {
	return func(c *config) { c.listener = l }
}

// WithMinVersion sets the oldest Graph API version the server accepts, such as
// "v21.0" (the default). Calls to an older version answer code 2635.
// NewServer panics when v is not of the form vNN.N.
func WithMinVersion(v string) Option {
	return func(c *config) { c.minVersion = v }
}

// WithClock starts the emulator clock at start instead of the current time.
// The clock then runs at wall-clock speed; Advance moves it forward. A zero
// start means the current time.
func WithClock(start time.Time) Option {
	return func(c *config) { c.clock = start }
}

// WithExtraScopes adds scope names to the list the server accepts when minting,
// to emulate a permission Meta added after this package was written.
func WithExtraScopes(scopes ...string) Option {
	return func(c *config) { c.extraScopes = append(c.extraScopes, scopes...) }
}

// NewServer starts an emulator and returns it. It serves plain HTTP on
// 127.0.0.1 at a free port, or on the listener given with WithListener. The
// server starts empty: seed it with Seed, or with AddBusiness, AddApp,
// AddSystemUser, InstallApp and IssueToken. NewServer panics on an invalid
// option value. The caller must call Close when done.
func NewServer(opts ...Option) *Server {
	cfg := config{minVersion: defaultMinVersion}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	minVersion, ok := parseVersion(cfg.minVersion)
	if !ok {
		panic(fmt.Sprintf("minttest: WithMinVersion(%q): want a version such as v21.0", cfg.minVersion))
	}
	now := time.Now()
	if cfg.clock.IsZero() {
		cfg.clock = now
	}
	s := &Server{
		closing:      make(chan struct{}),
		minVersion:   minVersion,
		scopes:       knownScopeSet(cfg.extraScopes),
		realStart:    now,
		clockStart:   cfg.clock.Round(0),
		ids:          make(map[string]string),
		businesses:   make(map[string]*Business),
		apps:         make(map[string]*App),
		systemUsers:  make(map[string]*SystemUser),
		installs:     make(map[string][]string),
		tokenByValue: make(map[string]*TokenState),
		faults:       make(map[Endpoint][]*pendingFault),
	}
	s.ts = httptest.NewUnstartedServer(s)
	if cfg.listener != nil {
		s.ts.Listener.Close()
		s.ts.Listener = cfg.listener
	}
	s.ts.Start()
	s.URL = s.ts.URL
	return s
}

// Client returns an HTTP client configured for the server. Close closes its
// idle connections.
func (s *Server) Client() *http.Client {
	return s.ts.Client()
}

// Close releases every request held by a Hang fault, a Delay or the latency,
// shuts the server down and waits for its requests to finish. Calling it
// again does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.ts.Close()
	})
}

// Now returns the emulator's current time: the start time (see WithClock)
// plus the wall-clock time elapsed since NewServer plus every Advance.
// Tokens are issued, expire, and timed appsecret_proofs are checked on this
// clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time {
	return s.clockStart.Add(time.Since(s.realStart) + s.clockOffset)
}

// Advance moves the emulator clock forward by d, for example past a token's
// expiry. It panics when d is negative: the clock never goes back.
func (s *Server) Advance(d time.Duration) {
	if d < 0 {
		panic(fmt.Sprintf("minttest: Advance(%v): the clock cannot go back", d))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clockOffset += d
}
