package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/metamint/metamint/internal/front"
	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/pkg/mint"
)

// reportCaller writes what the calling token's check found, once, from the
// step's goroutine: a warning when the calling token expires within
// front.CallerWarnWithin, a debug line when it could not be checked.
func reportCaller(a *githubactions.Action, p *params, cc *front.CallerCheck, now func() time.Time) {
	if cc.Skipped() {
		a.Debugf("The %s was generated with another app than %s (%s is set): its expiry cannot be checked with app %s's app token.",
			inAccessToken, inAppID, inMintingAppSecret, p.Token.App.ID)
		return
	}
	var gerr *mint.GraphError
	switch err := cc.Err(); {
	case errors.As(err, &gerr) && gerr.Code == 100:
		a.Debugf("The %s could not be inspected with app %s's app token (it belongs to another app, or is not a user token): its expiry was not checked.",
			inAccessToken, p.Token.App.ID)
		return
	case err != nil:
		a.Debugf("Could not check when the %s expires: %s", inAccessToken, front.Describe(err))
		return
	}
	at, left, ok := cc.Expiring(now())
	if !ok {
		return
	}
	switch p.callerField {
	case secret.FieldMintingTokenRef:
		a.Warningf("The minting token of the managed secret %s (its %s) expires at %s (in %s). The Lambda does not rotate a minting token: "+
			"replace the value behind %s before then, or every workflow that mints with it stops.",
			quoteID(p.awsSecretID), secret.FieldMintingTokenRef, front.Time(at), front.Days(left), secret.FieldMintingTokenRef)
	case secret.FieldAccessToken:
		a.Warningf("The calling token of the managed secret %s expires at %s (in %s), and the Lambda has not rotated it: "+
			"check its schedule and its logs. When it expires, every workflow that mints with it stops.",
			quoteID(p.awsSecretID), front.Time(at), front.Days(left))
	default:
		a.Warningf("The %s this step mints with expires at %s (in %s). When it expires, every workflow that mints with it stops: "+
			"let a scheduled workflow renew it in its secret (this action with renew-secret; see docs/renew.md), or keep it in a Lambda-managed secret (aws-secret-id) that rotates it.",
			inAccessToken, front.Time(at), front.Days(left))
	}
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
				ids[i] = front.Markdown(id)
			}
			targets = strings.Join(ids, ", ")
		}
		fmt.Fprintf(b, "| %s | %s |\n", front.Markdown(g.Scope), targets)
	}
	b.WriteString("\n")
}
