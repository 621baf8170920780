package mint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// CleanupTimeout bounds the revocation of a token that was created but is
// not handed over. It runs even when the caller's context is done, since a
// live token nobody holds must not stay live.
const CleanupTimeout = DefaultTimeout

// VerifiedTokenRequest is the input of CreateVerifiedAccessToken: the
// TokenRequest of CreateAccessToken and what happens around it.
type VerifiedTokenRequest struct {
	TokenRequest
	// InstallApp installs the app for the system user first (InstallApp).
	InstallApp bool
	// Installed, when not nil, is called once the app is installed.
	Installed func()
	// Held are tokens the caller holds besides AccessToken, such as a
	// stored token it mints for. An answer that is one of them is refused
	// like an echoed calling token (ErrHeldTokenEchoed), and never revoked.
	Held []string
	// Holder, when not nil, is asked about the new token as soon as Graph
	// answered it, before Created: a caller whose tokens are not a list
	// (a token inside a stored document) says who holds it, "" for
	// nobody. A token it says is held is refused like one of Held
	// (ErrHeldTokenEchoed), and never revoked; what it returns appears in
	// the error, so it must name the holder, never a secret.
	Holder func(token string) string
	// Created, when not nil, is called with the new token as soon as Graph
	// answered it, before it is inspected: a front end hides it from its
	// logs and records it for a later revocation. An error it returns
	// fails the call, and the token is revoked.
	Created func(token string) error
	// Deliver, when not nil, is called with the token once it passed the
	// check: a front end hands it over (outputs, standard output). An error
	// it returns fails the call, and the token is revoked, since nobody
	// else holds it.
	Deliver func(*VerifiedToken) error
}

// VerifiedToken is a new token that debug_token said is valid, a
// SYSTEM_USER token of the requested app and system user, with every
// requested scope.
type VerifiedToken struct {
	Token
	// Info is what debug_token said about the token.
	Info *TokenInfo
}

// UnexpectedlyPermanent reports whether Graph made a token that never
// expires although the request asked for an expiring one.
func (v *VerifiedToken) UnexpectedlyPermanent(r VerifiedTokenRequest) bool {
	return !r.Permanent && v.Info.NeverExpires()
}

// FlowStep names a step of CreateVerifiedAccessToken.
type FlowStep string

// The steps of CreateVerifiedAccessToken, in order.
const (
	StepInstall FlowStep = "install"     // POST /{system-user-id}/applications
	StepCreate  FlowStep = "create"      // POST /{system-user-id}/access_tokens
	StepCreated FlowStep = "created"     // the Created function
	StepInspect FlowStep = "debug_token" // GET /debug_token
	StepCheck   FlowStep = "check"       // TokenInfo.Check
	StepDeliver FlowStep = "deliver"     // the Deliver function
)

// FlowError is the error of CreateVerifiedAccessToken: the step that
// failed and why. When Minted is true a token existed and was revoked,
// unless RevokeErr says why not.
type FlowError struct {
	Step      FlowStep
	Err       error
	Minted    bool
	RevokeErr error
}

func (e *FlowError) Error() string {
	msg := string(e.Step) + ": " + e.Err.Error()
	switch {
	case e.Minted && e.RevokeErr != nil:
		msg += "; revoking the new token failed too: " + e.RevokeErr.Error()
	case e.Minted:
		msg += "; the new token was revoked"
	}
	return msg
}

func (e *FlowError) Unwrap() error { return e.Err }

// ErrHeldTokenEchoed is matched (errors.Is) by the error of
// CreateVerifiedAccessToken when Graph answers one of the request's Held
// tokens, or one its Holder names a holder of, as the new token. It is
// neither returned nor revoked.
var ErrHeldTokenEchoed = errors.New("mint: Graph answered a token the caller already holds as the new token; refusing it")

// CreateVerifiedAccessToken installs the app when asked (InstallApp),
// creates a token (CreateAccessToken), refuses it unrevoked when the caller
// holds it (r.Held, r.Holder), hands it to r.Created, inspects it
// (DebugToken with r.App's app token), checks it against the request
// (TokenInfo.Check) and hands it to r.Deliver. A token that was created but fails a later step is
// revoked within CleanupTimeout, even when ctx is done, and the FlowError
// says whether that worked: the caller is never left holding a live token
// it was not given. Nothing is created once ctx is done; a create already
// under way when it is canceled is let finish, within CleanupTimeout, so
// that the token it makes is revoked rather than left live with nobody
// holding it.
func (c *Client) CreateVerifiedAccessToken(ctx context.Context, r VerifiedTokenRequest) (*VerifiedToken, error) {
	if r.InstallApp {
		err := c.InstallApp(ctx, InstallAppRequest{SystemUserID: r.SystemUserID, App: r.App, AccessToken: r.AccessToken, MintingAppSecret: r.MintingAppSecret})
		if err != nil {
			return nil, &FlowError{Step: StepInstall, Err: err}
		}
		if r.Installed != nil {
			r.Installed()
		}
	}
	tok, err := makeToken(ctx, StepCreate, func(ctx context.Context) (*Token, error) {
		return c.CreateAccessToken(ctx, r.TokenRequest)
	})
	if err != nil {
		return nil, err
	}
	if slices.Contains(r.Held, tok.AccessToken) {
		return nil, &FlowError{Step: StepCreate, Err: fmt.Errorf("%w (POST /{system-user-id}/access_tokens); it was not revoked", ErrHeldTokenEchoed)}
	}
	if r.Holder != nil {
		if who := r.Holder(tok.AccessToken); who != "" {
			return nil, &FlowError{Step: StepCreate, Err: fmt.Errorf("%w (POST /{system-user-id}/access_tokens): it is %s; it was not revoked", ErrHeldTokenEchoed, who)}
		}
	}
	fail := func(step FlowStep, err error) error {
		return &FlowError{Step: step, Err: err, Minted: true, RevokeErr: c.Discard(ctx, r.App, tok.AccessToken)}
	}
	if r.Created != nil {
		if cerr := r.Created(tok.AccessToken); cerr != nil {
			return nil, fail(StepCreated, cerr)
		}
	}
	info, err := c.DebugToken(ctx, r.App, tok.AccessToken)
	if err != nil {
		return nil, fail(StepInspect, err)
	}
	if err = info.Check(Expectation{AppID: r.App.ID, SystemUserID: r.SystemUserID, Scopes: r.Scopes}); err != nil {
		return nil, fail(StepCheck, err)
	}
	v := &VerifiedToken{Token: Token{AccessToken: tok.AccessToken, ExpiresAt: info.ExpiresAt}, Info: info}
	if r.Deliver != nil {
		if err := r.Deliver(v); err != nil {
			return nil, fail(StepDeliver, err)
		}
	}
	return v, nil
}

// makeToken runs call, which makes a token (step of a flow), under
// finishing: nothing once ctx is done, and a call under way when ctx is
// canceled is let finish, so that the step after it revokes its token. Its
// error is a *FlowError of step.
func makeToken(ctx context.Context, step FlowStep, call func(context.Context) (*Token, error)) (*Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, &FlowError{Step: step, Err: err}
	}
	fctx, stop := finishing(ctx)
	defer stop()
	tok, err := call(fctx)
	if err != nil {
		return nil, &FlowError{Step: step, Err: err}
	}
	return tok, nil
}

// finishing returns the context of a call that creates a token: when ctx
// is canceled it ends CleanupTimeout later rather than at once; when ctx's
// deadline passes it ends at once, since nothing runs past a deadline. A
// create abandoned in flight (SIGINT, a canceled job) may leave a token
// Graph made and nobody received, live until it expires; one let finish is
// revoked by the step after it, which sees ctx done. stop releases the
// context.
func finishing(ctx context.Context) (_ context.Context, stop func()) {
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var (
		mu      sync.Mutex
		timer   *time.Timer
		stopped bool
	)
	stopAfter := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case stopped:
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			cancel()
		default:
			timer = time.AfterFunc(CleanupTimeout, cancel)
		}
	})
	return finishCtx{Context: fctx, parent: ctx}, func() {
		stopAfter()
		mu.Lock()
		stopped = true
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// finishCtx is the context finishing returns: Done when finishing ends it,
// with parent's deadline, and parent's error once done (why it ended).
type finishCtx struct {
	context.Context // not canceled with parent
	parent          context.Context
}

func (f finishCtx) Deadline() (time.Time, bool) { return f.parent.Deadline() }

func (f finishCtx) Err() error {
	err := f.Context.Err()
	if perr := f.parent.Err(); err != nil && perr != nil {
		return perr
	}
	return err
}

// Discard revokes token, a token of app that was created but will not be
// handed over (RevokeAccessToken), within CleanupTimeout even when ctx is
// done. The token never appears in the error.
func (c *Client) Discard(ctx context.Context, app App, token string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
	defer cancel()
	if err := c.RevokeAccessToken(ctx, RevokeRequest{App: app, Token: token}); err != nil {
		return newRedactor(token).wrap(err)
	}
	return nil
}
