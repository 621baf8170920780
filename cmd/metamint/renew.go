package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/metamint/metamint/internal/front"
	"github.com/metamint/metamint/internal/ghsecrets"
	"github.com/metamint/metamint/internal/renew"
	"github.com/metamint/metamint/pkg/mint"
)

// Environment variables of renew.
const (
	envGitHubToken  = "GITHUB_TOKEN"
	envGitHubAPIURL = "GITHUB_API_URL"
)

// renewOutput is what renew prints on standard output.
type renewOutput struct {
	Renewed   bool   `json:"renewed"`
	ExpiresAt string `json:"expires_at"`
}

var renewCommand = &command{
	name:     "renew",
	synopsis: "--app-id ID --repo OWNER/REPO --github-secret NAME [--environment ENV | --org ORG] [--within DAYS] [flags]",
	summary:  "refresh the token kept in a GitHub Actions secret and write it back, sealed",
	about: `Renews METAMINT_ACCESS_TOKEN, the token kept in the GitHub Actions secret --github-secret (of
--repo, of its environment --environment, or of the organization --org), as the action's renewal
mode does: it reads the secret's public key with GITHUB_TOKEN first (a token without the
permission fails before any Graph call), inspects the token with debug_token, and when it expires
within --within days refreshes it (GET /oauth/access_token), checks the new token (valid, same
app, system user and scopes, later expiry) and writes it to the secret, sealed to its public key.
An organization secret keeps its visibility and selected repositories; a secret that does not
exist is never created. The old token is never revoked. A secret written during the renewal (by a person, or by another renewal: its updated_at
changed) is never overwritten, and the new token is then kept: the other write may hold it. A new
token GitHub refused to store is revoked while the secret is unchanged. A write that got no answer
is sent once more only while the secret is unchanged; when it may have been stored, the new token
is kept. A GitHub rate limit is waited out (the wait is printed) while it is short.

Reads METAMINT_APP_SECRET (the secret of --app-id, the app the token was generated with),
METAMINT_ACCESS_TOKEN and GITHUB_TOKEN (a GitHub App installation token or a fine-grained token
with the Secrets write permission; Environments too for an environment secret, organization
Secrets for an organization secret). Prints {"renewed","expires_at"} on standard output.`,
	setup: func(fs *flag.FlagSet, c *cli) func(context.Context) error {
		var g graphFlags
		g.register(fs, c)
		appID := fs.String("app-id", "", "the app the token was generated with; required")
		repo := fs.String("repo", "", "the repository OWNER/REPO of the secret; required unless --org")
		name := fs.String("github-secret", "", "the name of the GitHub Actions secret that holds the token; required")
		env := fs.String("environment", "", "the secret is an environment secret of this environment of --repo")
		org := fs.String("org", "", "the secret is an organization secret of this organization")
		within := fs.Int("within", renew.DefaultWithinDays, fmt.Sprintf("renew when the token expires within this many days (1 to %d)", renew.MaxWithinDays))
		apiURL := fs.String("github-api-url", c.envOr(envGitHubAPIURL, ghsecrets.DefaultBaseURL),
			"GitHub REST API base URL; $"+envGitHubAPIURL+" sets the default")
		return func(ctx context.Context) error {
			required := []string{"app-id", "github-secret"}
			if *org == "" {
				required = append(required, "repo")
			}
			cl, err := g.requiredClient(fs, required...)
			if err != nil {
				return err
			}
			switch {
			case *org != "" && (*env != "" || *repo != ""):
				return usagef("--org names an organization secret: leave out --repo and --environment")
			case *within < 1 || *within > renew.MaxWithinDays:
				return fmt.Errorf("--within must be a whole number of days from 1 to %d", renew.MaxWithinDays)
			}
			target := ghsecrets.Target{Name: *name, Repo: *repo, Environment: *env, Org: *org}
			if cerr := target.Check(); cerr != nil {
				return fmt.Errorf("--github-secret, --repo, --environment, --org: %s", front.Message(cerr))
			}
			secret, err := c.appSecret()
			if err != nil {
				return err
			}
			token, err := c.secret(envAccessToken, "the token the secret holds")
			if err != nil {
				return err
			}
			ghToken, err := c.secret(envGitHubToken, "a token allowed to write the secret")
			if err != nil {
				return err
			}
			if _, uerr := ghsecrets.CheckBaseURL(*apiURL); uerr != nil {
				return fmt.Errorf("%s: %s", c.source(fs, "github-api-url", envGitHubAPIURL), front.Message(uerr))
			}
			ghOpts := []ghsecrets.Option{ghsecrets.WithBaseURL(*apiURL),
				ghsecrets.WithWaitNotice(func(call string, d time.Duration) {
					c.stderr.printf("metamint renew: %s\n", front.GitHubWait(call, d))
				})}
			if c.sleep != nil {
				// GitHub's waits go where the Graph client's go.
				ghOpts = append(ghOpts, ghsecrets.WithClock(time.Now, c.sleep))
			}
			gh, err := ghsecrets.NewClient(ghToken, ghOpts...)
			if err != nil {
				return fmt.Errorf("%s or --github-api-url: %s", envGitHubToken, front.Message(err))
			}
			res, err := renew.Run(ctx, renew.Config{
				Graph:       cl,
				App:         mint.App{ID: *appID, Secret: secret},
				AccessToken: token,
				GitHub:      gh,
				Target:      target,
				Within:      time.Duration(*within) * 24 * time.Hour,
				// The new token is redacted from every later line.
				Hide:        c.red.AddToken,
				GitHubToken: envGitHubToken,
			})
			if err != nil {
				return err
			}
			where := front.Terminal(target.String())
			switch res.Outcome {
			case renew.NeverExpires:
				c.stderr.printf("metamint renew: the token in the %s never expires: nothing to renew\n", where)
			case renew.NotDue:
				c.stderr.printf("metamint renew: the token in the %s expires %s, more than %d days from now: nothing to renew yet\n",
					where, front.Time(res.ExpiresAt), *within)
			case renew.Renewed:
				if res.InPlace {
					c.stderr.printf("metamint renew: renewed the token in the %s: Graph extended it in place (the refresh answered the same token); it now expires %s\n",
						where, front.Time(res.ExpiresAt))
					break
				}
				c.stderr.printf("metamint renew: renewed the token in the %s; it expires %s. The old token was not revoked and works until %s\n",
					where, front.Time(res.ExpiresAt), front.Time(res.Previous.ExpiresAt))
			}
			out := renewOutput{Renewed: res.Outcome == renew.Renewed}
			if !res.ExpiresAt.IsZero() {
				out.ExpiresAt = front.Time(res.ExpiresAt)
			}
			b, err := json.Marshal(out)
			if err != nil {
				return err
			}
			return c.printLine(string(b))
		}
	},
}
