package mint

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/clock"
)

func TestPacerInterval(t *testing.T) {
	t.Parallel()
	p := &pacer{Pacing: Pacing{Threshold: 80, MaxInterval: time.Second}, now: time.Now}
	tests := []struct {
		percent int
		want    time.Duration
	}{
		{0, 0}, {79, 0}, {80, 0}, {90, 500 * time.Millisecond}, {100, time.Second}, {250, time.Second},
	}
	for _, tt := range tests {
		if got := p.interval(tt.percent); got != tt.want {
			t.Errorf("interval(%d) = %v; want %v", tt.percent, got, tt.want)
		}
	}
}

func TestPacerSpacesCallsAboveThreshold(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	p := &pacer{Pacing: Pacing{Threshold: 50, MaxInterval: 100 * time.Millisecond}, now: func() time.Time { return now }}
	p.observe(Usage{App: AppUsage{CallCount: 100}}, false)
	// The clock does not move, so each reservation lands one full interval
	// after the previous one.
	for i := range 3 {
		if got, want := p.reserve(), time.Duration(i)*100*time.Millisecond; got != want {
			t.Errorf("reserve() #%d = %v; want %v", i, got, want)
		}
	}
	p.observe(Usage{App: AppUsage{CallCount: 10}}, false)
	p.next = time.Time{}
	if got := p.reserve(); got != 0 {
		t.Errorf("reserve() below the threshold = %v; want 0", got)
	}
}

func TestPacerWaitsOutRegainAccess(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	p := &pacer{Pacing: Pacing{Threshold: 75, MaxInterval: time.Second}, now: func() time.Time { return now },
		sleep: (&Client{sleep: clock.Sleep}).wait}
	p.observe(Usage{RegainAccessIn: 2 * time.Minute}, true)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err := p.wait(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait() with access regained after the deadline = %v; want context.DeadlineExceeded at once", err)
	}
	if !p.blockedUntil.Equal(now.Add(2 * time.Minute)) {
		t.Errorf("blockedUntil = %v; want now+2m", p.blockedUntil)
	}
}

func TestRevocationIsNotPaced(t *testing.T) {
	t.Parallel()
	var calls int
	c, err := NewClient(WithPacing(Pacing{}), WithHTTPClient(&http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		calls++
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"success":true}`)), Request: r}, nil
	})}))
	if err != nil {
		t.Fatal(err)
	}
	c.pacer.observe(Usage{RegainAccessIn: time.Hour}, true) // Meta said: wait an hour
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	app := App{ID: "2000", Secret: "s"}
	if _, err := c.DebugToken(ctx, app, "t"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DebugToken() while blocked = %v; want it to give up at once", err)
	}
	if err := c.RevokeAccessToken(ctx, RevokeRequest{App: app, Token: "t"}); err != nil {
		t.Errorf("RevokeAccessToken() while blocked = %v; want it sent", err)
	}
	if err := c.RevokeAllAccessTokens(ctx, RevokeAllRequest{SystemUserID: "4000", AccessToken: "t"}); err != nil {
		t.Errorf("RevokeAllAccessTokens() while blocked = %v; want it sent", err)
	}
	if calls != 2 {
		t.Errorf("requests sent = %d; want 2 (the revocations only)", calls)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPacingReadsClientClock checks that the pacer reads the Client's clock
// when it runs, whichever of WithPacing and WithClock comes first.
func TestPacingReadsClientClock(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := WithClock(func() time.Time { return fixed })
	pacing := WithPacing(Pacing{})
	tests := []struct {
		name string
		opts []Option
	}{
		{"pacing then clock", []Option{pacing, clock}},
		{"clock then pacing", []Option{clock, pacing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tt.opts...)
			if err != nil {
				t.Fatalf("NewClient() = %v", err)
			}
			if got := c.pacer.now(); !got.Equal(fixed) {
				t.Errorf("pacer.now() = %v; want the injected clock's %v", got, fixed)
			}
			// A throttle observed now blocks until the injected clock's now + 2m.
			c.pacer.observe(Usage{RegainAccessIn: 2 * time.Minute}, true)
			if want := fixed.Add(2 * time.Minute); !c.pacer.blockedUntil.Equal(want) {
				t.Errorf("blockedUntil = %v; want %v", c.pacer.blockedUntil, want)
			}
		})
	}
}
