package main

import (
	"fmt"
	"strings"

	"github.com/metamint/metamint/internal/rotation"
)

// The Lambda runtime reports a returned error as {"errorType", "errorMessage"},
// where errorType is the Go type name of the error value. The rotation
// engine's classes (SecretFormatError, GraphUnavailableError...) are in
// internal/rotation; these are the front end's own.

// EventError is an invocation payload the handler does not understand: not
// UTF-8, not JSON, truncated, or of no known shape.
type EventError struct{ rotation.Failure }

// ConfigError is a bad environment variable (named in the message) or a run
// with nothing to do.
type ConfigError struct{ rotation.Failure }

// RunFailedError is a scheduled or direct run in which at least one secret
// failed. The invocation fails, so Lambda's own Errors metric (and, for the
// asynchronous scheduled invocations, its retries) see it; the per-secret
// results are in the log line "run done" and the metrics.
type RunFailedError struct{ rotation.Failure }

func eventErr(err error) error { return &EventError{rotation.Failure{Step: "event", Err: err}} }
func configErr(err error) error {
	return &ConfigError{rotation.Failure{Step: "config", Err: err}}
}

// runFailedErr names up to five failed secrets and their error types.
func runFailedErr(trigger string, results []rotation.SecretResult, sum rotation.Summary) error {
	var names []string
	for _, r := range results {
		if r.Status != rotation.StatusFailed {
			continue
		}
		if len(names) == 5 {
			names = append(names, "...")
			break
		}
		names = append(names, fmt.Sprintf("%s (%s)", r.SecretID, r.ErrorType))
	}
	return &RunFailedError{rotation.Failure{Step: trigger, Err: fmt.Errorf("%d of %d secrets failed: %s",
		sum.Failed, len(results), strings.Join(names, ", "))}}
}

// errorType is the name the Lambda runtime gives err.
func errorType(err error) string { return rotation.ErrorType(err) }
