// Command metamint mints, inspects, refreshes and revokes Meta Business
// Manager system user access tokens from a terminal or a script.
//
// Usage:
//
//	metamint <command> [flags]
//
// Commands: mint, install, inspect, refresh, revoke, system-users, proof, renew,
// emulator, version, help. Run "metamint help <command>" for its flags.
//
// Identifiers (app, system user, business) are flags. Secrets are never
// flags, because every process on the machine can read argv: the app secret
// comes from METAMINT_APP_SECRET, the calling (admin) token from
// METAMINT_ACCESS_TOKEN, and the token that inspect, refresh and revoke act
// on from METAMINT_TOKEN or, with --token-stdin, from standard input. When
// the calling token was generated with another app than --app-id's,
// METAMINT_MINTING_APP_SECRET holds that app's secret, which keys the
// appsecret_proof of the calls made with it.
//
// Results go to standard output, diagnostics to standard error. The exit
// status is 0 on success, 1 on a Graph or input error, 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/metamint/metamint/internal/front"
	"github.com/metamint/metamint/pkg/mint"
)

func main() {
	// A write to a pipe whose reader is gone returns EPIPE instead of
	// killing the process: mint must live to revoke a token it could not
	// deliver, and to exit non-zero.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // a Graph error, an input error (a bad value, a missing secret)
	exitUsage = 2 // a malformed command line: an unknown command or flag, a missing required flag, flags that do not go together
)

// Environment variables the CLI reads.
const (
	envAppSecret   = "METAMINT_APP_SECRET"
	envAccessToken = "METAMINT_ACCESS_TOKEN"
	// envMintingAppSecret is the secret of the app the calling token was
	// generated with, when that is not --app-id's app.
	envMintingAppSecret = "METAMINT_MINTING_APP_SECRET"
	envToken            = "METAMINT_TOKEN"
	envGraphURL         = "METAMINT_GRAPH_API_URL"
	envGraphVersion     = "METAMINT_GRAPH_API_VERSION"
)

// cli is what a command may touch: its environment and its streams.
type cli struct {
	getenv func(string) string
	stdin  io.Reader
	stdout *stream
	stderr *stream // redacts every secret the CLI knows of
	red    *front.Secrets
	// sleep is how the Graph and GitHub clients wait (front.Waiting,
	// ghsecrets.WithClock; nil: a timer);
	// tests pass a fake clock's.
	sleep func(context.Context, time.Duration) error
}

// command is one metamint subcommand. setup registers its flags on fs and
// returns the function that runs it once the flags are parsed.
type command struct {
	name     string
	synopsis string // what follows "metamint <name>" in the usage line
	summary  string // one line for the command list
	about    string // what it does, which secrets it reads, what it prints
	setup    func(fs *flag.FlagSet, c *cli) func(ctx context.Context) error
}

// commands is filled in init to break the reference cycle through help.
var commands []*command

func init() {
	commands = []*command{
		mintCommand, installCommand, inspectCommand, refreshCommand, revokeCommand,
		systemUsersCommand, proofCommand, renewCommand, emulatorCommand, versionCommand, helpCommand,
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run is the whole program: it parses args (without the program name), runs
// one command and returns the exit status. It reads the environment only
// through getenv. Tests pass opts to set what main leaves at its default.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer, opts ...func(*cli)) int {
	red := newSecrets()
	red.AddKey(getenv(envAppSecret))
	red.AddKey(getenv(envMintingAppSecret))
	red.AddToken(getenv(envAccessToken))
	red.AddToken(getenv(envToken))
	red.AddToken(getenv(envGitHubToken))
	// Graph's texts reach both streams: control characters are escaped,
	// so a hostile answer cannot drive the terminal.
	c := &cli{
		getenv: getenv,
		stdin:  stdin,
		stdout: &stream{w: &front.TerminalWriter{W: stdout}},
		stderr: &stream{w: &redactWriter{w: &front.TerminalWriter{W: stderr}, s: red}},
		red:    red,
	}
	for _, o := range opts {
		o(c)
	}
	if len(args) == 0 {
		printUsage(c.stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		printUsage(c.stdout)
		return c.finish("")
	case "-version", "--version":
		name = "version"
	}
	cmd := lookup(name)
	if err := rejectSecretFlags(args); err != nil {
		if cmd == nil {
			return c.report("", err)
		}
		return c.report(cmd.name, err)
	}
	if cmd == nil {
		if strings.HasPrefix(name, "-") {
			c.stderr.printf("metamint: flags go after the command; run 'metamint help' for the commands\n")
		} else {
			c.stderr.printf("metamint: unknown command %s; run 'metamint help' for the commands\n", showWord(name))
		}
		return exitUsage
	}
	fs := flag.NewFlagSet("metamint "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are reported below, once
	exec := cmd.setup(fs, c)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandUsage(c.stdout, cmd)
			return c.finish(cmd.name)
		}
		return c.report(cmd.name, usagef("%s", flagError(err)))
	}
	if fs.NArg() > 0 && cmd != helpCommand {
		// The argument is not echoed: it may be a token pasted by mistake.
		return c.report(cmd.name, usagef("%s takes no arguments (got %d); boolean flags take their value "+
			"after '=' (--expiring-token=false), and secrets go in environment variables", cmd.name, fs.NArg()))
	}
	if code := c.report(cmd.name, exec(ctx)); code != exitOK {
		return code
	}
	return c.finish(cmd.name)
}

// finish is the exit status of command name ("" before a command is known)
// once it has succeeded: an error when what it printed on standard output
// could not be written, since a caller would otherwise take a lost result
// for a delivered one.
func (c *cli) finish(name string) int {
	if c.stdout.Err() != nil {
		return c.report(name, fmt.Errorf("writing standard output: %w", c.stdout.Err()))
	}
	return exitOK
}

// wordPattern matches what a command or flag name looks like. Anything else
// typed where a name goes may be a secret pasted by mistake, so it is not
// echoed: a terminal masks nothing.
var wordPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z-]{0,29}$`)

// showWord quotes s when it looks like a name, and otherwise says that an
// argument is not shown.
func showWord(s string) string {
	if wordPattern.MatchString(s) {
		return strconv.Quote(s)
	}
	return "(not shown: it does not look like a name and may be a secret)"
}

// flagValueError matches the flag package's errors that quote a value.
var (
	flagValueError   = regexp.MustCompile(`^invalid (boolean )?value ".*" for (?:flag )?-(\S+): `)
	flagUnknownError = regexp.MustCompile(`^flag provided but not defined: -(.*)$`)
)

// flagError rewrites a flag parse error so it names the flag but never
// quotes a value, which may be a secret typed in the wrong place.
func flagError(err error) string {
	msg := err.Error()
	if m := flagValueError.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			return fmt.Sprintf("invalid value for --%s: want true or false (as --%s=false)", m[2], m[2])
		}
		return fmt.Sprintf("invalid value for --%s", m[2])
	}
	if m := flagUnknownError.FindStringSubmatch(msg); m != nil {
		name := strings.TrimLeft(m[1], "-")
		if !wordPattern.MatchString(name) {
			return "flag provided but not defined (its name is not shown: it may be a secret)"
		}
		return "flag provided but not defined: --" + name
	}
	return msg
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// stepError names the step of a command that failed.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func inStep(step string, err error) error {
	if err == nil {
		return nil
	}
	return &stepError{step: step, err: err}
}

// report prints err for command name ("" before a command is known) and
// returns the exit status.
func (c *cli) report(name string, err error) int {
	if err == nil {
		return exitOK
	}
	prefix, help := "metamint: ", "metamint help"
	if name != "" {
		prefix, help = "metamint "+name+": ", "metamint help "+name
	}
	var uerr *usageError
	if errors.As(err, &uerr) {
		c.stderr.printf("%s%s\nRun '%s' for usage.\n", prefix, uerr.msg, help)
		return exitUsage
	}
	var serr *stepError
	if errors.As(err, &serr) {
		prefix += serr.step + ": "
		err = serr.err
	}
	var gerr *mint.GraphError
	if errors.As(err, &gerr) {
		printGraphError(c.stderr, prefix, gerr)
		return exitError
	}
	var problems front.Problems
	if !errors.As(err, &problems) {
		problems = front.Problems{front.Message(err)}
	}
	for _, p := range problems {
		c.stderr.printf("%s%s\n", prefix, p)
	}
	return exitError
}

// printGraphError prints everything Graph said that helps: its message, the
// codes Meta support asks for, and what to do.
func printGraphError(w *stream, prefix string, e *mint.GraphError) {
	r := front.ReportGraphError(e, front.Terminal)
	w.printf("%sGraph API error: %s.\n  %s\n", prefix, r.Message, r.Details)
	if r.Says != "" {
		w.printf("  Meta says: %s\n", r.Says)
	}
	if r.Usage != "" {
		w.printf("  rate-limit usage: %s\n", r.Usage)
	}
	if r.Hint != "" {
		w.printf("  hint: %s\n", r.Hint)
	}
}

// secretFlags maps flag names people reach for to where the secret goes
// instead. Names are compared after lowercasing and turning '_' into '-'.
var secretFlags = map[string]string{
	"app-secret":         envAppSecret,
	"appsecret":          envAppSecret,
	"client-secret":      envAppSecret,
	"secret":             envAppSecret,
	"access-token":       envAccessToken,
	"github-token":       envGitHubToken,
	"admin-token":        envAccessToken,
	"token":              envToken + " (or pipe it to --token-stdin)",
	"input-token":        envToken + " (or pipe it to --token-stdin)",
	"minting-app-secret": envMintingAppSecret,
	"minting-secret":     envMintingAppSecret,
	"appsecret-proof": "nothing: metamint computes proofs itself from " + envAppSecret +
		" and " + envAccessToken,
}

// rejectSecretFlags refuses a secret passed as a flag before anything parses
// it, so the value is neither used nor echoed.
func rejectSecretFlags(args []string) error {
	for _, a := range args {
		if a == "--" {
			return nil
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		name = strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if where, ok := secretFlags[name]; ok {
			return usagef("--%s is not accepted: secrets on the command line are visible to every process "+
				"on this machine; set %s instead", name, where)
		}
	}
	return nil
}

// requireFlags returns a usage error naming every empty flag of names.
func requireFlags(fs *flag.FlagSet, names ...string) error {
	var missing []string
	for _, n := range names {
		if f := fs.Lookup(n); f != nil && strings.TrimSpace(f.Value.String()) == "" {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return usagef("missing required %s", strings.Join(missing, ", "))
	}
	return nil
}

// env returns the environment variable name without surrounding space.
func (c *cli) env(name string) string {
	return strings.TrimSpace(c.getenv(name))
}

// envOr returns the environment variable name, or def when it is empty.
func (c *cli) envOr(name, def string) string {
	if v := c.env(name); v != "" {
		return v
	}
	return def
}

// secret returns the value of the environment variable name, or an error
// naming it when it is empty or cannot be a secret (front.SecretShape).
func (c *cli) secret(name, what string) (string, error) {
	v, err := c.optionalSecret(name)
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", fmt.Errorf("%s is not set: export it with %s (secrets are never read from flags)", name, what)
	}
	return v, nil
}

// optionalSecret returns the value of the environment variable name, ""
// when it is empty, or an error naming it when it cannot be a secret.
func (c *cli) optionalSecret(name string) (string, error) {
	v := c.env(name)
	if v == "" {
		return "", nil
	}
	if why := front.SecretShape(v); why != "" {
		return "", fmt.Errorf("%s %s", name, why)
	}
	return v, nil
}

// appSecret returns METAMINT_APP_SECRET for a command that requires it.
func (c *cli) appSecret() (string, error) {
	return c.secret(envAppSecret, "the app secret")
}

// maxStdinToken bounds what --token-stdin reads.
const maxStdinToken = 64 << 10

// subjectToken returns the token inspect, refresh and revoke act on: the
// one line of standard input with --token-stdin (blank lines ignored), else
// METAMINT_TOKEN.
func (c *cli) subjectToken(fromStdin bool) (string, error) {
	if !fromStdin {
		return c.secret(envToken, "the token to act on, or pipe it to --token-stdin")
	}
	data, err := io.ReadAll(io.LimitReader(c.stdin, maxStdinToken+1))
	if err != nil {
		return "", fmt.Errorf("reading the token from standard input: %w", err)
	}
	if len(data) > maxStdinToken {
		return "", fmt.Errorf("standard input is longer than %d bytes; --token-stdin wants one token", maxStdinToken)
	}
	var lines []string
	for l := range strings.Lines(string(data)) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	switch {
	case len(lines) == 0:
		return "", errors.New("--token-stdin: standard input holds no token")
	case len(lines) > 1:
		// A list of tokens to revoke, say: acting on the first alone would
		// look like success.
		return "", fmt.Errorf("--token-stdin: standard input holds %d lines; it takes one token (run the command once per token)", len(lines))
	}
	c.red.AddToken(lines[0])
	if why := front.SecretShape(lines[0]); why != "" {
		return "", fmt.Errorf("--token-stdin: the token on standard input %s", why)
	}
	return lines[0], nil
}

// graphFlags are the flags every Graph-calling command shares.
type graphFlags struct {
	url     string
	version string
	c       *cli
}

func (g *graphFlags) register(fs *flag.FlagSet, c *cli) {
	g.c = c
	fs.StringVar(&g.url, "graph-api-url", c.envOr(envGraphURL, mint.DefaultBaseURL),
		"Graph API base URL: https, or http on a loopback host; $"+envGraphURL+" sets the default")
	fs.StringVar(&g.version, "graph-api-version", c.envOr(envGraphVersion, mint.DefaultVersion),
		"Graph API version; $"+envGraphVersion+" sets the default")
}

// cliNames are how the CLI names the values front.Check checks.
var cliNames = front.Names{
	AppID: "--app-id", SystemUserID: "--system-user-id", BusinessID: "--business-id",
	AppSecret: envAppSecret, MintingAppSecret: envMintingAppSecret, AccessToken: envAccessToken,
	Scopes: "--scopes", GraphURL: "--graph-api-url", GraphVersion: "--graph-api-version",
	AllowUnlisted: "pass --allow-unlisted-scopes",
}

// requiredClient checks that the flags named in required are set, and every
// value front.Check checks that the command's flags give (--app-id,
// --system-user-id and --business-id when it has them, the Graph URL and
// version), each problem naming its flag; then it builds the client with
// the shared retry policy.
func (g *graphFlags) requiredClient(fs *flag.FlagSet, required ...string) (*mint.Client, error) {
	if err := requireFlags(fs, required...); err != nil {
		return nil, err
	}
	flagValue := func(name string) string {
		if f := fs.Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	plan, problems := front.Values{
		AppID: flagValue("app-id"), SystemUserID: flagValue("system-user-id"), BusinessID: flagValue("business-id"),
		GraphURL: g.url, GraphVersion: g.version,
	}.Check(g.c.names(fs))
	if len(problems) > 0 {
		return nil, front.Problems(problems)
	}
	return plan.Client(g.c.waiting(fs))
}

// waiting says on standard error, for the command fs parses, each long
// wait of the Graph client (front.Waiting).
func (c *cli) waiting(fs *flag.FlagSet) mint.Option {
	return front.Waiting(func(s string) { c.stderr.printf("%s: %s\n", fs.Name(), s) }, c.sleep)
}

// names are cliNames with the Graph URL and version named where they came
// from (source).
func (c *cli) names(fs *flag.FlagSet) front.Names {
	n := cliNames
	n.GraphURL = c.source(fs, "graph-api-url", envGraphURL)
	n.GraphVersion = c.source(fs, "graph-api-version", envGraphVersion)
	return n
}

// source names where the value of the flag name came from: the flag, or
// the environment variable env that set its default when the flag was not
// given, so that an error names what the person has to fix.
func (c *cli) source(fs *flag.FlagSet, name, env string) string {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	if !given && c.env(env) != "" {
		return "$" + env + " (the default of --" + name + ")"
	}
	return "--" + name
}

// callerClient starts a command that calls Graph with the calling token: it
// checks the required flags, builds the client and reads
// METAMINT_ACCESS_TOKEN (what says whose token it must be). The returned
// caller's app is appID ("" for none) with METAMINT_APP_SECRET when that is
// set, so the calls carry an appsecret_proof; the secret is not required.
func (c *cli) callerClient(fs *flag.FlagSet, g *graphFlags, appID, what string, required ...string) (*mint.Client, caller, error) {
	cl, err := g.requiredClient(fs, required...)
	if err != nil {
		return nil, caller{}, err
	}
	token, err := c.secret(envAccessToken, what)
	if err != nil {
		return nil, caller{}, err
	}
	secret, err := c.optionalSecret(envAppSecret)
	if err != nil {
		return nil, caller{}, err
	}
	minting, err := c.mintingSecret()
	if err != nil {
		return nil, caller{}, err
	}
	return cl, caller{app: mint.App{ID: appID, Secret: secret}, token: token, mintingSecret: minting}, nil
}

// caller is what a call made with the calling token needs.
type caller struct {
	app           mint.App
	token         string
	mintingSecret string
}

// mintingSecret is METAMINT_MINTING_APP_SECRET: the secret of the app the
// calling token was generated with, "" when it is --app-id's app.
func (c *cli) mintingSecret() (string, error) { return c.optionalSecret(envMintingAppSecret) }

// tokenFlags are the flags of a command that acts on one token of an app
// (inspect, refresh, revoke): the Graph flags, --app-id and --token-stdin.
type tokenFlags struct {
	graph     graphFlags
	appID     string
	fromStdin bool
}

// register adds the flags to fs; appIDUsage is the usage of --app-id.
func (t *tokenFlags) register(fs *flag.FlagSet, c *cli, appIDUsage string) {
	t.graph.register(fs, c)
	fs.StringVar(&t.appID, "app-id", "", appIDUsage)
	fs.BoolVar(&t.fromStdin, "token-stdin", false, "read the token from standard input instead of $"+envToken)
}

// resolve checks --app-id, builds the client, and reads the app secret and
// then the token to act on, in that order: the client, the app (with its
// secret) and the token.
func (t *tokenFlags) resolve(fs *flag.FlagSet, c *cli) (*mint.Client, mint.App, string, error) {
	cl, err := t.graph.requiredClient(fs, "app-id")
	if err != nil {
		return nil, mint.App{}, "", err
	}
	secret, err := c.appSecret()
	if err != nil {
		return nil, mint.App{}, "", err
	}
	token, err := c.subjectToken(t.fromStdin)
	if err != nil {
		return nil, mint.App{}, "", err
	}
	return cl, mint.App{ID: t.appID, Secret: secret}, token, nil
}

// noFlags is the setup of a command that has no flags and needs no context.
func noFlags(run func(c *cli) error) func(*flag.FlagSet, *cli) func(context.Context) error {
	return func(_ *flag.FlagSet, c *cli) func(context.Context) error {
		return func(context.Context) error { return run(c) }
	}
}

// printLine prints s and a newline on standard output.
func (c *cli) printLine(s string) error {
	if _, err := fmt.Fprintln(c.stdout, s); err != nil {
		return fmt.Errorf("writing standard output: %w", err)
	}
	return nil
}

func printUsage(w *stream) {
	w.printf("%s", `metamint mints and manages Meta system user access tokens.

Usage: metamint <command> [flags]

Commands:
`)
	for _, c := range commands {
		w.printf("  %-13s %s\n", c.name, c.summary)
	}
	w.printf(`
Secrets are read from the environment, never from flags:
  %-28s the app secret
  %-28s the calling token (admin user, admin system user or system user)
  %-28s the token inspect, refresh and revoke act on (or --token-stdin)
  %-28s the secret of the calling token's app, when not --app-id's
%s and %s set the defaults of
--graph-api-url and --graph-api-version.

Exit status: 0 success, 1 Graph or input error, 2 usage error.
Run 'metamint help <command>' for a command's flags.
`, envAppSecret, envAccessToken, envToken, envMintingAppSecret, envGraphURL, envGraphVersion)
}

func printCommandUsage(w *stream, cmd *command) {
	w.printf("Usage: metamint %s %s\n\n%s\n", cmd.name, cmd.synopsis, strings.TrimSpace(cmd.about))
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	cmd.setup(fs, &cli{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &stream{w: io.Discard}, stderr: &stream{w: io.Discard}, red: newSecrets()})
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if first {
			w.printf("\nFlags:\n")
			first = false
		}
		typ, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		if f.DefValue != "" && f.DefValue != "false" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		w.printf("%s\n      %s\n", line, usage)
	})
}

var helpCommand = &command{
	name:     "help",
	synopsis: "[command]",
	summary:  "show the commands, or one command's flags",
	about:    "Prints the list of commands, or the usage of one command, on standard output.",
	setup: func(fs *flag.FlagSet, c *cli) func(context.Context) error {
		return func(context.Context) error {
			switch fs.NArg() {
			case 0:
				printUsage(c.stdout)
				return nil
			case 1:
				cmd := lookup(fs.Arg(0))
				if cmd == nil {
					names := make([]string, len(commands))
					for i, c := range commands {
						names[i] = c.name
					}
					return usagef("unknown command %s; the commands are %s", showWord(fs.Arg(0)), strings.Join(names, ", "))
				}
				printCommandUsage(c.stdout, cmd)
				return nil
			}
			return usagef("help takes at most one command name")
		}
	},
}
