package main

import (
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/pace"
	"github.com/metamint/metamint/internal/secret"
)

// pacedOps are the Secrets Manager writes a run paces with
// METAMINT_SECRETS_WRITE_RATE. PutSecretValue, UpdateSecret and
// UpdateSecretVersionStage share the account's write quota (50 a second per
// region); RotateSecret has a 50 of its own, paced with them so that one
// setting bounds every write the function makes.
var pacedOps = []string{"PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage", "RotateSecret"}

// pacedWrites wires p into a Secrets Manager client (secret.Patient): each
// attempt of a paced write waits for its slot, and any call Secrets Manager
// throttles is sent again after a jittered backoff, for as long as the
// invocation's time allows; a throttled write also slows p down. A call
// made with a single attempt (PutSecretValue, see internal/rotation) still
// gets an answer that is its own.
func pacedWrites(p *pace.Pacer) func(*secretsmanager.Options) {
	return secret.Patient(p, pacedOps...)
}
