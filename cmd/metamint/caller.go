package main

import (
	"context"
	"time"

	"github.com/metamint/metamint/pkg/mint"
)

// callerWarnWithin is how close to its expiry the calling token makes mint
// warn: when it expires, everything that mints with it stops at once.
const callerWarnWithin = 15 * 24 * time.Hour

// callerCheck inspects the calling token with debug_token while mint runs,
// so it adds no wall time.
type callerCheck struct {
	done chan struct{}
	info *mint.TokenInfo
	err  error
}

// checkCaller starts the check. With METAMINT_MINTING_APP_SECRET set the
// calling token belongs to another app, which app's app token cannot
// inspect: nothing is called.
func (c *cli) checkCaller(ctx context.Context, cl *mint.Client, app mint.App, caller, minting string) *callerCheck {
	cc := &callerCheck{done: make(chan struct{})}
	if minting != "" {
		close(cc.done)
		return cc
	}
	go func() {
		defer close(cc.done)
		cc.info, cc.err = cl.DebugToken(ctx, app, caller)
	}()
	return cc
}

func (cc *callerCheck) wait() { <-cc.done }

// report warns on standard error when the calling token expires within
// callerWarnWithin. A check that could not be made says nothing: the CLI
// has no debug level, and the mint's own result matters more.
func (cc *callerCheck) report(c *cli, now func() time.Time) {
	cc.wait()
	if cc.err != nil || cc.info == nil || !cc.info.IsValid || cc.info.NeverExpires() {
		return
	}
	left := cc.info.ExpiresAt.Sub(now())
	if left > callerWarnWithin {
		return
	}
	c.stderr.printf("metamint mint: warning: the calling token ($%s) expires %s (in %d days); when it does, "+
		"everything that mints with it stops: renew it where it is kept with 'metamint renew' or the action's scheduled renewal workflow (docs/renew.md), or keep it in a Lambda-managed secret\n",
		envAccessToken, formatExpiry(cc.info.ExpiresAt), int(left/(24*time.Hour)))
}
