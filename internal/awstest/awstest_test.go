package awstest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/internal/awstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	awstest.Shutdown()
	os.Exit(code)
}

// fastRetry keeps the SDK's standard retryer (3 attempts, the same
// retryable errors) with a 1 ms backoff, so lost attempts cost no seconds.
// No test depends on the delay.
func fastRetry(o *secretsmanager.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
	})
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	h := randHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

// env is one test's secret, moto, a proxy in front of it and clients of both.
type env struct {
	t      *testing.T
	proxy  *awstest.Proxy
	direct *secretsmanager.Client // moto itself, to read back
	sm     *secretsmanager.Client // through the proxy
}

func newEnv(t *testing.T) *env {
	t.Helper()
	moto := awstest.SharedMoto(t)
	p := awstest.NewProxy(t, moto.URL)
	return &env{t: t, proxy: p, direct: moto.SecretsManager(), sm: awstest.SecretsManager(p.URL, fastRetry)}
}

// secret creates a secret directly in moto and returns its name.
func (e *env) secret(value string) string {
	e.t.Helper()
	name := "awstest/" + strings.ReplaceAll(e.t.Name(), "/", "-") + "-" + randHex(4)
	_, err := e.direct.CreateSecret(e.t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		e.t.Fatalf("CreateSecret(%s) = %v", name, err)
	}
	return name
}

// version returns the SecretString of a version, read from moto directly,
// and whether it exists.
func (e *env) version(id, versionID string) (string, bool) {
	e.t.Helper()
	out, err := e.direct.GetSecretValue(e.t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionId: aws.String(versionID)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return "", false
	}
	if err != nil {
		e.t.Fatalf("GetSecretValue(%s, %s) = %v", id, versionID, err)
	}
	return aws.ToString(out.SecretString), true
}

func (e *env) put(ctx context.Context, id, token, value string) error {
	_, err := e.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(id), ClientRequestToken: aws.String(token), SecretString: aws.String(value),
	})
	return err
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestFaults injects one fault into PutSecretValue and checks the caller's
// error, moto's state afterwards and the counts.
func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     awstest.Fault
		wantCode  string // "" for success; "-" for an error without an AWS code
		committed bool   // the new version is in moto afterwards
		calls     int    // PutSecretValue attempts that reached the proxy
		hits      int
	}{{
		name:     "before commit, every attempt: 503 ServiceUnavailable, moto untouched",
		fault:    awstest.Fault{Op: "PutSecretValue", Stage: awstest.BeforeCommit, Times: 3, Status: 503, ErrorType: "ServiceUnavailable"},
		wantCode: "ServiceUnavailable", committed: false, calls: 3, hits: 3,
	}, {
		name:     "before commit, a given AWS error the SDK does not retry",
		fault:    awstest.Fault{Op: "PutSecretValue", Times: 1, Status: 400, ErrorType: "InvalidRequestException", Message: "the secret is scheduled for deletion"},
		wantCode: "InvalidRequestException", committed: false, calls: 1, hits: 1,
	}, {
		name:     "before commit, once: the SDK's retry gets through",
		fault:    awstest.Fault{Op: "PutSecretValue", Times: 1},
		wantCode: "", committed: true, calls: 2, hits: 1,
	}, {
		name:     "before commit, connection dropped on every attempt, moto untouched",
		fault:    awstest.Fault{Op: "PutSecretValue", Times: awstest.Forever, Drop: true},
		wantCode: "-", committed: false, calls: 3, hits: 3,
	}, {
		name:     "after commit, every attempt: 500 InternalServiceError but the version is stored",
		fault:    awstest.Fault{Op: "PutSecretValue", Stage: awstest.AfterCommit, Times: 3},
		wantCode: "InternalServiceError", committed: true, calls: 3, hits: 3,
	}, {
		name:     "after commit, once: the retry with the same token is moto's idempotent success",
		fault:    awstest.Fault{Op: "PutSecretValue", Stage: awstest.AfterCommit, Times: 1},
		wantCode: "", committed: true, calls: 2, hits: 1,
	}, {
		name:     "after commit, connection dropped on every attempt",
		fault:    awstest.Fault{Op: "PutSecretValue", Stage: awstest.AfterCommit, Times: awstest.Forever, Drop: true},
		wantCode: "-", committed: true, calls: 3, hits: 3,
	}, {
		name:     "another operation's fault does not strike",
		fault:    awstest.Fault{Op: "UpdateSecretVersionStage", Times: awstest.Forever},
		wantCode: "", committed: true, calls: 1, hits: 0,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			id := e.secret(`{"v":1}`)
			rule := e.proxy.Inject(tc.fault)
			token := newUUID()
			err := e.put(t.Context(), id, token, `{"v":2}`)
			switch code := errorCode(err); {
			case tc.wantCode == "" && err != nil:
				t.Errorf("PutSecretValue() = %v; want success", err)
			case tc.wantCode == "-" && (err == nil || code != ""):
				t.Errorf("PutSecretValue() = %v (code %q); want a connection error", err, code)
			case tc.wantCode != "" && tc.wantCode != "-" && code != tc.wantCode:
				t.Errorf("PutSecretValue() = %v (code %q); want code %s", err, code, tc.wantCode)
			}
			got, ok := e.version(id, token)
			if ok != tc.committed || (ok && got != `{"v":2}`) {
				t.Errorf("moto GetSecretValue(VersionId new) = %q, exists %v; want exists %v", got, ok, tc.committed)
			}
			if got := e.proxy.Calls("PutSecretValue"); got != tc.calls {
				t.Errorf("Calls(PutSecretValue) = %d; want %d", got, tc.calls)
			}
			if got := rule.Hits(); got != tc.hits {
				t.Errorf("Hits() = %d; want %d", got, tc.hits)
			}
			e.proxy.ResetCalls()
			if got := e.proxy.CallCounts(); len(got) != 0 {
				t.Errorf("CallCounts() after ResetCalls = %v; want none", got)
			}
		})
	}
}

// TestFaultMatching fails one secret of a fleet, chosen by SecretId or by a
// predicate on the body, while the others are written concurrently.
func TestFaultMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault func(target string) awstest.Fault
	}{
		{"SecretID", func(target string) awstest.Fault {
			return awstest.Fault{Op: "PutSecretValue", Stage: awstest.AfterCommit, Times: awstest.Forever, SecretID: target}
		}},
		{"Match", func(target string) awstest.Fault {
			return awstest.Fault{Op: "PutSecretValue", Times: awstest.Forever, Match: func(b map[string]any) bool {
				return b["SecretId"] == target
			}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			const fleet = 12
			ids := make([]string, fleet)
			for i := range ids {
				ids[i] = e.secret(`{"v":1}`)
			}
			target := ids[fleet/2]
			rule := e.proxy.Inject(tc.fault(target))
			errs := make([]error, fleet)
			var wg sync.WaitGroup
			for i, id := range ids {
				wg.Go(func() { errs[i] = e.put(t.Context(), id, newUUID(), `{"v":2}`) })
			}
			wg.Wait()
			for i, err := range errs {
				if (err != nil) != (ids[i] == target) {
					t.Errorf("PutSecretValue(%s) = %v; want an error only for %s", ids[i], err, target)
				}
			}
			if got, want := e.proxy.Calls("PutSecretValue"), fleet-1+3; got != want {
				t.Errorf("Calls(PutSecretValue) = %d; want %d (one per secret, three for the failing one)", got, want)
			}
			if got := rule.Hits(); got != 3 {
				t.Errorf("Hits() = %d; want 3", got)
			}
		})
	}
}

// TestResourceExists checks the emulated refusal to change an existing
// version, which moto lacks.
func TestResourceExists(t *testing.T) {
	t.Parallel()
	const canary = "canary-secret-value-7f3a"
	tests := []struct {
		name    string
		second  string
		wantErr bool
	}{
		{"same token, same value: idempotent success", `{"token":"` + canary + `"}`, false},
		{"same token, different value: ResourceExistsException", `{"token":"` + canary + `-2"}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			id := e.secret(`{"v":1}`)
			token := newUUID()
			first := `{"token":"` + canary + `"}`
			if err := e.put(t.Context(), id, token, first); err != nil {
				t.Fatalf("PutSecretValue(first) = %v", err)
			}
			err := e.put(t.Context(), id, token, tc.second)
			var re *types.ResourceExistsException
			if tc.wantErr != errors.As(err, &re) {
				t.Fatalf("PutSecretValue(same token, second) = %v; want ResourceExistsException %v", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), canary) {
				t.Errorf("PutSecretValue() error holds the secret value: %v", err)
			}
			if got, _ := e.version(id, token); got != first {
				t.Errorf("version %s = %q; want the first value kept", token, got)
			}
			if got := e.proxy.Calls("PutSecretValue"); got != 2 {
				t.Errorf("Calls(PutSecretValue) = %d; want 2 (ResourceExists is not retried)", got)
			}
		})
	}
}

// TestSecretSize checks the emulated 65,536-byte limit.
func TestSecretSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		op      func(e *env, id string, size int) error
		size    int
		wantErr bool
	}{
		{"PutSecretValue SecretString at the limit", putString, awstest.MaxSecretSize, false},
		{"PutSecretValue SecretString over the limit", putString, awstest.MaxSecretSize + 1, true},
		{"PutSecretValue SecretBinary over the limit", putBinary, awstest.MaxSecretSize + 1, true},
		{"PutSecretValue SecretBinary at the limit", putBinary, awstest.MaxSecretSize, false},
		{"CreateSecret SecretString over the limit", create, awstest.MaxSecretSize + 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			id := e.secret(`{"v":1}`)
			err := tc.op(e, id, tc.size)
			if got := errorCode(err) == "ValidationException"; got != tc.wantErr {
				t.Fatalf("size %d: error %v; want ValidationException %v", tc.size, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "canary") {
				t.Errorf("error holds the secret value: %.200s", err)
			}
		})
	}
}

func canaryOf(size int) string { return strings.Repeat("canary-", size/7+1)[:size] }

func putString(e *env, id string, size int) error {
	_, err := e.sm.PutSecretValue(e.t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(id), ClientRequestToken: aws.String(newUUID()), SecretString: aws.String(canaryOf(size)),
	})
	return err
}

func putBinary(e *env, id string, size int) error {
	_, err := e.sm.PutSecretValue(e.t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(id), ClientRequestToken: aws.String(newUUID()), SecretBinary: []byte(canaryOf(size)),
	})
	return err
}

func create(e *env, id string, size int) error {
	_, err := e.sm.CreateSecret(e.t.Context(), &secretsmanager.CreateSecretInput{
		Name: aws.String(id + "-big"), SecretString: aws.String(canaryOf(size)),
	})
	return err
}

// TestHold withholds PutSecretValue's answer after moto committed it, until
// the caller cancels its own context.
func TestHold(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.secret(`{"v":1}`)
	rule := e.proxy.Inject(awstest.Fault{Op: "PutSecretValue", Stage: awstest.Hold, Times: 1})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	token := newUUID()
	errc := make(chan error, 1)
	go func() { errc <- e.put(ctx, id, token, `{"v":2}`) }()
	if err := rule.WaitHits(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if got, ok := e.version(id, token); !ok || got != `{"v":2}` {
		t.Errorf("while held: moto version = %q, exists %v; want committed", got, ok)
	}
	if got := rule.Hits(); got != 1 {
		t.Errorf("Hits() = %d; want 1", got)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("PutSecretValue() = %v; want context.Canceled", err)
	}
	if err := rule.WaitDone(t.Context(), 1); err != nil {
		t.Errorf("the held request was not released after the client gave up: %v", err)
	}
	if got := e.proxy.Calls("PutSecretValue"); got != 1 {
		t.Errorf("Calls(PutSecretValue) = %d; want 1", got)
	}
}

// TestCloseReleasesHeld checks that Close does not wait for a client that
// never gives up.
func TestCloseReleasesHeld(t *testing.T) {
	t.Parallel()
	moto := awstest.SharedMoto(t)
	p, err := awstest.StartProxy(moto.URL)
	if err != nil {
		t.Fatal(err)
	}
	sm := awstest.SecretsManager(p.URL, fastRetry)
	rule := p.Inject(awstest.Fault{Op: "GetRandomPassword", Stage: awstest.Hold, Times: awstest.Forever})
	errc := make(chan error, 1)
	go func() {
		_, err := sm.GetRandomPassword(t.Context(), &secretsmanager.GetRandomPasswordInput{})
		errc <- err
	}()
	if err := rule.WaitHits(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if err := <-errc; err == nil {
		t.Errorf("GetRandomPassword() through a closed proxy = nil; want an error")
	}
}

func TestInjectMisuse(t *testing.T) {
	t.Parallel()
	p := awstest.NewProxy(t, "http://127.0.0.1:1")
	tests := []struct {
		name string
		f    awstest.Fault
	}{
		{"no Op", awstest.Fault{Times: 1}},
		{"no Times", awstest.Fault{Op: "PutSecretValue"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("Inject(%+v) did not panic", tc.f)
				}
			}()
			p.Inject(tc.f)
		})
	}
}

// TestMissingMoto checks that a missing moto_server is an error naming it.
// Not parallel: it empties PATH.
func TestMissingMoto(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Chdir(t.TempDir()) // no .tools/bin either
	_, err := awstest.StartMoto(t.Context())
	if err == nil || !strings.Contains(err.Error(), "moto_server") {
		t.Errorf("StartMoto() without moto_server on PATH = %v; want an error naming moto_server", err)
	}
}

// TestErrorShape pins the wire form of an injected error: AWS JSON 1.1,
// {"__type","message"} and the x-amzn-ErrorType header.
func TestErrorShape(t *testing.T) {
	t.Parallel()
	p := awstest.NewProxy(t, "http://127.0.0.1:1") // never reached
	p.Inject(awstest.Fault{Op: "PutSecretValue", Times: 1, Status: 503, ErrorType: "ServiceUnavailable", Message: "try later"})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL+"/", strings.NewReader(`{"SecretId":"s","SecretString":"canary-7"}`))
	req.Header.Set("X-Amz-Target", "secretsmanager.PutSecretValue")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("error body is not JSON: %v", err)
	}
	got := map[string]string{
		"status":           resp.Status,
		"x-amzn-ErrorType": resp.Header.Get("x-amzn-ErrorType"),
		"Content-Type":     resp.Header.Get("Content-Type"),
		"__type":           body["__type"],
		"message":          body["message"],
	}
	want := map[string]string{
		"status":           "503 Service Unavailable",
		"x-amzn-ErrorType": "ServiceUnavailable",
		"Content-Type":     "application/x-amz-json-1.1",
		"__type":           "ServiceUnavailable",
		"message":          "try later",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("injected error (-want +got):\n%s", diff)
	}
	if p.Calls("PutSecretValue") != 1 {
		t.Errorf("Calls(PutSecretValue) = %d; want 1", p.Calls("PutSecretValue"))
	}
}

// TestDescribeOmitsUnlabelled: a version whose last staging label was
// removed is absent from DescribeSecret's VersionIdsToStages through the
// proxy, as on AWS (moto lists it with no labels); labelled versions stay.
func TestDescribeOmitsUnlabelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.secret(`{"v":1}`)
	token := newUUID()
	if _, err := e.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(id),
		ClientRequestToken: aws.String(token), SecretString: aws.String(`{"v":2}`), VersionStages: []string{"AWSPENDING"}}); err != nil {
		t.Fatalf("PutSecretValue() = %v", err)
	}
	if _, err := e.sm.UpdateSecretVersionStage(t.Context(), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(id),
		VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(token)}); err != nil {
		t.Fatalf("UpdateSecretVersionStage() = %v", err)
	}
	direct, err := e.direct.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := direct.VersionIdsToStages[token]; !ok {
		t.Fatalf("moto's DescribeSecret omits the unlabelled version already; the proxy's rewrite is untested")
	}
	out, err := e.sm.DescribeSecret(t.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeSecret() = %v", err)
	}
	if labels, ok := out.VersionIdsToStages[token]; ok {
		t.Errorf("VersionIdsToStages[unlabelled] = %v; want the version omitted", labels)
	}
	if len(out.VersionIdsToStages) != 1 || aws.ToString(out.ARN) != aws.ToString(direct.ARN) {
		t.Errorf("DescribeSecret() = %v, %s; want the AWSCURRENT version only, and the rest of the answer kept", out.VersionIdsToStages, aws.ToString(out.ARN))
	}
	if got, ok := e.version(id, token); !ok || got != `{"v":2}` {
		t.Errorf("the unlabelled version = %q (exists %v); want it kept in moto", got, ok)
	}
}
