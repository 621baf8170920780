package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/metamint/metamint/pkg/mint"
)

// callerWarnWithin is how close to its expiry the calling token makes the
// step warn. Business Manager hands out 60-day system user tokens; when the
// one a workflow mints with expires, every workflow using it stops at once.
const callerWarnWithin = 15 * 24 * time.Hour

// callerCheck inspects the calling token (access-token) with debug_token
// while the step mints, so it adds no wall time.
type callerCheck struct {
	p    *params
	done chan struct{}
	info *mint.TokenInfo
	err  error
}

// checkCaller starts the check. With minting-app-secret set, the calling
// token belongs to another app, which app-id's app token cannot inspect: no
// call is made and report says so at debug level.
func checkCaller(ctx context.Context, c *mint.Client, p *params) *callerCheck {
	cc := &callerCheck{p: p, done: make(chan struct{})}
	if p.mintingSecret != "" {
		close(cc.done)
		return cc
	}
	go func() {
		defer close(cc.done)
		cc.info, cc.err = c.DebugToken(ctx, p.app, p.accessToken)
	}()
	return cc
}

// wait blocks until the check has ended.
func (cc *callerCheck) wait() { <-cc.done }

// report writes what the check found, once, from the step's goroutine: a
// warning when the calling token expires within callerWarnWithin, a debug
// line when it could not be checked.
func (cc *callerCheck) report(a *githubactions.Action, now func() time.Time) {
	cc.wait()
	if cc.p.mintingSecret != "" {
		a.Debugf("The %s was generated with another app than %s (%s is set): its expiry cannot be checked with app %s's app token.",
			inAccessToken, inAppID, inMintingAppSecret, cc.p.app.ID)
		return
	}
	var gerr *mint.GraphError
	switch {
	case errors.As(cc.err, &gerr) && gerr.Code == 100:
		a.Debugf("The %s could not be inspected with app %s's app token (it belongs to another app, or is not a user token): its expiry was not checked.",
			inAccessToken, cc.p.app.ID)
		return
	case cc.err != nil:
		a.Debugf("Could not check when the %s expires: %s", inAccessToken, describe(cc.err))
		return
	case !cc.info.IsValid || cc.info.NeverExpires():
		return
	}
	left := cc.info.ExpiresAt.Sub(now())
	if left > callerWarnWithin {
		return
	}
	if cc.p.awsSecretID != "" {
		a.Warningf("The calling token of the managed secret %s expires at %s (in %s), and the Lambda has not rotated it: "+
			"check its schedule and its logs. When it expires, every workflow that mints with it stops.",
			quoteID(cc.p.awsSecretID), cc.info.ExpiresAt.UTC().Format(time.RFC3339), roundDays(left))
		return
	}
	a.Warningf("The %s this step mints with expires at %s (in %s). When it expires, every workflow that mints with it stops: "+
		"let a scheduled workflow renew it in its secret (this action with renew-secret; see docs/renew.md), or keep it in a Lambda-managed secret (aws-secret-id) that rotates it.",
		inAccessToken, cc.info.ExpiresAt.UTC().Format(time.RFC3339), roundDays(left))
}

// roundDays renders d in days and hours.
func roundDays(d time.Duration) string {
	if d <= 0 {
		return "the past"
	}
	days := int(d / (24 * time.Hour))
	hours := int((d % (24 * time.Hour)) / time.Hour)
	return fmt.Sprintf("%dd%dh", days, hours)
}

// writeAssets adds to the summary which assets each granted scope reaches,
// from debug_token's granular_scopes; nothing when Graph listed no targets.
func writeAssets(b *strings.Builder, info *mint.TokenInfo) {
	listed := false
	for _, g := range info.GranularScopes {
		if len(g.TargetIDs) > 0 {
			listed = true
		}
	}
	if !listed {
		return
	}
	b.WriteString("| Scope | Assets it reaches (granular_scopes target IDs) |\n|---|---|\n")
	for _, g := range info.GranularScopes {
		targets := "no target list: not limited to listed assets"
		if len(g.TargetIDs) > 0 {
			ids := make([]string, len(g.TargetIDs))
			for i, id := range g.TargetIDs {
				ids[i] = "`" + markdownText(id) + "`"
			}
			targets = strings.Join(ids, ", ")
		}
		fmt.Fprintf(b, "| `%s` | %s |\n", markdownText(g.Scope), targets)
	}
	b.WriteString("\n")
}
