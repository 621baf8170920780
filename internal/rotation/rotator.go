package rotation

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/pkg/mint"
)

// SecretsManager is the part of the Secrets Manager client rotation uses.
// *secretsmanager.Client satisfies it.
type SecretsManager interface {
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(context.Context, *secretsmanager.UpdateSecretVersionStageInput, ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
	RotateSecret(context.Context, *secretsmanager.RotateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error)
	ListSecretVersionIds(context.Context, *secretsmanager.ListSecretVersionIdsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretVersionIdsOutput, error)
}

var _ SecretsManager = (*secretsmanager.Client)(nil)

// Defaults of a Rotator.
const (
	// DefaultHeadroom is the least time createSecret must have left before
	// its context's deadline to start making a token.
	DefaultHeadroom = 5 * time.Second
	// DefaultCleanup is how long the calls that must still happen after a
	// context ended (a read-back after a lost write, the revoke of a token
	// that provably was not stored) may take.
	DefaultCleanup = 4 * time.Second
	// DefaultRevokeGrace is how long a token that stopped being current
	// stays live: a day, longer than any sane cache of a secret's value
	// (AWS's caching clients default to an hour).
	DefaultRevokeGrace = 24 * time.Hour
)

// errEdited is promote's refusal of a version whose user-owned fields
// differ from AWSCURRENT's; rot.unusable says it.
var errEdited = errors.New("the pending version's fields differ from AWSCURRENT's")

// expiringLifetime is how long Meta says an expiring system user token
// lives. It estimates expires_at only when debug_token cannot say.
const expiringLifetime = 60 * 24 * time.Hour

// Rotator runs rotation steps. Its zero value is not usable: SM, Graph and
// Log are required. It holds no per-rotation state and is safe for
// concurrent use once built.
type Rotator struct {
	SM    SecretsManager
	Graph *mint.Client // one client for every rotation, so Meta's usage headers pace them all
	Log   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Headroom is the time left before the deadline below which no mint
	// or refresh starts: a token Graph issues when the invocation can no
	// longer store it would stay live. Zero means DefaultHeadroom.
	Headroom time.Duration
	// Cleanup bounds the calls made after the context ended; zero means
	// DefaultCleanup.
	Cleanup time.Duration
	// RevokeGrace is how long a token that stopped being current stays
	// live before a run revokes it, for consumers that cached it. Zero
	// means DefaultRevokeGrace.
	RevokeGrace time.Duration
}

func (r *Rotator) revokeGrace() time.Duration {
	if r.RevokeGrace > 0 {
		return r.RevokeGrace
	}
	return DefaultRevokeGrace
}

func (r *Rotator) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Rotator) headroom() time.Duration {
	if r.Headroom > 0 {
		return r.Headroom
	}
	return DefaultHeadroom
}

// cleanupContext is a context for calls that must happen even though ctx
// may have ended: reading back a lost write, revoking an orphan.
func (r *Rotator) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := r.Cleanup
	if d <= 0 {
		d = DefaultCleanup
	}
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
