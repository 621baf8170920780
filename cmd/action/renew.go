package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/metamint/metamint/internal/front"
	"github.com/metamint/metamint/internal/ghsecrets"
	"github.com/metamint/metamint/internal/renew"
	"github.com/metamint/metamint/pkg/mint"
)

// The renewal mode (renew-secret): the step renews access-token, kept in a
// GitHub Actions secret, and writes the new token back sealed. It mints no
// job token, saves no state, and its post step has nothing to revoke. The
// flow is internal/renew's; this file reads the inputs and renders.

// Inputs of the renewal mode.
const (
	inRenewSecret      = "renew-secret"
	inRenewWithin      = "renew-within"
	inRenewEnvironment = "renew-environment"
	inRenewOrg         = "renew-org"
	inGitHubToken      = "github-token"
	inGitHubAPIURL     = "github-api-url"
)

// Outputs of the renewal mode (expires-at is outExpiresAt).
const outRenewed = "renewed"

// renewing reports whether the step runs in renewal mode.
func renewing(a *githubactions.Action) bool { return a.GetInput(inRenewSecret) != "" }

// declared is an input with its default in action.yml. The runner passes
// every input a step declares, the default when the workflow sets none, so
// an input is set when its value differs from the default; an empty
// boolean is its default too, as parseBool reads it.
type declared struct {
	name, def string
	boolean   bool // "true" or "false" (parseBool)
}

// renewOnlyInputs are the inputs only the renewal mode reads.
var renewOnlyInputs = []declared{{name: inRenewEnvironment}, {name: inRenewOrg}, {name: inGitHubToken}}

// mintOnlyInputs are the inputs only the mint path reads: a renewal
// refreshes the token in the secret, whose system user and scopes
// debug_token names, and mints no job token for the post step to revoke.
// minting-app-secret and aws-secret-id are refused with reasons of their
// own (renewInputs).
var mintOnlyInputs = []declared{
	{name: inSystemUserID},
	{name: inScopes},
	{name: inInstallApp, def: "false", boolean: true},
	{name: inExpiringToken, def: "true", boolean: true},
	{name: inSkipTokenRevoke, def: "false", boolean: true},
	{name: inAllowUnlistedScopes, boolean: true},
}

// setInputs returns the names of the inputs of ins that are set, and a
// problem for each invalid boolean among them, as the mint path words it.
func setInputs(a *githubactions.Action, ins []declared) (set, problems []string) {
	for _, in := range ins {
		raw := a.GetInput(in.name)
		if raw == in.def || (in.boolean && raw == "") {
			continue
		}
		if in.boolean {
			if _, err := parseBool(in.name, raw, false); err != nil {
				problems = append(problems, err.Error())
				continue
			}
		}
		set = append(set, in.name)
	}
	return set, problems
}

// inputsAre names inputs in a sentence: "input a is", "inputs a and b
// are", "inputs a, b and c are".
func inputsAre(names []string) string {
	if len(names) == 1 {
		return "input " + names[0] + " is"
	}
	return "inputs " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " are"
}

// strayRenewInputs refuses, on the mint path, the renewal inputs that only
// make sense with renew-secret: a step meant to renew a secret must not
// mint a job token instead because renew-secret was left out.
func strayRenewInputs(a *githubactions.Action) error {
	set, _ := setInputs(a, renewOnlyInputs)
	if len(set) == 0 {
		return nil
	}
	return fmt.Errorf("%s set, but %s is empty: they are for renewal mode. Set %s to the name of the secret to renew, or remove them",
		inputsAre(set), inRenewSecret, inRenewSecret)
}

// strayMintInputs returns the problems of the inputs only the mint path
// reads, in renewal mode: an invalid boolean, as the mint path refuses
// it, and every input set, which has no effect with renew-secret.
func strayMintInputs(a *githubactions.Action) []string {
	set, problems := setInputs(a, mintOnlyInputs)
	if len(set) > 0 {
		it, them := "it has", "it"
		if len(set) > 1 {
			it, them = "they have", "them"
		}
		problems = append(problems, fmt.Sprintf("%s set, but %s no effect with %s: a renewal refreshes the token in the secret "+
			"(debug_token names its system user and scopes) and mints no job token. Remove %s from the renewal step",
			inputsAre(set), it, inRenewSecret, them))
	}
	return problems
}

// renewParams are the checked inputs of a renewal.
type renewParams struct {
	*front.Plan
	githubToken  string
	githubAPIURL string
	target       ghsecrets.Target
	within       int // days
}

// renewInputs checks every input of the renewal mode before any call, and
// reports every problem at once, each naming its input.
func renewInputs(a *githubactions.Action, in inputs) (*renewParams, error) {
	problems := strayMintInputs(a)
	if in.awsSecretID != "" {
		problems = append(problems, fmt.Sprintf("input %s is set, and so is %s: a renewal rewrites a GitHub secret, while a Lambda-managed secret is rotated by the Lambda; remove one of them",
			inRenewSecret, inAWSSecretID))
	}
	p := &renewParams{
		githubToken: a.GetInput(inGitHubToken),
		target: ghsecrets.Target{
			Name:        a.GetInput(inRenewSecret),
			Environment: a.GetInput(inRenewEnvironment),
			Org:         a.GetInput(inRenewOrg),
		},
	}
	var missing []string
	for _, f := range []struct{ name, value string }{
		{inAppID, in.appID}, {inAppSecret, in.appSecret}, {inAccessToken, in.accessToken}, {inGitHubToken, p.githubToken},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("missing required input for %s: %s. %s is a token allowed to write the secret: "+
			"a GitHub App installation token (actions/create-github-app-token) or a fine-grained token; GITHUB_TOKEN cannot write secrets. %s",
			inRenewSecret, strings.Join(missing, ", "), inGitHubToken, secretsHint))
	}
	if why := front.SecretShape(p.githubToken); p.githubToken != "" && why != "" {
		problems = append(problems, "input "+inGitHubToken+" "+why)
	}
	if in.mintingAppSecret != "" {
		problems = append(problems, fmt.Sprintf("input %s is set: a token is refreshed with the app it was generated with; pass that app as %s and %s",
			inMintingAppSecret, inAppID, inAppSecret))
	}

	p.within = renew.DefaultWithinDays
	if raw := a.GetInput(inRenewWithin); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > renew.MaxWithinDays {
			problems = append(problems, fmt.Sprintf("input %s must be a whole number of days from 1 to %d, got %s", inRenewWithin, renew.MaxWithinDays, mint.QuoteInput(raw)))
		}
		p.within = n
	}
	if p.target.Org == "" {
		p.target.Repo = a.Getenv("GITHUB_REPOSITORY")
	}
	switch {
	case p.target.Org != "" && p.target.Environment != "":
		// Target.Check would say so too, without naming the inputs.
		problems = append(problems, fmt.Sprintf("inputs %s and %s are both set: a secret is an organization's or an environment's", inRenewOrg, inRenewEnvironment))
	case p.target.Org == "" && p.target.Repo == "":
		problems = append(problems, "GITHUB_REPOSITORY is not set: this program runs as a GitHub Actions step")
	default:
		if err := p.target.Check(); err != nil {
			problems = append(problems, fmt.Sprintf("inputs %s, %s, %s: %s", inRenewSecret, inRenewEnvironment, inRenewOrg, front.Message(err)))
		}
	}

	p.githubAPIURL = a.GetInput(inGitHubAPIURL)
	if p.githubAPIURL == "" {
		p.githubAPIURL = a.Getenv("GITHUB_API_URL")
	}
	if p.githubAPIURL == "" {
		p.githubAPIURL = ghsecrets.DefaultBaseURL
	}
	var err error
	if p.githubAPIURL, err = ghsecrets.CheckBaseURL(p.githubAPIURL); err != nil {
		problems = append(problems, fmt.Sprintf("input %s: %s", inGitHubAPIURL, front.Message(err)))
	}
	var more []string
	p.Plan, more = front.Values{
		AppID: in.appID, AppSecret: in.appSecret, AccessToken: in.accessToken,
		GraphURL: in.graphAPIURL, GraphVersion: in.graphAPIVersion,
	}.Check(inputNames)
	if problems = append(problems, more...); len(problems) > 0 {
		return nil, front.Problems(problems)
	}
	return p, nil
}

// runRenew is the main step in renewal mode.
func runRenew(ctx context.Context, a *githubactions.Action, in inputs, cfg *config) error {
	p, err := renewInputs(a, in)
	if err != nil {
		return err
	}
	if a.Getenv("GITHUB_OUTPUT") == "" {
		return errors.New("GITHUB_OUTPUT is not set: this program runs as a GitHub Actions step")
	}
	ghOpts := []ghsecrets.Option{ghsecrets.WithBaseURL(p.githubAPIURL),
		ghsecrets.WithWaitNotice(func(call string, d time.Duration) { a.Infof("%s.", front.GitHubWait(call, d)) })}
	if cfg.sleep != nil {
		// GitHub's waits go where the Graph client's go.
		ghOpts = append(ghOpts, ghsecrets.WithClock(cfg.now, cfg.sleep))
	}
	gh, err := ghsecrets.NewClient(p.githubToken, ghOpts...)
	if err != nil {
		return fmt.Errorf("input %s: %s", inGitHubToken, front.Message(err))
	}
	c, err := p.Client(cfg.graphOptions(a)...)
	if err != nil {
		return fmt.Errorf("configuring the Graph client: %s", front.Message(err))
	}
	within := time.Duration(p.within) * 24 * time.Hour
	res, err := renew.Run(ctx, renew.Config{
		Graph:       c,
		App:         p.Token.App,
		AccessToken: p.Token.AccessToken,
		GitHub:      gh,
		Target:      p.target,
		Within:      within,
		Now:         cfg.now,
		// The new token exists: hide it before anything else is written.
		Hide:        cfg.hidden.AddToken,
		GitHubToken: "input " + inGitHubToken,
	})
	if err != nil {
		return err
	}
	expiresAt := front.Time(res.ExpiresAt)
	for _, kv := range [][2]string{{outRenewed, strconv.FormatBool(res.Outcome == renew.Renewed)}, {outExpiresAt, expiresAt}} {
		if err := setFileValue(a, "GITHUB_OUTPUT", kv[0], kv[1]); err != nil {
			return fmt.Errorf("writing output %s: %w", kv[0], err)
		}
	}
	where := front.LogLine(p.target.String())
	switch res.Outcome {
	case renew.NeverExpires:
		a.Infof("The token in the %s never expires: nothing to renew (refreshing it would make it expire).", where)
	case renew.NotDue:
		a.Infof("The token in the %s expires at %s, more than %d days from now (%s): nothing to renew yet.", where, expiresAt, p.within, inRenewWithin)
	case renew.Renewed:
		again := ""
		if res.Retried {
			again = " (GitHub's answer to the first write was lost; the second write stored it)"
		}
		if res.InPlace {
			a.Infof("Renewed the token in the %s%s: Graph extended it in place (the refresh answered the same token), and it now expires at %s.",
				where, again, expiresAt)
			break
		}
		a.Infof("Renewed the token in the %s%s: it now expires at %s. The old token was not revoked and works until %s.",
			where, again, expiresAt, front.Time(res.Previous.ExpiresAt))
	}
	if err := writeRenewSummary(a, p, res); err != nil {
		a.Warningf("Could not write the job summary: %s", err)
	}
	return nil
}

// writeRenewSummary appends what was renewed, where and until when; never
// a token.
func writeRenewSummary(a *githubactions.Action, p *renewParams, res *renew.Result) error {
	file := a.Getenv("GITHUB_STEP_SUMMARY")
	if file == "" {
		return nil
	}
	title, outcome := "### Meta system user token renewed", "renewed: a new token is in the secret; the old one was not revoked"
	switch {
	case res.Outcome == renew.Renewed && res.InPlace:
		outcome = "renewed: Graph extended the token in place; the secret holds the same token"
	case res.Outcome == renew.NeverExpires:
		title, outcome = "### Meta system user token: no renewal needed", "never expires: nothing to renew"
	case res.Outcome == renew.NotDue:
		title, outcome = "### Meta system user token: no renewal needed", fmt.Sprintf("not due: expires in more than %d days", p.within)
	}
	expiry := front.Time(res.ExpiresAt)
	if expiry == "" {
		expiry = "never"
	}
	var b strings.Builder
	b.WriteString(title + "\n\n| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Secret | %s |\n", front.Markdown(p.target.String()))
	fmt.Fprintf(&b, "| Outcome | %s |\n", outcome)
	fmt.Fprintf(&b, "| Expires | %s |\n", expiry)
	if res.Outcome == renew.Renewed && !res.InPlace {
		fmt.Fprintf(&b, "| Previous token expires | %s |\n", front.Time(res.Previous.ExpiresAt))
	}
	fmt.Fprintf(&b, "| App | %s |\n", front.Markdown(p.Token.App.ID))
	fmt.Fprintf(&b, "| System user | %s |\n", front.Markdown(res.Previous.UserID))
	b.WriteString("\n")
	return appendFile(file, b.String())
}
