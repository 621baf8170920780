package main

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// declaredInputs returns every input action.yml declares, each with its
// default ("" when it has none), read from action.yml itself, so an input
// added there reaches every test without a change here.
func declaredInputs(tb testing.TB) map[string]string {
	tb.Helper()
	meta := parseYAML(tb, repoFile(tb, "action.yml"))
	in, ok := meta["inputs"].(yamlNode)
	if !ok {
		tb.Fatalf("action.yml declares no inputs")
	}
	out := map[string]string{}
	for name, v := range in {
		spec, ok := v.(yamlNode)
		if !ok {
			tb.Fatalf("action.yml input %q is not a mapping", name)
		}
		def, _ := spec["default"].(string)
		out[name] = def
	}
	return out
}

// inputEnv is the environment variable the runner passes input name in:
// INPUT_ and the name upper-cased, spaces turned into underscores, hyphens
// kept.
func inputEnv(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// runnerEnv returns the environment the runner gives the program: every
// input action.yml declares, with its default as its value ("false" is a
// value the runner passes, not an absent input; an input without a default
// is passed empty), then given on top. A key of given that starts with
// INPUT_ but names no declared input fails the test: a misspelt input
// would otherwise test nothing.
func runnerEnv(tb testing.TB, given map[string]string) map[string]string {
	tb.Helper()
	env := map[string]string{}
	names := map[string]bool{}
	for name, def := range declaredInputs(tb) {
		env[inputEnv(name)] = def
		names[inputEnv(name)] = true
	}
	for _, k := range slices.Sorted(maps.Keys(given)) {
		if strings.HasPrefix(k, "INPUT_") && !names[k] {
			tb.Fatalf("runnerEnv: %s is not an input action.yml declares", k)
		}
		env[k] = given[k]
	}
	return env
}
