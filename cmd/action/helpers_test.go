package main

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sethvargo/go-githubactions"

	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// withMintOptions appends options to those run builds the mint.Client with
// (base URL, version, retry), so they win: tests pass minttest's HTTP client.
func withMintOptions(opts ...mint.Option) option {
	return func(c *config) { c.mintOptions = append(c.mintOptions, opts...) }
}

// withRetryPolicy replaces mint.DefaultRetryPolicy, so tests retry with short
// waits.
func withRetryPolicy(p mint.RetryPolicy) option {
	return withMintOptions(mint.WithRetry(p))
}

// withClock sets the clock the post step compares the token's expiry with,
// which the renewal reads too (and its GitHub client, with withSleep).
func withClock(now func() time.Time) option {
	return func(c *config) { c.now = now }
}

// withSecretsManager replaces the SDK's configuration chain with sm.
func withSecretsManager(sm secret.Getter) option {
	return func(c *config) {
		c.secrets = func(context.Context) (secret.Getter, error) { return sm, nil }
	}
}

// withSleep sets how the Graph client (front.Waiting) and the renewal's
// GitHub client wait.
func withSleep(sleep func(context.Context, time.Duration) error) option {
	return func(c *config) { c.sleep = sleep }
}

// withTimeout replaces defaultTimeout.
func withTimeout(d time.Duration) option {
	return func(c *config) { c.timeout = d }
}

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// updating reports whether golden files are to be rewritten: -update, or
// UPDATE_GOLDEN=1 in the environment.
func updating() bool { return *update || os.Getenv("UPDATE_GOLDEN") == "1" }

// fastRetry is DefaultRetryPolicy's shape with waits short enough for tests.
var fastRetry = mint.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}

// Canary secrets: distinctive strings that must never appear in the clear.
const (
	canaryAppSecret   = "CANARYappSECRETf00dfacecafe0001"
	canaryWrongSecret = "CANARYwrongSECRETdeadbeef000002"
	canaryBadToken    = "EAACANARYnotAtokenAtAllZZ000003"
)

// world is a seeded emulator. Its app secret is a canary; the admin token is
// the emulator's random value, equally unique.
type world struct {
	tb           testing.TB
	srv          *minttest.Server
	businessID   string
	appID        string
	appSecret    string
	adminToken   string
	systemUserID string // has not installed the app
	// stepCtx, when set, is the parent context of the next step runStep
	// runs (then cleared); nil means the test's.
	stepCtx context.Context
}

func newWorld(t *testing.T, opts ...minttest.Option) *world {
	t.Helper()
	s := minttest.NewServer(opts...)
	t.Cleanup(s.Close)
	w := &world{
		tb:           t,
		srv:          s,
		businessID:   "100000000000001",
		appID:        "200000000000002",
		appSecret:    canaryAppSecret,
		systemUserID: "400000000000004",
	}
	const adminID = "300000000000003"
	s.AddBusiness(minttest.Business{ID: w.businessID, Name: "Canary Business"})
	s.AddApp(minttest.App{ID: w.appID, Name: "Canary App", Secret: w.appSecret, BusinessID: w.businessID})
	s.AddSystemUser(minttest.SystemUser{ID: adminID, BusinessID: w.businessID, Name: "Admin", Role: "ADMIN"})
	s.AddSystemUser(minttest.SystemUser{ID: w.systemUserID, BusinessID: w.businessID, Name: "Deployer"})
	s.InstallApp(adminID, w.appID)
	w.adminToken = s.IssueToken(minttest.TokenSpec{UserID: adminID, AppID: w.appID, Scopes: []string{"business_management"}})
	return w
}

// deadlineAtRequest returns a parent context for a step whose deadline
// passes once the emulator has received a request to e: a deadline that
// comes while that call is held, reached by count, however slow the
// machine.
func (w *world) deadlineAtRequest(e minttest.Endpoint) context.Context {
	cue := clock.NewCue(time.Hour)
	w.tb.Cleanup(cue.Expire)
	go func() {
		for {
			for _, r := range w.srv.Requests() {
				if r.Endpoint == e {
					cue.Expire()
					return
				}
			}
			select {
			case <-cue.Done():
				return
			case <-time.After(time.Millisecond): // polling, not a bound
			}
		}
	}()
	return cue
}

// inputs returns the environment the runner gives a step that mints
// ads_read and business_management for the system user, before any change:
// every input action.yml declares, defaults included (runnerEnv).
func (w *world) inputs() map[string]string {
	return runnerEnv(w.tb, map[string]string{
		"INPUT_APP-ID":         w.appID,
		"INPUT_APP-SECRET":     w.appSecret,
		"INPUT_ACCESS-TOKEN":   w.adminToken,
		"INPUT_SYSTEM-USER-ID": w.systemUserID,
		"INPUT_SCOPES":         "ads_read, business_management",
		"INPUT_GRAPH-API-URL":  w.srv.URL,
	})
}

// secrets lists every secret value the world knows: inputs, derived values
// and the tokens the emulator issued, the minted ones included.
func (w *world) secrets() []string {
	out := []string{canaryAppSecret, canaryWrongSecret, canaryBadToken,
		mint.AppSecretProof(canaryAppSecret, w.adminToken),
		mint.AppSecretProof(canaryWrongSecret, w.adminToken),
		mint.AppSecretProof(canaryAppSecret, canaryBadToken),
	}
	for _, tok := range w.srv.Tokens() {
		out = append(out, tok.Value)
	}
	return out
}

// minted returns the tokens the emulator minted (not the seeded admin token).
func (w *world) minted() []minttest.TokenState {
	var out []minttest.TokenState
	for _, tok := range w.srv.Tokens() {
		if tok.Value != w.adminToken {
			out = append(out, tok)
		}
	}
	return out
}

// count returns how many requests reached endpoint e.
func (w *world) count(e minttest.Endpoint) int {
	n := 0
	for _, r := range w.srv.Requests() {
		if r.Endpoint == e {
			n++
		}
	}
	return n
}

// result is what one run of the program left behind.
type result struct {
	err     error
	stdout  string
	output  string            // the GITHUB_OUTPUT file
	state   string            // the GITHUB_STATE file
	summary string            // the GITHUB_STEP_SUMMARY file
	outputs map[string]string // parsed as the runner does
	saved   map[string]string // parsed state
}

// unset marks an environment variable the test wants absent.
const unset = "\x00unset"

// runStep runs the program in-process as main does: args, env (built
// with runnerEnv: every declared input; plus temp files for GITHUB_OUTPUT,
// GITHUB_STATE and GITHUB_STEP_SUMMARY unless env names them), stdout into
// a buffer, and on error the ::error:: line main writes.
func runStep(t *testing.T, w *world, env map[string]string, args []string, opts ...option) result {
	t.Helper()
	// The runner passes every input action.yml declares: an env built
	// without runnerEnv would test a step no runner runs.
	for name := range declaredInputs(t) {
		if _, ok := env[inputEnv(name)]; !ok {
			t.Fatalf("runStep: env lacks %s: build it with runnerEnv", inputEnv(name))
		}
	}
	dir := t.TempDir()
	full := map[string]string{}
	for _, k := range []string{"GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"} {
		f := filepath.Join(dir, strings.ToLower(k))
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		full[k] = f
	}
	for k, v := range env {
		full[k] = v
	}
	for k, v := range full {
		if v == unset {
			delete(full, k)
		}
	}
	var buf bytes.Buffer
	a := githubactions.New(
		githubactions.WithGetenv(func(k string) string { return full[k] }),
		githubactions.WithWriter(&buf),
	)
	base := []option{withRetryPolicy(fastRetry), withTimeout(20 * time.Second)}
	if w != nil {
		base = append(base, withMintOptions(mint.WithHTTPClient(w.srv.Client())))
	}
	ctx := t.Context()
	if w != nil && w.stepCtx != nil {
		ctx, w.stepCtx = w.stepCtx, nil
	}
	err := run(ctx, a, args, append(base, opts...)...)
	if err != nil {
		a.Errorf("%s", err)
	}
	r := result{err: err, stdout: buf.String()}
	r.output = readFile(t, full["GITHUB_OUTPUT"])
	r.state = readFile(t, full["GITHUB_STATE"])
	r.summary = readFile(t, full["GITHUB_STEP_SUMMARY"])
	r.outputs = parseFileCommands(t, r.output)
	r.saved = parseFileCommands(t, r.state)
	return r
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	if name == "" {
		return ""
	}
	b, err := os.ReadFile(filepath.Clean(name))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// parseFileCommands reads a GITHUB_OUTPUT or GITHUB_STATE file as the
// runner does: "name=value" lines and "name<<DELIM" heredocs; the last
// value of a name wins.
func parseFileCommands(t *testing.T, text string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			var val []string
			j := i + 1
			for ; j < len(lines) && lines[j] != delim; j++ {
				val = append(val, lines[j])
			}
			if j == len(lines) {
				t.Fatalf("file command %q: no closing delimiter %q in %q", name, delim, text)
			}
			out[name] = strings.Join(val, "\n")
			i = j
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("file command line %q is neither name=value nor name<<delimiter", line)
		}
		out[name] = val
	}
	return out
}

// postEnv returns the environment of the post step after main left r: the
// inputs again (the runner passes them to every stage) and STATE_*.
func postEnv(in map[string]string, r result) map[string]string {
	env := map[string]string{}
	for k, v := range in {
		env[k] = v
	}
	for k, v := range r.saved {
		env["STATE_"+k] = v
	}
	return env
}

var (
	delimRE = regexp.MustCompile(`ghadelimiter_[A-Z2-7]+`)
	timeRE  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	traceRE = regexp.MustCompile(`fbtrace_id [A-Za-z0-9_\-]+`)
	urlRE   = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
)

// normalize replaces what changes from run to run with placeholders:
// secrets and tokens, times, trace IDs, the emulator's port, delimiters.
func normalize(w *world, s string) string {
	if w != nil {
		pairs := []string{
			mint.AppSecretProof(canaryAppSecret, w.adminToken), "<PROOF>",
			mint.AppSecretProof(canaryWrongSecret, w.adminToken), "<WRONG_PROOF>",
			mint.AppSecretProof(canaryAppSecret, canaryBadToken), "<BAD_TOKEN_PROOF>",
			w.adminToken, "<ACCESS_TOKEN>",
		}
		for i, tok := range w.minted() {
			name := string(rune('A' + i))
			pairs = append(pairs, mint.AppSecretProof(canaryAppSecret, tok.Value), "<MINTED_PROOF_"+name+">",
				tok.Value, "<MINTED_TOKEN_"+name+">")
		}
		s = strings.NewReplacer(pairs...).Replace(s)
	}
	s = delimRE.ReplaceAllString(s, "ghadelimiter_<RANDOM>")
	s = timeRE.ReplaceAllString(s, "<TIME>")
	s = traceRE.ReplaceAllString(s, "fbtrace_id <TRACE>")
	s = urlRE.ReplaceAllString(s, "<GRAPH_URL>")
	return s
}

// golden compares got with testdata/name, or rewrites it when updating.
func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if updating() {
		if err := os.WriteFile(file, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := fs.ReadFile(os.DirFS("testdata"), name)
	if err != nil {
		t.Fatalf("reading golden file: %v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", file, diff)
	}
}

// checkNoLeaks fails when a secret appears anywhere but where it must: on
// stdout only inside ::add-mask:: lines, each registered before any other
// line mentions it; in the output file only as the token output; in the
// state file only as the saved token and that token's own proof; never in
// the summary.
func checkNoLeaks(t *testing.T, secrets []string, r result) {
	t.Helper()
	ownProof := func(v string) bool { // the saved token's proof under one of secrets
		for _, key := range secrets {
			if key != "" && v == mint.AppSecretProof(key, r.saved[stateToken]) {
				return true
			}
		}
		return false
	}
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		for i, line := range strings.Split(r.stdout, "\n") {
			if !strings.HasPrefix(line, "::add-mask::") && strings.Contains(line, sec) {
				t.Errorf("stdout line %d holds a secret in the clear: %q", i+1, line)
			}
		}
		for name, v := range r.outputs {
			if strings.Contains(v, sec) && (name != outToken || v != sec) {
				t.Errorf("output %q holds a secret", name)
			}
		}
		for name, v := range r.saved {
			if strings.Contains(v, sec) && (name != stateToken || v != sec) && (name != stateTokenProof || !ownProof(v)) {
				t.Errorf("state %q holds a secret", name)
			}
		}
		if strings.Contains(r.summary, sec) {
			t.Errorf("the job summary holds a secret")
		}
		if r.err != nil && strings.Contains(r.err.Error(), sec) {
			t.Errorf("the error holds a secret")
		}
	}
}

// checkMasksFirst checks that stdout starts with ::add-mask:: lines for
// every input secret, each of its lines and each value derived from it, and
// that a minted token is masked before any later command.
func checkMasksFirst(t *testing.T, w *world, in map[string]string, r result) {
	t.Helper()
	get := func(k string) string {
		if v := in[k]; v != unset {
			return v
		}
		return ""
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	n := 0
	for n < len(lines) && strings.HasPrefix(lines[n], "::add-mask::") {
		n++
	}
	masks := map[string]bool{}
	for _, l := range lines[:n] {
		masks[strings.TrimPrefix(l, "::add-mask::")] = true
	}
	var want []string
	secret, token, minting := get("INPUT_APP-SECRET"), get("INPUT_ACCESS-TOKEN"), get("INPUT_MINTING-APP-SECRET")
	for _, v := range []string{secret, token, minting, get("STATE_" + stateToken)} {
		if v == "" {
			continue
		}
		want = append(want, strings.ReplaceAll(v, "\n", "%0A"))
		if strings.Contains(v, "\n") {
			want = append(want, strings.Split(v, "\n")...)
		}
	}
	if secret != "" && token != "" {
		want = append(want, mint.AppSecretProof(secret, token))
	}
	if minting != "" && token != "" {
		want = append(want, mint.AppSecretProof(minting, token))
	}
	if secret != "" {
		want = append(want, strings.ReplaceAll(get("INPUT_APP-ID")+"|"+secret, "\n", "%0A"))
	}
	for _, m := range want {
		if !masks[m] {
			t.Errorf("stdout does not start with an ::add-mask:: line for %q; it starts:\n%s", m, strings.Join(lines[:n+1], "\n"))
		}
	}
	if w == nil {
		return
	}
	for _, tok := range w.minted() {
		i := slices.Index(lines, "::add-mask::"+tok.Value)
		if i < 0 {
			if r.outputs[outToken] == tok.Value {
				t.Errorf("minted token handed over without an ::add-mask:: line")
			}
			continue
		}
		// Only what comes before the mint may precede its mask line: the
		// input masks, a scope warning, the install line.
		for _, l := range lines[min(n, i):i] {
			if !strings.HasPrefix(l, "::warning::") && !strings.HasPrefix(l, "Installed app ") && !strings.HasPrefix(l, "Read the managed secret ") {
				t.Errorf("line %q comes before the minted token's mask line", l)
			}
		}
	}
}

// newTestAction returns an Action reading env and writing to a buffer.
func newTestAction(env map[string]string) (*githubactions.Action, *bytes.Buffer) {
	var buf bytes.Buffer
	return githubactions.New(
		githubactions.WithGetenv(func(k string) string { return env[k] }),
		githubactions.WithWriter(&buf),
	), &buf
}
