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

// Cue is a context for tests whose deadline passes when the test says so
// (Expire), not by the clock: Err is then context.DeadlineExceeded, as when
// an invocation's or a step's deadline comes, so a condition "the deadline
// passed while a call was held" happens by count. Deadline reports the
// time given to NewCue, far enough off that no margin is reached by the
// clock. Its methods are safe for concurrent use.
type Cue struct {
	context.Context // values only
	deadline        time.Time
	done            chan struct{}
	once            sync.Once
}

// NewCue returns a Cue that reports the deadline d from now.
func NewCue(d time.Duration) *Cue {
	return &Cue{Context: context.Background(), deadline: time.Now().Add(d), done: make(chan struct{})}
}

// Deadline reports the deadline given to NewCue.
func (c *Cue) Deadline() (time.Time, bool) { return c.deadline, true }

// Done is closed by Expire.
func (c *Cue) Done() <-chan struct{} { return c.done }

// Err is context.DeadlineExceeded once Expire was called, nil before.
func (c *Cue) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// Expire makes the deadline pass; calls after the first do nothing.
func (c *Cue) Expire() { c.once.Do(func() { close(c.done) }) }
