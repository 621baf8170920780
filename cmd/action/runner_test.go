package main

import (
	"testing"

	"github.com/metamint/metamint/internal/actionyml"
)

// declaredInputs returns every input action.yml declares, each with its
// default ("" when it has none), read from action.yml itself, so an input
// added there reaches every test without a change here.
func declaredInputs(tb testing.TB) map[string]string {
	tb.Helper()
	in, err := actionyml.Inputs(parseYAML(tb, repoFile(tb, "action.yml")))
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

// inputEnv is the environment variable the runner passes input name in.
func inputEnv(name string) string { return actionyml.Env(name) }

// runnerEnv returns the environment the runner gives the program
// (actionyml.RunnerEnv): every input action.yml declares, with its default
// evaluated, then given on top. A misspelt input in given fails the test.
func runnerEnv(tb testing.TB, given map[string]string) map[string]string {
	tb.Helper()
	env, err := actionyml.RunnerEnv(declaredInputs(tb), given)
	if err != nil {
		tb.Fatalf("runnerEnv: %v", err)
	}
	return env
}
