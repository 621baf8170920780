package awstest

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Quota is a request-rate quota of Secrets Manager, enforced by a Proxy as
// AWS enforces it: a token bucket shared by Ops, Rate tokens a second, at
// most Burst in hand. A request that finds the bucket empty is answered 400
// ThrottlingException "Rate exceeded" and never reaches moto: nothing is
// written. Secrets Manager's write quota, for example, is 50 a second
// shared by PutSecretValue, UpdateSecret and UpdateSecretVersionStage (and
// the replication calls); RotateSecret has a 50 of its own.
type Quota struct {
	// Ops are the operations that share the bucket. Required.
	Ops []string
	// Rate is the tokens added a second. Required (> 0).
	Rate float64
	// Burst is the bucket's size, and its content at the start (zero:
	// Rate rounded up, a second's worth).
	Burst int
	// Now is the bucket's clock (zero: time.Now). Tests inject one to make
	// tokens return by count, not by waiting.
	Now func() time.Time
}

// WriteOps are the operations that share Secrets Manager's write quota, of
// those metamint and moto know.
var WriteOps = []string{"PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage"}

// Limit is a Quota in force on a Proxy. Its methods are safe for concurrent
// use.
type Limit struct {
	p      *Proxy
	q      Quota
	tokens float64
	last   time.Time
	active bool

	admitted  int // requests let through
	throttled int // requests answered ThrottlingException
	// lastThrottled is the ordinal (1-based, among the requests the Limit
	// saw) of the last throttled request; 0 when none was.
	lastThrottled int
}

// LimitStats are a Limit's counts.
type LimitStats struct {
	Admitted  int // requests let through to moto
	Throttled int // requests answered ThrottlingException
	// LastThrottled is the ordinal (1-based, among every request the Limit
	// saw) of the last throttled request; 0 when none was. A run paced
	// within the Quota has LastThrottled <= Burst: only its first burst
	// can be throttled.
	LastThrottled int
}

// Limit puts q in force and returns it. It panics on a Quota without Ops or
// Rate, with a negative Burst, or with an operation another active Limit
// already covers, as a misuse.
func (p *Proxy) Limit(q Quota) *Limit {
	if len(q.Ops) == 0 || !(q.Rate > 0) || q.Burst < 0 {
		panic(fmt.Sprintf("awstest: Limit(Quota{Ops: %q, Rate: %v, Burst: %d}): Ops, a Rate > 0 and a Burst >= 0 are required", q.Ops, q.Rate, q.Burst))
	}
	if q.Burst == 0 {
		q.Burst = int(math.Ceil(q.Rate))
	}
	if q.Now == nil {
		q.Now = time.Now
	}
	q.Ops = slices.Clone(q.Ops)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.limits {
		for _, op := range q.Ops {
			if l.active && slices.Contains(l.q.Ops, op) {
				panic(fmt.Sprintf("awstest: Limit: %s already has a quota", op))
			}
		}
	}
	l := &Limit{p: p, q: q, tokens: float64(q.Burst), last: q.Now(), active: true}
	p.limits = append(p.limits, l)
	return l
}

// Stats returns the Limit's counts so far.
func (l *Limit) Stats() LimitStats {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	return LimitStats{Admitted: l.admitted, Throttled: l.throttled, LastThrottled: l.lastThrottled}
}

// Remove lifts the quota.
func (l *Limit) Remove() {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	l.active = false
}

// throttleLocked takes a token for op from its Limit and returns the Limit
// when there was none; p.mu is held.
func (p *Proxy) throttleLocked(op string) *Limit {
	for _, l := range p.limits {
		if !l.active || !slices.Contains(l.q.Ops, op) {
			continue
		}
		now := l.q.Now()
		if d := now.Sub(l.last); d > 0 {
			l.tokens = min(float64(l.q.Burst), l.tokens+d.Seconds()*l.q.Rate)
			l.last = now
		}
		if l.tokens >= 1 {
			l.tokens--
			l.admitted++
			return nil
		}
		l.throttled++
		l.lastThrottled = l.admitted + l.throttled
		return l
	}
	return nil
}
