package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/internal/version"
	"github.com/metamint/metamint/pkg/mint"
)

// TestInvokeJSON goes through lambda.NewHandler(h.Handle).Invoke with raw
// JSON, as the runtime does, to pin the event and response field names.
func TestInvokeJSON(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.putSecret("managed", w.baseFields(w.issue(50*day)))
	invoke := lambda.NewHandler(w.h.Handle)

	tests := []struct {
		name     string
		payload  string
		want     string // the response JSON, with ARN and times replaced
		wantType string // the Lambda errorType
		wantMsg  string // a substring of the error message
	}{
		{
			name:    "direct run",
			payload: `{"rotate":["` + id + `"],"force":false}`,
			want: `{"trigger":"direct","mode":"inline","results":[{"secret_id":"ID","secret_arn":"ID","status":"not_due","state":"no_pending",` +
				`"reason":"the current token expires at TIME, more than 360h0m0s away","expires_at":"TIME"}],` +
				`"summary":{"rotated":0,"rotation_started":0,"not_due":1,"skipped":0,"deferred":0,"failed":0,"revocations_failed":0,"min_days_to_expiry":50}}`,
		},
		{
			name:     "direct run in fan-out mode of a secret without rotation",
			payload:  `{"rotate":["` + id + `"],"mode":"fanout"}`,
			wantType: "RunFailedError", wantMsg: "1 of 1 secrets failed: " + id + " (RotationStateError)",
		},
		{name: "direct run with an unknown mode", payload: `{"rotate":[],"mode":"parallel"}`, wantType: "EventError", wantMsg: `mode "parallel"`},
		{
			name:    "rotation step for a version that is already current",
			payload: `{"Step":"setSecret","SecretId":"` + id + `","ClientRequestToken":"CURRENT","RotationToken":"x"}`,
			want:    `{"trigger":"rotation","step":"setSecret","secret_arn":"ID","version_id":"CURRENT","outcome":"already_current"}`,
		},
		{name: "not an object", payload: `[1,2]`, wantType: "EventError", wantMsg: "not a JSON object"},
		{name: "unknown shape", payload: `{"detail":{}}`, wantType: "EventError", wantMsg: `unrecognized event with fields ["detail"]`},
		{name: "other EventBridge event", payload: `{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{}}`, wantType: "EventError"},
		{name: "lowercase rotation keys", payload: `{"step":"createSecret","secretId":"x","clientRequestToken":"y"}`, wantType: "EventError"},
		{name: "unknown step", payload: `{"Step":"rotateSecret","SecretId":"x","ClientRequestToken":"y"}`, wantType: "EventError", wantMsg: "unknown Step"},
		{name: "empty secret ID", payload: `{"Step":"createSecret","SecretId":"","ClientRequestToken":"y"}`, wantType: "EventError"},
		{name: "direct run with a typo", payload: `{"rotate":[],"forse":true}`, wantType: "EventError", wantMsg: `unknown fields ["forse"]`},
		{name: "direct run with a string", payload: `{"rotate":"x"}`, wantType: "EventError"},
		{name: "direct run with an empty ID", payload: `{"rotate":[" "]}`, wantType: "EventError"},
		{name: "nothing to rotate", payload: `{"rotate":[]}`, wantType: "ConfigError", wantMsg: "METAMINT_SECRET_IDS or METAMINT_SECRET_TAG"},
		{
			name:     "rotation step for an unknown version",
			payload:  `{"Step":"createSecret","SecretId":"` + id + `","ClientRequestToken":"00000000-0000-4000-8000-000000000000"}`,
			wantType: "RotationStateError", wantMsg: "is not a version of the secret",
		},
	}
	current := w.versionWith(id, rotation.StageCurrent)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			payload := strings.ReplaceAll(tc.payload, `"CURRENT"`, `"`+current+`"`)
			out, err := invoke.Invoke(t.Context(), []byte(payload))
			if tc.wantType != "" {
				if err == nil {
					t.Fatalf("Invoke(%s) = %s; want a %s", tc.payload, out, tc.wantType)
				}
				// The runtime reports the error's dynamic type name.
				resp := lambdaError(err)
				if resp.Type != tc.wantType || !strings.Contains(resp.Message, tc.wantMsg) {
					t.Errorf("Invoke(%s) error = %s %q; want %s containing %q", tc.payload, resp.Type, resp.Message, tc.wantType, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Invoke(%s) = %v", tc.payload, err)
			}
			got := strings.ReplaceAll(string(out), id, "ID")
			got = strings.ReplaceAll(got, current, "CURRENT")
			got = timePattern.ReplaceAllString(got, "TIME")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Invoke(%s) (-want +got):\n%s", tc.payload, diff)
			}
		})
	}
}

// lambdaError is what the runtime sends for err: its message and the name
// of its type, computed as aws-lambda-go does.
func lambdaError(err error) messages.InvokeResponse_Error {
	return messages.InvokeResponse_Error{Message: err.Error(), Type: errorType(err)}
}

var timePattern = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)

// TestTestdataEvents decodes the sample events in testdata/lambda.
func TestTestdataEvents(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "lambda", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/lambda/*.json: %v", err)
	}
	want := map[string]string{
		"rotation-create-secret.json": triggerRotation,
		"scheduled-event.json":        triggerSchedule,
		"direct.json":                 triggerDirect,
		"scheduler-input.json":        triggerSchedule, // the template's schedule, its ARN filled in
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Clean(f))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := parseEvent(b)
		if err != nil {
			t.Errorf("parseEvent(%s) = %v", filepath.Base(f), err)
			continue
		}
		if w, ok := want[filepath.Base(f)]; ok && ev.trigger != w {
			t.Errorf("parseEvent(%s).trigger = %q; want %q", filepath.Base(f), ev.trigger, w)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr string
	}{
		{
			name: "defaults",
			want: config{graphURL: mint.DefaultBaseURL, graphVersion: mint.DefaultVersion, refreshBefore: 360 * time.Hour, concurrency: 8, mode: "inline",
				revokeGrace: 24 * time.Hour, staleAfter: 6 * time.Hour, writeRate: 25},
		},
		{
			name: "everything set",
			env: map[string]string{
				"METAMINT_GRAPH_API_URL": "http://127.0.0.1:8080/", "METAMINT_GRAPH_API_VERSION": "v26.0",
				"METAMINT_SECRET_IDS": "a, b\nc,a", "METAMINT_REFRESH_BEFORE": "72h", "METAMINT_CONCURRENCY": "16",
				"METAMINT_MODE": "fanout", "METAMINT_SECRET_TAG": " metamint:managed = yes ", "METAMINT_LOG_LEVEL": "WARN",
				"METAMINT_REVOKE_GRACE": "2h", "METAMINT_STALE_ROTATION_AFTER": "3h", "METAMINT_SECRETS_WRITE_RATE": " 12.5 ",
			},
			want: config{graphURL: "http://127.0.0.1:8080", graphVersion: "v26.0", secretIDs: []string{"a", "b", "c"},
				refreshBefore: 72 * time.Hour, concurrency: 16, mode: "fanout", secretTag: &secretTag{Key: "metamint:managed", Value: "yes"},
				logLevel: slog.LevelWarn, revokeGrace: 2 * time.Hour, staleAfter: 3 * time.Hour, writeRate: 12.5},
		},
		{
			name: "tag key alone",
			env:  map[string]string{"METAMINT_SECRET_TAG": "metamint:managed"},
			want: config{graphURL: mint.DefaultBaseURL, graphVersion: mint.DefaultVersion, refreshBefore: 360 * time.Hour, concurrency: 8,
				mode: "inline", secretTag: &secretTag{Key: "metamint:managed"}, revokeGrace: 24 * time.Hour, staleAfter: 6 * time.Hour, writeRate: 25},
		},
		{name: "grace not a duration", env: map[string]string{"METAMINT_REVOKE_GRACE": "1d"}, wantErr: "METAMINT_REVOKE_GRACE"},
		{name: "stale limit zero", env: map[string]string{"METAMINT_STALE_ROTATION_AFTER": "0s"}, wantErr: "METAMINT_STALE_ROTATION_AFTER"},
		{name: "unknown mode", env: map[string]string{"METAMINT_MODE": "fan-out"}, wantErr: "METAMINT_MODE"},
		{name: "unknown log level", env: map[string]string{"METAMINT_LOG_LEVEL": "warning"}, wantErr: "METAMINT_LOG_LEVEL"},
		{name: "tag with an empty value", env: map[string]string{"METAMINT_SECRET_TAG": "metamint:managed="}, wantErr: "METAMINT_SECRET_TAG"},
		{name: "tag with no key", env: map[string]string{"METAMINT_SECRET_TAG": "=yes"}, wantErr: "METAMINT_SECRET_TAG"},
		{name: "tag key too long", env: map[string]string{"METAMINT_SECRET_TAG": strings.Repeat("k", 129)}, wantErr: "METAMINT_SECRET_TAG"},
		{name: "http to a remote host", env: map[string]string{"METAMINT_GRAPH_API_URL": "http://graph.example.com"}, wantErr: "METAMINT_GRAPH_API_URL"},
		{name: "days are not a Go duration", env: map[string]string{"METAMINT_REFRESH_BEFORE": "15d"}, wantErr: "METAMINT_REFRESH_BEFORE"},
		{name: "Graph version without minor", env: map[string]string{"METAMINT_GRAPH_API_VERSION": "v27"}, wantErr: "METAMINT_GRAPH_API_VERSION"},
		{name: "Graph version without v", env: map[string]string{"METAMINT_GRAPH_API_VERSION": "27.0"}, wantErr: "METAMINT_GRAPH_API_VERSION"},
		{name: "concurrency zero", env: map[string]string{"METAMINT_CONCURRENCY": "0"}, wantErr: "METAMINT_CONCURRENCY"},
		{name: "concurrency too high", env: map[string]string{"METAMINT_CONCURRENCY": "1000"}, wantErr: "METAMINT_CONCURRENCY"},
		{name: "write rate zero", env: map[string]string{"METAMINT_SECRETS_WRITE_RATE": "0"}, wantErr: "METAMINT_SECRETS_WRITE_RATE"},
		{name: "write rate negative", env: map[string]string{"METAMINT_SECRETS_WRITE_RATE": "-5"}, wantErr: "METAMINT_SECRETS_WRITE_RATE"},
		{name: "write rate over the quota", env: map[string]string{"METAMINT_SECRETS_WRITE_RATE": "51"}, wantErr: "METAMINT_SECRETS_WRITE_RATE"},
		{name: "write rate not a number", env: map[string]string{"METAMINT_SECRETS_WRITE_RATE": "25/s"}, wantErr: "METAMINT_SECRETS_WRITE_RATE"},
		{name: "write rate NaN", env: map[string]string{"METAMINT_SECRETS_WRITE_RATE": "NaN"}, wantErr: "METAMINT_SECRETS_WRITE_RATE"},
		{name: "write rate too small", env: map[string]string{"METAMINT_SECRETS_WRITE_RATE": "0.001"}, wantErr: "METAMINT_SECRETS_WRITE_RATE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := loadConfig(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				var cerr *ConfigError
				if !errors.As(err, &cerr) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("loadConfig() = %v; want a ConfigError naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadConfig() = %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(config{})); diff != "" {
				t.Errorf("loadConfig() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRunDoneNamesTheBuild: the "run done" record, INFO after a run and
// ERROR after a failed one, says which build ran (version.Short).
func TestRunDoneNamesTheBuild(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		failed bool
		level  string
	}{
		{name: "run", level: "INFO"},
		{name: "failed run", failed: true, level: "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			if got, want := w.h.version, version.Short(); got != want {
				t.Errorf("newHandler().version = %q; want version.Short() = %q", got, want)
			}
			const build = "v9.8.7 (0123456789ab, modified)"
			w.h.version = build
			id := w.putSecret("not-due", w.baseFields(w.issue(50*day)))
			if tt.failed {
				id = w.prefix + "missing"
			}
			_, err := w.h.Handle(t.Context(), directEventJSON(false, id))
			if (err != nil) != tt.failed {
				t.Fatalf("Handle(rotate %s) = %v; want an error: %t", id, err, tt.failed)
			}
			lines := strings.Split(w.logs.String(), "\n")
			if !containsLine(lines, `"level":"`+tt.level+`"`, `"msg":"run done"`, `"version":"`+build+`"`) {
				t.Errorf("no %s \"run done\" record with version %q:\n%s", tt.level, build, w.logs.String())
			}
		})
	}
}

// TestMainBinaryImports keeps minttest out of the Lambda binary.
func TestMainBinaryImports(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(filepath.Clean(f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "minttest") {
			t.Errorf("%s mentions minttest; the Lambda must not import it", f)
		}
	}
}

// TestBadPayloads: a payload that is not UTF-8, not JSON or truncated is an
// EventError with an ERROR log line, like every other bad payload, and so
// are a wrong shape and an unknown step.
func TestBadPayloads(t *testing.T) {
	t.Parallel()
	for _, payload := range []string{
		`{"rotate":["a"`,
		`rotate everything`,
		"{\"rotate\":[\"\xff\xfe\"]}",
		``,
		`{"Step":"createSecret","SecretId":"x"`,
		`{"Step":"deleteSecret","SecretId":"x","ClientRequestToken":"y"}`,
	} {
		t.Run(fmt.Sprintf("%q", payload), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			out, err := w.h.Invoke(t.Context(), []byte(payload))
			var ev *EventError
			if !errors.As(err, &ev) || out != nil {
				t.Fatalf("Invoke(%q) = %s, %v; want an EventError", payload, out, err)
			}
			if !strings.Contains(w.logs.String(), `"level":"ERROR"`) || !strings.Contains(w.logs.String(), `"error_type":"EventError"`) {
				t.Errorf("logs = %s; want an ERROR line with error_type EventError", w.logs.String())
			}
			if !strings.Contains(w.metrics.String(), `"Failed":1`) {
				t.Errorf("metrics = %s; want Failed 1", w.metrics.String())
			}
		})
	}
}

// emfLine is the part of an EMF line the tests read.
type emfLine struct {
	AWS struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
	FunctionName string
	Trigger      string `json:"trigger"`
}

// TestMetricsAndLogFields pins the EMF lines (namespace metamint, dimension
// FunctionName, the documented metrics) and the log fields service and
// cold_start.
func TestMetricsAndLogFields(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	soon := w.putSecret("soon", w.baseFields(w.issue(5*day)))
	later := w.putSecret("later", w.baseFields(w.issue(40*day)))
	resp, err := w.h.Handle(t.Context(), directEventJSON(false, soon, later))
	checkRunErr(t, resp, err)
	token := w.placeholder(later)
	for _, step := range rotation.Steps {
		if _, err := w.step(step, later, token); err != nil {
			t.Fatalf("Handle(%s) = %v", step, err)
		}
	}

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(w.metrics.String()), "\n") {
		var m map[string]any
		var e emfLine
		if json.Unmarshal([]byte(l), &m) != nil || json.Unmarshal([]byte(l), &e) != nil {
			t.Fatalf("metrics line %q is not JSON", l)
		}
		cw := e.AWS.CloudWatchMetrics
		if len(cw) != 1 || cw[0].Namespace != "metamint" || !cmp.Equal(cw[0].Dimensions, [][]string{{"FunctionName"}}) ||
			e.FunctionName != "metamint-test" || e.AWS.Timestamp == 0 {
			t.Errorf("EMF line %s; want namespace metamint, dimension FunctionName=metamint-test, a timestamp", l)
		}
		for _, d := range cw[0].Metrics {
			if _, ok := m[d.Name].(float64); !ok {
				t.Errorf("EMF line %s declares %s without a value", l, d.Name)
			}
		}
		lines = append(lines, m)
	}
	if len(lines) != 5 { // the run, then one per step
		t.Fatalf("%d EMF lines; want 5 (one run, four steps)", len(lines))
	}
	run := lines[0]
	for name, want := range map[string]float64{"Rotated": 1, "NotDue": 1, "Failed": 0, "Deferred": 0, "Skipped": 0, "RotationStarted": 0} {
		if run[name] != want {
			t.Errorf("run line %s = %v; want %v", name, run[name], want)
		}
	}
	if days, _ := run["MinDaysToExpiry"].(float64); days < 39 || days > 41 {
		t.Errorf("run line MinDaysToExpiry = %v; want about 40 (the not-due token; the rotated one now has 60)", run["MinDaysToExpiry"])
	}
	if finish := lines[4]; finish["Rotated"] != 1.0 || finish["Failed"] != 0.0 || finish["step"] != rotation.StepFinish {
		t.Errorf("finishSecret line = %v; want Rotated 1, Failed 0", finish)
	}

	var cold []bool
	for _, l := range strings.Split(strings.TrimSpace(w.logs.String()), "\n") {
		var rec struct {
			Service   string `json:"service"`
			ColdStart *bool  `json:"cold_start"`
		}
		if json.Unmarshal([]byte(l), &rec) != nil || rec.Service != "metamint" || rec.ColdStart == nil {
			t.Fatalf("log line %s; want service metamint and cold_start", l)
		}
		if len(cold) == 0 || *rec.ColdStart != cold[len(cold)-1] {
			cold = append(cold, *rec.ColdStart)
		}
	}
	if !cmp.Equal(cold, []bool{true, false}) {
		t.Errorf("cold_start over the invocations = %v; want true for the first, then false", cold)
	}
}
