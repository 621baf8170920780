package ghsecrets_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/nacl/box"

	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/internal/ghsecrets"
	"github.com/metamint/metamint/internal/ghsecrets/ghsecretstest"
)

const (
	canaryGitHubToken = "ghs_CANARYgithubTOKEN0000000000000001"
	canaryValue       = "EAACANARYsecretVALUE0000000000000002"
	repo              = "octo-org/deploy"
	env               = "prod/eu"
	org               = "octo-org"
)

// standIn starts a stand-in with a repository, an environment, an
// organization and a token allowed everything.
func standIn(t *testing.T) (*ghsecretstest.Server, *ghsecrets.Client) {
	t.Helper()
	s := ghsecretstest.NewServer()
	t.Cleanup(s.Close)
	s.AddRepo(repo)
	s.AddRepo("octo-org/other")
	s.AddRepo("octo-org/third")
	s.AddEnvironment(repo, env)
	s.AddOrg(org)
	s.AddToken(canaryGitHubToken, ghsecretstest.SecretsWrite, ghsecretstest.EnvironmentsWrite, ghsecretstest.OrganizationSecretsWrite)
	c, err := ghsecrets.NewClient(canaryGitHubToken, ghsecrets.WithBaseURL(s.URL), ghsecrets.WithHTTPClient(s.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// TestPutSecretRoundTrip seals a value to each kind of target's key and
// checks that the stand-in opened it with its private key; an organization
// secret keeps its visibility and selected repositories.
func TestPutSecretRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		target    ghsecrets.Target
		scope     ghsecretstest.Scope
		orgBefore []string // selected repositories, for an organization secret
		vis       string
	}{
		{name: "repository", target: ghsecrets.Target{Name: "META_TOKEN", Repo: repo}, scope: ghsecretstest.RepoScope(repo)},
		{name: "environment with a slash", target: ghsecrets.Target{Name: "META_TOKEN", Repo: repo, Environment: env}, scope: ghsecretstest.EnvScope(repo, env)},
		{name: "organization, selected", target: ghsecrets.Target{Name: "META_TOKEN", Org: org}, scope: ghsecretstest.OrgScope(org),
			vis: "selected", orgBefore: []string{repo, "octo-org/third"}},
		{name: "organization, private", target: ghsecrets.Target{Name: "META_TOKEN", Org: org}, scope: ghsecretstest.OrgScope(org), vis: "private"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := standIn(t)
			var kept *ghsecrets.OrgSecret
			if tt.vis != "" {
				s.SetSecret(tt.scope, tt.target.Name, "old", tt.vis, tt.orgBefore...)
				var err error
				if kept, err = c.OrgSecret(t.Context(), tt.target); err != nil {
					t.Fatalf("OrgSecret() = %v", err)
				}
			}
			key, err := c.PublicKey(t.Context(), tt.target)
			if err != nil {
				t.Fatalf("PublicKey() = %v", err)
			}
			if err := c.PutSecret(t.Context(), tt.target, key, canaryValue, kept); err != nil {
				t.Fatalf("PutSecret() = %v", err)
			}
			got, ok := s.Secret(tt.scope, tt.target.Name)
			if !ok || got.Value != canaryValue {
				t.Fatalf("stored secret opened = %v; want the value sealed", ok)
			}
			if got.Visibility != tt.vis {
				t.Errorf("visibility = %q; want %q", got.Visibility, tt.vis)
			}
			if diff := cmp.Diff(tt.orgBefore, got.Repos); diff != "" {
				t.Errorf("selected repositories changed (-before +after):\n%s", diff)
			}
		})
	}
}

// TestPutSecretWrongKey seals to a key the stand-in never handed out,
// under its key ID: the stand-in cannot open it and answers 422, as GitHub
// does; the client reports a refusal, not a lost answer.
func TestPutSecretWrongKey(t *testing.T) {
	t.Parallel()
	s, c := standIn(t)
	target := ghsecrets.Target{Name: "META_TOKEN", Repo: repo}
	key, err := c.PublicKey(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, err := box.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	wrong := &ghsecrets.PublicKey{KeyID: key.KeyID, Key: *pub}
	err = c.PutSecret(t.Context(), target, wrong, canaryValue, nil)
	var aerr *ghsecrets.APIError
	if !errors.As(err, &aerr) || aerr.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("PutSecret(wrong key) = %v; want an *APIError with 422", err)
	}
	if errors.Is(err, ghsecrets.ErrNoAnswer) {
		t.Errorf("PutSecret(wrong key) matches ErrNoAnswer; want a refusal")
	}
	if _, ok := s.Secret(ghsecretstest.RepoScope(repo), "META_TOKEN"); ok {
		t.Errorf("a value sealed to the wrong key was stored")
	}
	// The stand-in's own key opens what Seal made: the oracle is sound.
	id, b64 := s.PublicKey(ghsecretstest.RepoScope(repo))
	if id != key.KeyID || b64 != base64.StdEncoding.EncodeToString(key.Key[:]) {
		t.Errorf("PublicKey() = %q; want the stand-in's key %q", key.KeyID, id)
	}
}

// TestPermissionErrors checks that a bad token and a token without the
// permission fail at the public key, with an error naming the permission
// the target needs.
func TestPermissionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		token      string
		perms      []ghsecretstest.Permission
		target     ghsecrets.Target
		wantStatus int
		wantPerm   string
	}{
		{name: "bad token", token: "ghs_unknown", target: ghsecrets.Target{Name: "T", Repo: repo},
			wantStatus: 401, wantPerm: `"Secrets" repository permission (write)`},
		{name: "repository without secrets", token: "ghs_x", perms: []ghsecretstest.Permission{ghsecretstest.EnvironmentsWrite},
			target: ghsecrets.Target{Name: "T", Repo: repo}, wantStatus: 403, wantPerm: `"Secrets" repository permission (write)`},
		{name: "environment without environments", token: "ghs_x", perms: []ghsecretstest.Permission{ghsecretstest.SecretsWrite},
			target: ghsecrets.Target{Name: "T", Repo: repo, Environment: env}, wantStatus: 403, wantPerm: `"Environments" repository permissions (write)`},
		{name: "organization with repository secrets only", token: "ghs_x", perms: []ghsecretstest.Permission{ghsecretstest.SecretsWrite},
			target: ghsecrets.Target{Name: "T", Org: org}, wantStatus: 403, wantPerm: `"Secrets" organization permission (write)`},
		{name: "unknown repository", token: canaryGitHubToken,
			target: ghsecrets.Target{Name: "T", Repo: "octo-org/nowhere"}, wantStatus: 404, wantPerm: `"Secrets" repository permission (write)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := standIn(t)
			if tt.perms != nil {
				s.AddToken(tt.token, tt.perms...)
			}
			c, err := ghsecrets.NewClient(tt.token, ghsecrets.WithBaseURL(s.URL))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.PublicKey(t.Context(), tt.target)
			var aerr *ghsecrets.APIError
			if !errors.As(err, &aerr) || aerr.StatusCode != tt.wantStatus {
				t.Fatalf("PublicKey() = %v; want an *APIError with HTTP %d", err, tt.wantStatus)
			}
			if !strings.Contains(aerr.Advice(), tt.wantPerm) {
				t.Errorf("Advice() = %q; want it to name %s", aerr.Advice(), tt.wantPerm)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Errorf("the error holds the token")
			}
		})
	}
}

// TestPutSecretFaults injects a refused write and a lost answer.
func TestPutSecretFaults(t *testing.T) {
	t.Parallel()
	target := ghsecrets.Target{Name: "META_TOKEN", Repo: repo}

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		s, c := standIn(t)
		key, err := c.PublicKey(t.Context(), target)
		if err != nil {
			t.Fatal(err)
		}
		s.FailNextWrite(http.StatusForbidden, "Resource not accessible by integration "+canaryGitHubToken)
		err = c.PutSecret(t.Context(), target, key, canaryValue, nil)
		var aerr *ghsecrets.APIError
		if !errors.As(err, &aerr) || aerr.StatusCode != http.StatusForbidden || errors.Is(err, ghsecrets.ErrNoAnswer) {
			t.Fatalf("PutSecret() = %v; want a 403 *APIError", err)
		}
		if strings.Contains(err.Error(), canaryGitHubToken) || strings.Contains(err.Error(), canaryValue) {
			t.Errorf("PutSecret() error %q holds a secret GitHub echoed", err)
		}
		if _, ok := s.Secret(ghsecretstest.RepoScope(repo), "META_TOKEN"); ok {
			t.Errorf("a refused write stored the secret")
		}
	})

	t.Run("lost answer", func(t *testing.T) {
		t.Parallel()
		s, c := standIn(t)
		key, err := c.PublicKey(t.Context(), target)
		if err != nil {
			t.Fatal(err)
		}
		s.LoseNextWrites(1)
		err = c.PutSecret(t.Context(), target, key, canaryValue, nil)
		if !errors.Is(err, ghsecrets.ErrNoAnswer) {
			t.Fatalf("PutSecret() = %v; want ErrNoAnswer", err)
		}
		if got, ok := s.Secret(ghsecretstest.RepoScope(repo), "META_TOKEN"); !ok || got.Value != canaryValue {
			t.Errorf("the stand-in did not store the write whose answer it dropped")
		}
		if got := s.Writes(); got != 1 {
			t.Errorf("writes = %d; want 1 (the client never retries)", got)
		}
	})

	// A 3xx is no refusal: 303 See Other is how a server answers a write
	// it has done. The redirect is not followed, so the outcome is
	// unknown, and the caller must not revoke the value it sent.
	t.Run("redirect", func(t *testing.T) {
		t.Parallel()
		for _, status := range []int{http.StatusSeeOther, http.StatusTemporaryRedirect} {
			s, c := standIn(t)
			key, err := c.PublicKey(t.Context(), target)
			if err != nil {
				t.Fatal(err)
			}
			s.FailNextWrite(status, "Moved")
			err = c.PutSecret(t.Context(), target, key, canaryValue, nil)
			var aerr *ghsecrets.APIError
			if !errors.Is(err, ghsecrets.ErrNoAnswer) || errors.As(err, &aerr) {
				t.Errorf("PutSecret() answered HTTP %d = %v; want ErrNoAnswer, not an *APIError (a refusal)", status, err)
			}
		}
	})

	t.Run("server error", func(t *testing.T) {
		t.Parallel()
		s, c := standIn(t)
		key, err := c.PublicKey(t.Context(), target)
		if err != nil {
			t.Fatal(err)
		}
		s.FailNextWrite(http.StatusBadGateway, "Server Error")
		if err := c.PutSecret(t.Context(), target, key, canaryValue, nil); !errors.Is(err, ghsecrets.ErrNoAnswer) {
			t.Fatalf("PutSecret() = %v; want ErrNoAnswer for a 5xx", err)
		}
	})
}

// TestPutSecretBody pins the wire form of an organization write.
func TestPutSecretBody(t *testing.T) {
	t.Parallel()
	var got map[string]any
	srv := http.NewServeMux()
	srv.HandleFunc("PUT /orgs/octo-org/actions/secrets/META_TOKEN", func(w http.ResponseWriter, r *http.Request) {
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		if r.Header.Get("Authorization") != "Bearer "+canaryGitHubToken {
			t.Errorf("Authorization header is not the bearer token")
		}
		w.WriteHeader(http.StatusNoContent)
	})
	s := httptest.NewServer(srv)
	t.Cleanup(s.Close)
	c, err := ghsecrets.NewClient(canaryGitHubToken, ghsecrets.WithBaseURL(s.URL))
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := box.GenerateKey(rand.Reader)
	err = c.PutSecret(t.Context(), ghsecrets.Target{Name: "META_TOKEN", Org: org}, &ghsecrets.PublicKey{KeyID: "k1", Key: *pub}, canaryValue,
		&ghsecrets.OrgSecret{Visibility: "selected", SelectedRepositoryIDs: []int64{7, 9}})
	if err != nil {
		t.Fatal(err)
	}
	if got["key_id"] != "k1" || got["visibility"] != "selected" || got["encrypted_value"] == canaryValue {
		t.Errorf("body = %v; want key_id k1, visibility selected, a sealed value", got)
	}
	if diff := cmp.Diff([]any{7.0, 9.0}, got["selected_repository_ids"]); diff != "" {
		t.Errorf("selected_repository_ids (-want +got):\n%s", diff)
	}
}

// TestTargetCheck refuses what GitHub would, before any call.
func TestTargetCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		target ghsecrets.Target
		ok     bool
	}{
		{"repository", ghsecrets.Target{Name: "META_TOKEN", Repo: repo}, true},
		{"GITHUB_ prefix", ghsecrets.Target{Name: "github_token", Repo: repo}, false},
		{"leading digit", ghsecrets.Target{Name: "1TOKEN", Repo: repo}, false},
		{"hyphen", ghsecrets.Target{Name: "META-TOKEN", Repo: repo}, false},
		{"no repository", ghsecrets.Target{Name: "T"}, false},
		{"path in repository", ghsecrets.Target{Name: "T", Repo: "a/b/../c"}, false},
		{"dot-dot repository", ghsecrets.Target{Name: "T", Repo: "a/.."}, false},
		{"org and environment", ghsecrets.Target{Name: "T", Org: org, Repo: repo, Environment: "prod"}, false},
		{"org and environment without repository", ghsecrets.Target{Name: "T", Org: org, Environment: "prod"}, false},
		{"org and repository", ghsecrets.Target{Name: "T", Org: org, Repo: repo}, false},
		{"bad org", ghsecrets.Target{Name: "T", Org: "a/b"}, false},
		{"control in environment", ghsecrets.Target{Name: "T", Repo: repo, Environment: "a\nb"}, false},
		// A dot segment in a URL path is resolved by whoever normalizes
		// it: "environments/.." names the repository instead.
		{"dot-dot environment", ghsecrets.Target{Name: "T", Repo: repo, Environment: ".."}, false},
		{"dot environment", ghsecrets.Target{Name: "T", Repo: repo, Environment: "."}, false},
		{"dots in an environment", ghsecrets.Target{Name: "T", Repo: repo, Environment: "v1..2"}, true},
	} {
		if err := tt.target.Check(); (err == nil) != tt.ok {
			t.Errorf("%s: Check() = %v; want ok %v", tt.name, err, tt.ok)
		}
	}
}

// TestHostileAnswers: GitHub's answers are untrusted. A key that is not 32
// bytes of base64 or is a low-order point, a visibility the client does not
// know, and a redirect are refused; nothing is written.
func TestHostileAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		path   string
		status int
		body   string
		call   func(c *ghsecrets.Client, tb testing.TB) error
		want   string
	}{
		{name: "short key", path: "GET /repos/octo-org/deploy/actions/secrets/public-key", status: 200, body: `{"key_id":"1","key":"AAAA"}`,
			call: func(c *ghsecrets.Client, tb testing.TB) error {
				_, err := c.PublicKey(tb.Context(), ghsecrets.Target{Name: "T", Repo: repo})
				return err
			}, want: "no 32-byte base64 key"},
		// A low-order point gives every sealed box a key anyone can
		// compute: libsodium's crypto_box_seal refuses it.
		{name: "low-order key: zero", path: "GET /repos/octo-org/deploy/actions/secrets/public-key", status: 200, body: `{"key_id":"1","key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`,
			call: func(c *ghsecrets.Client, tb testing.TB) error {
				_, err := c.PublicKey(tb.Context(), ghsecrets.Target{Name: "T", Repo: repo})
				return err
			}, want: "low-order"},
		{name: "low-order key: one", path: "GET /repos/octo-org/deploy/actions/secrets/public-key", status: 200, body: `{"key_id":"1","key":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`,
			call: func(c *ghsecrets.Client, tb testing.TB) error {
				_, err := c.PublicKey(tb.Context(), ghsecrets.Target{Name: "T", Repo: repo})
				return err
			}, want: "low-order"},
		{name: "unknown visibility", path: "GET /orgs/octo-org/actions/secrets/T", status: 200, body: `{"visibility":"everyone\u001b[31m"}`,
			call: func(c *ghsecrets.Client, tb testing.TB) error {
				_, err := c.OrgSecret(tb.Context(), ghsecrets.Target{Name: "T", Org: org})
				return err
			}, want: `visibility "everyone\x1b[31m"`},
		{name: "visibility echoes the token", path: "GET /orgs/octo-org/actions/secrets/T", status: 200, body: `{"visibility":"` + canaryGitHubToken + `"}`,
			call: func(c *ghsecrets.Client, tb testing.TB) error {
				_, err := c.OrgSecret(tb.Context(), ghsecrets.Target{Name: "T", Org: org})
				return err
			}, want: `visibility "[token]"`},
		{name: "redirect not followed", path: "GET /repos/octo-org/deploy/actions/secrets/public-key", status: 302, body: `{}`,
			call: func(c *ghsecrets.Client, tb testing.TB) error {
				_, err := c.PublicKey(tb.Context(), ghsecrets.Target{Name: "T", Repo: repo})
				return err
			}, want: "HTTP 302"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux := http.NewServeMux()
			mux.HandleFunc(tt.path, func(w http.ResponseWriter, r *http.Request) {
				if tt.status == 302 {
					w.Header().Set("Location", "http://127.0.0.2:1/steal")
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			s := httptest.NewServer(mux)
			t.Cleanup(s.Close)
			c, err := ghsecrets.NewClient(canaryGitHubToken, ghsecrets.WithBaseURL(s.URL))
			if err != nil {
				t.Fatal(err)
			}
			err = tt.call(c, t)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v; want it to say %s", err, tt.want)
			}
			if strings.ContainsRune(err.Error(), '\x1b') {
				t.Errorf("the error holds a raw escape character")
			}
			if strings.Contains(err.Error(), canaryGitHubToken) {
				t.Errorf("the error holds the GitHub token")
			}
		})
	}
}

// TestRateLimitedWriteIsSentAgain: GitHub answers the write with its
// secondary rate limit and retry-after. A rate limit is "not now": the
// request was not carried out, and the client sends it again once the wait
// GitHub asked for has passed, instead of reporting a refusal.
func TestRateLimitedWriteIsSentAgain(t *testing.T) {
	t.Parallel()
	target := ghsecrets.Target{Name: "META_TOKEN", Repo: repo}
	s, _ := standIn(t)
	fake := clock.NewFake(time.Now())
	c, err := ghsecrets.NewClient(canaryGitHubToken, ghsecrets.WithBaseURL(s.URL), ghsecrets.WithHTTPClient(s.Client()), ghsecrets.WithClock(fake.Now, fake.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	key, err := c.PublicKey(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	s.RateLimitNext(ghsecretstest.RateLimit{
		Status:  http.StatusForbidden,
		Message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
		Header:  http.Header{"Retry-After": {"1"}},
	})
	if err := c.PutSecret(t.Context(), target, key, canaryValue, nil); err != nil {
		t.Fatalf("PutSecret() = %v; want the write sent again after the wait, and stored", err)
	}
	if got, ok := s.Secret(ghsecretstest.RepoScope(repo), "META_TOKEN"); !ok || got.Value != canaryValue {
		t.Errorf("the secret was not stored")
	}
	if got := s.Writes(); got != 2 {
		t.Errorf("writes = %d; want 2: the rate-limited one and the one sent after the wait", got)
	}
	if got := fake.Slept(); !slices.Equal(got, []time.Duration{time.Second}) {
		t.Errorf("waited %v; want [1s], the retry-after, once", got)
	}
}

// TestRateLimits: each way GitHub says "over a rate limit", and how long
// the client waits before it sends the request again, read from an
// injected clock; a refusal that is no rate limit is never sent again.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	// The client compares a context's deadline with its clock: the clock
	// starts now, whole seconds, as x-ratelimit-reset counts them.
	start := time.Now().Truncate(time.Second)
	secondary := "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
	primary := func(after time.Duration) ghsecretstest.RateLimit {
		return ghsecretstest.RateLimit{Status: http.StatusForbidden, Message: "API rate limit exceeded for installation ID 1.",
			Header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {strconv.FormatInt(start.Add(after).Unix(), 10)}}}
	}
	tests := []struct {
		name      string
		limits    []ghsecretstest.RateLimit
		deadline  time.Duration // 0: none
		wantSlept []time.Duration
		wantErr   bool // still rate limited when the client stops
		wantRetry time.Time
	}{
		{name: "primary: wait for x-ratelimit-reset", limits: []ghsecretstest.RateLimit{primary(30 * time.Second)},
			wantSlept: []time.Duration{30 * time.Second}},
		{name: "secondary with retry-after", limits: []ghsecretstest.RateLimit{{Status: http.StatusTooManyRequests, Message: secondary, Header: http.Header{"Retry-After": {"7"}}}},
			wantSlept: []time.Duration{7 * time.Second}},
		{name: "secondary without a header: a minute, then longer", limits: []ghsecretstest.RateLimit{{Status: http.StatusForbidden, Message: secondary}, {Status: http.StatusForbidden, Message: secondary}},
			wantSlept: []time.Duration{time.Minute, 2 * time.Minute}},
		{name: "a wait past the deadline is not started", limits: []ghsecretstest.RateLimit{primary(90 * time.Second)}, deadline: time.Minute,
			wantErr: true, wantRetry: start.Add(90 * time.Second)},
		{name: "a reset an hour away is not waited for", limits: []ghsecretstest.RateLimit{primary(time.Hour)},
			wantErr: true, wantRetry: start.Add(time.Hour)},
		{name: "a retry-after too large for a duration is not waited for", limits: []ghsecretstest.RateLimit{{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"99999999999"}}}},
			wantErr: true, wantRetry: start.Add(365 * 24 * time.Hour)},
		{name: "every try limited: stop after four", limits: []ghsecretstest.RateLimit{
			{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}}, {Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}},
			{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}}, {Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}}},
			wantSlept: []time.Duration{time.Second, time.Second, time.Second}, wantErr: true, wantRetry: start.Add(4 * time.Second)},
		// A time already past (a clock apart from GitHub's, a broken
		// proxy) names no wait: resending at once would only meet the
		// limit again, and "run again after" a past time says nothing.
		{name: "a retry-after date in the past: a minute, not at once", limits: []ghsecretstest.RateLimit{{Status: http.StatusTooManyRequests,
			Header: http.Header{"Retry-After": {start.Add(-time.Hour).UTC().Format(http.TimeFormat)}}}},
			wantSlept: []time.Duration{time.Minute}},
		{name: "a reset in the past: a minute, not at once", limits: []ghsecretstest.RateLimit{primary(-time.Hour)},
			wantSlept: []time.Duration{time.Minute}},
		{name: "resets in the past on every try: no past time reported", limits: []ghsecretstest.RateLimit{primary(-time.Hour), primary(-time.Hour), primary(-time.Hour)},
			wantSlept: []time.Duration{time.Minute, 2 * time.Minute}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := standIn(t)
			fake := clock.NewFake(start)
			var noticed []time.Duration
			c, err := ghsecrets.NewClient(canaryGitHubToken, ghsecrets.WithBaseURL(s.URL), ghsecrets.WithClock(fake.Now, fake.Sleep),
				ghsecrets.WithWaitNotice(func(call string, d time.Duration) {
					if call != "GET /repos/{owner}/{repo}/actions/secrets/public-key" {
						t.Errorf("notice for call %q", call)
					}
					noticed = append(noticed, d)
				}))
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, start.Add(tt.deadline))
				defer cancel()
			}
			s.RateLimitNext(tt.limits...)
			_, err = c.PublicKey(ctx, ghsecrets.Target{Name: "META_TOKEN", Repo: repo})
			if slept := fake.Slept(); !slices.Equal(slept, tt.wantSlept) || !slices.Equal(noticed, slept) {
				t.Errorf("waited %v, noticed %v; want %v, each noticed before it", slept, noticed, tt.wantSlept)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("PublicKey() = %v; want the request sent again after the wait", err)
				}
				return
			}
			var aerr *ghsecrets.APIError
			if !errors.As(err, &aerr) || !aerr.RateLimited {
				t.Fatalf("PublicKey() = %v; want an *APIError that says RateLimited", err)
			}
			if !aerr.RetryAt.Equal(tt.wantRetry) {
				t.Errorf("RetryAt = %v; want %v", aerr.RetryAt, tt.wantRetry)
			}
			if a := aerr.Advice(); !strings.Contains(a, "rate limit") || strings.Contains(a, "permission") {
				t.Errorf("Advice() = %q; want it to name the rate limit, not a permission", a)
			}
		})
	}
}

// TestForbiddenIsNoRateLimit: a 403 that names no rate limit is a refusal
// of the token: it is reported at once, with the permission it needs.
func TestForbiddenIsNoRateLimit(t *testing.T) {
	t.Parallel()
	s, _ := standIn(t)
	fake := clock.NewFake(time.Now())
	c, err := ghsecrets.NewClient(canaryGitHubToken, ghsecrets.WithBaseURL(s.URL), ghsecrets.WithClock(fake.Now, fake.Sleep))
	if err != nil {
		t.Fatal(err)
	}
	s.RateLimitNext(ghsecretstest.RateLimit{Status: http.StatusForbidden, Message: "Resource not accessible by integration"})
	_, err = c.PublicKey(t.Context(), ghsecrets.Target{Name: "META_TOKEN", Repo: repo})
	var aerr *ghsecrets.APIError
	if !errors.As(err, &aerr) || aerr.RateLimited || len(fake.Slept()) != 0 {
		t.Fatalf("PublicKey() = %v after waits %v; want a refusal at once, not a rate limit", err, fake.Slept())
	}
	if a := aerr.Advice(); !strings.Contains(a, "permission") {
		t.Errorf("Advice() = %q; want the permission", a)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("requests = %d; want 1", n)
	}
}

// TestUpdated reads a secret's updated_at as GitHub wrote it: a stamp
// compared for change only, so a format this client does not expect never
// fails a renewal; a missing secret is found false, not an error.
func TestUpdated(t *testing.T) {
	t.Parallel()
	s, c := standIn(t)
	target := ghsecrets.Target{Name: "META_TOKEN", Repo: repo}
	if stamp, found, err := c.Updated(t.Context(), target); err != nil || found || stamp != "" {
		t.Errorf("Updated(missing) = %q, %v, %v; want not found, no error", stamp, found, err)
	}
	s.SetClock(func() time.Time { return time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC) })
	s.SetSecret(ghsecretstest.RepoScope(repo), "META_TOKEN", canaryValue, "")
	if stamp, found, err := c.Updated(t.Context(), target); err != nil || !found || stamp != "2026-12-03T12:00:00Z" {
		t.Errorf("Updated() = %q, %v, %v; want 2026-12-03T12:00:00Z", stamp, found, err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/octo-org/deploy/actions/secrets/META_TOKEN", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"name":"META_TOKEN","created_at":"x","updated_at":"2026-12-03 12:00:00.123456 +0000 UTC"}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	odd, err := ghsecrets.NewClient(canaryGitHubToken, ghsecrets.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if stamp, found, err := odd.Updated(t.Context(), target); err != nil || !found || stamp != "2026-12-03 12:00:00.123456 +0000 UTC" {
		t.Errorf("Updated(odd format) = %q, %v, %v; want the stamp as GitHub wrote it", stamp, found, err)
	}
}

// TestBrokenAnswerEchoesToken: a server (or a proxy) answers with a status
// line that is no HTTP, made of the request's bearer token. Go's transport
// quotes that line in its error; the client's error must not carry the
// token, whether the call was a read or a write, and must still match the
// transport's error (errors.As), as pkg/mint's redacted errors do.
func TestBrokenAnswerEchoesToken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, aerr := ln.Accept()
			if aerr != nil {
				return
			}
			if req, rerr := http.ReadRequest(bufio.NewReader(conn)); rerr == nil {
				auth := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
				_, _ = conn.Write([]byte("HTTP/1.1 " + auth + " OK\r\n\r\n"))
			}
			_ = conn.Close()
		}
	}()
	c, err := ghsecrets.NewClient(canaryGitHubToken, ghsecrets.WithBaseURL("http://"+ln.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	target := ghsecrets.Target{Name: "META_TOKEN", Repo: repo}
	var key ghsecrets.PublicKey
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{name: "public key", call: func(ctx context.Context) error { _, err := c.PublicKey(ctx, target); return err }},
		{name: "updated_at", call: func(ctx context.Context) error { _, _, err := c.Updated(ctx, target); return err }},
		{name: "write", call: func(ctx context.Context) error { return c.PutSecret(ctx, target, &key, canaryValue, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call(t.Context())
			if err == nil {
				t.Fatal("error = nil; want the broken answer reported")
			}
			if strings.Contains(err.Error(), canaryGitHubToken) {
				t.Errorf("error = %q; holds the GitHub token", err)
			}
			if uerr := (*url.Error)(nil); !errors.As(err, &uerr) {
				t.Errorf("error = %v; want it to match the transport's *url.Error", err)
			}
		})
	}
}

// TestOrgSecretIncompleteList: GitHub counts three selected repositories
// but lists two, then an empty page (a repository removed between pages
// shifts the rest, or an answer is cut short). A write sends the list as
// the secret's repositories: a short one would take the secret from a
// repository that uses it. OrgSecret refuses it.
func TestOrgSecretIncompleteList(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orgs/octo-org/actions/secrets/T", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"name":"T","visibility":"selected","updated_at":"2026-12-03T12:00:00Z"}`))
	})
	mux.HandleFunc("GET /orgs/octo-org/actions/secrets/T/repositories", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "1" {
			_, _ = w.Write([]byte(`{"total_count":3,"repositories":[{"id":1},{"id":2}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"total_count":3,"repositories":[]}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := ghsecrets.NewClient(canaryGitHubToken, ghsecrets.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.OrgSecret(t.Context(), ghsecrets.Target{Name: "T", Org: org})
	if err == nil {
		t.Fatalf("OrgSecret() = %+v, nil; want an error: 2 repositories listed of 3", got)
	}
	if !strings.Contains(err.Error(), "2") || !strings.Contains(err.Error(), "3") {
		t.Errorf("OrgSecret() error = %q; want it to say how many were listed and counted", err)
	}
}
