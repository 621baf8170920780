package awstest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/awstest"
)

// TestRIE runs the real bootstrap under aws-lambda-rie, invokes it with an
// event it refuses, and reads rie's output.
func TestRIE(t *testing.T) {
	t.Parallel()
	const canary = "canary-env-value-5d1e"
	moto := awstest.SharedMoto(t)
	r := awstest.NewRIE(t, awstest.RIEConfig{
		Bootstrap: awstest.Bootstrap(t),
		Env: map[string]string{
			"AWS_ENDPOINT_URL_SECRETS_MANAGER": moto.URL,
			"METAMINT_GRAPH_API_URL":           "http://127.0.0.1:1",
			"METAMINT_TEST_CANARY":             canary,
		},
	})
	// rie answers HTTP 200 for a function error: Invoke decodes it.
	inv, err := r.Invoke(t.Context(), []byte(`not json`))
	if err != nil {
		t.Fatalf("Invoke(not json) = %v", err)
	}
	if inv.Status != 200 || inv.ErrorType == "" || inv.ErrorMessage == "" {
		t.Errorf("Invoke(not json) = HTTP %d %s (errorType %q); want 200 and a function error", inv.Status, inv.Body, inv.ErrorType)
	}
	if _, err := r.InitDuration(t.Context()); err != nil {
		t.Errorf("InitDuration() = %v\n%s", err, r.Output())
	}
	pid, err := r.FunctionPID()
	if err != nil || pid == r.PID() {
		t.Errorf("FunctionPID() = %d, %v; want the bootstrap, a child of rie (pid %d)", pid, err, r.PID())
	}
	r.Close()
	out := r.Output()
	if !strings.Contains(out, "START RequestId") {
		t.Errorf("rie's output after Close holds no START line:\n%s", out)
	}
	if strings.Contains(out, canary) {
		t.Errorf("rie's output holds the environment's canary value")
	}
}

// TestMissingRIE checks that a missing aws-lambda-rie is an error naming it
// and `make tools`. Not parallel: it empties PATH and leaves the module.
func TestMissingRIE(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Chdir(t.TempDir())
	_, _, err := awstest.RIEPath()
	if err == nil || !strings.Contains(err.Error(), "aws-lambda-rie") || !strings.Contains(err.Error(), "make tools") {
		t.Errorf("RIEPath() without aws-lambda-rie = %v; want an error naming aws-lambda-rie and make tools", err)
	}
	if _, err := awstest.StartRIE(t.Context(), awstest.RIEConfig{Bootstrap: "/nonexistent"}); err == nil || !strings.Contains(err.Error(), "aws-lambda-rie") {
		t.Errorf("StartRIE() without aws-lambda-rie = %v; want an error naming it", err)
	}
}

func TestParseInitReport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		out     string
		want    time.Duration
		wantErr bool
	}{
		{"rie's INIT REPORT line", "x\n28 Nov 2026 16:26:47,154 [INFO] (rapid) INIT REPORT(durationMs: 19.461000)\n", 19461 * time.Microsecond, false},
		{"no report", "START RequestId: 1\nREPORT RequestId: 1 Init Duration: 0.52 ms\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := awstest.ParseInitReport(tc.out)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("ParseInitReport(%q) = %v, %v; want %v, error %v", tc.out, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
