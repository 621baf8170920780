package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/metamint/metamint/internal/front"
	"github.com/metamint/metamint/internal/version"
	"github.com/metamint/metamint/pkg/mint"
)

// tokenOutput is what mint --json and refresh --json print.
type tokenOutput struct {
	AccessToken string `json:"access_token"`
	// ExpiresAt is RFC 3339 UTC, or "" when the token never expires.
	ExpiresAt string `json:"expires_at"`
	// Scopes are the scopes debug_token says were granted (mint only).
	Scopes []string `json:"scopes,omitempty"`
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printToken prints a new token alone on a line, or out as JSON.
func (c *cli) printToken(asJSON bool, out tokenOutput) error {
	if asJSON {
		return writeJSON(c.stdout, out)
	}
	return c.printLine(out.AccessToken)
}

// newTable returns the tabwriter every table is printed with.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// ---- mint ----

var mintCommand = &command{
	name:     "mint",
	synopsis: "--app-id ID --system-user-id ID --scopes LIST [flags]",
	summary:  "create a system user token, verify it with debug_token, print it",
	about: `Creates a system user access token (POST /{system-user-id}/access_tokens), optionally
installing the app for the system user first (--install-app), then checks it with debug_token:
valid, a SYSTEM_USER token of that app and system user, with every requested scope. A token
that fails the check is revoked and not printed.

Reads METAMINT_APP_SECRET and METAMINT_ACCESS_TOKEN (the calling token: an admin user's, an
admin system user's or a system user's), and METAMINT_MINTING_APP_SECRET when that token was
generated with another app: it keys the appsecret_proof. Prints the token alone on standard output, so
TOKEN=$(metamint mint ...) works, or with --json {"access_token","expires_at","scopes"}
(expires_at is RFC 3339 UTC, "" when the token never expires). A summary goes to standard error.`,
	setup: func(fs *flag.FlagSet, c *cli) func(context.Context) error {
		var o mintOptions
		o.graph.register(fs, c)
		fs.StringVar(&o.appID, "app-id", "", "the app the token is for (business_app); required")
		fs.StringVar(&o.systemUserID, "system-user-id", "", "the app-scoped system user ID the token is for; required")
		fs.StringVar(&o.scopes, "scopes", "", "scopes to grant, separated by commas and/or spaces; required")
		fs.BoolVar(&o.expiring, "expiring-token", true, "ask for a 60-day token (set_token_expires_in_60_days); --expiring-token=false for a permanent one")
		fs.BoolVar(&o.install, "install-app", false, "install the app for the system user first (idempotent)")
		fs.BoolVar(&o.allowUnlisted, "allow-unlisted-scopes", false, "warn instead of failing on a scope missing from the supported list")
		fs.BoolVar(&o.json, "json", false, `print {"access_token","expires_at","scopes"} instead of the bare token`)
		return func(ctx context.Context) error { return c.mint(ctx, fs, &o) }
	},
}

type mintOptions struct {
	graph                            graphFlags
	appID, systemUserID, scopes      string
	expiring, install, allowUnlisted bool
	json                             bool
}

func (c *cli) mint(ctx context.Context, fs *flag.FlagSet, o *mintOptions) error {
	if err := requireFlags(fs, "app-id", "system-user-id", "scopes"); err != nil {
		return err
	}
	secret, err := c.appSecret()
	if err != nil {
		return err
	}
	caller, err := c.secret(envAccessToken, "the calling token (an admin user's, an admin system user's or a system user's)")
	if err != nil {
		return err
	}
	minting, err := c.mintingSecret()
	if err != nil {
		return err
	}
	plan, problems := front.Values{
		AppID: o.appID, SystemUserID: o.systemUserID,
		AppSecret: secret, MintingAppSecret: minting, AccessToken: caller,
		Scopes: o.scopes, GraphURL: o.graph.url, GraphVersion: o.graph.version,
		AllowUnlisted: o.allowUnlisted, Permanent: !o.expiring,
	}.Check(c.names(fs))
	if len(problems) > 0 {
		return front.Problems(problems)
	}
	if w := plan.Warning(); w != "" {
		c.stderr.printf("metamint mint: warning: %s (--allow-unlisted-scopes)\n", w)
	}
	cl, err := plan.Client(c.waiting(fs))
	if err != nil {
		return err
	}
	req := mint.VerifiedTokenRequest{
		TokenRequest: plan.Token,
		InstallApp:   o.install,
		Installed: func() {
			c.stderr.printf("metamint mint: app %s is installed for system user %s\n", o.appID, o.systemUserID)
		},
		Created: func(token string) error { c.red.AddToken(token); return nil },
	}
	req.Deliver = func(v *mint.VerifiedToken) error {
		info := v.Info
		c.stderr.printf("metamint mint: minted a %s token for system user %s of app %s; scopes %s; %s\n",
			front.Terminal(info.Type), front.Terminal(info.UserID), front.Terminal(info.AppID), front.Terminal(strings.Join(info.Scopes, ",")), front.Expiry(info.ExpiresAt))
		if v.UnexpectedlyPermanent(req) {
			c.stderr.printf("metamint mint: warning: Graph made a token that never expires (debug_token says expires_at 0), " +
				"though --expiring-token asked for one that expires in 60 days; revoke it with 'metamint revoke' when it is no longer needed\n")
		}
		out := tokenOutput{AccessToken: v.AccessToken, ExpiresAt: front.Time(info.ExpiresAt), Scopes: info.Scopes}
		if out.Scopes == nil {
			out.Scopes = []string{}
		}
		return c.printToken(o.json, out)
	}
	_, check, err := front.Mint(ctx, cl, req)
	// The calling token's own expiry was checked while the command minted.
	defer c.reportCaller(check, time.Now)
	return c.flowFailed("mint", err)
}

// flowFailed says on standard error what became of a new token that
// command (mint, refresh) made and did not hand over, and returns err, the
// error of mint's flow, named by its step. A nil err stays nil.
func (c *cli) flowFailed(command string, err error) error {
	var ferr *mint.FlowError
	if !errors.As(err, &ferr) {
		return err
	}
	if ferr.Minted && ferr.RevokeErr != nil {
		c.stderr.printf("metamint %s: warning: could not revoke the new token, which was not handed over (%s); "+
			"it stays valid until it expires, or until every token of the system user is revoked ('metamint revoke --all'), which ends the tokens in use too\n",
			command, front.Terminal(front.Message(ferr.RevokeErr)))
	} else if ferr.Minted {
		c.stderr.printf("metamint %s: revoked the new token, which was not handed over\n", command)
	}
	return inStep(front.StepName(ferr.Step), ferr.Err)
}

// ---- install ----

var installCommand = &command{
	name:     "install",
	synopsis: "--app-id ID --system-user-id ID [flags]",
	summary:  "install an app for a system user",
	about: `Installs the app for the system user (POST /{system-user-id}/applications), which must happen
once before a token can be minted for that app. Installing again is harmless.

Reads METAMINT_ACCESS_TOKEN (the calling token). When METAMINT_APP_SECRET is set, the call
carries an appsecret_proof, which apps with "Require App Secret" on need. Prints a line to
standard error and nothing to standard output.`,
	setup: func(fs *flag.FlagSet, c *cli) func(context.Context) error {
		var g graphFlags
		g.register(fs, c)
		appID := fs.String("app-id", "", "the app to install (business_app); required")
		suID := fs.String("system-user-id", "", "the app-scoped system user ID; required")
		return func(ctx context.Context) error {
			cl, who, err := c.callerClient(fs, &g, *appID, "the calling token", "app-id", "system-user-id")
			if err != nil {
				return err
			}
			if err := cl.InstallApp(ctx, mint.InstallAppRequest{SystemUserID: *suID, App: who.app, AccessToken: who.token, MintingAppSecret: who.mintingSecret}); err != nil {
				return inStep("install app", err)
			}
			c.stderr.printf("metamint install: app %s is installed for system user %s\n", *appID, *suID)
			return nil
		}
	},
}

// ---- inspect ----

var inspectCommand = &command{
	name:     "inspect",
	synopsis: "--app-id ID [--token-stdin] [--json] [flags]",
	summary:  "show what debug_token says about a token",
	about: `Inspects a token with GET /debug_token and the app access token (app_id|app_secret), and prints
whether it is valid, its type, app, system user, scopes and expiry, as a table or with --json.
The token itself is never printed. Exits 1 when the token is not valid.

Reads METAMINT_APP_SECRET, and the token to inspect from METAMINT_TOKEN or, with
--token-stdin, from standard input (one token alone):
  printf '%s\n' "$TOKEN" | metamint inspect --app-id ID --token-stdin`,
	setup: func(fs *flag.FlagSet, c *cli) func(context.Context) error {
		var tf tokenFlags
		tf.register(fs, c, "the app the token belongs to; required")
		asJSON := fs.Bool("json", false, "print JSON instead of a table")
		return func(ctx context.Context) error {
			cl, app, token, err := tf.resolve(fs, c)
			if err != nil {
				return err
			}
			info, err := cl.DebugToken(ctx, app, token)
			if err != nil {
				return inStep("debug_token", err)
			}
			if info.Error != nil { // Graph's text goes to stdout: keep secrets out of it
				info.Error.Message = c.red.Redact(info.Error.Message)
			}
			if *asJSON {
				err = writeJSON(c.stdout, info)
			} else {
				err = printInfo(c.stdout, info, time.Now())
			}
			if err != nil {
				return err
			}
			if !info.IsValid {
				return invalidTokenError(info)
			}
			return nil
		}
	},
}

// invalidTokenError explains an invalid token with the hint Graph's code
// calls for.
func invalidTokenError(info *mint.TokenInfo) error {
	msg := "the token is not valid"
	if e := info.Error; e != nil {
		msg += fmt.Sprintf(": %s (code %d, subcode %d)", front.Terminal(e.Message), e.Code, e.Subcode)
		g := &mint.GraphError{Code: e.Code, Subcode: e.Subcode, Message: e.Message}
		if h := g.Hint(); h != "" {
			msg += "\n  hint: " + h
		}
	}
	return errors.New(msg)
}

func printInfo(w io.Writer, i *mint.TokenInfo, now time.Time) error {
	tw := newTable(w)
	out := &stream{w: tw}
	yes := map[bool]string{true: "yes", false: "no"}
	out.printf("valid\t%s\n", yes[i.IsValid])
	if i.Error != nil {
		out.printf("error\t%s (code %d, subcode %d)\n", front.Terminal(i.Error.Message), i.Error.Code, i.Error.Subcode)
	}
	out.printf("type\t%s\n", orDash(front.Terminal(i.Type)))
	app := orDash(front.Terminal(i.AppID))
	if i.Application != "" {
		app += " (" + front.Terminal(i.Application) + ")"
	}
	out.printf("app\t%s\n", app)
	out.printf("user\t%s\n", orDash(front.Terminal(i.UserID)))
	out.printf("scopes\t%s\n", orDash(front.Terminal(strings.Join(i.Scopes, ", "))))
	// Which assets each scope reaches, from granular_scopes.
	for _, g := range i.GranularScopes {
		if len(g.TargetIDs) == 0 {
			continue
		}
		out.printf("assets of %s\t%s\n", front.Terminal(g.Scope), front.Terminal(strings.Join(g.TargetIDs, ", ")))
	}
	out.printf("issued\t%s\n", orDash(front.Time(i.IssuedAt)))
	out.printf("expires\t%s\n", describeExpiry(i.ExpiresAt, now))
	out.printf("data access expires\t%s\n", describeExpiry(i.DataAccessExpiresAt, now))
	if err := tw.Flush(); err != nil {
		return err
	}
	return out.Err()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func describeExpiry(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := t.Sub(now)
	switch {
	case d <= 0:
		return front.Time(t) + " (expired)"
	case d >= 48*time.Hour:
		return fmt.Sprintf("%s (in %d days)", front.Time(t), int(d/(24*time.Hour)))
	default:
		return fmt.Sprintf("%s (in %s)", front.Time(t), d.Round(time.Minute))
	}
}

// ---- refresh ----

var refreshCommand = &command{
	name:     "refresh",
	synopsis: "--app-id ID [--token-stdin] [--json] [flags]",
	summary:  "exchange a valid expiring token for a new 60-day one",
	about: `Exchanges a valid expiring token for a new one valid for 60 days (GET /oauth/access_token with
grant_type=fb_exchange_token). It first inspects the token with debug_token and refuses, without
asking for an exchange, a token that never expires (refreshing would make it expire) or one that
is no longer valid (mint a new one instead). The new token is inspected too and printed only
when it renews the old one (valid, the same app, system user and scopes, a later expiry);
otherwise it is revoked. The old token keeps working until its own expiry.

Reads METAMINT_APP_SECRET, and the token to refresh from METAMINT_TOKEN or, with --token-stdin,
from standard input (one token alone). Prints the new token alone on standard output, or with
--json {"access_token","expires_at"}.`,
	setup: func(fs *flag.FlagSet, c *cli) func(context.Context) error {
		var tf tokenFlags
		tf.register(fs, c, "the app the token belongs to; required")
		asJSON := fs.Bool("json", false, `print {"access_token","expires_at"} instead of the bare token`)
		return func(ctx context.Context) error {
			cl, app, token, err := tf.resolve(fs, c)
			if err != nil {
				return err
			}
			info, err := cl.DebugToken(ctx, app, token)
			if err != nil {
				return inStep("debug_token", err)
			}
			switch {
			case !info.IsValid:
				return inStep("refused", invalidTokenError(info))
			case info.NeverExpires():
				return errors.New("refused: the token never expires; refreshing it would turn it into a 60-day " +
					"token, so no exchange was requested")
			}
			rn, err := cl.RenewAccessToken(ctx, mint.RenewRequest{
				RefreshRequest: mint.RefreshRequest{App: app, AccessToken: token, Info: info},
				Refreshed:      func(fresh string) error { c.red.AddToken(fresh); return nil },
				Deliver: func(rn *mint.Renewal) error {
					if herr := front.CheckHandOver(rn.AccessToken); herr != nil {
						return herr
					}
					return c.printToken(*asJSON, tokenOutput{AccessToken: rn.AccessToken, ExpiresAt: front.Time(rn.ExpiresAt)})
				},
			})
			if err != nil {
				return c.flowFailed("refresh", err)
			}
			if rn.AccessToken == token {
				// Revoking "the old one" would end the token just printed.
				c.stderr.printf("metamint refresh: Graph extended the token in place: it is the same token, and it now expires %s\n", front.Time(rn.ExpiresAt))
				return nil
			}
			c.stderr.printf("metamint refresh: the new token expires %s; the old one stays valid until %s: "+
				"revoke it once the new one is deployed\n", front.Time(rn.ExpiresAt), front.Time(info.ExpiresAt))
			return nil
		}
	},
}

// ---- revoke ----

var revokeCommand = &command{
	name:     "revoke",
	synopsis: "--app-id ID [--token-stdin] | --all --system-user-id ID [flags]",
	summary:  "revoke one token, or every token of a system user (--all)",
	about: `Without --all, revokes one token (GET /oauth/revoke with client_id, client_secret and
revoke_token; the token itself is the calling token). Reads METAMINT_APP_SECRET, and the token
from METAMINT_TOKEN or, with --token-stdin, from standard input (one token alone). Revoking a
revoked token succeeds.

With --all, revokes every token of the system user (DELETE /{system-user-id}/access_tokens).
Reads METAMINT_ACCESS_TOKEN (the calling token of the same business); when METAMINT_APP_SECRET
is set, the call carries an appsecret_proof.

Prints a line to standard error and nothing to standard output.`,
	setup: func(fs *flag.FlagSet, c *cli) func(context.Context) error {
		var tf tokenFlags
		tf.register(fs, c, "the app the token belongs to; required without --all")
		all := fs.Bool("all", false, "revoke every token of --system-user-id")
		suID := fs.String("system-user-id", "", "the system user whose tokens --all revokes")
		return func(ctx context.Context) error {
			if *all {
				if tf.fromStdin {
					return usagef("--token-stdin does not go with --all, which revokes every token of the system user")
				}
				cl, who, err := c.callerClient(fs, &tf.graph, tf.appID, "the calling token", "system-user-id")
				if err != nil {
					return err
				}
				if err := cl.RevokeAllAccessTokens(ctx, mint.RevokeAllRequest{SystemUserID: *suID, AccessToken: who.token, App: who.app, MintingAppSecret: who.mintingSecret}); err != nil {
					return inStep("revoke all", err)
				}
				c.stderr.printf("metamint revoke: revoked every token of system user %s\n", *suID)
				return nil
			}
			if *suID != "" {
				return usagef("--system-user-id goes with --all; to revoke one token, give --app-id and the token")
			}
			cl, app, token, err := tf.resolve(fs, c)
			if err != nil {
				return err
			}
			if err := cl.RevokeAccessToken(ctx, mint.RevokeRequest{App: app, Token: token}); err != nil {
				return inStep("revoke", err)
			}
			c.stderr.printf("metamint revoke: revoked the token\n")
			return nil
		}
	},
}

// ---- system-users ----

var systemUsersCommand = &command{
	name:     "system-users",
	synopsis: "--business-id ID [--json] [flags]",
	summary:  "list a business's system users",
	about: `Lists the system users of a business (GET /{business-id}/system_users, every page), as a
table of ID, NAME and ROLE or with --json an array of {"id","name","role"}.

Reads METAMINT_ACCESS_TOKEN (a token of that business); when METAMINT_APP_SECRET is set, the
calls carry an appsecret_proof.`,
	setup: func(fs *flag.FlagSet, c *cli) func(context.Context) error {
		var g graphFlags
		g.register(fs, c)
		businessID := fs.String("business-id", "", "the business whose system users to list; required")
		asJSON := fs.Bool("json", false, "print JSON instead of a table")
		return func(ctx context.Context) error {
			cl, who, err := c.callerClient(fs, &g, "", "a token of the business", "business-id")
			if err != nil {
				return err
			}
			users, err := cl.SystemUsers(ctx, mint.SystemUsersRequest{BusinessID: *businessID, AccessToken: who.token, App: who.app, MintingAppSecret: who.mintingSecret})
			if err != nil {
				return inStep("list system users", err)
			}
			if *asJSON {
				if users == nil {
					users = []mint.SystemUser{}
				}
				return writeJSON(c.stdout, users)
			}
			tw := newTable(c.stdout)
			out := &stream{w: tw}
			out.printf("ID\tNAME\tROLE\n")
			for _, u := range users {
				out.printf("%s\t%s\t%s\n", front.Terminal(u.ID), front.Terminal(u.Name), front.Terminal(u.Role))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return out.Err()
		}
	},
}

// ---- proof ----

var proofCommand = &command{
	name:     "proof",
	synopsis: "",
	summary:  "print the appsecret_proof of METAMINT_ACCESS_TOKEN",
	about: `Prints the appsecret_proof of METAMINT_ACCESS_TOKEN keyed by METAMINT_APP_SECRET: the lowercase
hex HMAC-SHA256 that Graph calls from a server must carry. No request is made. The proof lets
whoever holds the token call Graph as that app: treat it as a secret too.`,
	setup: noFlags(func(c *cli) error {
		secret, err := c.appSecret()
		if err != nil {
			return err
		}
		token, err := c.secret(envAccessToken, "the token to prove")
		if err != nil {
			return err
		}
		return c.printLine(mint.AppSecretProof(secret, token))
	}),
}

// ---- version ----

var versionCommand = &command{
	name:     "version",
	synopsis: "",
	summary:  "print the version of metamint",
	about:    "Prints the module version metamint was built from, the Go version and, when known, the VCS revision.",
	setup:    noFlags(func(c *cli) error { return c.printLine(version.String()) }),
}
