package mint

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Pacing makes a Client slow down before Meta throttles it. Every Graph
// response reports in its usage headers (X-App-Usage,
// X-Business-Use-Case-Usage) how much of the app's and the business's call
// budgets is used. Below Threshold percent calls go out at once; above it,
// calls from all goroutines sharing the Client are spaced out, the more the
// closer usage gets to 100 percent. When Graph throttles and says when access
// returns (estimated_time_to_regain_access), every call waits until then.
//
// Revocations are not paced: ending a token must not wait behind a throttle.
// A wait that would pass the context's deadline is not started: the call
// fails at once with an error matching context.DeadlineExceeded, so a caller
// working through a batch can stop and report what is left.
type Pacing struct {
	// Threshold is the usage percentage at which spacing starts; 0 means 75.
	Threshold int
	// MaxInterval is the spacing between calls at 100 percent; 0 means 1s.
	MaxInterval time.Duration
}

// WithPacing turns on usage-based pacing, shared by every call of the Client.
func WithPacing(p Pacing) Option {
	return func(c *Client) error {
		p := p // an Option may serve several NewClient calls at once
		if p.Threshold == 0 {
			p.Threshold = 75
		}
		if p.MaxInterval == 0 {
			p.MaxInterval = time.Second
		}
		if p.Threshold < 1 || p.Threshold > 99 || p.MaxInterval < 0 {
			return invalidf("Pacing needs a Threshold of 1-99 percent and a positive MaxInterval")
		}
		// The pacer reads the Client's clock when it runs, so WithClock
		// applies whatever the order of the options.
		c.pacer = &pacer{Pacing: p, now: func() time.Time { return c.now() }, sleep: c.wait}
		return nil
	}
}

// pacer is the shared state behind Pacing.
type pacer struct {
	Pacing
	now   func() time.Time
	sleep func(context.Context, time.Duration) bool // the Client's wait

	mu           sync.Mutex
	percent      int       // the latest usage reported
	next         time.Time // the earliest start of the next call
	blockedUntil time.Time // Graph's estimate of when access returns
}

// interval is the spacing between calls at the given usage.
func (p *pacer) interval(percent int) time.Duration {
	if percent < p.Threshold {
		return 0
	}
	over := min(percent, 100) - p.Threshold
	return p.MaxInterval * time.Duration(over) / time.Duration(100-p.Threshold)
}

// reserve takes the next free slot and returns how long to wait for it.
func (p *pacer) reserve() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	start := now
	if p.next.After(start) {
		start = p.next
	}
	if p.blockedUntil.After(start) {
		start = p.blockedUntil
	}
	p.next = start.Add(p.interval(p.percent))
	return start.Sub(now)
}

// wait reserves the next slot and sleeps until it.
func (p *pacer) wait(ctx context.Context) error {
	d := p.reserve()
	if d <= 0 {
		return nil
	}
	if !p.sleep(ctx, d) {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fmt.Errorf("waiting %s for Meta's rate limits would pass the deadline: %w", d.Round(time.Millisecond), context.DeadlineExceeded)
	}
	return nil
}

// observe records what a response said about usage.
func (p *pacer) observe(u Usage, throttled bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u.Percent() > 0 || u.App != (AppUsage{}) || u.AdAccount != (AdAccountUsage{}) || u.BusinessUseCase != nil {
		p.percent = u.Percent()
	}
	if throttled {
		p.percent = max(p.percent, 100)
		if u.RegainAccessIn > 0 {
			if until := p.now().Add(u.RegainAccessIn); until.After(p.blockedUntil) {
				p.blockedUntil = until
			}
		}
	}
}
