package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint/minttest"
)

// TestMintInterruptedAfterCreate: SIGINT (the run's context canceled) once
// the token exists, while mint waits out a throttle before inspecting it:
// the token is revoked, nothing is printed on standard output, and the exit
// status is not 0.
func TestMintInterruptedAfterCreate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	env := w.env()
	// Meta asks for a wait on debug_token (the calling token's check, then
	// the new token's inspection): the wait after the create is interrupted.
	w.s.FailNext(minttest.EndpointDebugToken, minttest.Fault{
		Times:  20, // more than the calling token's check retries
		Error:  &minttest.Error{Message: "(#80004) There have been too many calls to this ad-account.", Type: "OAuthException", Code: 80004},
		Header: http.Header{"X-Ad-Account-Usage": {`{"acc_id_util_pct":100,"reset_time_duration":5}`}},
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	interrupt := func(c *cli) {
		c.sleep = func(ctx context.Context, _ time.Duration) error {
			if w.s.Minted() > 0 {
				cancel() // SIGINT, as main's signal.NotifyContext does
			}
			return ctx.Err()
		}
	}
	var stdout, stderr bytes.Buffer
	code := run(ctx, mintCmd(w.fx, "--install-app"), func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr, interrupt)
	if code == exitOK || stdout.Len() != 0 {
		t.Errorf("mint interrupted = %d, stdout %q; want an error and nothing printed", code, stdout.String())
	}
	if last := w.lastToken(); w.s.Minted() != 1 || !last.Revoked {
		t.Errorf("minted %d, last token revoked %v; want the one token revoked", w.s.Minted(), last.Revoked)
	}
	if !strings.Contains(stderr.String(), "revoked the new token") {
		t.Errorf("stderr = %q; want it to say the new token was revoked", stderr.String())
	}
}
