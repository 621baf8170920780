package rotation

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// valuesSM answers GetSecretValue of AWSCURRENT from a map by SecretId; a
// missing ID is a failed read. Nothing else is called.
type valuesSM struct {
	SecretsManager
	mu     sync.Mutex
	values map[string]string
	reads  int
}

func (v *valuesSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.reads++
	s, ok := v.values[aws.ToString(in.SecretId)]
	if !ok || aws.ToString(in.VersionStage) != StageCurrent {
		return nil, errors.New("read failed")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(s)}, nil
}

func storedValue(expires, issued string) string {
	s := `{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret":"s","access_token":"t"`
	if expires != "" {
		s += `,"expires_at":"` + expires + `"`
	}
	if issued != "" {
		s += `,"issued_at":"` + issued + `"`
	}
	return s + "}"
}

// TestOrder: a run takes its secrets soonest stored expires_at first,
// unknown (unread, unparsable, never stored by metamint) first of all, and
// never-expiring last.
func TestOrder(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	issued := at(-50 * 24 * time.Hour)
	sm := &valuesSM{values: map[string]string{
		"exp10d":  storedValue(at(240*time.Hour), issued),
		"exp2d":   storedValue(at(48*time.Hour), issued),
		"unknown": storedValue("", ""),
		"broken":  "not json",
		"never":   storedValue("", issued),
		"exp5d":   storedValue(at(120*time.Hour), issued),
		"expired": storedValue(at(-time.Hour), issued),
	}}
	f := &Fleet{Rotator: &Rotator{SM: sm, Now: func() time.Time { return now }}, Concurrency: 1}
	ids := []string{"exp10d", "exp2d", "unknown", "broken", "never", "exp5d", "unread", "expired"}
	var got []string
	order, _ := f.order(t.Context(), ids)
	for _, i := range order {
		got = append(got, ids[i])
	}
	first := slices.Clone(got[:3])
	slices.Sort(first)
	if !slices.Equal(first, []string{"broken", "unknown", "unread"}) || !slices.Equal(got[3:], []string{"expired", "exp2d", "exp5d", "exp10d", "never"}) {
		t.Errorf("order = %q; want the unknown three (any order), expired, exp2d, exp5d, exp10d, never", got)
	}
	if sm.reads != len(ids) {
		t.Errorf("reads = %d; want one per secret", sm.reads)
	}

	// No more secrets than Concurrency: given order, nothing read.
	small := &valuesSM{values: sm.values}
	g := &Fleet{Rotator: &Rotator{SM: small, Now: func() time.Time { return now }}, Concurrency: 8}
	if got, _ := g.order(t.Context(), ids[:3]); !slices.Equal(got, []int{0, 1, 2}) || small.reads != 0 {
		t.Errorf("order of 3 at concurrency 8 = %v after %d reads; want [0 1 2], no read", got, small.reads)
	}
}

// TestOrderTieRotates: secrets expiring in the same hour are ordered by a
// hash of the secret and the day, so the one last today is not last every
// day: over a week, more than one secret is last.
func TestOrderTieRotates(t *testing.T) {
	t.Parallel()
	day0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	exp := day0.Add(72 * time.Hour)
	sm := &valuesSM{values: map[string]string{}}
	var ids []string
	for i := range 8 {
		id := "fleet/" + string(rune('a'+i))
		ids = append(ids, id)
		// Within one hour of each other: equally urgent.
		sm.values[id] = storedValue(exp.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), day0.Format(time.RFC3339))
	}
	last := map[string]bool{}
	for d := range 7 {
		now := day0.Add(time.Duration(d) * 24 * time.Hour)
		f := &Fleet{Rotator: &Rotator{SM: sm, Now: func() time.Time { return now }}, Concurrency: 1}
		order, _ := f.order(t.Context(), ids)
		if s := slices.Sorted(slices.Values(order)); !slices.Equal(s, []int{0, 1, 2, 3, 4, 5, 6, 7}) {
			t.Fatalf("day %d: order %v is not a permutation", d, order)
		}
		last[ids[order[len(order)-1]]] = true
	}
	if len(last) < 2 {
		t.Errorf("last secret over 7 days: %v; want it to change", last)
	}
}
