package rotation

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/secret"
)

// urgency is how soon a secret's stored token expires, as a run orders its
// secrets: when Meta's or AWS's limits, or the deadline, cut a run short,
// the secrets nearest expiry went first.
type urgency struct {
	class   int       // urgentUnknown, urgentExpires or urgentNever
	hour    time.Time // the stored expires_at, to the hour (urgentExpires)
	tie     uint64    // the day's tie-break
	expires time.Time // the stored expires_at (urgentExpires)
}

const (
	// urgentUnknown: the stored value could not be read or has no
	// expires_at and no issued_at (metamint never stored it): first.
	urgentUnknown = iota
	// urgentExpires: by the stored expires_at, soonest first.
	urgentExpires
	// urgentNever: metamint stored it (issued_at) without expires_at, a
	// token that never expires: last.
	urgentNever
)

// ordered reports whether a run of n secrets is ordered: with no more than
// Concurrency secrets, every one starts at once and order changes nothing.
func (f *Fleet) ordered(n int) bool { return n > f.concurrency() }

// order returns the positions of ids in the order a run takes them: the
// soonest stored expires_at first (to the hour), unknown first of all,
// never-expiring last. Secrets equally urgent are ordered by a hash of the
// secret and the day (UTC), so the same ones are not last every day. It
// reads each AWSCURRENT value (GetSecretValue, reads only: Secrets
// Manager's read quota is thousands a second), Concurrency·4 at a time;
// a read that fails leaves the secret unknown, and the run meets it again.
// It returns the urgencies read too, nil when it read none.
func (f *Fleet) order(ctx context.Context, ids []string) ([]int, []urgency) {
	pos := make([]int, len(ids))
	for i := range pos {
		pos[i] = i
	}
	if !f.ordered(len(ids)) {
		return pos, nil
	}
	day := f.Rotator.now().UTC().Format(time.DateOnly)
	keys := make([]urgency, len(ids))
	sem := make(chan struct{}, 4*f.concurrency())
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			keys[i] = f.urgencyOf(ctx, id, day)
		})
	}
	wg.Wait()
	slices.SortStableFunc(pos, func(a, b int) int {
		ka, kb := keys[a], keys[b]
		return cmp.Or(cmp.Compare(ka.class, kb.class), ka.hour.Compare(kb.hour), cmp.Compare(ka.tie, kb.tie))
	})
	return pos, keys
}

// urgencyOf reads id's AWSCURRENT value and returns its urgency.
func (f *Fleet) urgencyOf(ctx context.Context, id, day string) urgency {
	sum := sha256.Sum256([]byte(day + "\x00" + id))
	u := urgency{class: urgentUnknown, tie: binary.BigEndian.Uint64(sum[:8])}
	if ctx.Err() != nil {
		return u
	}
	out, err := f.Rotator.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(id), VersionStage: aws.String(StageCurrent),
	})
	if err != nil || out.SecretString == nil {
		return u
	}
	doc, err := secret.Parse(aws.ToString(out.SecretString))
	switch {
	case err != nil:
	case !doc.ExpiresAt.IsZero():
		u.class, u.hour, u.expires = urgentExpires, doc.ExpiresAt.UTC().Truncate(time.Hour), doc.ExpiresAt
	case !doc.IssuedAt.IsZero():
		u.class = urgentNever
	}
	return u
}

// noteStoredExpiry records in res, a secret deferred before it started, the
// expires_at its AWSCURRENT stores, as MinDaysToExpiry counts a secret
// whose token was not inspected: u when order read it, else one read now
// (GetSecretValue; a run reads every secret in order once it has more than
// Concurrency, so only smaller runs read here). A read that fails, or a
// value with no expires_at, counts nothing.
func (f *Fleet) noteStoredExpiry(ctx context.Context, res *SecretResult, u *urgency) {
	if u == nil {
		read := f.urgencyOf(ctx, res.SecretID, "")
		u = &read
	}
	if u.class == urgentExpires {
		res.ExpiresAt, res.expiresAt = formatTime(u.expires), u.expires
	}
}
