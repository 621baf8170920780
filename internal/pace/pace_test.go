package pace_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/pace"
)

// clock is a fake clock: Sleep moves it forward by d (advance) or only
// records when the sleeper would wake (frozen).
type clock struct {
	mu      sync.Mutex
	t       time.Time
	advance bool
	wakes   []time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wakes = append(c.wakes, c.t.Add(d))
	if c.advance {
		c.t = c.t.Add(d)
	}
	return nil
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newPacer(rate float64, advance bool) (*pace.Pacer, *clock) {
	c := &clock{t: time.Now(), advance: advance}
	p := pace.New(rate)
	p.Now, p.Sleep = c.Now, c.Sleep
	p.Rand = func() float64 { return 0.5 }
	return p, c
}

// spacing takes two slots of p, on its advancing clock c, and returns the
// time between them.
func spacing(t *testing.T, p *pace.Pacer, c *clock) time.Duration {
	t.Helper()
	if err := p.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := c.Now()
	if err := p.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c.Now().Sub(before)
}

// TestWaitSpaces: slots come 1/rate apart, the first at once, whatever
// the number of goroutines asking.
func TestWaitSpaces(t *testing.T) {
	t.Parallel()
	p, c := newPacer(4, false)
	start := c.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if err := p.Wait(t.Context()); err != nil {
					t.Errorf("Wait() = %v; want nil", err)
				}
			}
		})
	}
	wg.Wait()
	c.mu.Lock()
	wakes := slices.Clone(c.wakes)
	c.mu.Unlock()
	// The first slot is now (no sleep); the other 79 sleep until theirs.
	if len(wakes) != 79 {
		t.Fatalf("sleeps = %d; want 79", len(wakes))
	}
	slices.SortFunc(wakes, func(a, b time.Time) int { return a.Compare(b) })
	for i, w := range wakes {
		if want := start.Add(time.Duration(i+1) * 250 * time.Millisecond); !w.Equal(want) {
			t.Fatalf("slot %d at +%s; want +%s", i+1, w.Sub(start), want.Sub(start))
		}
	}
}

// TestWaitDeadline: a slot past ctx's deadline is not taken and not waited
// for; the error matches context.DeadlineExceeded and is not retryable.
func TestWaitDeadline(t *testing.T) {
	t.Parallel()
	p, c := newPacer(0.001, true) // one slot every 1000 s
	ctx, cancel := context.WithDeadline(t.Context(), c.Now().Add(time.Hour))
	defer cancel()
	for i := range 4 { // at 0, 1000, 2000 and 3000 s
		if err := p.Wait(ctx); err != nil {
			t.Fatalf("Wait() #%d = %v; want nil", i+1, err)
		}
	}
	before := c.Now()
	err := p.Wait(ctx)
	var we *pace.WaitError
	if !errors.As(err, &we) || !errors.Is(err, context.DeadlineExceeded) || we.RetryableError() {
		t.Fatalf("Wait() past the deadline = %v; want a *WaitError matching DeadlineExceeded, not retryable", err)
	}
	if !c.Now().Equal(before) {
		t.Errorf("Wait() past the deadline slept %s; want no wait", c.Now().Sub(before))
	}
	// The refused slot was not taken: a later deadline gets it.
	ctx2, cancel2 := context.WithDeadline(t.Context(), c.Now().Add(2*time.Hour))
	defer cancel2()
	if err := p.Wait(ctx2); err != nil {
		t.Errorf("Wait() with a later deadline = %v; want nil", err)
	}
	if got, want := c.Now().Sub(before), 1000*time.Second; got != want {
		t.Errorf("Wait() slept %s; want %s", got, want)
	}
	done, cancel3 := context.WithCancel(t.Context())
	cancel3()
	if err := p.Wait(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait(cancelled) = %v; want context.Canceled", err)
	}
}

// TestAIMD: a throttle halves the rate, once for the throttles of one
// second; the rate climbs back by max(MinStep, rate/60) a second; it never
// goes below MinRate.
func TestAIMD(t *testing.T) {
	t.Parallel()
	p, c := newPacer(45, true)
	p.Throttled()
	p.Throttled() // the same second: no second cut
	if got := p.Rate(); got != 22.5 {
		t.Fatalf("Rate() after one second of throttles = %v; want 22.5", got)
	}
	if got, want := p.Stats(), (pace.Stats{Throttles: 2, Cuts: 1}); got != want {
		t.Errorf("Stats() = %+v; want %+v", got, want)
	}
	c.Advance(2 * time.Second)
	if got := p.Rate(); got != 24 { // 45/60 = 0.75 a second
		t.Errorf("Rate() 2 s later = %v; want 24", got)
	}
	c.Advance(time.Minute)
	if got := p.Rate(); got != 45 {
		t.Errorf("Rate() a minute later = %v; want 45 (the configured rate, no more)", got)
	}
	for range 10 {
		p.Throttled()
		c.Advance(pace.CutEvery)
	}
	if got := p.Rate(); got > pace.MinRate+0.75 || got < pace.MinRate {
		t.Errorf("Rate() after ten seconds of throttles = %v; want near MinRate %v", got, pace.MinRate)
	}
	// Slots follow the cut rate: 8 a second cut to 4, 250 ms apart.
	q, qc := newPacer(8, true)
	q.Throttled()
	if got := spacing(t, q, qc); got != 250*time.Millisecond {
		t.Errorf("spacing after a cut from 8 = %s; want 250ms", got)
	}
}

// TestBackoff: the wait after a throttle is jittered and doubles per
// throttle of the same call up to MaxBackoff; one that would pass the
// deadline is not started.
func TestBackoff(t *testing.T) {
	t.Parallel()
	p, c := newPacer(10, true)
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{0, 100 * time.Millisecond}, {3, 800 * time.Millisecond}, {10, 2500 * time.Millisecond}, {100, 2500 * time.Millisecond}} {
		before := c.Now()
		if err := p.Backoff(t.Context(), tc.attempt); err != nil {
			t.Fatalf("Backoff(%d) = %v", tc.attempt, err)
		}
		if got := c.Now().Sub(before); got != tc.want {
			t.Errorf("Backoff(%d) waited %s; want %s (half the ceiling, Rand 0.5)", tc.attempt, got, tc.want)
		}
	}
	if got := p.Rate(); got != 10 {
		t.Errorf("Rate() after backoffs = %v; want 10: Backoff alone does not cut", got)
	}
	ctx, cancel := context.WithDeadline(t.Context(), c.Now().Add(time.Second))
	defer cancel()
	before := c.Now()
	if err := p.Backoff(ctx, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Backoff past the deadline = %v; want DeadlineExceeded", err)
	}
	if !c.Now().Equal(before) {
		t.Errorf("Backoff past the deadline waited")
	}
}

func TestNewMisuse(t *testing.T) {
	t.Parallel()
	for _, r := range []float64{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%v) did not panic", r)
				}
			}()
			pace.New(r)
		}()
	}
}

// TestThrottledBelowMinRate: a configured rate below MinRate (the Lambda
// accepts 0.1 a second) is neither cut nor raised to MinRate by a
// throttle: a throttle never speeds the writes up.
func TestThrottledBelowMinRate(t *testing.T) {
	t.Parallel()
	p, c := newPacer(0.1, true)
	p.Throttled()
	if got := p.Rate(); got != 0.1 {
		t.Fatalf("Rate() after a throttle at 0.1 a second = %v; want 0.1", got)
	}
	if got := spacing(t, p, c); got != 10*time.Second {
		t.Errorf("spacing after a throttle at 0.1 a second = %s; want 10s", got)
	}
}
