package front

import (
	"context"
	"time"

	"github.com/metamint/metamint/pkg/mint"
)

// CallerWarnWithin is how close to its expiry the calling token makes a
// front end warn. Business Manager hands out 60-day system user tokens;
// when the one that mints expires, everything minting with it stops at
// once.
const CallerWarnWithin = 15 * 24 * time.Hour

// callerCheckTimeout bounds the calling token's check, retries and waits
// included: one exchange's timeout (mint.DefaultTimeout), shorter than any
// wait of Meta's minutes.
const callerCheckTimeout = mint.DefaultTimeout

// CallerCheck inspects the calling token with debug_token while the token
// is minted, so it adds no wall time.
type CallerCheck struct {
	done    chan struct{}
	skipped bool
	info    *mint.TokenInfo
	err     error
}

// CheckCaller starts the check of caller with app's app token. With a
// minting app secret the calling token belongs to another app, which app's
// app token cannot inspect: nothing is called, and Skipped says so.
func CheckCaller(ctx context.Context, c *mint.Client, app mint.App, caller, mintingAppSecret string) *CallerCheck {
	cc := &CallerCheck{done: make(chan struct{}), skipped: mintingAppSecret != ""}
	if cc.skipped {
		close(cc.done)
		return cc
	}
	go func() {
		defer close(cc.done)
		// The new token waits for this check before its inspection, and
		// the check only warns: a throttle's wait (whole minutes) must not
		// eat the time of the step, so none past one exchange is started.
		checkCtx, cancel := context.WithTimeout(ctx, callerCheckTimeout)
		defer cancel()
		cc.info, cc.err = c.DebugToken(checkCtx, app, caller)
	}()
	return cc
}

// Wait blocks until the check has ended.
func (cc *CallerCheck) Wait() { <-cc.done }

// Skipped reports whether no check was made (another app's token).
func (cc *CallerCheck) Skipped() bool { return cc.skipped }

// Err is why the check could not be made, after Wait.
func (cc *CallerCheck) Err() error {
	cc.Wait()
	return cc.err
}

// Expiring waits for the check and reports whether the calling token is
// valid and expires within CallerWarnWithin of now: when, and how long
// that leaves.
func (cc *CallerCheck) Expiring(now time.Time) (at time.Time, left time.Duration, ok bool) {
	cc.Wait()
	if cc.err != nil || cc.info == nil || !cc.info.IsValid || cc.info.NeverExpires() {
		return time.Time{}, 0, false
	}
	left = cc.info.ExpiresAt.Sub(now)
	return cc.info.ExpiresAt, left, left <= CallerWarnWithin
}

// Mint is the flow both front ends run: it starts the calling token's
// check, then creates, inspects and checks the token
// (mint.Client.CreateVerifiedAccessToken), letting the calling token's
// check end before the new token is inspected, so the two debug_token
// calls reach Graph in one order. A token that fails CheckHandOver is
// refused before r.Deliver, and revoked. The CallerCheck is returned even on
// error.
func Mint(ctx context.Context, c *mint.Client, r mint.VerifiedTokenRequest) (*mint.VerifiedToken, *CallerCheck, error) {
	cc := CheckCaller(ctx, c, r.App, r.AccessToken, r.MintingAppSecret)
	created := r.Created
	r.Created = func(token string) error {
		if created != nil {
			if err := created(token); err != nil {
				return err
			}
		}
		cc.Wait()
		return nil
	}
	deliver := r.Deliver
	r.Deliver = func(v *mint.VerifiedToken) error {
		if err := CheckHandOver(v.AccessToken); err != nil {
			return err
		}
		if deliver != nil {
			return deliver(v)
		}
		return nil
	}
	v, err := c.CreateVerifiedAccessToken(ctx, r)
	return v, cc, err
}

// StepName names a step of mint's flows (CreateVerifiedAccessToken,
// RenewAccessToken) for a person, with the call it makes: "creating the
// token (POST /{system-user-id}/access_tokens)".
func StepName(s mint.FlowStep) string {
	switch s {
	case mint.StepInstall:
		return "installing the app (POST /{system-user-id}/applications)"
	case mint.StepCreate:
		return "creating the token (POST /{system-user-id}/access_tokens)"
	case mint.StepInspect:
		return "inspecting the token (GET /debug_token)"
	case mint.StepRefresh:
		return "refreshing the token (GET /oauth/access_token)"
	case mint.StepCheck:
		return "checking the token with debug_token"
	case mint.StepCreated:
		return "recording the new token"
	case mint.StepDeliver:
		return "handing the token over"
	}
	return string(s)
}
