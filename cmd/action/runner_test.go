package main

import (
	"strings"
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

// TestBlockScalarInputs: a workflow that gives inputs as YAML block scalars
// (| and >) or from a file with Windows line ends passes each with white
// space, a trailing line break or CRLF around it, and scopes one a line.
// The runner passes them as they are; the step reads each trimmed, mints,
// masks the values it uses before anything else, and its post step
// revokes the token.
func TestBlockScalarInputs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	installed(w)
	in := w.inputs()
	trimmed := map[string]string{}
	for k, v := range in {
		trimmed[k] = v
		if strings.HasPrefix(k, "INPUT_") && v != "" {
			in[k] = "  " + v + "\r\n"
		}
	}
	in["INPUT_SCOPES"] = "ads_read\r\nbusiness_management\r\n"
	in["INPUT_EXPIRING-TOKEN"] = "true\n"
	m := runStep(t, w, in, nil)
	if m.err != nil {
		t.Fatalf("main run() = %v\nstdout:\n%s", m.err, m.stdout)
	}
	if got := m.outputs[outScopes]; got != "ads_read,business_management" {
		t.Errorf("output scopes = %q; want ads_read,business_management", got)
	}
	checkMasksFirst(t, w, trimmed, m)
	checkNoLeaks(t, w.secrets(), m)
	p := runStep(t, w, postEnv(in, m), postArgs)
	if !strings.Contains(p.stdout, "Revoked the token the main step minted.") {
		t.Errorf("post stdout = %q; want the token revoked", p.stdout)
	}
	if st, _ := w.srv.Token(m.outputs[outToken]); !st.Revoked {
		t.Errorf("the minted token is not revoked")
	}
	checkNoLeaks(t, w.secrets(), p)
}
