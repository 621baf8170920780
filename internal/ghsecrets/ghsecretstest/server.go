// Package ghsecretstest is a stand-in for GitHub's REST API for Actions
// secrets, built like net/http/httptest: NewServer starts it on a loopback
// port; URL, Client and Close serve the tests.
//
// It hands out a public key for each repository, environment and
// organization it knows, keeps the private key, and opens every value a PUT
// sends with it: a value not sealed to the key it handed out (another key,
// a stale key ID, bytes that are no sealed box) is refused with 422, as
// GitHub does, and nothing is stored. Tokens carry permissions; an unknown
// token gets 401 "Bad credentials", a token without the permission 403
// "Resource not accessible by integration", as GitHub answers. An
// organization secret keeps the visibility and selected repositories each
// write sends. Each secret has a created_at and an updated_at from the
// server's clock (SetClock), which GET .../secrets/{name} answers.
//
// Faults: FailNextWrite answers the next PUT with a status of the test's
// choosing (nothing stored); LoseNextWrites stores the next PUTs and then
// drops the connection without an answer; RateLimitNext answers the next
// requests as GitHub answers a client over a rate limit (nothing done).
//
// It does not emulate pagination limits beyond per_page and page, rate
// limits of its own, ETags, Dependabot or Codespaces secrets, the repository_id
// routes, or listing and deleting secrets. It never imports ghsecrets: it
// opens sealed boxes with x/crypto directly, so a sealing bug in the client
// cannot hide behind the same bug here.
package ghsecretstest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/nacl/box"
)

// Permission is one permission a token holds, named as a GitHub App's.
type Permission string

// Permissions the stand-in checks. Write implies read: reading a public
// key or an organization secret needs read, a PUT needs write, as GitHub's
// REST reference lists them.
const (
	SecretsRead              Permission = "secrets:read"
	SecretsWrite             Permission = "secrets:write"
	EnvironmentsRead         Permission = "environments:read"
	EnvironmentsWrite        Permission = "environments:write"
	OrganizationSecretsRead  Permission = "organization_secrets:read"
	OrganizationSecretsWrite Permission = "organization_secrets:write"
)

// allows reports whether perms hold need, a write permission standing for
// its read.
func allows(perms []Permission, need Permission) bool {
	if slices.Contains(perms, need) {
		return true
	}
	name, level, _ := strings.Cut(string(need), ":")
	return level == "read" && slices.Contains(perms, Permission(name+":write"))
}

// Scope names the home of secrets: RepoScope, EnvScope or OrgScope.
type Scope string

// RepoScope is the scope of repository repo ("owner/name").
func RepoScope(repo string) Scope { return Scope("repo:" + repo) }

// EnvScope is the scope of environment env of repo.
func EnvScope(repo, env string) Scope { return Scope("env:" + repo + ":" + env) }

// OrgScope is the scope of organization org.
func OrgScope(org string) Scope { return Scope("org:" + org) }

// Secret is a stored secret, opened.
type Secret struct {
	Value      string
	KeyID      string
	Visibility string   // organization secrets
	Repos      []string // organization secrets with "selected" visibility: "owner/name"
	Writes     int      // how many writes stored it
	// CreatedAt and UpdatedAt are the server clock's time (SetClock) of
	// the first and the last write, in whole seconds as GitHub answers them.
	CreatedAt, UpdatedAt time.Time
}

// Request is one request the server received.
type Request struct {
	Method, Path string
	Status       int // 0 when the answer was dropped
}

type keyPair struct {
	id          string
	pub, priv   *[32]byte
	secrets     map[string]*Secret
	environment bool
}

// Server is the stand-in. Its methods are safe for concurrent use.
type Server struct {
	URL string
	srv *httptest.Server

	mu       sync.Mutex
	scopes   map[Scope]*keyPair
	repoIDs  map[string]int64
	nextID   int64
	tokens   map[string][]Permission
	failNext []fault
	lose     int
	drop     int
	limited  []RateLimit
	requests []Request
	now      func() time.Time
}

// RateLimit is how GitHub answers a request over a rate limit: 403 or 429,
// a message, and the headers that say when to try again. See
// https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api.
type RateLimit struct {
	Method  string // the method it answers, such as "PUT"; "" for any
	Status  int    // 403 or 429
	Message string // such as "You have exceeded a secondary rate limit..."
	// Header is sent with the answer: retry-after (seconds), and
	// x-ratelimit-remaining "0" with x-ratelimit-reset (UTC epoch seconds)
	// for a primary limit.
	Header http.Header
}

type fault struct {
	status  int
	message string
}

// NewServer starts a stand-in with no repository, organization or token.
func NewServer() *Server {
	s := &Server{scopes: map[Scope]*keyPair{}, repoIDs: map[string]int64{}, nextID: 1000, tokens: map[string][]Permission{}, now: time.Now}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// SetClock sets the clock that dates each write (created_at, updated_at).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// stamp dates a write of sec, keeping the creation time of old.
func (s *Server) stamp(sec, old *Secret) {
	sec.UpdatedAt = s.now().UTC().Truncate(time.Second)
	sec.CreatedAt = sec.UpdatedAt
	if old != nil {
		sec.CreatedAt = old.CreatedAt
	}
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

func newKeyPair(id string) *keyPair {
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		panic("ghsecretstest: " + err.Error())
	}
	return &keyPair{id: id, pub: pub, priv: priv, secrets: map[string]*Secret{}}
}

// AddRepo adds repository repo ("owner/name") with a key of its own.
func (s *Server) AddRepo(repo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !strings.Contains(repo, "/") {
		panic("ghsecretstest: AddRepo: want owner/name, got " + repo)
	}
	if _, ok := s.scopes[RepoScope(repo)]; ok {
		panic("ghsecretstest: AddRepo: " + repo + " exists")
	}
	s.nextID++
	s.repoIDs[repo] = s.nextID
	s.scopes[RepoScope(repo)] = newKeyPair("repo-key-" + strconv.FormatInt(s.nextID, 10))
}

// AddEnvironment adds environment env to repo, which must exist.
func (s *Server) AddEnvironment(repo, env string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.scopes[RepoScope(repo)]; !ok {
		panic("ghsecretstest: AddEnvironment: no repository " + repo)
	}
	s.nextID++
	k := newKeyPair("env-key-" + strconv.FormatInt(s.nextID, 10))
	k.environment = true
	s.scopes[EnvScope(repo, env)] = k
}

// AddOrg adds organization org.
func (s *Server) AddOrg(org string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.scopes[OrgScope(org)] = newKeyPair("org-key-" + strconv.FormatInt(s.nextID, 10))
}

// SetSecret stores a secret directly, as a person did in the settings page.
// For an organization secret, visibility and repos say who may use it;
// repos must exist.
func (s *Server) SetSecret(scope Scope, name, value, visibility string, repos ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.scopes[scope]
	if !ok {
		panic("ghsecretstest: SetSecret: unknown scope " + string(scope))
	}
	for _, r := range repos {
		if _, ok := s.repoIDs[r]; !ok {
			panic("ghsecretstest: SetSecret: no repository " + r)
		}
	}
	sec := &Secret{Value: value, KeyID: k.id, Visibility: visibility, Repos: slices.Clone(repos)}
	s.stamp(sec, k.secrets[name])
	k.secrets[name] = sec
}

// DeleteSecret deletes a secret, as a person may in the settings.
func (s *Server) DeleteSecret(scope Scope, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.scopes[scope]
	if !ok {
		panic("ghsecretstest: DeleteSecret: unknown scope " + string(scope))
	}
	delete(k.secrets, name)
}

// SetRepos sets who may use an organization secret of "selected"
// visibility, as a person does in the settings page or with PUT
// .../secrets/{name}/repositories. It leaves updated_at as it is: GitHub's
// documentation does not say that it changes.
func (s *Server) SetRepos(scope Scope, name string, repos ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.scopes[scope].secrets[name]
	if !ok || sec.Visibility != "selected" {
		panic("ghsecretstest: SetRepos: no secret " + name + " of selected visibility in " + string(scope))
	}
	for _, r := range repos {
		if _, ok := s.repoIDs[r]; !ok {
			panic("ghsecretstest: SetRepos: no repository " + r)
		}
	}
	sec.Repos = slices.Clone(repos)
}

// AddToken makes token valid with perms.
func (s *Server) AddToken(token string, perms ...Permission) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = slices.Clone(perms)
}

// Secret returns the stored secret name of scope, opened.
func (s *Server) Secret(scope Scope, name string) (Secret, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.scopes[scope]
	if !ok {
		panic("ghsecretstest: Secret: unknown scope " + string(scope))
	}
	sec, ok := k.secrets[name]
	if !ok {
		return Secret{}, false
	}
	out := *sec
	out.Repos = slices.Clone(sec.Repos)
	return out, true
}

// PublicKey returns the key ID and base64 public key of scope, as GitHub
// hands them out.
func (s *Server) PublicKey(scope Scope) (id, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.scopes[scope]
	if !ok {
		panic("ghsecretstest: PublicKey: unknown scope " + string(scope))
	}
	return k.id, base64.StdEncoding.EncodeToString(k.pub[:])
}

// FailNextWrite answers the next PUT of a secret with status and message,
// storing nothing. Calls queue.
func (s *Server) FailNextWrite(status int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, fault{status: status, message: message})
}

// RateLimitNext answers each of the next len(limits) requests of each
// limit's method, whatever their route, with one of limits in turn, doing
// nothing.
func (s *Server) RateLimitNext(limits ...RateLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited = append(s.limited, limits...)
}

// DropNextWrites makes the next n PUTs of a secret drop the connection
// without an answer, storing nothing. Drops come before LoseNextWrites.
func (s *Server) DropNextWrites(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop += n
}

// Ticking returns a clock for SetClock that moves on a second at each
// reading, from start: every write then changes updated_at, as writes
// seconds apart do at GitHub.
func Ticking(start time.Time) func() time.Time {
	var n atomic.Int64
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) }
}

// LoseNextWrites makes the next n PUTs of a secret store the value and then
// drop the connection without an answer.
func (s *Server) LoseNextWrites(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose += n
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Writes counts the PUT requests received.
func (s *Server) Writes() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == http.MethodPut {
			n++
		}
	}
	return n
}

type apiError struct {
	status  int
	message string
	header  http.Header
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	idx := len(s.requests)
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.EscapedPath()})
	lost := false
	status, body, aerr := s.route(r, &lost)
	if aerr != nil {
		status = aerr.status
		body, _ = json.Marshal(map[string]string{"message": aerr.message, "documentation_url": "https://docs.github.com/rest", "status": strconv.Itoa(aerr.status)})
	}
	if !lost {
		s.requests[idx].Status = status
	}
	s.mu.Unlock()
	if lost {
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("ghsecretstest: the connection cannot be hijacked")
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	if aerr != nil {
		for k, v := range aerr.header {
			w.Header()[k] = v
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if len(body) > 0 {
		_, _ = w.Write(body) //nolint:gosec // G705: JSON the server encoded, served as application/json
	}
}

// route serves one request with s.mu held.
func (s *Server) route(r *http.Request, lost *bool) (int, []byte, *apiError) {
	if len(s.limited) > 0 && (s.limited[0].Method == "" || s.limited[0].Method == r.Method) {
		l := s.limited[0]
		s.limited = s.limited[1:]
		return 0, nil, &apiError{status: l.Status, message: l.Message, header: l.Header.Clone()}
	}
	if r.Header.Get("Accept") != "application/vnd.github+json" || r.Header.Get("X-GitHub-Api-Version") == "" {
		return 0, nil, &apiError{status: http.StatusBadRequest, message: "ghsecretstest: want Accept application/vnd.github+json and X-GitHub-Api-Version"}
	}
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	perms, known := s.tokens[auth]
	if !ok || !known {
		return 0, nil, &apiError{status: http.StatusUnauthorized, message: "Bad credentials"}
	}
	scope, rest, aerr := s.scopeOf(r.URL.EscapedPath())
	if aerr != nil {
		return 0, nil, aerr
	}
	k := s.scopes[scope]
	level := "read"
	if r.Method != http.MethodGet {
		level = "write"
	}
	need := []Permission{Permission("secrets:" + level)}
	switch {
	case strings.HasPrefix(string(scope), "org:"):
		need = []Permission{Permission("organization_secrets:" + level)}
	case k.environment:
		need = append(need, Permission("environments:"+level))
	}
	for _, p := range need {
		if !allows(perms, p) {
			return 0, nil, &apiError{status: http.StatusForbidden, message: "Resource not accessible by integration"}
		}
	}
	switch {
	case rest == "public-key" && r.Method == http.MethodGet:
		b, _ := json.Marshal(map[string]string{"key_id": k.id, "key": base64.StdEncoding.EncodeToString(k.pub[:])})
		return http.StatusOK, b, nil
	case strings.HasPrefix(string(scope), "org:") && strings.HasSuffix(rest, "/repositories") && r.Method == http.MethodGet:
		return s.listRepos(k, strings.TrimSuffix(rest, "/repositories"), r.URL.Query())
	case !strings.Contains(rest, "/") && rest != "" && r.Method == http.MethodGet:
		sec, ok := k.secrets[rest]
		if !ok {
			return 0, nil, &apiError{status: http.StatusNotFound, message: "Not Found"}
		}
		meta := map[string]string{"name": rest, "created_at": sec.CreatedAt.Format(time.RFC3339), "updated_at": sec.UpdatedAt.Format(time.RFC3339)}
		if strings.HasPrefix(string(scope), "org:") {
			meta["visibility"] = sec.Visibility
		}
		b, _ := json.Marshal(meta)
		return http.StatusOK, b, nil
	case !strings.Contains(rest, "/") && rest != "" && r.Method == http.MethodPut:
		return s.put(k, scope, rest, r, lost)
	}
	return 0, nil, &apiError{status: http.StatusNotFound, message: "Not Found"}
}

// scopeOf finds the scope of an escaped path and the part after
// ".../secrets/".
func (s *Server) scopeOf(path string) (Scope, string, *apiError) {
	notFound := &apiError{status: http.StatusNotFound, message: "Not Found"}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var scope Scope
	var rest []string
	switch {
	case len(parts) >= 5 && parts[0] == "orgs" && parts[2] == "actions" && parts[3] == "secrets":
		scope, rest = OrgScope(parts[1]), parts[4:]
	case len(parts) >= 6 && parts[0] == "repos" && parts[3] == "actions" && parts[4] == "secrets":
		scope, rest = RepoScope(parts[1]+"/"+parts[2]), parts[5:]
	case len(parts) >= 7 && parts[0] == "repos" && parts[3] == "environments" && parts[5] == "secrets":
		env, err := url.PathUnescape(parts[4])
		if err != nil {
			return "", "", notFound
		}
		scope, rest = EnvScope(parts[1]+"/"+parts[2], env), parts[6:]
	default:
		return "", "", notFound
	}
	if _, ok := s.scopes[scope]; !ok {
		return "", "", notFound
	}
	return scope, strings.Join(rest, "/"), nil
}

func (s *Server) listRepos(k *keyPair, name string, q url.Values) (int, []byte, *apiError) {
	sec, ok := k.secrets[name]
	if !ok || sec.Visibility != "selected" {
		return 0, nil, &apiError{status: http.StatusNotFound, message: "Not Found"}
	}
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 || per > 100 {
		per = 30
	}
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	type repo struct {
		ID       int64  `json:"id"`
		FullName string `json:"full_name"`
	}
	list := []repo{}
	for i := (page - 1) * per; i < len(sec.Repos) && i < page*per; i++ {
		list = append(list, repo{ID: s.repoIDs[sec.Repos[i]], FullName: sec.Repos[i]})
	}
	b, _ := json.Marshal(map[string]any{"total_count": len(sec.Repos), "repositories": list})
	return http.StatusOK, b, nil
}

func (s *Server) put(k *keyPair, scope Scope, name string, r *http.Request, lost *bool) (int, []byte, *apiError) {
	if s.drop > 0 {
		s.drop--
		*lost = true
		return 0, nil, nil
	}
	if len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		return 0, nil, &apiError{status: f.status, message: f.message}
	}
	var in struct {
		EncryptedValue        string  `json:"encrypted_value"`
		KeyID                 string  `json:"key_id"`
		Visibility            string  `json:"visibility"`
		SelectedRepositoryIDs []int64 `json:"selected_repository_ids"`
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(data, &in) != nil {
		return 0, nil, &apiError{status: http.StatusBadRequest, message: "Problems parsing JSON"}
	}
	if in.KeyID != k.id {
		return 0, nil, &apiError{status: http.StatusUnprocessableEntity, message: "Bad request - key_id is not the current key"}
	}
	sealed, err := base64.StdEncoding.DecodeString(in.EncryptedValue)
	if err != nil {
		return 0, nil, &apiError{status: http.StatusUnprocessableEntity, message: "Bad request - encrypted_value is not base64"}
	}
	plain, ok := box.OpenAnonymous(nil, sealed, k.pub, k.priv)
	if !ok {
		return 0, nil, &apiError{status: http.StatusUnprocessableEntity, message: "Bad request - encrypted_value was not sealed to the public key"}
	}
	sec := &Secret{Value: string(plain), KeyID: in.KeyID}
	old := k.secrets[name]
	if old != nil {
		sec.Writes = old.Writes
	}
	sec.Writes++
	s.stamp(sec, old)
	if strings.HasPrefix(string(scope), "org:") {
		switch in.Visibility {
		case "all", "private":
		case "selected":
			for _, id := range in.SelectedRepositoryIDs {
				repo := s.repoByID(id)
				if repo == "" {
					return 0, nil, &apiError{status: http.StatusUnprocessableEntity, message: fmt.Sprintf("Bad request - no repository %d", id)}
				}
				sec.Repos = append(sec.Repos, repo)
			}
		default:
			return 0, nil, &apiError{status: http.StatusUnprocessableEntity, message: "Invalid request.\n\n\"visibility\" wasn't supplied."}
		}
		sec.Visibility = in.Visibility
	}
	status := http.StatusCreated
	if _, ok := k.secrets[name]; ok {
		status = http.StatusNoContent
	}
	k.secrets[name] = sec
	if s.lose > 0 {
		s.lose--
		*lost = true
	}
	return status, nil, nil
}

func (s *Server) repoByID(id int64) string {
	for repo, rid := range s.repoIDs {
		if rid == id {
			return repo
		}
	}
	return ""
}
