package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/metamint/metamint/internal/front"
	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/pkg/mint"
)

// Inputs, as action.yml declares them. The runner passes each as
// INPUT_<NAME> with the name upper-cased and its hyphens kept.
const (
	inAppID               = "app-id"
	inAppSecret           = "app-secret"
	inAccessToken         = "access-token"
	inSystemUserID        = "system-user-id"
	inScopes              = "scopes"
	inInstallApp          = "install-app"
	inExpiringToken       = "expiring-token"
	inSkipTokenRevoke     = "skip-token-revoke"
	inGraphAPIURL         = "graph-api-url"
	inGraphAPIVersion     = "graph-api-version"
	inAllowUnlistedScopes = "allow-unlisted-scopes"
	inMintingAppSecret    = "minting-app-secret"
	// inAWSSecretID ("aws-secret-id") is declared in keyless.go.
)

// Outputs, as action.yml declares them.
const (
	outToken     = "token"
	outExpiresAt = "expires-at"
	outScopes    = "scopes"
)

// State the main step saves for the post step; the runner hands each back
// as STATE_<key>. Neither the app secret nor the Graph URL is saved: the
// post step reads them from its inputs, which the runner passes to every
// stage, or from the managed secret again (aws-secret-id). Any step of the
// job may write the state file, so a URL from it could send the app secret
// elsewhere.
const (
	stateToken     = "token"
	stateExpiresAt = "expires_at"
	stateAppID     = "app_id"
	// stateTokenProof is the token's appsecret_proof under the app secret:
	// the post step revokes only a token whose proof matches, so a step
	// without the app secret cannot make it revoke another token.
	stateTokenProof = "token_proof"
)

// postName is the name the post step runs the program under (post-entrypoint
// in action.yml, a link in the image), and the argument that selects it.
const postName = "post"

// defaultTimeout bounds one step, every attempt and wait included.
const defaultTimeout = 2 * time.Minute

// config is what main may change; tests set it with options
// (helpers_test.go).
type config struct {
	mintOptions []mint.Option // after the defaults, so they win
	now         func() time.Time
	// sleep is how the Graph client waits (front.Waiting), and, with now,
	// the GitHub client of the renewal mode; nil: a timer. Tests pass a
	// fake.
	sleep   func(context.Context, time.Duration) error
	timeout time.Duration
	secrets secretsFunc // the keyless path's Secrets Manager client
	// hidden holds every secret the step knows of; each is masked the
	// moment it is added.
	hidden *front.Secrets
}

// option configures run.
type option func(*config)

// run is the whole program: args is os.Args. It masks every secret before it
// writes anything else, then runs the main or the post step. The error it
// returns is the text of the ::error:: annotation and holds no secret.
func run(ctx context.Context, a *githubactions.Action, args []string, opts ...option) error {
	cfg := config{now: time.Now, timeout: defaultTimeout, secrets: defaultSecrets}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	in := readInputs(a)
	cfg.hidden = &front.Secrets{Hide: func(v string) { maskValue(a, v) }}
	in.hide(cfg.hidden)
	cfg.hidden.AddToken(a.Getenv("STATE_" + stateToken))
	cfg.hidden.Add(a.GetInput(inGitHubToken))

	post, err := isPost(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	if post {
		runPost(ctx, a, in, &cfg)
		return nil
	}
	return runMain(ctx, a, in, &cfg)
}

// graphOptions are the Graph client's options: its waits said in the log
// (front.Waiting), then mintOptions.
func (cfg *config) graphOptions(a *githubactions.Action) []mint.Option {
	waiting := front.Waiting(func(s string) { a.Infof("%s.", s) }, cfg.sleep)
	return append([]mint.Option{waiting}, cfg.mintOptions...)
}

// isPost tells the post step from the main step. The runner cannot pass the
// post step an argument of its own (action.yml's args go to every stage), so
// the post step runs the binary under the name "post"; the argument "post"
// does the same where a name is impractical.
func isPost(args []string) (bool, error) {
	var name string
	if len(args) > 0 {
		name = path.Base(args[0])
	}
	switch {
	case len(args) <= 1:
		return name == postName, nil
	case len(args) == 2 && args[1] == postName:
		return true, nil
	}
	return false, fmt.Errorf("unexpected arguments %q: the program takes no argument, or the single argument %q for the post step", args[1:], postName)
}

// inputs holds the raw input values, trimmed by GetInput.
type inputs struct {
	appID, appSecret, accessToken, systemUserID, scopes string
	installApp, expiringToken, skipTokenRevoke          string
	graphAPIURL, graphAPIVersion, allowUnlistedScopes   string
	mintingAppSecret, awsSecretID                       string
}

func readInputs(a *githubactions.Action) inputs {
	return inputs{
		appID:               a.GetInput(inAppID),
		appSecret:           a.GetInput(inAppSecret),
		accessToken:         a.GetInput(inAccessToken),
		systemUserID:        a.GetInput(inSystemUserID),
		scopes:              a.GetInput(inScopes),
		installApp:          a.GetInput(inInstallApp),
		expiringToken:       a.GetInput(inExpiringToken),
		skipTokenRevoke:     a.GetInput(inSkipTokenRevoke),
		graphAPIURL:         a.GetInput(inGraphAPIURL),
		graphAPIVersion:     a.GetInput(inGraphAPIVersion),
		allowUnlistedScopes: a.GetInput(inAllowUnlistedScopes),
		mintingAppSecret:    a.GetInput(inMintingAppSecret),
		awsSecretID:         a.GetInput(inAWSSecretID),
	}
}

// hide adds the secrets among the inputs to s, which masks them and what
// derives from them (front.Secrets) before anything else is written: the
// app secrets, the calling token and its appsecret_proof under each (mint
// computes it; it would let anyone holding it call Graph as the calling
// token's app), and the app access token "id|secret".
func (in inputs) hide(s *front.Secrets) {
	s.AddKey(in.appSecret)
	s.AddKey(in.mintingAppSecret)
	s.AddToken(in.accessToken)
	if in.appSecret != "" {
		s.Add(mint.App{ID: in.appID, Secret: in.appSecret}.AccessToken())
	}
}

// params are the validated inputs.
type params struct {
	*front.Plan
	// awsSecretID names the managed secret the values came from; "" on
	// the plain path.
	awsSecretID string
	// callerField is the managed secret's field the calling token came
	// from (access_token or minting_token_ref); "" on the plain path.
	callerField string
	// held are tokens besides the calling token that the step never
	// outputs and never revokes: on the keyless path, the managed secret's
	// stored token.
	held []string
	// versions are the versions of the managed secret and of
	// minting_token_ref whose text may hold a token the step never
	// outputs and never revokes (readVersions); nil on the plain path.
	versions   heldVersions
	installApp bool
	skipRevoke bool
}

// inputNames are how the step's messages name the inputs front.Check checks.
var inputNames = front.Names{
	AppID: "input " + inAppID, SystemUserID: "input " + inSystemUserID,
	AppSecret: "input " + inAppSecret, MintingAppSecret: "input " + inMintingAppSecret, AccessToken: "input " + inAccessToken,
	Scopes: "input " + inScopes, GraphURL: "input " + inGraphAPIURL, GraphVersion: "input " + inGraphAPIVersion,
	AllowUnlisted: "set " + inAllowUnlistedScopes + ": true",
}

// secretsHint explains the most common reason for an empty secret input.
const secretsHint = "If a value comes from a secret: GitHub does not pass secrets to workflows " +
	"triggered by a pull request from a fork or by Dependabot, so the input arrives empty " +
	"(Dependabot has its own secrets store)."

// validate checks every input before any call and reports every problem at
// once, each naming its input. Secret values are never quoted.
func validate(in inputs) (*params, error) {
	var problems front.Problems
	var missing []string
	for _, f := range [][2]string{{inAppID, in.appID}, {inAppSecret, in.appSecret}, {inAccessToken, in.accessToken}, {inSystemUserID, in.systemUserID}, {inScopes, in.scopes}} {
		if f[1] == "" {
			missing = append(missing, f[0])
		}
	}
	switch {
	case in.awsSecretID != "":
		// The managed secret supplies them (keylessInputs).
		problems = append(problems, keylessConflicts(in)...)
	case len(missing) > 0:
		noun := "input"
		if len(missing) > 1 {
			noun = "inputs"
		}
		problems = append(problems, fmt.Sprintf("missing required %s: %s. %s Or set %s to mint from a Lambda-managed secret in AWS.",
			noun, strings.Join(missing, ", "), secretsHint, inAWSSecretID))
	}

	p := &params{}
	var expiring, allowUnlisted bool
	for _, b := range []struct {
		name, raw string
		def       bool
		dst       *bool
	}{
		{inInstallApp, in.installApp, false, &p.installApp},
		{inExpiringToken, in.expiringToken, true, &expiring},
		{inSkipTokenRevoke, in.skipTokenRevoke, false, &p.skipRevoke},
		{inAllowUnlistedScopes, in.allowUnlistedScopes, false, &allowUnlisted},
	} {
		var err error
		if *b.dst, err = parseBool(b.name, b.raw, b.def); err != nil {
			problems = append(problems, err.Error())
		}
	}
	var more []string
	p.Plan, more = in.values(allowUnlisted, !expiring).Check(inputNames)
	if problems = append(problems, more...); len(problems) > 0 {
		return nil, problems
	}
	return p, nil
}

// values are the inputs front.Check checks.
func (in inputs) values(allowUnlisted, permanent bool) front.Values {
	return front.Values{
		AppID: in.appID, SystemUserID: in.systemUserID,
		AppSecret: in.appSecret, MintingAppSecret: in.mintingAppSecret, AccessToken: in.accessToken,
		Scopes: in.scopes, GraphURL: in.graphAPIURL, GraphVersion: in.graphAPIVersion,
		AllowUnlisted: allowUnlisted, Permanent: permanent,
	}
}

// parseBool accepts exactly "true" and "false"; empty means def.
func parseBool(name, raw string, def bool) (bool, error) {
	switch raw {
	case "":
		return def, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return def, fmt.Errorf("input %s must be \"true\" or \"false\", got %s", name, mint.QuoteInput(raw))
}

// runMain is the main step: validate, install, mint, inspect, output.
func runMain(ctx context.Context, a *githubactions.Action, in inputs, cfg *config) error {
	if renewing(a) {
		return runRenew(ctx, a, in, cfg)
	} else if err := strayRenewInputs(a); err != nil {
		return err
	}
	p, err := validate(in)
	if err != nil {
		return err
	}
	if in.awsSecretID != "" {
		// Every input is checked before the secret is read; then the
		// secret completes them and they are checked again, whole.
		full, m, kerr := keylessInputs(ctx, in, cfg)
		if kerr != nil {
			return kerr
		}
		full.awsSecretID = "" // checked; the values now come from the secret
		if p, err = validate(full); err != nil {
			return err
		}
		p.held = m.held(p.Token.AccessToken)
		p.versions = m.versions
		p.callerField = callerField(m.doc)
		p.awsSecretID = in.awsSecretID
		a.Infof("Read the managed secret %s: app %s, system user %s.", quoteID(in.awsSecretID), p.Token.App.ID, p.Token.SystemUserID)
	}
	// Fail before minting when the token could not be handed over or
	// revoked: outside a runner there is nowhere to put it.
	if a.Getenv("GITHUB_OUTPUT") == "" {
		return errors.New("GITHUB_OUTPUT is not set: this program runs as a GitHub Actions step")
	}
	if !p.skipRevoke && a.Getenv("GITHUB_STATE") == "" {
		return errors.New("GITHUB_STATE is not set: this program runs as a GitHub Actions step")
	}
	if w := p.Warning(); w != "" {
		a.Warningf("%s because %s is true", w, inAllowUnlistedScopes)
	}
	c, err := p.Client(cfg.graphOptions(a)...)
	if err != nil {
		return fmt.Errorf("configuring the Graph client: %s", front.Message(err))
	}
	m := &minted{a: a, p: p, hidden: cfg.hidden}
	req := mint.VerifiedTokenRequest{
		TokenRequest: p.Token,
		InstallApp:   p.installApp,
		Installed:    func() { a.Infof("Installed app %s for system user %s.", p.Token.App.ID, p.Token.SystemUserID) },
		Held:         p.held,
		Holder:       m.holder,
		Created:      m.created,
	}
	req.Deliver = func(v *mint.VerifiedToken) error {
		if v.UnexpectedlyPermanent(req) {
			end := "If the post step cannot revoke it, it stays valid for good: revoke it in Business Settings then."
			if p.skipRevoke {
				end = "It is kept after the job (skip-token-revoke) and stays valid for good: revoke it when it is no longer needed."
			}
			a.Warningf("Graph made a token that never expires (debug_token says expires_at 0), though %s is true asked for one that expires in 60 days. %s",
				inExpiringToken, end)
		}
		return m.deliver(v)
	}
	_, caller, err := front.Mint(ctx, c, req)
	// The calling token's own expiry was checked while the step minted.
	defer reportCaller(a, p, caller, cfg.now)
	if err != nil {
		return m.failed(err, cfg)
	}
	return nil
}

// minted carries a token from its creation to its hand-over.
type minted struct {
	a          *githubactions.Action
	p          *params
	hidden     *front.Secrets
	stateSaved bool
	// heldBy names the version that holds the token Graph answered, once
	// holder found one.
	heldBy string
}

// holder says which version of the managed secret or of
// minting_token_ref holds token (heldVersions.holder; "" on the plain
// path), and keeps the answer for the step's error.
func (m *minted) holder(token string) string {
	m.heldBy = m.p.versions.holder(token)
	return m.heldBy
}

// created hides the new token, whole and line by line, before anything
// else is written (mint has checked it: printable ASCII, no spaces), and
// saves it for the post step at once, so that a step cancelled from here on
// still has its token revoked at the end of the job.
func (m *minted) created(token string) error {
	m.hidden.AddToken(token)
	if m.p.skipRevoke {
		return nil
	}
	// The token last: whenever it is saved, so is what vouches for it.
	proof := mint.AppSecretProof(m.p.Token.App.Secret, token)
	for _, kv := range [][2]string{{stateTokenProof, proof}, {stateAppID, m.p.Token.App.ID}, {stateToken, token}} {
		if err := setFileValue(m.a, "GITHUB_STATE", kv[0], kv[1]); err != nil {
			return fmt.Errorf("saving state for the post step: %w", err)
		}
	}
	m.stateSaved = true
	return nil
}

// failed renders the flow's error for the ::error:: annotation, after
// saying what became of a token that was minted and not handed over.
func (m *minted) failed(err error, cfg *config) error {
	var ferr *mint.FlowError
	if !errors.As(err, &ferr) {
		return err
	}
	if ferr.Minted {
		m.discarded(ferr.RevokeErr)
	}
	switch ferr.Step {
	case mint.StepCreate:
		switch {
		case errors.Is(ferr.Err, mint.ErrHeldTokenEchoed) && m.heldBy != "":
			return fmt.Errorf("creating the token: Graph answered %s as the new token; refusing it (it is not output and not revoked)", m.heldBy)
		case errors.Is(ferr.Err, mint.ErrHeldTokenEchoed):
			return fmt.Errorf("creating the token: Graph answered the managed secret's own token (its %s) as the new token; refusing it (it is not output and not revoked)",
				secret.FieldAccessToken)
		case errors.Is(ferr.Err, mint.ErrCallerTokenEchoed) && m.p.callerField != "":
			return fmt.Errorf("creating the token: Graph answered the calling token itself (the managed secret's %s) as the new token; refusing it (it is not output and not revoked)",
				m.p.callerField)
		}
		fallthrough
	case mint.StepInstall, mint.StepInspect:
		return stepFailed(front.StepName(ferr.Step), ferr.Err, cfg)
	case mint.StepCheck:
		return fmt.Errorf("%s: %s", front.StepName(ferr.Step), front.LogLine(front.Message(ferr.Err)))
	}
	return ferr.Err
}

// deliver writes the outputs, the expiry for the post step, the summary
// and the closing line.
func (m *minted) deliver(v *mint.VerifiedToken) error {
	a, p, info := m.a, m.p, v.Info
	expiresAt := front.Time(info.ExpiresAt)
	outputs := [][2]string{
		{outToken, v.AccessToken},
		{outExpiresAt, expiresAt},
		{outScopes, strings.Join(info.Scopes, ",")},
	}
	// Check every value before writing any: no partial outputs.
	for _, kv := range outputs {
		if strings.ContainsAny(kv[1], "\r\n") {
			return fmt.Errorf("writing output %s: Graph's answer put a line break in the value; refusing it", kv[0])
		}
	}
	// A later step may put an output in a script (${{ }} is substituted
	// before the shell reads it): the scopes are scope names, as a
	// request's (front.Mint has checked the token: front.CheckHandOver).
	var unlisted *mint.UnlistedScopeError
	if err := mint.CheckScopes(info.Scopes); err != nil && !errors.As(err, &unlisted) {
		return fmt.Errorf("writing output %s: Graph's answer granted a scope that is not a scope name (lowercase letters, digits and underscores); refusing it", outScopes)
	}
	for _, kv := range outputs {
		if err := setFileValue(a, "GITHUB_OUTPUT", kv[0], kv[1]); err != nil {
			return fmt.Errorf("writing output %s: %w", kv[0], err)
		}
	}
	if m.stateSaved {
		if err := setFileValue(a, "GITHUB_STATE", stateExpiresAt, expiresAt); err != nil {
			return fmt.Errorf("saving state for the post step: %w", err)
		}
	}

	if err := writeSummary(a, p, info); err != nil {
		a.Warningf("Could not write the job summary: %s", err)
	}
	kind := "an expiring"
	if info.NeverExpires() {
		kind = "a permanent"
	}
	end := "it will be revoked when the job ends"
	if p.skipRevoke {
		end = "it is kept after the job (skip-token-revoke)"
	}
	a.Infof("Minted %s system user token for system user %s and app %s with scopes %s; it %s, and %s.",
		kind, p.Token.SystemUserID, p.Token.App.ID, front.LogLine(strings.Join(info.Scopes, ",")), front.Expiry(info.ExpiresAt), end)
	return nil
}

// discarded says what became of a token the step will not hand over:
// revoked, or (err) not, and then whether the post step tries again.
func (m *minted) discarded(err error) {
	if err != nil {
		later := "The token stays valid until it expires: revoke it in Business Settings."
		if m.stateSaved {
			later = "The post step will try again at the end of the job."
		}
		m.a.Warningf("The step failed after minting a token, and revoking that token failed too: %s %s", front.Describe(err), later)
		return
	}
	m.a.Infof("Revoked the token this step minted, since the step failed.")
	if m.stateSaved {
		// The later value wins: the post step then has nothing to revoke.
		_ = setFileValue(m.a, "GITHUB_STATE", stateToken, "")
	}
}

// stepFailed describes a failed Graph call for the ::error:: annotation.
func stepFailed(step string, err error, cfg *config) error {
	msg := front.Describe(err)
	if errors.Is(err, context.DeadlineExceeded) {
		msg += fmt.Sprintf(" The step gives up after %s.", cfg.timeout)
	}
	return &graphStepError{step: step, msg: msg, err: err}
}

// graphStepError keeps the library error for errors.As in tests while its
// text is the annotation.
type graphStepError struct {
	step, msg string
	err       error
}

func (e *graphStepError) Error() string { return e.step + " failed: " + e.msg }
func (e *graphStepError) Unwrap() error { return e.err }

// maskValue registers v with ::add-mask::, whole and, when it holds a line
// break, line by line, since the runner masks each line.
func maskValue(a *githubactions.Action, v string) {
	if v == "" {
		return
	}
	a.AddMask(v)
	if strings.ContainsAny(v, "\r\n") {
		for _, line := range strings.FieldsFunc(v, func(r rune) bool { return r == '\r' || r == '\n' }) {
			if line = strings.TrimSpace(line); line != "" {
				a.AddMask(line)
			}
		}
	}
}

// setFileValue appends name=value to the file command file the environment
// variable env names (GITHUB_OUTPUT or GITHUB_STATE), in the heredoc form
// with a fresh random delimiter, as @actions/core does. go-githubactions'
// SetOutput and SaveState use one fixed delimiter, so a value holding that
// line could add outputs of its own; a random delimiter cannot be guessed,
// and a value that holds it anyway is refused.
func setFileValue(a *githubactions.Action, env, name, value string) error {
	file := a.Getenv(env)
	if file == "" {
		return fmt.Errorf("%s is not set: this program runs as a GitHub Actions step", env)
	}
	delim := "ghadelimiter_" + rand.Text()
	if strings.Contains(value, delim) || strings.ContainsAny(name, "\r\n<=") {
		return fmt.Errorf("refusing to write %s %q: the value would break the file's format", env, name)
	}
	// Every value metamint writes is one line; a line break can only come
	// from a hostile Graph answer, and a later step would read it whole.
	if strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("refusing to write %s %q: Graph's answer put a line break in the value", env, name)
	}
	return appendFile(file, name+"<<"+delim+"\n"+value+"\n"+delim+"\n")
}

func appendFile(name, text string) error {
	// name is a file command path the runner set (GITHUB_OUTPUT and the like).
	f, err := os.OpenFile(filepath.Clean(name), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeSummary appends a job summary: what was minted, never the token.
func writeSummary(a *githubactions.Action, p *params, info *mint.TokenInfo) error {
	file := a.Getenv("GITHUB_STEP_SUMMARY")
	if file == "" {
		a.Debugf("GITHUB_STEP_SUMMARY is not set: no job summary")
		return nil
	}
	app := front.Markdown(p.Token.App.ID)
	if info.Application != "" {
		app += " (" + front.Markdown(info.Application) + ")"
	}
	scopes := make([]string, len(info.Scopes))
	for i, s := range info.Scopes {
		scopes[i] = front.Markdown(s)
	}
	kind := "expiring"
	expiry := info.ExpiresAt.UTC().Format(time.RFC3339)
	if info.NeverExpires() {
		kind, expiry = "permanent", "never"
	}
	atEnd := "revoked by the post step"
	if p.skipRevoke {
		atEnd = "kept (`skip-token-revoke: true`)"
	}
	var b strings.Builder
	b.WriteString("### Meta system user token minted\n\n")
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| System user | %s |\n", front.Markdown(p.Token.SystemUserID))
	fmt.Fprintf(&b, "| App | %s |\n", app)
	fmt.Fprintf(&b, "| Scopes granted | %s |\n", strings.Join(scopes, ", "))
	fmt.Fprintf(&b, "| Token | %s |\n", kind)
	fmt.Fprintf(&b, "| Expires | %s |\n", expiry)
	fmt.Fprintf(&b, "| At job end | %s |\n", atEnd)
	fmt.Fprintf(&b, "| Graph API | %s at %s |\n", front.Markdown(p.Version), front.Markdown(p.GraphURL))
	if p.awsSecretID != "" {
		fmt.Fprintf(&b, "| Minted from | the managed secret %s (aws-secret-id) |\n", front.Markdown(p.awsSecretID))
	}
	b.WriteString("\n")
	writeAssets(&b, info)
	return appendFile(file, b.String())
}
