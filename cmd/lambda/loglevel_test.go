package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/metamint/metamint/internal/awstest"
)

// templateValue reads a scalar property of deploy/template.yaml, the first
// "key: value" line for key, so that these tests use what the template
// deploys.
func templateValue(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(key) + `: (.+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("deploy/template.yaml has no %s", key)
	}
	return strings.TrimSpace(string(m[1]))
}

// lambdaLevels are Lambda's application log levels, most verbose first.
var lambdaLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

func levelRank(l string) int {
	for i, x := range lambdaLevels {
		if strings.EqualFold(x, l) {
			return i
		}
	}
	return -1
}

// lambdaFilter keeps the JSON lines of out that Lambda's log-level filtering
// sends to CloudWatch Logs at application log level least. As documented
// (Lambda developer guide, "Log-level filtering"), a line's level is its
// "level" key, and INFO when that is missing or invalid; lines below least are
// dropped. Lines that are not JSON objects (rie's own) are left out.
func lambdaFilter(out, least string) []string {
	var kept []string
	for _, line := range strings.Split(out, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		lvl, _ := rec["level"].(string)
		r := levelRank(lvl)
		if r < 0 {
			r = levelRank("INFO")
		}
		if r >= levelRank(least) {
			kept = append(kept, line)
		}
	}
	return kept
}

func containsLine(lines []string, parts ...string) bool {
	for _, l := range lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return true
		}
	}
	return false
}

// TestLogLevelKeepsMetrics runs the shipped bootstrap under aws-lambda-rie
// at every LogLevel the template offers, with the environment Lambda gives
// it (AWS_LAMBDA_LOG_LEVEL from the template's ApplicationLogLevel,
// METAMINT_LOG_LEVEL from LogLevel), and applies Lambda's log-level
// filtering to what it writes. The metric line of a failed run must reach
// CloudWatch at every level, or FailedAlarm could never fire; the function's
// own records follow LogLevel. It also shows the fault: had the template
// passed LogLevel as the application log level, WARN and ERROR would drop
// the metric line.
func TestLogLevelKeepsMetrics(t *testing.T) {
	w := newWorld(t)
	broken := w.putRaw("broken", `{}`)
	appLevel := templateValue(t, "ApplicationLogLevel")
	if levelRank(appLevel) < 0 {
		t.Fatalf("the template's ApplicationLogLevel %q is not a Lambda log level", appLevel)
	}
	for _, lvl := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
		t.Run(lvl, func(t *testing.T) {
			r := startRIE(t, map[string]string{
				"AWS_ENDPOINT_URL_SECRETS_MANAGER": motoURL(t),
				"METAMINT_GRAPH_API_URL":           w.srv.URL,
				"AWS_LAMBDA_LOG_LEVEL":             appLevel,
				"METAMINT_LOG_LEVEL":               lvl,
			})
			inv := r.invoke(directEventJSON(false, broken))
			if inv.ErrorType != "RunFailedError" {
				t.Fatalf("run over a broken secret = %s %q; want a RunFailedError", inv.ErrorType, inv.ErrorMessage)
			}
			metric := []string{`"Failed":1`, `"_aws"`, `"trigger":"direct"`}
			// The run writes its metric line and its "run done" record one
			// after the other, through rie's pipe: wait for both, not for
			// whichever came first.
			if !r.waitOutput(func(out string) bool {
				lines := strings.Split(out, "\n")
				return containsLine(lines, metric...) && containsLine(lines, `"message":"run done"`)
			}) {
				t.Fatalf("the function wrote no metric line with Failed 1, or no \"run done\" record:\n%s", r.Output())
			}
			out := r.Output()
			kept := lambdaFilter(out, appLevel)
			if !containsLine(kept, metric...) {
				t.Errorf("LogLevel=%s: Lambda's filter at %s drops the metric line; FailedAlarm could not fire", lvl, appLevel)
			}
			if containsLine(kept, `"message":"Lambda's application log level drops the metric lines"`) {
				t.Errorf("LogLevel=%s: the function reports the template's application log level %s as dropping the metrics", lvl, appLevel)
			}
			if !containsLine(kept, `"level":"ERROR"`, `"message":"run done"`) {
				t.Errorf("LogLevel=%s: the ERROR record of the failed run is not kept:\n%s", lvl, strings.Join(kept, "\n"))
			}
			// The bootstrap is built as the release builds are, named with
			// version.Flag: the record says which build ran.
			if !containsLine(kept, `"message":"run done"`, `"version":"`+awstest.BuildVersion+`"`) {
				t.Errorf("LogLevel=%s: the run done record does not name the build %s:\n%s", lvl, awstest.BuildVersion, strings.Join(kept, "\n"))
			}
			started := containsLine(kept, `"message":"run started"`)
			if want := levelRank(lvl) <= levelRank("INFO"); started != want {
				t.Errorf("LogLevel=%s: the INFO record \"run started\" kept = %v; want %v (the function applies LogLevel)", lvl, started, want)
			}
			if levelRank(lvl) > levelRank("INFO") && containsLine(lambdaFilter(out, lvl), metric...) {
				t.Errorf("Lambda's filter at %s keeps a line without a level; the model of the filter is wrong", lvl)
			}
		})
	}
}

// TestRaisedLambdaLogLevelIsReported runs the bootstrap with Lambda's
// application log level raised to WARN (as a change in the console would):
// Lambda then drops the metric lines, and the function says so at cold start
// in an ERROR line that the filter keeps.
func TestRaisedLambdaLogLevelIsReported(t *testing.T) {
	w := newWorld(t)
	r := startRIE(t, map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": motoURL(t),
		"METAMINT_GRAPH_API_URL":           w.srv.URL,
		"AWS_LAMBDA_LOG_LEVEL":             "WARN",
	})
	// rie starts the function on the first invocation.
	r.invoke(directEventJSON(false, w.appRef))
	const line = `"message":"Lambda's application log level drops the metric lines"`
	if !r.waitOutput(func(out string) bool { return containsLine(lambdaFilter(out, "WARN"), `"level":"ERROR"`, line) }) {
		t.Errorf("no ERROR line %s kept at WARN:\n%s", line, r.Output())
	}
}

// TestScheduledRunLogsSchedule sends the input of the template's schedule,
// as EventBridge Scheduler fills it in, and checks that the run reports
// trigger "schedule" in its answer, its log lines and its metric line.
func TestScheduledRunLogsSchedule(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.putSecret("due", w.baseFields(w.issue(3*day)))
	w.h.secretIDs = []string{id}
	input := templateValue(t, "Input")
	input = strings.Trim(input, `'`)
	const arn = "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/metamint-refresh"
	if !strings.Contains(input, "<aws.scheduler.schedule-arn>") {
		t.Fatalf("the schedule's input %s does not carry the schedule's ARN", input)
	}
	payload := strings.ReplaceAll(input, "<aws.scheduler.schedule-arn>", arn)

	resp, err := w.h.Handle(t.Context(), json.RawMessage(payload))
	if err != nil {
		t.Fatalf("Handle(%s) = %v", payload, err)
	}
	if resp.Trigger != triggerSchedule || len(resp.Results) != 1 || resp.Results[0].SecretARN != id {
		t.Fatalf("Handle(%s) = %+v; want trigger schedule over the configured secret", payload, resp)
	}
	logs := strings.Split(w.logs.String(), "\n")
	for _, msg := range []string{"scheduled run", "run started", "run done"} {
		if !containsLine(logs, `"msg":"`+msg+`"`, `"trigger":"schedule"`) {
			t.Errorf("no %q log line with trigger schedule:\n%s", msg, w.logs.String())
		}
	}
	if !containsLine(logs, `"msg":"scheduled run"`, `"schedule":"`+arn+`"`) {
		t.Errorf("the scheduled run's line does not name the schedule %s", arn)
	}
	if containsLine(logs, `"trigger":"direct"`) {
		t.Errorf("a scheduled run logged trigger direct")
	}
	if !containsLine(strings.Split(w.metrics.String(), "\n"), `"trigger":"schedule"`, `"Rotated":1`) {
		t.Errorf("the metric line does not say trigger schedule:\n%s", w.metrics.String())
	}
}
