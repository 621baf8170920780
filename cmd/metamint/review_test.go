package main

import (
	"strings"
	"testing"

	"github.com/metamint/metamint/pkg/mint/minttest"
)

// TestMintingAppSecretFlagRefused: the minting app's secret passed as a
// flag is refused before anything parses it, naming the variable to set,
// and the value is not echoed.
func TestMintingAppSecretFlagRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const canary = "CANARYmintingFLAGsecret00000042"
	for _, flag := range []string{"--minting-app-secret=" + canary, "--minting_app_secret=" + canary} {
		r := runCLI(t, w.env(), "", mintCmd(w.fx, flag)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "is not accepted") || !strings.Contains(r.stderr, envMintingAppSecret) {
			t.Errorf("mint %s = %d, stderr %q; want %d and a refusal naming %s", flag, r.code, r.stderr, exitUsage, envMintingAppSecret)
		}
		if strings.Contains(r.stderr+r.stdout, canary) {
			t.Errorf("mint %s echoed the secret", flag)
		}
		if n := len(w.s.Requests()); n != 0 {
			t.Errorf("requests = %d; want none", n)
		}
	}
}

// TestMintWarnsOfPermanentToken: an expiring token was asked for (the
// default) and debug_token answers expires_at 0: mint warns that the token
// never expires.
func TestMintWarnsOfPermanentToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.s.InstallApp(w.fx.SystemUserID, w.fx.AppID)
	w.s.FailNext(minttest.EndpointDebugToken, minttest.Fault{})
	w.s.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: 200, Body: []byte(`{"data":{"app_id":"` + w.fx.AppID +
		`","type":"SYSTEM_USER","is_valid":true,"expires_at":0,"scopes":["ads_read","business_management"],"user_id":"` + w.fx.SystemUserID + `"}}`)})
	r := runCLI(t, w.env(), "", mintCmd(w.fx)...)
	if r.code != 0 {
		t.Fatalf("mint = %d, stderr %q; want 0", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "warning: Graph made a token that never expires") || !strings.Contains(r.stderr, "--expiring-token") {
		t.Errorf("stderr = %q; want a warning that the token never expires though --expiring-token asked for one that does", r.stderr)
	}
}
