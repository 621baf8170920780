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

// defaultGitHubAPIURL is what the runner gives ${{ github.api_url }} on
// GitHub.com.
const defaultGitHubAPIURL = "https://api.github.com"

// evalDefault returns the value the runner passes for input name's default
// def: an expression is evaluated first, as the runner does. The only one
// action.yml uses is ${{ github.api_url }}, which is the job's
// GITHUB_API_URL (from given when it sets it); any other fails the test,
// so that a new one is evaluated here too.
func evalDefault(tb testing.TB, name, def string, given map[string]string) string {
	tb.Helper()
	if !strings.Contains(def, "${{") {
		return def
	}
	if strings.TrimSpace(def) != "${{ github.api_url }}" {
		tb.Fatalf("runnerEnv: input %s has the default %q, an expression runnerEnv cannot evaluate", name, def)
	}
	if u := given["GITHUB_API_URL"]; u != "" {
		return u
	}
	return defaultGitHubAPIURL
}

// runnerEnv returns the environment the runner gives the program: every
// input action.yml declares, with its default evaluated (evalDefault) as
// its value ("false" is a value the runner passes, not an absent input; an
// input without a default is passed empty), then given on top. A key of given that starts with
// INPUT_ but names no declared input fails the test: a misspelt input
// would otherwise test nothing.
func runnerEnv(tb testing.TB, given map[string]string) map[string]string {
	tb.Helper()
	env := map[string]string{}
	names := map[string]bool{}
	for name, def := range declaredInputs(tb) {
		env[inputEnv(name)] = evalDefault(tb, name, def, given)
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
