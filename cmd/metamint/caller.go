package main

import (
	"time"

	"github.com/metamint/metamint/internal/front"
)

// reportCaller warns on standard error when the calling token expires
// within front.CallerWarnWithin. A check that could not be made says
// nothing: the CLI has no debug level, and the mint's own result matters
// more.
func (c *cli) reportCaller(cc *front.CallerCheck, now func() time.Time) {
	at, left, ok := cc.Expiring(now())
	if !ok {
		return
	}
	c.stderr.printf("metamint mint: warning: the calling token ($%s) expires %s (in %s); when it does, "+
		"everything that mints with it stops: renew it where it is kept with 'metamint renew' or the action's scheduled renewal workflow (docs/renew.md), or keep it in a Lambda-managed secret\n",
		envAccessToken, front.Time(at), front.Days(left))
}
