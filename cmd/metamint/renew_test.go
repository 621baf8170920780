package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/ghsecrets/ghsecretstest"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

const (
	canaryGitHubToken = "ghs_CANARYgithubTOKENc0ffee000000007"
	renewRepo         = "octo-org/deploy"
	renewSecret       = "META_ADMIN_TOKEN"
)

// renewSetup is an emulator with a system user token expiring in life (0:
// never; negative: expired), and a GitHub stand-in whose repository,
// environment "prod" and organization each hold that token in renewSecret.
type renewSetup struct {
	*world
	gh  *ghsecretstest.Server
	old string
}

func newRenewSetup(t *testing.T, life time.Duration) *renewSetup {
	t.Helper()
	w := &renewSetup{world: newWorld(t), gh: ghsecretstest.NewServer()}
	t.Cleanup(w.gh.Close)
	w.gh.SetClock(ghsecretstest.Ticking(time.Now()))
	w.s.InstallApp(w.fx.SystemUserID, w.fx.AppID)
	spec := minttest.TokenSpec{UserID: w.fx.SystemUserID, AppID: w.fx.AppID, Scopes: []string{"ads_read"}}
	if life != 0 {
		spec.ExpiresAt = w.s.Now().Add(life)
	}
	w.old = w.s.IssueToken(spec)
	w.gh.AddRepo(renewRepo)
	w.gh.AddRepo("octo-org/site")
	w.gh.AddEnvironment(renewRepo, "prod")
	w.gh.AddOrg("octo-org")
	w.gh.AddToken(canaryGitHubToken, ghsecretstest.SecretsWrite, ghsecretstest.EnvironmentsWrite, ghsecretstest.OrganizationSecretsWrite)
	w.gh.SetSecret(ghsecretstest.RepoScope(renewRepo), renewSecret, w.old, "")
	w.gh.SetSecret(ghsecretstest.EnvScope(renewRepo, "prod"), renewSecret, w.old, "")
	w.gh.SetSecret(ghsecretstest.OrgScope("octo-org"), renewSecret, w.old, "selected", "octo-org/site")
	return w
}

func (w *renewSetup) env() map[string]string {
	return map[string]string{
		envGraphURL:     w.s.URL,
		envAppSecret:    w.fx.AppSecret,
		envAccessToken:  w.old,
		envGitHubToken:  canaryGitHubToken,
		envGitHubAPIURL: w.gh.URL,
	}
}

// secrets lists every secret: app secret, every token, proofs, the GitHub
// token.
func (w *renewSetup) secrets() []string {
	out := []string{w.fx.AppSecret, w.fx.AppID + "|" + w.fx.AppSecret, canaryGitHubToken}
	for _, tok := range w.s.Tokens() {
		out = append(out, tok.Value, hmacHex(w.fx.AppSecret, tok.Value))
	}
	return out
}

func (w *renewSetup) fresh() []minttest.TokenState {
	var out []minttest.TokenState
	for _, tok := range w.s.Tokens() {
		if tok.Value != w.old && tok.Value != w.fx.AdminToken {
			out = append(out, tok)
		}
	}
	return out
}

// TestRenew runs metamint renew against minttest and the GitHub stand-in.
func TestRenew(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	tests := []struct {
		name      string
		life      time.Duration
		args      []string
		setup     func(w *renewSetup, env map[string]string)
		code      int
		stdout    string // exact, for a success
		stderr    string // a fragment
		scope     ghsecretstest.Scope
		newStored bool
		revoked   bool // the new token
		graph     int  // Graph calls; -1 any
		waits     int  // waits on the CLI's sleep (counted, never timed)
	}{
		{name: "repository", life: 10 * day, scope: ghsecretstest.RepoScope(renewRepo), newStored: true, graph: -1,
			args: []string{"--repo", renewRepo}, stdout: "new", stderr: "renewed the token in the repository secret META_ADMIN_TOKEN of octo-org/deploy"},
		{name: "environment", life: 10 * day, scope: ghsecretstest.EnvScope(renewRepo, "prod"), newStored: true, graph: -1,
			args: []string{"--repo", renewRepo, "--environment", "prod"}, stdout: "new", stderr: `environment "prod"`},
		{name: "organization", life: 10 * day, scope: ghsecretstest.OrgScope("octo-org"), newStored: true, graph: -1,
			args: []string{"--org", "octo-org"}, stdout: "new", stderr: "organization secret META_ADMIN_TOKEN of octo-org"},
		{name: "not due", life: 45 * day, scope: ghsecretstest.RepoScope(renewRepo), graph: 1,
			args: []string{"--repo", renewRepo}, stdout: "old", stderr: "nothing to renew yet"},
		{name: "never expires", life: 0, scope: ghsecretstest.RepoScope(renewRepo), graph: 1,
			args: []string{"--repo", renewRepo}, stdout: `{"renewed":false,"expires_at":""}` + "\n", stderr: "never expires"},
		{name: "expired", life: -day, scope: ghsecretstest.RepoScope(renewRepo), graph: 1, code: 1,
			args: []string{"--repo", renewRepo}, stderr: "Generate a new one in Business Settings"},
		{name: "bad GitHub token", life: 10 * day, scope: ghsecretstest.RepoScope(renewRepo), graph: 0, code: 1,
			args:   []string{"--repo", renewRepo},
			setup:  func(w *renewSetup, env map[string]string) { env[envGitHubToken] = "ghs_CANARYunknown00000000000008" },
			stderr: `GITHUB_TOKEN: reading the public key of the repository octo-org/deploy failed: GET /repos/{owner}/{repo}/actions/secrets/public-key: GitHub answered HTTP 401`},
		{name: "GITHUB_TOKEN missing", life: 10 * day, scope: ghsecretstest.RepoScope(renewRepo), graph: 0, code: 1,
			args:   []string{"--repo", renewRepo},
			setup:  func(w *renewSetup, env map[string]string) { delete(env, envGitHubToken) },
			stderr: "GITHUB_TOKEN is not set"},
		{name: "GitHub token as a flag", life: 10 * day, scope: ghsecretstest.RepoScope(renewRepo), graph: 0, code: 2,
			args: []string{"--repo", renewRepo, "--github-token=" + canaryGitHubToken}, stderr: "GITHUB_TOKEN"},
		{name: "--within out of range", life: 10 * day, scope: ghsecretstest.RepoScope(renewRepo), graph: 0, code: 1,
			args: []string{"--repo", renewRepo, "--within", "366"}, stderr: "--within must be a whole number of days from 1 to 365"},
		{name: "bad repository", life: 10 * day, scope: ghsecretstest.RepoScope(renewRepo), graph: 0, code: 1,
			args: []string{"--repo", "not a repository"}, stderr: "--repo"},
		{name: "bad secret name", life: 10 * day, scope: ghsecretstest.RepoScope(renewRepo), graph: 0, code: 1,
			args: []string{"--repo", renewRepo, "--github-secret", "GITHUB_TOKEN"}, stderr: "--github-secret"},
		{name: "--org with --repo", life: 10 * day, scope: ghsecretstest.RepoScope(renewRepo), graph: 0, code: 2,
			args: []string{"--repo", renewRepo, "--org", "octo-org"}, stderr: "--org names an organization secret"},
		{name: "refused write", life: 10 * day, scope: ghsecretstest.RepoScope(renewRepo), graph: -1, code: 1, revoked: true,
			args: []string{"--repo", renewRepo},
			setup: func(w *renewSetup, env map[string]string) {
				w.gh.FailNextWrite(http.StatusUnprocessableEntity, "Bad request")
			},
			stderr: "The new token was revoked."},
		{name: "rate-limited write", life: 10 * day, scope: ghsecretstest.RepoScope(renewRepo), newStored: true, graph: -1, waits: 1,
			args: []string{"--repo", renewRepo}, stdout: "new",
			setup: func(w *renewSetup, env map[string]string) {
				w.gh.RateLimitNext(ghsecretstest.RateLimit{Method: http.MethodPut, Status: http.StatusTooManyRequests,
					Message: "You have exceeded a secondary rate limit.", Header: http.Header{"Retry-After": {"1"}}})
			},
			stderr: "metamint renew: GitHub's rate limit answered PUT /repos/{owner}/{repo}/actions/secrets/{secret_name}: waiting 1s before sending it again\n"},
		{name: "lost write answer twice", life: 10 * day, scope: ghsecretstest.RepoScope(renewRepo), graph: -1, code: 1, newStored: true,
			args: []string{"--repo", renewRepo},
			setup: func(w *renewSetup, env map[string]string) {
				w.gh.DropNextWrites(1)
				w.gh.LoseNextWrites(1)
			},
			stderr: "sending it once more failed too"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newRenewSetup(t, tt.life)
			env := w.env()
			if tt.setup != nil {
				tt.setup(w, env)
			}
			args := append([]string{"renew", "--app-id", w.fx.AppID, "--github-secret", renewSecret}, tt.args...)
			r := runCLIWith(t, env, "", []func(*cli){func(c *cli) { c.sleep = w.sleep }}, args...)
			if r.code != tt.code {
				t.Fatalf("exit code = %d; want %d\nstderr:\n%s", r.code, tt.code, r.stderr)
			}
			if got := len(w.recordedWaits()); got != tt.waits {
				t.Errorf("waits = %d; want %d", got, tt.waits)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr = %q; want it to say %q", r.stderr, tt.stderr)
			}
			fresh := w.fresh()
			switch tt.stdout {
			case "new":
				if len(fresh) != 1 {
					t.Fatalf("refreshed tokens = %d; want 1", len(fresh))
				}
				if want := `{"renewed":true,"expires_at":"` + fresh[0].ExpiresAt.UTC().Truncate(time.Second).Format(time.RFC3339) + "\"}\n"; r.stdout != want {
					t.Errorf("stdout = %q; want %q", r.stdout, want)
				}
			case "old":
				st, _ := w.s.Token(w.old)
				if want := `{"renewed":false,"expires_at":"` + st.ExpiresAt.UTC().Truncate(time.Second).Format(time.RFC3339) + "\"}\n"; r.stdout != want {
					t.Errorf("stdout = %q; want %q", r.stdout, want)
				}
			default:
				if r.stdout != tt.stdout {
					t.Errorf("stdout = %q; want %q", r.stdout, tt.stdout)
				}
			}
			if tt.graph >= 0 {
				if got := len(w.s.Requests()); got != tt.graph {
					t.Errorf("Graph calls = %d; want %d", got, tt.graph)
				}
			}
			got, _ := w.gh.Secret(tt.scope, renewSecret)
			if stored := got.Value != w.old; stored != tt.newStored {
				t.Errorf("the secret holds a new token: %v; want %v", stored, tt.newStored)
			}
			if tt.newStored && (len(fresh) != 1 || got.Value != fresh[0].Value) {
				t.Errorf("the secret does not hold the refreshed token")
			}
			if tt.scope == ghsecretstest.OrgScope("octo-org") && (got.Visibility != "selected" || len(got.Repos) != 1 || got.Repos[0] != "octo-org/site") {
				t.Errorf("org secret visibility %q repos %v; want selected [octo-org/site] kept", got.Visibility, got.Repos)
			}
			if st, _ := w.s.Token(w.old); st.Revoked {
				t.Errorf("the old token was revoked")
			}
			for _, tok := range fresh {
				if tok.Revoked != tt.revoked {
					t.Errorf("new token revoked = %v; want %v", tok.Revoked, tt.revoked)
				}
			}
			for _, sec := range append(w.secrets(), "ghs_CANARYunknown00000000000008") {
				if strings.Contains(r.stdout, sec) || strings.Contains(r.stderr, sec) {
					t.Errorf("a secret appears in the output:\nstdout %q\nstderr %q", r.stdout, r.stderr)
				}
			}
		})
	}
}

// TestBinaryRenew builds the CLI and runs renew as a person runs it: the
// secrets only in the environment, nothing of them in argv, stdout or
// stderr.
func TestBinaryRenew(t *testing.T) {
	t.Parallel()
	bin := buildCLI(t)
	w := newRenewSetup(t, 10*24*time.Hour)
	args := []string{"renew", "--app-id", w.fx.AppID, "--repo", renewRepo, "--github-secret", renewSecret, "--within", "30"}
	cmd := exec.CommandContext(t.Context(), bin, args...)
	for k, v := range w.env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("metamint renew = %v\nstderr:\n%s", err, stderr.String())
	}
	fresh := w.fresh()
	if len(fresh) != 1 {
		t.Fatalf("refreshed tokens = %d; want 1", len(fresh))
	}
	if got, _ := w.gh.Secret(ghsecretstest.RepoScope(renewRepo), renewSecret); got.Value != fresh[0].Value {
		t.Errorf("the secret does not hold the refreshed token")
	}
	if want := `{"renewed":true,"expires_at":"` + fresh[0].ExpiresAt.UTC().Truncate(time.Second).Format(time.RFC3339) + "\"}\n"; stdout.String() != want {
		t.Errorf("stdout = %q; want %q", stdout.String(), want)
	}
	for _, sec := range w.secrets() {
		for _, s := range append([]string{stdout.String(), stderr.String()}, args...) {
			if strings.Contains(s, sec) {
				t.Errorf("a secret appears in argv, stdout or stderr: %q", s)
			}
		}
	}
}

// TestRenewExtendedInPlace: Graph answers the refresh with the token the
// secret holds and a later expiry: it extended the token in place. renew
// writes it back and says so; it must not say the old token works only
// until its old expiry, which is no longer true.
func TestRenewExtendedInPlace(t *testing.T) {
	t.Parallel()
	w := newRenewSetup(t, 10*24*time.Hour)
	before := w.s.Now().Add(10 * 24 * time.Hour).Truncate(time.Second)
	after := w.s.Now().Add(60 * 24 * time.Hour).Truncate(time.Second)
	debug := func(exp time.Time) minttest.Fault {
		return minttest.Fault{Status: http.StatusOK, Body: fmt.Appendf(nil,
			`{"data":{"app_id":%q,"type":"SYSTEM_USER","application":"Metamint Test App","expires_at":%d,"is_valid":true,"issued_at":1,"scopes":["ads_read"],"user_id":%q}}`,
			w.fx.AppID, exp.Unix(), w.fx.SystemUserID)}
	}
	w.s.FailNext(minttest.EndpointDebugToken, debug(before))
	w.s.FailNext(minttest.EndpointExchange, minttest.Fault{Status: http.StatusOK,
		Body: fmt.Appendf(nil, `{"access_token":%q,"token_type":"bearer","expires_in":5184000}`, w.old)})
	w.s.FailNext(minttest.EndpointDebugToken, debug(after))
	r := runCLI(t, w.env(), "", "renew", "--app-id", w.fx.AppID, "--repo", renewRepo, "--github-secret", renewSecret)
	if r.code != 0 {
		t.Fatalf("exit code = %d; want 0\nstderr:\n%s", r.code, r.stderr)
	}
	if want := `{"renewed":true,"expires_at":"` + after.UTC().Format(time.RFC3339) + "\"}\n"; r.stdout != want {
		t.Errorf("stdout = %q; want %q", r.stdout, want)
	}
	if strings.Contains(r.stderr, before.UTC().Format(time.RFC3339)) || !strings.Contains(r.stderr, "in place") {
		t.Errorf("stderr = %q; want it to say Graph extended the token in place, not that it works until its old expiry", r.stderr)
	}
	if got, _ := w.gh.Secret(ghsecretstest.RepoScope(renewRepo), renewSecret); got.Value != w.old {
		t.Errorf("the secret does not hold the extended token")
	}
}
