// Package clock is the waiting metamint's internal packages share: Sleep,
// which a context ends early, and Fake, a clock for tests whose Sleep
// returns at once and moves its time on, so code that waits is driven by
// count, never by the machine's speed.
package clock

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Sleep waits for d, or until ctx ends, and then returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Fake is a clock for tests. Its methods are safe for concurrent use.
type Fake struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

// NewFake returns a Fake that reads t.
func NewFake(t time.Time) *Fake { return &Fake{t: t} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

// Sleep records d and moves the time on by d, at once.
func (f *Fake) Sleep(_ context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slept = append(f.slept, d)
	f.t = f.t.Add(d)
	return nil
}

// Slept returns every wait Sleep was asked for, in order.
func (f *Fake) Slept() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.slept)
}
