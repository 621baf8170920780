// Package pace paces the calls many goroutines make against one shared
// request-rate quota, and adapts to a quota it shares with others: it slows
// down when the service throttles and recovers slowly (additive increase,
// multiplicative decrease, as TCP does). metamint paces its Secrets Manager
// writes with it: one Pacer per Lambda invocation, shared by every secret
// and step.
//
// Standard library only. A Pacer's clock (Now, Sleep) and its jitter (Rand)
// are fields, so tests drive it by count with a fake clock.
package pace

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/metamint/metamint/internal/clock"
)

// Tuning of a Pacer.
const (
	// Decrease is the factor a throttle cuts the rate by.
	Decrease = 0.5
	// CutEvery is the shortest time between two cuts: the throttles of the
	// calls already in flight when the first came cut once.
	CutEvery = time.Second
	// MinRate is the floor a rate is never cut below, in calls a second.
	MinRate = 1.0
	// RecoverTime is how long a rate takes to climb from nothing back to
	// the configured one without a throttle (at least MinStep a second):
	// from half, half as long.
	RecoverTime = 60 * time.Second
	// MinStep is the least a rate climbs a second, in calls a second.
	MinStep = 0.25
	// BaseBackoff and MaxBackoff bound the wait after a throttle: a random
	// time ("full jitter") below BaseBackoff doubled per throttle of the
	// same call, at most MaxBackoff.
	BaseBackoff = 200 * time.Millisecond
	MaxBackoff  = 5 * time.Second
)

// Pacer hands out call slots at most at its rate, one at a time (no
// burst), to every goroutine that calls Wait. The zero value is not usable:
// make one with New. Its methods are safe for concurrent use; set the clock
// fields before the first call.
type Pacer struct {
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Sleep waits d or until ctx ends (nil: a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for the jitter (nil: math/rand/v2).
	Rand func() float64

	mu        sync.Mutex
	max, rate float64   // calls a second: configured, current
	next      time.Time // the next free slot
	updated   time.Time // when rate last grew (or was cut)
	cut       time.Time // when rate was last cut
	throttles int
	cuts      int
}

// New returns a Pacer of rate calls a second. It panics on a rate that is
// not positive, as a misuse (configuration is validated before).
func New(rate float64) *Pacer {
	if !(rate > 0) || math.IsInf(rate, 0) {
		panic(fmt.Sprintf("pace.New(%v): the rate must be a positive number", rate))
	}
	return &Pacer{max: rate, rate: rate}
}

// WaitError is the error of a wait that ended before its slot came: ctx
// ended, or its deadline comes before the slot. The call was not made.
// It matches ctx's error (errors.Is(err, context.DeadlineExceeded)).
type WaitError struct {
	What  string        // "a slot" or "the backoff after a throttle"
	Delay time.Duration // how long the wait would have been
	Err   error         // ctx.Err(), or context.DeadlineExceeded for a slot past the deadline
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("pace: not sent: waiting %s for %s: %v", e.Delay.Round(time.Millisecond), e.What, e.Err)
}

func (e *WaitError) Unwrap() error { return e.Err }

// RetryableError is false: a caller's retry would meet the same deadline
// (the AWS SDK's retryer asks).
func (e *WaitError) RetryableError() bool { return false }

// Wait blocks until the caller's slot: calls are spaced 1/rate apart. A
// slot that would come after ctx's deadline is not taken: Wait returns a
// *WaitError at once, without waiting.
func (p *Pacer) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return &WaitError{What: "a slot", Err: err}
	}
	p.mu.Lock()
	now := p.now()
	p.recoverLocked(now)
	slot := p.next
	if slot.Before(now) {
		slot = now
	}
	d := slot.Sub(now)
	if deadline, ok := ctx.Deadline(); ok && slot.After(deadline) {
		p.mu.Unlock()
		return &WaitError{What: "a slot", Delay: d, Err: context.DeadlineExceeded}
	}
	p.next = slot.Add(time.Duration(float64(time.Second) / p.rate))
	p.mu.Unlock()
	if d <= 0 {
		return nil
	}
	if err := p.sleep(ctx, d); err != nil {
		return &WaitError{What: "a slot", Delay: d, Err: err}
	}
	return nil
}

// Throttled records that the service throttled a call: the rate is cut
// (at most once per CutEvery) and, from then, recovers slowly.
func (p *Pacer) Throttled() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.throttles++
	if p.cuts > 0 && now.Sub(p.cut) < CutEvery {
		return
	}
	p.recoverLocked(now)
	p.rate = max(MinRate, p.rate*Decrease)
	if p.rate > p.max {
		p.rate = p.max // a configured rate below MinRate stays
	}
	p.cut, p.updated = now, now
	p.cuts++
	// Slots already handed out stand; the next ones are spaced at the
	// new rate.
}

// Backoff waits before a throttled call is sent again (the caller records
// the throttle with Throttled when it is one of the paced calls): a random time below BaseBackoff·2^attempt
// (attempt counts the throttles of this call from 0), at most MaxBackoff.
// A wait that would pass ctx's deadline is not started: Backoff returns a
// *WaitError at once.
func (p *Pacer) Backoff(ctx context.Context, attempt int) error {
	ceiling := MaxBackoff
	if attempt < 16 {
		ceiling = min(MaxBackoff, BaseBackoff<<attempt)
	}
	d := time.Duration(p.random() * float64(ceiling))
	if deadline, ok := ctx.Deadline(); ok && p.now().Add(d).After(deadline) {
		return &WaitError{What: "the backoff after a throttle", Delay: d, Err: context.DeadlineExceeded}
	}
	if err := p.sleep(ctx, d); err != nil {
		return &WaitError{What: "the backoff after a throttle", Delay: d, Err: err}
	}
	return nil
}

// Rate returns the current rate, in calls a second.
func (p *Pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recoverLocked(p.now())
	return p.rate
}

// Stats are a Pacer's counts.
type Stats struct {
	Throttles int // throttles recorded
	Cuts      int // of those, the ones that cut the rate
}

// Stats returns the counts so far.
func (p *Pacer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Throttles: p.throttles, Cuts: p.cuts}
}

// recoverLocked grows the rate for the time since it last changed; p.mu is
// held.
func (p *Pacer) recoverLocked(now time.Time) {
	if p.rate >= p.max {
		p.updated = now
		return
	}
	if d := now.Sub(p.updated); d > 0 {
		step := max(MinStep, p.max/RecoverTime.Seconds()) // calls a second regained a second
		p.rate = min(p.max, p.rate+step*d.Seconds())
		p.updated = now
	}
}

func (p *Pacer) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pacer) random() float64 {
	if p.Rand != nil {
		return p.Rand()
	}
	return rand.Float64() //nolint:gosec // G404: jitter, not a secret
}

func (p *Pacer) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}
