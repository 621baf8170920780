// Package renew renews the token that mints, kept in a GitHub Actions
// secret: it checks that the GitHub token may write the secret, inspects the
// Meta token, refreshes it when it expires soon, proves the new token, and
// writes it back sealed to the secret's public key. The action's renewal
// mode and `metamint renew` both run it; each renders the Result and errors
// in its own way.
//
// It never revokes the old token: jobs running now may hold it. It never
// overwrites a write made during the renewal: the secret's updated_at,
// read before the refresh, must be unchanged just before the write. A new
// token GitHub refused to store is revoked while updated_at still shows
// the secret unchanged; otherwise, and when a write got no answer twice,
// the secret may hold it, so it is kept. It never creates a secret: one
// that does not exist fails the renewal before the refresh.
package renew

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/metamint/metamint/internal/front"
	"github.com/metamint/metamint/internal/ghsecrets"
	"github.com/metamint/metamint/pkg/mint"
)

// GenerateTokenPage is Meta's page on generating system user tokens in
// Business Settings, where an expired token is replaced.
const GenerateTokenPage = "https://developers.facebook.com/docs/business-management-apis/system-users/install-apps-and-generate-tokens/" //nolint:gosec // G101: a URL, not a credential

// Renewal windows, in days: the default of the action's renew-within and
// the CLI's --within, and the longest either accepts (a token lives 60
// days, so a longer window renews at every run).
const (
	DefaultWithinDays = 30
	MaxWithinDays     = 365
)

// Config is one renewal. Every field but Now is required.
type Config struct {
	Graph       *mint.Client
	App         mint.App // the app the token was generated with
	AccessToken string   // the token the secret holds
	GitHub      *ghsecrets.Client
	Target      ghsecrets.Target
	// Within: renew when the token expires within this long.
	Within time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Hide is called with the new token the moment Graph issues it, before
	// anything else happens (the action masks it). Required.
	Hide func(token string)
	// GitHubToken names where the GitHub token comes from, for messages:
	// "input github-token" or "GITHUB_TOKEN".
	GitHubToken string
}

// Outcome is what a renewal did.
type Outcome int

// Outcomes.
const (
	// NeverExpires: the token never expires; nothing to renew.
	NeverExpires Outcome = iota + 1
	// NotDue: the token expires later than Within from now.
	NotDue
	// Renewed: a new token is in the secret.
	Renewed
)

// Result is a renewal that succeeded.
type Result struct {
	Outcome Outcome
	// ExpiresAt is when the token now in the secret expires; zero for
	// NeverExpires.
	ExpiresAt time.Time
	// Previous is debug_token's answer for the token the secret held.
	Previous *mint.TokenInfo
	// Retried is true when the first write's answer was lost and the second
	// stored the token.
	Retried bool
	// InPlace is true when Graph answered the refresh with the old token's
	// own value and a later expiry: it extended the token in place, and
	// the secret holds the same token, expiring at ExpiresAt.
	InPlace bool
}

// Error is a failed renewal. Its text is complete, for a person, and holds
// no secret; Err is the cause, for errors.As.
type Error struct {
	Msg string
	Err error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Run renews the token of cfg.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	if err := cfg.Target.Check(); err != nil {
		return nil, &Error{Msg: front.Message(err), Err: err}
	}
	// GitHub first: a token that cannot write the secret fails the step
	// before Graph is called.
	key, err := cfg.GitHub.PublicKey(ctx, cfg.Target)
	if err != nil {
		return nil, cfg.githubError("reading the public key of the "+cfg.Target.Where(), err)
	}
	var org *ghsecrets.OrgSecret
	if cfg.Target.Org != "" {
		// Read now so that a token without the permission fails before
		// Graph is called; read again before the write.
		if org, err = cfg.GitHub.OrgSecret(ctx, cfg.Target); err != nil {
			return nil, cfg.githubError("reading the visibility of the "+cfg.Target.String()+" (it must exist: its visibility and repositories are kept)", err)
		}
	}

	prev, err := cfg.Graph.DebugToken(ctx, cfg.App, cfg.AccessToken)
	if err != nil {
		return nil, &Error{Msg: front.StepName(mint.StepInspect) + " failed: " + front.Describe(err), Err: err}
	}
	if !prev.IsValid || (!prev.NeverExpires() && !prev.ExpiresAt.After(now())) {
		reason := "it has expired"
		if !prev.IsValid {
			reason = "debug_token says it is not valid"
			if prev.Error != nil {
				reason += ": " + mint.QuoteCut(prev.Error.Message)
			}
		}
		return nil, &Error{Msg: fmt.Sprintf("the token in the %s cannot be refreshed: %s. Generate a new one in Business Settings "+
			"(System users, Generate token; see %s) and store it in the secret; the next scheduled run keeps it fresh.",
			cfg.Target, reason, GenerateTokenPage), Err: mint.ErrInvalidToken}
	}
	if prev.AppID != cfg.App.ID {
		return nil, &Error{Msg: fmt.Sprintf("the token in the %s belongs to app %s, not app %s: a token is refreshed with the app it was generated with",
			cfg.Target, mint.QuoteCut(prev.AppID), cfg.App.ID)}
	}
	if prev.Type != "SYSTEM_USER" || prev.UserID == "" {
		// CheckRenewal proves the new token is of the old one's system
		// user: without one it would refuse the new token, or not check.
		return nil, &Error{Msg: fmt.Sprintf("the token in the %s is not a system user's: debug_token says type %s, user %s. "+
			"A renewal refreshes a system user token and proves the new one is of the same system user. Nothing was changed at Meta.",
			cfg.Target, mint.QuoteCut(prev.Type), mint.QuoteCut(prev.UserID))}
	}
	if prev.NeverExpires() {
		return &Result{Outcome: NeverExpires, Previous: prev}, nil
	}
	if prev.ExpiresAt.After(now().Add(cfg.Within)) {
		return &Result{Outcome: NotDue, ExpiresAt: prev.ExpiresAt, Previous: prev}, nil
	}

	// GitHub has no conditional write: read when the secret was last
	// written now, and again just before writing it (unchanged).
	before, exists, err := cfg.GitHub.Updated(ctx, cfg.Target)
	if err != nil {
		return nil, cfg.githubError("reading when the "+cfg.Target.String()+" was last written", err)
	}
	if !exists {
		// The token came from another secret (of the environment, the
		// repository or the organization: secrets.NAME reads the first
		// there is), or the name is mistyped; a new secret would hold
		// the new token while that one expires.
		return nil, &Error{Msg: fmt.Sprintf("the %s does not exist, or %s cannot see it (GitHub answers 404 to both): a renewal rewrites the secret that holds the token and never creates one. "+
			"Check the secret's name, and whether it is an environment's, the repository's or the organization's. Nothing was changed at Meta.",
			cfg.Target, cfg.GitHubToken)}
	}

	rn, err := cfg.Graph.RenewAccessToken(ctx, mint.RenewRequest{
		RefreshRequest: mint.RefreshRequest{App: cfg.App, AccessToken: cfg.AccessToken, Info: prev},
		Refreshed: func(tok string) error {
			cfg.Hide(tok)
			// Workflows put the secret in scripts (${{ secrets.NAME }}).
			return front.CheckHandOver(tok)
		},
		// Another renewal may have stored the same new token meanwhile.
		MayRevoke: func(ctx context.Context) bool { return cfg.unchanged(ctx, before, exists) == nil },
	})
	if err != nil {
		return nil, &Error{Msg: cfg.refreshFailed(err), Err: err}
	}
	res := &Result{Outcome: Renewed, ExpiresAt: rn.ExpiresAt, Previous: prev, InPlace: rn.AccessToken == cfg.AccessToken}
	// The old token works until its expiry, or, extended in place, the
	// new one's.
	oldUntil := front.Time(prev.ExpiresAt)
	if res.InPlace {
		oldUntil = front.Time(rn.ExpiresAt)
	}

	if cfg.Target.Org != "" {
		// The write sends who may use the secret again: as it is now, not
		// as it was at the start (a person may have changed it since).
		if org, err = cfg.GitHub.OrgSecret(ctx, cfg.Target); err != nil {
			msg := fmt.Sprintf("%s: reading the visibility of the %s again before writing it failed (%s): it is not written, since the write must keep who may use it",
				cfg.GitHubToken, cfg.Target, front.Message(err))
			return nil, &Error{Msg: fmt.Sprintf("%s. The old token still works until %s. %s", msg, oldUntil, cfg.discardUnchanged(ctx, before, exists, rn)), Err: err}
		}
	}
	// The last read before the write; a write sent again after a rate
	// limit reads it again too.
	var changed error
	unchanged := func(ctx context.Context) error {
		changed = cfg.unchanged(ctx, before, exists)
		return changed
	}
	if unchanged(ctx) == nil {
		err = cfg.GitHub.PutSecretIf(ctx, cfg.Target, key, rn.AccessToken, org, unchanged)
	}
	if changed != nil {
		return nil, &Error{Msg: fmt.Sprintf("%s. The old token still works until %s. %s", changed, oldUntil, keptUnsure(rn)), Err: changed}
	}
	if errors.Is(err, ghsecrets.ErrNoAnswer) {
		// GitHub may have stored it: send it once more, unless the secret
		// was written since, by that write or by someone else (this run
		// cannot tell which): then it is not overwritten.
		res.Retried = true
		cerr := cfg.unchanged(ctx, before, exists)
		var uerr *unreadError
		if errors.As(cerr, &uerr) {
			// Nothing is known of the secret: not that it changed.
			return nil, &Error{Err: cerr, Msg: fmt.Sprintf("writing the %s got no answer (%s), and reading when it was last written, to tell whether that write stored the new token, could not be made (%s): "+
				"it is not sent once more. The secret may hold the new token, so it is kept, not revoked; it expires %s. The old token still works until %s. "+
				"Check the secret's update time in the settings: changed during this run, it most likely holds the new token; unchanged, it holds the old one. Either way, the next run renews the token it holds.",
				cfg.Target, front.Message(err), uerr.why, front.Time(rn.ExpiresAt), oldUntil)}
		}
		if cerr != nil {
			return nil, &Error{Err: cerr, Msg: fmt.Sprintf("writing the %s got no answer (%s), and it is not sent once more: %s; the write that got no answer may be what changed it. "+
				"GitHub may have stored the new token, so it is kept, not revoked; it expires %s. The old token still works until %s. "+
				"Check the secret's update time in the settings, or run the renewal again.",
				cfg.Target, front.Message(err), cerr, front.Time(rn.ExpiresAt), oldUntil)}
		}
		err2 := cfg.GitHub.PutSecretIf(ctx, cfg.Target, key, rn.AccessToken, org, unchanged)
		if err2 == nil {
			return res, nil
		}
		return nil, &Error{Err: err2, Msg: fmt.Sprintf("writing the %s got no answer (%s), and sending it once more failed too (%s). "+
			"GitHub may have stored the new token, so it is kept, not revoked; it expires %s. The old token still works until %s. "+
			"Check the secret's update time in the settings, or run the renewal again.",
			cfg.Target, front.Message(err), front.Message(err2), front.Time(rn.ExpiresAt), oldUntil)}
	}
	if err != nil {
		msg := fmt.Sprintf("writing the %s failed: %s", cfg.Target, front.Message(err))
		var aerr *ghsecrets.APIError
		if errors.As(err, &aerr) {
			msg = fmt.Sprintf("GitHub refused to write the %s (%s), so nothing was stored", cfg.Target, front.Message(err))
			if a := aerr.Advice(); a != "" {
				msg += "; " + cfg.GitHubToken + ": " + a
			}
		}
		msg += fmt.Sprintf(". The old token still works until %s. %s", oldUntil, cfg.discardUnchanged(ctx, before, exists, rn))
		return nil, &Error{Msg: msg, Err: err}
	}
	return res, nil
}

// unchanged reads when the secret was last written again, and reports an
// error unless it is as before: someone else wrote it during the renewal
// (a person, or another renewal), or the read failed and the renewal
// cannot tell. Either way the secret is not written.
func (cfg *Config) unchanged(ctx context.Context, before string, existed bool) error {
	at, exists, err := cfg.GitHub.Updated(ctx, cfg.Target)
	switch {
	case err != nil:
		why := front.Message(err)
		var aerr *ghsecrets.APIError
		if errors.As(err, &aerr) && aerr.RateLimited {
			why += "; " + aerr.Advice()
		}
		return &unreadError{why: why, err: err, msg: fmt.Sprintf("%s: reading when the %s was last written failed (%s), so this run cannot tell whether someone else wrote it meanwhile: it is not overwritten",
			cfg.GitHubToken, cfg.Target, why)}
	case existed && !exists:
		return fmt.Errorf("the %s was deleted while this run refreshed its token, or %s can no longer see it (GitHub answers 404 to both): it is not written",
			cfg.Target, cfg.GitHubToken)
	case exists != existed || at != before:
		return fmt.Errorf("the %s was written at %s while this run refreshed its token (by a person, or by another renewal): it is not overwritten", cfg.Target, mint.QuoteCut(at))
	}
	return nil
}

// unreadError is a read of updated_at that could not be made: GitHub
// refused or throttled it, or it got no answer. It shows no change, and no
// absence of one.
type unreadError struct {
	msg string
	why string // the cause, for a person: the call, GitHub's answer, a rate limit's advice
	err error
}

func (e *unreadError) Error() string { return e.msg }
func (e *unreadError) Unwrap() error { return e.err }

// githubError renders a failed GitHub read, naming the token's source and
// the permission it needs.
func (cfg *Config) githubError(doing string, err error) error {
	msg := fmt.Sprintf("%s: %s failed: %s", cfg.GitHubToken, doing, front.Message(err))
	var aerr *ghsecrets.APIError
	if errors.As(err, &aerr) {
		if a := aerr.Advice(); a != "" {
			msg += "; " + a
		}
	}
	return &Error{Msg: msg + ". Nothing was changed at Meta.", Err: err}
}

// refreshFailed renders a failed RenewAccessToken: the step, the cause,
// and what became of a new token.
func (cfg *Config) refreshFailed(err error) string {
	var ferr *mint.FlowError
	if !errors.As(err, &ferr) {
		return "refreshing the token failed: " + front.Describe(err)
	}
	msg := front.StepName(ferr.Step) + " failed: " + front.Describe(ferr.Err)
	switch {
	case ferr.Minted && errors.Is(ferr.RevokeErr, mint.ErrKept):
		return msg + " The new token is not revoked: the secret was written meanwhile, or this run cannot tell, and another renewal " +
			"may have stored the same token (Graph can answer two refreshes of one token alike). It expires on its own in 60 days."
	case ferr.Minted:
		msg += " " + revoked(ferr.RevokeErr)
	case ferr.Step != mint.StepRefresh:
		// A token existed and was not revoked: it is the old one's value.
		msg += " " + oldValueKept
	}
	return msg + " The token in the secret is unchanged."
}

// discardUnchanged revokes a new token this run did not store, but only
// while updated_at shows the secret unchanged: this run's failure proves
// nothing of another writer, who may have stored the same token (Graph may
// answer two refreshes of one token alike). The read runs even when the
// step's deadline has passed, as the revocation does: a live token nobody
// holds must not stay live.
func (cfg *Config) discardUnchanged(ctx context.Context, before string, existed bool, rn *mint.Renewal) string {
	if rn.AccessToken == cfg.AccessToken {
		// Extended in place: the secret's own token, never revoked, and no
		// advice to revoke it either.
		return oldValueKept
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mint.CleanupTimeout)
	defer cancel()
	err := cfg.unchanged(cctx, before, existed)
	var uerr *unreadError
	if errors.As(err, &uerr) {
		return fmt.Sprintf("The new token is kept, not revoked: reading when the %s was last written, which must show it unchanged before the token is revoked, could not be made (%s). "+
			"Without it this run cannot rule out that the secret may hold the new token; it expires on its own at %s. "+
			"Check the secret's update time in the settings: older than this run, the secret holds the old token and the new one is stored nowhere (revoke it in Business Settings, or let it expire); the next run renews the token the secret holds.",
			cfg.Target, uerr.why, front.Time(rn.ExpiresAt))
	}
	if err != nil {
		return keptUnsure(rn)
	}
	return cfg.discard(ctx, rn.AccessToken)
}

// keptUnsure says why a new token that may be in the secret is not
// revoked: someone else wrote the secret during the renewal, or this run
// cannot tell, and a secret's value cannot be read to see which token it
// holds.
func keptUnsure(rn *mint.Renewal) string {
	return fmt.Sprintf("The new token is not revoked: another writer may have stored the same token (Graph can answer two refreshes of one token alike), "+
		"and revoking it would stop every workflow that mints with the secret. It expires on its own at %s.", front.Time(rn.ExpiresAt))
}

// discard revokes a new token that is not in the secret, unless it is the
// old token's value, and says what happened.
func (cfg *Config) discard(ctx context.Context, token string) string {
	if token == cfg.AccessToken {
		return oldValueKept
	}
	return revoked(cfg.Graph.Discard(ctx, cfg.App, token))
}

// oldValueKept says why a new token is not revoked when Graph answered the
// old token's own value.
const oldValueKept = "Graph answered the old token's own value, which is never revoked."

// revoked says what became of a new token whose revocation returned err.
func revoked(err error) string {
	if err != nil {
		return "Revoking the new token failed too: " + front.Describe(err) + " It stays valid until it expires: revoke it in Business Settings."
	}
	return "The new token was revoked."
}
