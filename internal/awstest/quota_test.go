package awstest_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/metamint/metamint/internal/awstest"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestQuota puts a write quota of 2 a second (burst 3) on the proxy, with
// a clock that moves only when the test moves it: the first burst passes,
// every write after it is answered 400 ThrottlingException "Rate exceeded"
// and leaves moto untouched, and tokens come back at the quota's rate.
func TestQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.secret(`{"v":0}`)
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	limit := e.proxy.Limit(awstest.Quota{Ops: awstest.WriteOps, Rate: 2, Burst: 3, Now: clock.Now})
	// One SDK attempt per call: the counts are the proxy's answers.
	oneAttempt := func(o *secretsmanager.Options) { o.RetryMaxAttempts = 1 }

	write := func(v string) (string, error) {
		token := newUUID()
		_, err := e.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(id), ClientRequestToken: aws.String(token), SecretString: aws.String(v),
		}, oneAttempt)
		return token, err
	}
	var throttled []string
	for i := range 5 {
		token, err := write(`{"v":1}`)
		if i < 3 {
			if err != nil {
				t.Fatalf("PutSecretValue #%d (within the burst) = %v; want success", i+1, err)
			}
			continue
		}
		var re *smithyhttp.ResponseError
		var ae smithy.APIError
		if err == nil || !errors.As(err, &re) || re.Response.StatusCode != http.StatusBadRequest ||
			!errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" || ae.ErrorMessage() != "Rate exceeded" {
			t.Fatalf("PutSecretValue #%d (past the burst) = %v; want 400 ThrottlingException Rate exceeded", i+1, err)
		}
		throttled = append(throttled, token)
	}
	for _, token := range throttled {
		if _, ok := e.version(id, token); ok {
			t.Errorf("moto has the version %s of a throttled write; want nothing written", token)
		}
	}
	// RotateSecret and reads are outside the write quota.
	if _, err := e.sm.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)}, oneAttempt); err != nil {
		t.Errorf("DescribeSecret with the write quota spent = %v; want success", err)
	}
	// UpdateSecretVersionStage shares the bucket.
	if _, err := e.sm.UpdateSecretVersionStage(t.Context(), &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(id), VersionStage: aws.String("X"), MoveToVersionId: aws.String(newUUID()),
	}, oneAttempt); errorCode(err) != "ThrottlingException" {
		t.Errorf("UpdateSecretVersionStage with the write quota spent = %v; want ThrottlingException", err)
	}
	clock.Advance(time.Second) // two tokens back
	for i := range 2 {
		if _, err := write(`{"v":2}`); err != nil {
			t.Errorf("PutSecretValue #%d a second later = %v; want success", i+1, err)
		}
	}
	if _, err := write(`{"v":3}`); errorCode(err) != "ThrottlingException" {
		t.Errorf("PutSecretValue past the second's tokens = %v; want ThrottlingException", err)
	}
	want := awstest.LimitStats{Admitted: 5, Throttled: 4, LastThrottled: 9}
	if got := limit.Stats(); got != want {
		t.Errorf("Stats() = %+v; want %+v", got, want)
	}
	limit.Remove()
	if _, err := write(`{"v":4}`); err != nil {
		t.Errorf("PutSecretValue after Remove = %v; want success", err)
	}
	if got := e.proxy.Calls("PutSecretValue"); got != 9 {
		t.Errorf("Calls(PutSecretValue) = %d; want 9 (throttled requests count)", got)
	}
}

// TestQuotaMisuse: a Limit without operations or rate, with a negative
// burst, or a second quota on an operation, is a misuse.
func TestQuotaMisuse(t *testing.T) {
	t.Parallel()
	p, err := awstest.StartProxy("http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Limit(awstest.Quota{Ops: []string{"RotateSecret"}, Rate: 50})
	for _, q := range []awstest.Quota{
		{Rate: 1},
		{Ops: awstest.WriteOps},
		{Ops: []string{"GetSecretValue"}, Rate: 1, Burst: -1},
		{Ops: []string{"RotateSecret"}, Rate: 1},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Limit(%+v) did not panic", q)
				}
			}()
			p.Limit(q)
		}()
	}
}
