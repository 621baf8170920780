package main

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Metrics are CloudWatch Embedded Metric Format lines written to stdout,
// which Lambda sends to CloudWatch Logs, where CloudWatch extracts them. The
// namespace is "metamint" and the one dimension is FunctionName. Every run
// and every rotation step writes one line:
//
//	Rotated            Count  secrets whose AWSCURRENT now holds a new token (a run: how many; a step: 1 when finishSecret moved AWSCURRENT)
//	Failed             Count  secrets (a run) or steps (a rotation event) that failed; a run counts a fan-out
//	                          rotation in progress past METAMINT_STALE_ROTATION_AFTER as failed
//	Deferred           Count  secrets a run left to the next run: the invocation's time ran out, or Meta's
//	                          rate limits (a throttle that outlasted the retries or ends past the deadline)
//	NotDue             Count  secrets checked and not due
//	Skipped            Count  secrets left alone (another rotation in progress, listed twice)
//	RotationStarted    Count  fan-out: rotations started with RotateSecret
//	RevocationsFailed  Count  revocations of tokens marked for revocation that failed (a run; a finishSecret
//	                          step); they never fail a rotation, and later runs try again until the token
//	                          is revoked or expired
//	MinDaysToExpiry    None   the least days-to-expiry among the current tokens of the secrets a run was asked
//	                          about, after the run; an invalid, revoked or expired token counts as 0, one not
//	                          inspected with its stored expires_at, one that never expires as 36500 (absent
//	                          when no secret gave an expiry)
//
// The template alarms on Failed > 0 and on MinDaysToExpiry below a threshold.
// Properties trigger, mode and step (not dimensions) say what wrote the line.
const metricsNamespace = "metamint"

type metrics struct {
	mu       sync.Mutex
	w        io.Writer
	function string
	now      func() time.Time
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// metric is one value of a line.
type metric struct {
	name  string
	unit  string
	value float64
}

func count(name string, n int) metric { return metric{name, "Count", float64(n)} }

// emit writes one EMF line with values and properties.
func (m *metrics) emit(values []metric, props map[string]string) {
	line := map[string]any{}
	for k, v := range props {
		line[k] = v
	}
	defs := make([]emfMetric, 0, len(values))
	for _, v := range values {
		defs = append(defs, emfMetric{Name: v.name, Unit: v.unit})
		line[v.name] = v.value
	}
	line["FunctionName"] = m.function
	line["_aws"] = map[string]any{
		"Timestamp": m.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  metricsNamespace,
			"Dimensions": [][]string{{"FunctionName"}},
			"Metrics":    defs,
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	b = append(b, '\n')
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(b)
}
