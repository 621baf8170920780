package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/internal/pace"
	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// The tests use real parts: minttest for Graph, moto's Secrets Manager (one
// moto_server per test binary, shared; every test uses its own secrets), and
// for the bootstrap tests the aws-lambda-rie binary.

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Shutdown() // the shared moto and the built bootstrap
	os.Exit(code)
}

// testScopes are the scopes the managed secrets ask for.
var testScopes = []string{"ads_read", "business_management"}

// rotationLambdaARN is the function moto's RotateSecret "invokes" (with
// use_docker off it runs nothing): it makes moto create the AWSPENDING
// placeholder version the way Secrets Manager does.
const rotationLambdaARN = awstest.RotationLambdaARN

// motoURL returns the URL of the shared moto server (internal/awstest),
// starting it on first use. A missing moto_server fails the test.
func motoURL(t *testing.T) string {
	t.Helper()
	return awstest.SharedMoto(t).URL
}

// newSM returns a Secrets Manager client for endpoint with test credentials.
func newSM(endpoint string) *secretsmanager.Client { return awstest.SecretsManager(endpoint) }

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// world is one test's Graph emulator, Secrets Manager client and handler.
type world struct {
	t       *testing.T
	srv     *minttest.Server
	fx      minttest.Fixture
	sm      *secretsmanager.Client
	h       *handler
	logs    *syncBuffer
	metrics *syncBuffer // EMF lines
	prefix  string
	appRef  string // a secret holding {"app_secret": ...}
	calls   *countingSM
	graph   *inflight // Graph requests in flight
}

type worldOption func(*worldConfig)

type worldConfig struct {
	cfg      config
	endpoint string        // Secrets Manager endpoint; default moto
	install  bool          // install the app for fx.SystemUserID (default true)
	graph    []mint.Option // instead of the fast test retry policy
	pacer    *pace.Pacer   // Secrets Manager writes paced (pacedWrites) by it; nil: unpaced
	waits    *graphWaits   // the Graph client waits on the emulator's clock and records its waits here
}

func withConfig(f func(*config)) worldOption {
	return func(c *worldConfig) { f(&c.cfg) }
}

func withEndpoint(u string) worldOption { return func(c *worldConfig) { c.endpoint = u } }

// withPacing paces the function's Secrets Manager writes with p, as the
// function ships (pacedWrites).
func withPacing(p *pace.Pacer) worldOption { return func(c *worldConfig) { c.pacer = p } }

// withEmulatorWaits makes the Graph client wait on the emulator's clock:
// each wait it asks for (between attempts, and for pacing) is recorded in
// rec and moves the emulator's clock on at once (mint.WithSleep), and the
// client reads that clock (mint.WithClock). The waits then happen by
// count, whatever the machine's speed.
func withEmulatorWaits(rec *graphWaits) worldOption { return func(c *worldConfig) { c.waits = rec } }

// graphWaits records the waits a Graph client asked for. Safe for
// concurrent use.
type graphWaits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (g *graphWaits) add(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.d = append(g.d, d)
}

// all returns the waits asked for, in order.
func (g *graphWaits) all() []time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.d)
}

func withoutInstall() worldOption { return func(c *worldConfig) { c.install = false } }

// withGraph configures the Graph client with opts instead of the tests' fast
// retry policy; the emulator's URL and HTTP client come last and win.
// withGraph() with no options means no retry and no pacing.
func withGraph(opts ...mint.Option) worldOption {
	return func(c *worldConfig) { c.graph = append([]mint.Option{}, opts...) }
}

// lambdaGraph is the Graph configuration the function ships with: its retry
// policy and usage-based pacing.
func lambdaGraph() worldOption {
	cfg, _ := loadConfig(func(string) string { return "" })
	return withGraph(graphOptions(cfg)...)
}

func newWorld(t *testing.T, opts ...worldOption) *world {
	t.Helper()
	wc := worldConfig{install: true, endpoint: motoURL(t)}
	wc.cfg, _ = loadConfig(func(string) string { return "" })
	for _, o := range opts {
		o(&wc)
	}
	srv := minttest.NewServer()
	t.Cleanup(srv.Close)
	fx := srv.Seed()
	if wc.install {
		srv.InstallApp(fx.SystemUserID, fx.AppID)
	}
	hc := srv.Client()
	gi := &inflight{next: hc.Transport}
	if gi.next == nil {
		gi.next = http.DefaultTransport
	}
	hc.Transport = gi
	gopts := wc.graph
	if gopts == nil {
		gopts = []mint.Option{mint.WithRetry(mint.RetryPolicy{MaxAttempts: 3, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond})}
	}
	if rec := wc.waits; rec != nil {
		gopts = append(slices.Clone(gopts), mint.WithClock(srv.Now), mint.WithSleep(func(ctx context.Context, d time.Duration) error {
			rec.add(d)
			srv.Advance(d)
			return ctx.Err()
		}))
	}
	graph, err := mint.NewClient(append(gopts, mint.WithHTTPClient(hc), mint.WithBaseURL(srv.URL))...)
	if err != nil {
		t.Fatalf("mint.NewClient() = %v", err)
	}
	logs, metrics := &syncBuffer{}, &syncBuffer{}
	log := newLogger(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}), defaultService, slog.LevelDebug)
	sm := newSM(wc.endpoint)
	if wc.pacer != nil {
		sm = awstest.SecretsManager(wc.endpoint, pacedWrites(wc.pacer))
	}
	calls := &countingSM{secretsAPI: sm, counts: map[string]int{}}
	w := &world{
		t: t, srv: srv, fx: fx, sm: sm, logs: logs, calls: calls, graph: gi,
		h:       newHandler(calls, graph, log, metrics, wc.cfg, runtimeEnv{service: "metamint", functionName: "metamint-test"}, srv.Now),
		metrics: metrics,
		prefix:  "metamint-test/" + sanitize(t.Name()) + "-" + randHex(4) + "/",
	}
	w.appRef = w.putRaw("app-secret", `{"app_secret":"`+fx.AppSecret+`","other":"kept"}`)
	return w
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, s)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// putRaw creates a secret with a raw SecretString and returns its ARN.
func (w *world) putRaw(name, value string) string {
	w.t.Helper()
	out, err := w.sm.CreateSecret(w.t.Context(), &secretsmanager.CreateSecretInput{
		Name:         aws.String(w.prefix + name),
		SecretString: aws.String(value),
	})
	if err != nil {
		w.t.Fatalf("CreateSecret(%s) = %v", name, err)
	}
	return aws.ToString(out.ARN)
}

// putTagged creates a secret with a raw SecretString and tags, and returns
// its ARN.
func (w *world) putTagged(name, value string, tags map[string]string) string {
	w.t.Helper()
	in := &secretsmanager.CreateSecretInput{Name: aws.String(w.prefix + name), SecretString: aws.String(value)}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	out, err := w.sm.CreateSecret(w.t.Context(), in)
	if err != nil {
		w.t.Fatalf("CreateSecret(%s) = %v", name, err)
	}
	return aws.ToString(out.ARN)
}

// putMintingToken creates a secret holding a minting token (a
// minting_token_ref) that consents to every secret of this world: its tag
// metamint:minting-for lists the world's prefix. It returns its ARN.
func (w *world) putMintingToken(name, value string) string {
	w.t.Helper()
	return w.putTagged(name, value, map[string]string{rotation.MintingForTag: w.prefix})
}

// configureRotation attaches the rotation function to the secret, as
// `aws secretsmanager rotate-secret --no-rotate-immediately` would, and
// leaves it with no rotation in progress. (moto then leaves AWSPENDING on a
// copy of the current value, where Secrets Manager would remove it after
// testSecret; the helper removes it.)
func (w *world) configureRotation(id string) {
	w.t.Helper()
	token := newUUID()
	_, err := w.sm.RotateSecret(w.t.Context(), &secretsmanager.RotateSecretInput{
		SecretId:           aws.String(id),
		ClientRequestToken: aws.String(token),
		RotationLambdaARN:  aws.String(rotationLambdaARN),
		RotationRules:      &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)},
		RotateImmediately:  aws.Bool(false),
	})
	if err != nil {
		w.t.Fatalf("RotateSecret(%s, RotateImmediately false) = %v", id, err)
	}
	if v := w.versionWith(id, rotation.StagePending); v != "" {
		w.endRotation(id, v)
	}
}

// putSecret creates a managed secret from fields and returns its ARN.
func (w *world) putSecret(name string, fields map[string]any) string {
	w.t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.putRaw(name, string(b))
}

// baseFields are a managed secret's user fields, plus foreign fields the
// Lambda must keep.
func (w *world) baseFields(token string) map[string]any {
	f := map[string]any{
		"app_id":         w.fx.AppID,
		"system_user_id": w.fx.SystemUserID,
		"scopes":         testScopes,
		"app_secret_ref": w.appRef,
		"team":           "ads-platform",
		"nested":         map[string]any{"owner": "ops", "list": []any{1, "two", nil}},
	}
	if token != "" {
		f["access_token"] = token
	}
	return f
}

// issue issues a system user token of the fixture's app and system user
// that expires in d (0: never; negative: already expired).
func (w *world) issue(d time.Duration, scopes ...string) string {
	if scopes == nil {
		scopes = testScopes
	}
	spec := minttest.TokenSpec{UserID: w.fx.SystemUserID, AppID: w.fx.AppID, Scopes: scopes}
	if d != 0 {
		spec.ExpiresAt = w.srv.Now().Add(d)
	}
	return w.srv.IssueToken(spec)
}

// stages returns the secret's labelled versions (versions without labels
// are left out, as Secrets Manager's DescribeSecret does).
func (w *world) stages(id string) map[string][]string {
	w.t.Helper()
	out, err := w.sm.DescribeSecret(w.t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		w.t.Fatalf("DescribeSecret(%s) = %v", id, err)
	}
	m := map[string][]string{}
	for v, labels := range out.VersionIdsToStages {
		if len(labels) > 0 {
			l := slices.Clone(labels)
			slices.Sort(l)
			m[v] = l
		}
	}
	return m
}

func (w *world) versionWith(id, label string) string {
	for v, labels := range w.stages(id) {
		if slices.Contains(labels, label) {
			return v
		}
	}
	return ""
}

// value returns a version's SecretString decoded; stage "" means by version ID only.
func (w *world) value(id, versionID, stage string) map[string]any {
	w.t.Helper()
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	if stage != "" {
		in.VersionStage = aws.String(stage)
	}
	out, err := w.sm.GetSecretValue(w.t.Context(), in)
	if err != nil {
		w.t.Fatalf("GetSecretValue(%s, %q, %q) = %v", id, versionID, stage, err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &m); err != nil {
		w.t.Fatalf("GetSecretValue(%s): SecretString is not JSON: %v", id, err)
	}
	return m
}

// raw returns a version's SecretString.
func (w *world) raw(id, versionID, stage string) string {
	w.t.Helper()
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	if stage != "" {
		in.VersionStage = aws.String(stage)
	}
	out, err := w.sm.GetSecretValue(w.t.Context(), in)
	if err != nil {
		w.t.Fatalf("GetSecretValue(%s, %q, %q) = %v", id, versionID, stage, err)
	}
	return aws.ToString(out.SecretString)
}

func (w *world) current(id string) map[string]any { return w.value(id, "", rotation.StageCurrent) }

// placeholder starts a rotation the way Secrets Manager does: moto's
// RotateSecret with the rotation function's ARN creates an empty AWSPENDING
// version whose ID is the returned token.
func (w *world) placeholder(id string) string {
	w.t.Helper()
	// A finished run leaves AWSPENDING on the current version, a valid end
	// state that AWS's RotateSecret accepts and moto refuses as "still in
	// progress": take it off first, as AWS's backend would.
	if v := w.versionWith(id, rotation.StagePending); v != "" && v == w.versionWith(id, rotation.StageCurrent) {
		w.endRotation(id, v)
	}
	token := newUUID()
	_, err := w.sm.RotateSecret(w.t.Context(), &secretsmanager.RotateSecretInput{
		SecretId:           aws.String(id),
		ClientRequestToken: aws.String(token),
		RotationLambdaARN:  aws.String(rotationLambdaARN),
		RotationRules:      &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)},
	})
	if err != nil {
		w.t.Fatalf("RotateSecret(%s) = %v", id, err)
	}
	return token
}

// endRotation does what Secrets Manager's backend does once a rotation has
// finished: it takes AWSPENDING off the new current version. (moto does not,
// and its next RotateSecret then refuses as "still in progress".)
func (w *world) endRotation(id, token string) {
	w.t.Helper()
	_, err := w.sm.UpdateSecretVersionStage(w.t.Context(), &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:            aws.String(id),
		VersionStage:        aws.String(rotation.StagePending),
		RemoveFromVersionId: aws.String(token),
	})
	if err != nil {
		w.t.Fatalf("UpdateSecretVersionStage(AWSPENDING off %s) = %v", token, err)
	}
}

// rotationEvent is a Secrets Manager rotation event's JSON.
func rotationEvent(step, secretID, token string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{
		"Step": step, "SecretId": secretID, "ClientRequestToken": token,
		"RotationToken": "rotation-token-" + token,
	})
	return b
}

// step invokes one rotation step through Handle.
func (w *world) step(step, id, token string) (Response, error) {
	return w.h.Handle(w.t.Context(), rotationEvent(step, id, token))
}

// secrets returns every secret value the emulator knows, and the proofs and
// app token built from them: none may appear in a log or a response.
func secretsOf(srv *minttest.Server, fx minttest.Fixture) []string {
	s := []string{fx.AppSecret, fx.AppID + "|" + fx.AppSecret}
	for _, tok := range srv.Tokens() {
		s = append(s, tok.Value, mint.AppSecretProof(fx.AppSecret, tok.Value))
	}
	return s
}

// assertNoSecrets fails when text holds any of secrets.
func assertNoSecrets(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s holds a secret (%.6s...)", what, s)
		}
	}
}

// chaos is internal/awstest's fault proxy in front of moto, with the few
// verbs these tests use. Its PutSecretValue behaves as on AWS: a second
// value for an existing version is refused with ResourceExistsException.
type chaos struct {
	*awstest.Proxy
	srv   struct{ URL string }
	mu    sync.Mutex
	fail  map[string]*awstest.Rule // set(op, true)
	rules []*awstest.Rule
	count hitCounter
}

// hitCounter counts the attempts a chaos's faults struck.
type hitCounter struct{ p *chaos }

func newChaos(t *testing.T, target string) *chaos {
	t.Helper()
	c := &chaos{Proxy: awstest.NewProxy(t, target), fail: map[string]*awstest.Rule{}}
	c.srv.URL = c.URL
	c.count.p = c
	return c
}

// Load is the number of attempts the injected faults struck.
func (n hitCounter) Load() int64 {
	n.p.mu.Lock()
	defer n.p.mu.Unlock()
	total := 0
	for _, r := range n.p.rules {
		total += r.Hits()
	}
	return int64(total)
}

func (c *chaos) inject(f awstest.Fault) *awstest.Rule {
	r := c.Inject(f)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rules = append(c.rules, r)
	return r
}

// set makes every call of op fail with a 500 before it reaches moto, or
// stops doing so.
func (c *chaos) set(op string, fail bool) {
	c.mu.Lock()
	r := c.fail[op]
	delete(c.fail, op)
	c.mu.Unlock()
	if r != nil {
		r.Remove()
	}
	if fail {
		r := c.inject(awstest.Fault{Op: op, Stage: awstest.BeforeCommit, Times: awstest.Forever})
		c.mu.Lock()
		c.fail[op] = r
		c.mu.Unlock()
	}
}

// failSecret makes the next n attempts of op that name secretID fail before
// they reach moto.
func (c *chaos) failSecret(op, secretID string, n int) {
	c.inject(awstest.Fault{Op: op, Stage: awstest.BeforeCommit, Times: n, SecretID: secretID})
}

// after makes the next n attempts of op commit in moto and lose their
// answer (a 500 instead).
func (c *chaos) after(op string, n int) {
	c.inject(awstest.Fault{Op: op, Stage: awstest.AfterCommit, Times: n})
}

// hold makes the next n attempts of op commit in moto and hold their answer
// until the client gives up.
func (c *chaos) hold(op string, n int) *awstest.Rule {
	return c.inject(awstest.Fault{Op: op, Stage: awstest.Hold, Times: n})
}

// countingSM counts the Secrets Manager calls the handler makes.
type countingSM struct {
	secretsAPI
	mu     sync.Mutex
	counts map[string]int
	moved  atomic.Int32 // UpdateSecretVersionStage calls that moved AWSCURRENT and were answered
}

func (c *countingSM) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[op]++
}

// take returns the counts so far and starts again from zero.
func (c *countingSM) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.counts
	c.counts = map[string]int{}
	return m
}

func (c *countingSM) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, o ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	c.add("DescribeSecret")
	return c.secretsAPI.DescribeSecret(ctx, in, o...)
}

func (c *countingSM) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.add("GetSecretValue")
	return c.secretsAPI.GetSecretValue(ctx, in, o...)
}

func (c *countingSM) PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	c.add("PutSecretValue")
	return c.secretsAPI.PutSecretValue(ctx, in, o...)
}

func (c *countingSM) UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, o ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error) {
	c.add("UpdateSecretVersionStage")
	out, err := c.secretsAPI.UpdateSecretVersionStage(ctx, in, o...)
	if err == nil && aws.ToString(in.VersionStage) == rotation.StageCurrent {
		c.moved.Add(1)
	}
	return out, err
}

func (c *countingSM) ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, o ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
	c.add("ListSecrets")
	return c.secretsAPI.ListSecrets(ctx, in, o...)
}

func (c *countingSM) RotateSecret(ctx context.Context, in *secretsmanager.RotateSecretInput, o ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error) {
	c.add("RotateSecret")
	return c.secretsAPI.RotateSecret(ctx, in, o...)
}

// inflight is an http.RoundTripper that records the most requests it had
// in flight at once. After gather(n), requests are held until n are in
// flight together, once: concurrency by count, not by latency.
type inflight struct {
	next     http.RoundTripper
	now, max atomic.Int64
	together int64         // set by gather before any request
	met      chan struct{} // closed once together requests were in flight
	once     sync.Once
}

// gather makes the next requests wait until n are in flight at once. After
// a minute (a bound only a hang reaches) holding stops, so that a run that
// never has n in flight fails on max rather than hanging.
func (f *inflight) gather(n int64) {
	f.together, f.met = n, make(chan struct{})
}

func (f *inflight) RoundTrip(r *http.Request) (*http.Response, error) {
	n := f.now.Add(1)
	defer f.now.Add(-1)
	for {
		m := f.max.Load()
		if n <= m || f.max.CompareAndSwap(m, n) {
			break
		}
	}
	if f.met != nil {
		if n >= f.together {
			f.once.Do(func() { close(f.met) })
		}
		select {
		case <-f.met:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		case <-time.After(time.Minute):
			f.once.Do(func() { close(f.met) }) // never n at once: stop holding
		}
	}
	return f.next.RoundTrip(r)
}

// graphCalls counts the emulator's requests by endpoint.
func graphCalls(srv *minttest.Server) map[minttest.Endpoint]int {
	m := map[minttest.Endpoint]int{}
	for _, r := range srv.Requests() {
		m[r.Endpoint]++
	}
	return m
}

// labelled returns the version of stages that holds label, or "".
func labelled(stages map[string][]string, label string) string {
	for v, labels := range stages {
		if slices.Contains(labels, label) {
			return v
		}
	}
	return ""
}

// checkRunErr checks the contract of a run's error: a *RunFailedError when
// any secret failed, and nil otherwise.
func checkRunErr(t *testing.T, resp Response, err error) {
	t.Helper()
	var failed *RunFailedError
	switch {
	case resp.Summary == nil:
		t.Fatalf("Handle = %v with no summary; want a run's results", err)
	case resp.Summary.Failed > 0 && !errors.As(err, &failed):
		t.Fatalf("Handle with %d failed secrets = %v; want a *RunFailedError", resp.Summary.Failed, err)
	case resp.Summary.Failed == 0 && err != nil:
		t.Fatalf("Handle = %v; want no error when no secret failed", err)
	}
}

// counts is s without MinDaysToExpiry, for comparing the counts alone.
func counts(s *rotation.Summary) *rotation.Summary {
	if s == nil {
		return nil
	}
	c := *s
	c.MinDaysToExpiry = nil
	return &c
}
