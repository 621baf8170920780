package clock_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/clock"
)

func TestSleepEndsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := clock.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(cancelled, 1h) = %v; want context.Canceled at once", err)
	}
	if err := clock.Sleep(t.Context(), 0); err != nil {
		t.Errorf("Sleep(0) = %v", err)
	}
}

func TestFake(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	f := clock.NewFake(start)
	for _, d := range []time.Duration{time.Second, time.Minute} {
		if err := f.Sleep(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := f.Now(), start.Add(time.Minute+time.Second); !got.Equal(want) {
		t.Errorf("Now() = %v; want %v", got, want)
	}
	if got := f.Slept(); !slices.Equal(got, []time.Duration{time.Second, time.Minute}) {
		t.Errorf("Slept() = %v", got)
	}
}

func TestCue(t *testing.T) {
	t.Parallel()
	c := clock.NewCue(time.Hour)
	if d, ok := c.Deadline(); !ok || time.Until(d) < 30*time.Minute {
		t.Errorf("Deadline() = %v, %v; want about an hour off", d, ok)
	}
	child, cancel := context.WithCancel(c)
	defer cancel()
	if c.Err() != nil || child.Err() != nil {
		t.Fatalf("Err() = %v, child %v before Expire; want nil", c.Err(), child.Err())
	}
	c.Expire()
	c.Expire()
	<-child.Done()
	if !errors.Is(c.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Errorf("after Expire: Err() = %v, child %v; want context.DeadlineExceeded for both", c.Err(), child.Err())
	}
}
