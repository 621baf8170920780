package main

import (
	"strings"
	"testing"

	"github.com/metamint/metamint/internal/awstest"
)

// The tests of this file put the keyless path before managed secrets and
// job state that metamint did not write: another tool's JSON, a person's
// mistakes, another step of the job writing GITHUB_STATE.

// canaryHexSecret has the form of a Meta app secret: 32 hexadecimal digits.
const canaryHexSecret = "c0ffee0ddba11cafe0000000000000a5"

// TestKeylessRefHoldsTheValue: a person puts the secret itself where the
// name or ARN of the secret holding it belongs (the token in
// minting_token_ref, the app secret in app_secret_ref). The step fails
// naming the field, never shows the value, never sends it to AWS as a
// secret's name, and mints nothing.
func TestKeylessRefHoldsTheValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		field string
		// value returns what the person put in field.
		value func(k *keyless) string
	}{
		{name: "token in minting_token_ref", field: "minting_token_ref", value: func(k *keyless) string { return k.mintingToken }},
		{name: "app secret in app_secret_ref", field: "app_secret_ref", value: func(*keyless) string { return canaryHexSecret }},
		{name: "app secret in minting_app_secret_ref", field: "minting_app_secret_ref", value: func(*keyless) string { return canaryHexSecret }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newKeyless(t)
			proxy := awstest.NewProxy(t, k.moto.URL)
			value := tt.value(k)
			f := k.managedFields(t, k.storedToken())
			f[tt.field] = value
			id := k.putJSON(t, "managed", f)
			sent := proxy.Inject(awstest.Fault{Op: "GetSecretValue", SecretID: value, Times: awstest.Forever, Status: 400,
				ErrorType: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret."})
			before := len(k.minted())
			r := runStep(t, k.world, k.keylessEnv(id), nil, withSecretsManager(awstest.SecretsManager(proxy.URL)))
			if r.err == nil || !strings.Contains(r.err.Error(), `field "`+tt.field+`"`) || !strings.Contains(r.err.Error(), "not the name or ARN of a secret") {
				t.Fatalf("run() = %v; want an error naming field %q as holding a value, not a secret's name", r.err, tt.field)
			}
			if n := sent.Hits(); n != 0 {
				t.Errorf("GetSecretValue sent the value as a SecretId %d times; want never", n)
			}
			checkNoLeaks(t, append(k.keylessSecrets(), canaryHexSecret), r)
			if got := len(k.minted()) - before; got != 0 || r.output != "" || r.state != "" {
				t.Errorf("minted %d tokens, outputs %q, state %q; want none", got, r.output, r.state)
			}
		})
	}
}
