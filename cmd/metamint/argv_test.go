package main

import (
	"strings"
	"testing"
)

// TestPastedShortSecretNotEchoed: an app secret (32 hex characters) or a
// classic GitHub token (40 characters), pasted where a flag or a default
// from the environment wants a scope, a Graph version, a Graph URL or an
// address, is short enough to have been quoted whole; it is named by its
// size instead. The environment holds other secrets, so the redaction of
// known secrets does not hide it.
func TestPastedShortSecretNotEchoed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const (
		appSecret = "9f86d081884c7d659a2feaa0c55ad015"         // the shape of a Meta app secret
		ghToken   = "ghp_0123456789abcdefghijABCDEFGHIJ012345" // the shape of a classic GitHub token
	)
	for _, pasted := range []string{appSecret, ghToken} {
		for _, tt := range []struct {
			name string
			env  map[string]string
			args []string
		}{
			{"--scopes", nil, mintCmd(w.fx, "--scopes="+pasted)},
			{"--graph-api-version", nil, mintCmd(w.fx, "--graph-api-version="+pasted)},
			{"--graph-api-url", nil, mintCmd(w.fx, "--graph-api-url="+pasted)},
			{"--addr", nil, []string{"emulator", "--addr=" + pasted}},
			{"$" + envGraphVersion, map[string]string{envGraphVersion: pasted}, []string{"inspect", "--app-id", w.fx.AppID}},
		} {
			env := w.env()
			env[envToken] = w.issue(0)
			for k, v := range tt.env {
				env[k] = v
			}
			r := runCLI(t, env, "", tt.args...)
			if r.code == exitOK || !strings.Contains(r.stderr, "not shown") {
				t.Errorf("%s %.8s… = %d, stderr %q; want an error naming the value by its size", tt.name, pasted, r.code, r.stderr)
			}
			if strings.Contains(r.stdout+r.stderr, pasted) {
				t.Errorf("%s %.8s…: the value is echoed: %q", tt.name, pasted, r.stderr)
			}
		}
	}
}

// TestGraphURLEmptyQuery: a Graph URL ending in a bare "?" (or one from
// $METAMINT_GRAPH_API_URL) carries an empty query. It is refused before any
// call, as a URL with a query is: taken as a base, it would put every
// request's path in the query string, and each call would reach the root.
func TestGraphURLEmptyQuery(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"--graph-api-url", nil, mintCmd(w.fx, "--graph-api-url="+w.s.URL+"/?")},
		{"$" + envGraphURL, map[string]string{envGraphURL: w.s.URL + "?"}, mintCmd(w.fx)},
	} {
		env := w.env()
		for k, v := range tt.env {
			env[k] = v
		}
		r := runCLI(t, env, "", tt.args...)
		if r.code != exitError || !strings.Contains(r.stderr, "must not carry user info, a query or a fragment") {
			t.Errorf("%s ending in ? = %d, stderr %q; want %d and the URL refused", tt.name, r.code, r.stderr, exitError)
		}
	}
	if n := len(w.s.Requests()); n != 0 {
		t.Errorf("requests = %d; want none", n)
	}
}
