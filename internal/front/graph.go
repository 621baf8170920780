package front

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/pkg/mint"
)

// GraphURL returns the Graph base URL to call: raw checked
// (mint.CheckBaseURL), or mint.DefaultBaseURL when raw is empty.
func GraphURL(raw string) (string, error) {
	if raw == "" {
		raw = mint.DefaultBaseURL
	}
	return mint.CheckBaseURL(raw)
}

// GraphVersion returns the Graph version to name: v checked
// (mint.CheckVersion), or mint.DefaultVersion when v is empty.
func GraphVersion(v string) (string, error) {
	if v == "" {
		v = mint.DefaultVersion
	}
	return v, mint.CheckVersion(v)
}

// RetryPolicy is the policy both front ends call Graph with:
// mint.DefaultRetryPolicy, except that a wait Meta asks for when it
// throttles (its usage headers' estimated_time_to_regain_access, in whole
// minutes) is waited out up to MaxThrottleWait. A throttle is "not now":
// giving up at once would revoke a token just minted for want of its
// inspection, or leave live one the post step was to revoke. mint starts
// no wait that would pass the context's deadline (the action's step
// timeout), and Waiting says each one.
func RetryPolicy() mint.RetryPolicy {
	p := mint.DefaultRetryPolicy()
	p.MaxDelay = MaxThrottleWait
	return p
}

// MaxThrottleWait is the longest wait RetryPolicy starts.
const MaxThrottleWait = 2 * time.Minute

// noticeWait is the shortest wait Waiting reports: longer than any backoff
// of RetryPolicy between two attempts, so only a wait Meta asked for (its
// usage headers' estimated_time_to_regain_access) is reported.
const noticeWait = 5 * time.Second

// Waiting is the mint.WithSleep option of a front end: before a wait of
// noticeWait or more it calls notice with a sentence saying so, so that a wait
// of a minute does not look like a hang; then it waits with sleep
// (clock.Sleep when nil; tests pass a fake).
func Waiting(notice func(string), sleep func(context.Context, time.Duration) error) mint.Option {
	if sleep == nil {
		sleep = clock.Sleep
	}
	return mint.WithSleep(func(ctx context.Context, d time.Duration) error {
		if d >= noticeWait {
			notice(fmt.Sprintf("Meta is throttling this app or business: waiting %s before calling Graph again, as its usage headers ask", d.Round(time.Second)))
		}
		return sleep(ctx, d)
	})
}

// NewClient builds the Graph client both front ends call with: the base URL
// and version (empty for the defaults), the shared retry policy
// (RetryPolicy), then opts, which win.
func NewClient(graphURL, version string, opts ...mint.Option) (*mint.Client, error) {
	base := []mint.Option{mint.WithRetry(RetryPolicy())}
	if graphURL != "" {
		base = append(base, mint.WithBaseURL(graphURL))
	}
	if version != "" {
		base = append(base, mint.WithVersion(version))
	}
	return mint.NewClient(append(base, opts...)...)
}

// ParseScopes parses raw (commas and/or white space) and checks every
// scope (mint.CheckScopes). With allowUnlisted, scopes missing from mint's
// list are returned in unlisted, for a warning; without, they are an
// *mint.UnlistedScopeError.
func ParseScopes(raw string, allowUnlisted bool) (scopes, unlisted []string, err error) {
	scopes = mint.ParseScopes(raw)
	err = mint.CheckScopes(scopes)
	var uerr *mint.UnlistedScopeError
	if errors.As(err, &uerr) && allowUnlisted {
		return scopes, uerr.Scopes, nil
	}
	return scopes, nil, err
}
