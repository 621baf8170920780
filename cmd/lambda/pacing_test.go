package main

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/internal/pace"
	"github.com/metamint/metamint/internal/secret"
)

// fakePacer is a Pacer of rate on a fake clock, with jitter 0.5.
func fakePacer(rate float64) (*pace.Pacer, *clock.Fake) {
	c := clock.NewFake(time.Now())
	p := pace.New(rate)
	p.Now, p.Sleep, p.Rand = c.Now, c.Sleep, func() float64 { return 0.5 }
	return p, c
}

func oneAttemptOpt(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 }

// pacedEnv is a fault proxy in front of the shared moto, a client of moto
// itself, a Pacer on a fake clock, a client through the proxy whose writes
// that Pacer paces, and a secret created in moto.
type pacedEnv struct {
	proxy      *awstest.Proxy
	direct, sm *secretsmanager.Client
	p          *pace.Pacer
	clock      *clock.Fake
	name       string
}

func newPacedEnv(t *testing.T, rate float64) pacedEnv {
	t.Helper()
	e := pacedEnv{proxy: awstest.NewProxy(t, motoURL(t)), direct: newSM(motoURL(t)), name: "metamint-test/pacing-" + randHex(4)}
	e.p, e.clock = fakePacer(rate)
	e.sm = awstest.SecretsManager(e.proxy.URL, pacedWrites(e.p))
	if _, err := e.direct.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(e.name), SecretString: aws.String(`{"v":0}`)}); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestThrottledWriteSentAgain: PutSecretValue, made as one SDK attempt,
// answered ThrottlingException twice, is sent again with the same
// ClientRequestToken and value after a backoff, and stores the version; the
// pacer slows down. A throttled read is sent again too, without slowing the
// writes.
func TestThrottledWriteSentAgain(t *testing.T) {
	t.Parallel()
	e := newPacedEnv(t, 25)
	token := newUUID()
	var mu sync.Mutex
	var seen []string // ClientRequestToken of every PutSecretValue the proxy saw
	e.proxy.Inject(awstest.Fault{Op: "PutSecretValue", Times: awstest.Forever, Match: func(b map[string]any) bool {
		mu.Lock()
		defer mu.Unlock()
		tok, _ := b["ClientRequestToken"].(string)
		seen = append(seen, tok)
		return false
	}})
	throttle := e.proxy.Inject(awstest.Fault{Op: "PutSecretValue", Times: 2, Status: 400, ErrorType: "ThrottlingException", Message: "Rate exceeded"})
	_, err := e.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(e.name), ClientRequestToken: aws.String(token), SecretString: aws.String(`{"v":1}`),
	}, oneAttemptOpt)
	if err != nil {
		t.Fatalf("PutSecretValue() throttled twice = %v; want success", err)
	}
	if got := throttle.Hits(); got != 2 {
		t.Errorf("throttled attempts = %d; want 2", got)
	}
	mu.Lock()
	if len(seen) != 3 || seen[0] != token || seen[1] != token || seen[2] != token {
		t.Errorf("PutSecretValue requests carried tokens %q; want 3 times %s", seen, token)
	}
	mu.Unlock()
	out, err := e.direct.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(e.name), VersionId: aws.String(token)})
	if err != nil || aws.ToString(out.SecretString) != `{"v":1}` {
		t.Errorf("moto GetSecretValue(version) = %v; want the value stored", err)
	}
	if got := e.p.Stats(); got.Throttles != 2 || got.Cuts != 1 {
		t.Errorf("pacer Stats() = %+v; want 2 throttles, 1 cut", got)
	}
	if got := e.p.Rate(); got >= 25 {
		t.Errorf("pacer Rate() after throttles = %v; want below 25", got)
	}
	backoffs := len(e.clock.Slept())
	if backoffs < 2 {
		t.Errorf("sleeps = %d; want a backoff before each repeat", backoffs)
	}

	// A throttled read is sent again; it does not slow the writes.
	before := e.p.Stats()
	rt := e.proxy.Inject(awstest.Fault{Op: "DescribeSecret", Times: 1, Status: 400, ErrorType: "ThrottlingException", Message: "Rate exceeded"})
	if _, err := e.sm.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(e.name)}, oneAttemptOpt); err != nil {
		t.Errorf("DescribeSecret() throttled once = %v; want success", err)
	}
	if rt.Hits() != 1 || e.p.Stats() != before {
		t.Errorf("read throttle: hits %d, pacer %+v; want 1 hit and the pacer unchanged (%+v)", rt.Hits(), e.p.Stats(), before)
	}
}

// TestThrottleOutlastsDeadline: a write throttled until the deadline is
// sent again while a backoff fits before it, then the call fails with
// the throttle, matching context.DeadlineExceeded (the run defers) and not
// retryable; nothing was written.
func TestThrottleOutlastsDeadline(t *testing.T) {
	t.Parallel()
	e := newPacedEnv(t, 25)
	throttle := e.proxy.Inject(awstest.Fault{Op: "PutSecretValue", Times: awstest.Forever, Status: 400, ErrorType: "ThrottlingException", Message: "Rate exceeded"})
	// The fake clock's deadline: 10 s. Backoffs at jitter 0.5: 0.1, 0.2,
	// 0.4, 0.8, 1.6, 2.5, 2.5 s (8.1 s after 8 requests); the next 2.5 s
	// would pass it.
	ctx, cancel := context.WithDeadline(t.Context(), e.clock.Now().Add(10*time.Second))
	defer cancel()
	token := newUUID()
	_, err := e.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(e.name), ClientRequestToken: aws.String(token), SecretString: aws.String(`{"v":1}`),
	})
	var api smithy.APIError
	var te *secret.ThrottleError
	if !errors.As(err, &te) || !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PutSecretValue() throttled past the deadline = %v; want the throttle, matching DeadlineExceeded", err)
	}
	if got := throttle.Hits(); got != 8 {
		t.Errorf("requests sent = %d; want 8 (the SDK's retryer adds none)", got)
	}
	if _, err := e.direct.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(e.name), VersionId: aws.String(token)}); err == nil {
		t.Errorf("moto has the version of a write throttled every time")
	}
}

// TestPacedOps: reads are never paced; every write is.
func TestPacedOps(t *testing.T) {
	t.Parallel()
	e := newPacedEnv(t, 2) // 500 ms apart
	start := e.clock.Now()
	for range 5 {
		if _, err := e.sm.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(e.name)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.clock.Now().Sub(start); got != 0 {
		t.Errorf("5 reads waited %s; want no wait", got)
	}
	for i := range 3 {
		if _, err := e.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(e.name), ClientRequestToken: aws.String(newUUID()), SecretString: aws.String(`{"v":1}`),
		}); err != nil {
			t.Fatalf("PutSecretValue #%d = %v", i+1, err)
		}
	}
	if got := e.clock.Now().Sub(start); got != time.Second {
		t.Errorf("3 writes at 2 a second took %s of the clock; want 1s", got)
	}
}

// TestThrottleThenLostAnswer: a write throttled once, then sent again and
// carried out, whose answer is lost. The pacing sends it no third time and
// hands back the lost answer, neither a throttle nor a wait (both say
// "nothing written"): the write may have happened, and the engine reads
// back before it decides.
func TestThrottleThenLostAnswer(t *testing.T) {
	t.Parallel()
	e := newPacedEnv(t, 25)
	throttle := e.proxy.Inject(awstest.Fault{Op: "PutSecretValue", Times: 1, Status: 400, ErrorType: "ThrottlingException", Message: "Rate exceeded"})
	lost := e.proxy.Inject(awstest.Fault{Op: "PutSecretValue", Stage: awstest.AfterCommit, Times: awstest.Forever, Drop: true})
	token := newUUID()
	_, err := e.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(e.name), ClientRequestToken: aws.String(token), SecretString: aws.String(`{"v":1}`),
	}, oneAttemptOpt)
	var we *pace.WaitError
	var te *secret.ThrottleError
	if err == nil || secret.Throttled(err) || errors.As(err, &we) || errors.As(err, &te) {
		t.Fatalf("PutSecretValue() throttled, then its answer lost = %v; want the lost answer, not a throttle or a wait", err)
	}
	if throttle.Hits() != 1 || lost.Hits() != 1 || e.proxy.Calls("PutSecretValue") != 2 {
		t.Errorf("throttled %d, lost %d, requests %d; want 1, 1 and 2: nothing sent after the lost answer",
			throttle.Hits(), lost.Hits(), e.proxy.Calls("PutSecretValue"))
	}
	if _, err := e.direct.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(e.name), VersionId: aws.String(token)}); err != nil {
		t.Errorf("moto GetSecretValue(version) = %v; want the version the lost answer wrote", err)
	}
}

// TestThrottledResendTakesASlot: the resend of a throttled write waits for
// a slot of its own, not only for the backoff: at 1 write a second, a write
// throttled once (backoff 100 ms) is sent again a second after the first
// request, so resends never push the writes past the rate.
func TestThrottledResendTakesASlot(t *testing.T) {
	t.Parallel()
	e := newPacedEnv(t, 1)
	throttle := e.proxy.Inject(awstest.Fault{Op: "PutSecretValue", Times: 1, Status: 400, ErrorType: "ThrottlingException", Message: "Rate exceeded"})
	start := e.clock.Now()
	if _, err := e.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(e.name), ClientRequestToken: aws.String(newUUID()), SecretString: aws.String(`{"v":1}`),
	}, oneAttemptOpt); err != nil {
		t.Fatalf("PutSecretValue() throttled once = %v; want success", err)
	}
	if throttle.Hits() != 1 || e.proxy.Calls("PutSecretValue") != 2 {
		t.Fatalf("throttled %d, requests %d; want 1 and 2", throttle.Hits(), e.proxy.Calls("PutSecretValue"))
	}
	slept := e.clock.Slept()
	if want := []time.Duration{100 * time.Millisecond, 900 * time.Millisecond}; !slices.Equal(slept, want) {
		t.Errorf("sleeps %v; want %v: the backoff, then the rest of the wait for the next slot", slept, want)
	}
	if got := e.clock.Now().Sub(start); got != time.Second {
		t.Errorf("the resend went %s after the first request; want 1s (the rate)", got)
	}
}
