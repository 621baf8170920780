package main

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/metamint/metamint/internal/awstest"
)

// scenarioQuota is (e): -quota-secrets due secrets in one invocation against
// a Secrets Manager front that enforces a write quota of -quota-rate a second
// as AWS does (awstest.Proxy.Limit: 400 ThrottlingException, nothing
// written), with METAMINT_SECRETS_WRITE_RATE=-write-rate; then the squeezed
// case: -squeeze-secrets with the front allowing -write-rate/2.5, the
// function told 2.5 times what it gets.
func scenarioQuota(ctx context.Context, cfg config, l *lab, f fleetSets) ([]*table, error) {
	front, err := awstest.StartProxy(l.moto.URL)
	if err != nil {
		return nil, err
	}
	l.cl.add(front.Close)
	counted, err := startSMProxy(l.cl, front.URL)
	if err != nil {
		return nil, err
	}
	saved, savedEnv := l.proxy, l.env
	l.proxy = counted
	l.env = maps.Clone(savedEnv) // METAMINT_SECRETS_WRITE_RATE (setupLab); the squeezed run adds its timeout
	defer func() { l.proxy, l.env = saved, savedEnv }()

	rotate := front.Limit(awstest.Quota{Ops: []string{"RotateSecret"}, Rate: cfg.quotaRate})
	defer rotate.Remove()
	limit := front.Limit(awstest.Quota{Ops: awstest.WriteOps, Rate: cfg.quotaRate})
	full, err := l.run(ctx, "(e) at the quota", f.quota, cfg.concurrency, nil)
	limit.Remove()
	if err != nil {
		return nil, err
	}
	fullStats := limit.Stats()

	squeezeRate := cfg.writeRate / 2.5
	squeeze := front.Limit(awstest.Quota{Ops: awstest.WriteOps, Rate: squeezeRate})
	l.env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(int(cfg.squeezeTimeout.Seconds()))
	squeezed, err := l.run(ctx, "(e) squeezed", f.squeezed, cfg.concurrency, nil)
	squeeze.Remove()
	if err != nil {
		return nil, err
	}
	squeezedStats := squeeze.Stats()

	t := &table{
		title: fmt.Sprintf("(e) Secrets Manager's write quota: METAMINT_SECRETS_WRITE_RATE=%v, METAMINT_CONCURRENCY=%d, Graph latency %s",
			cfg.writeRate, cfg.concurrency, cfg.latency),
		header: []string{"", fmt.Sprintf("%d secrets, front at %v writes/s", full.secrets, cfg.quotaRate),
			fmt.Sprintf("squeezed: %d secrets, front at %v writes/s (2.5× less than told), function timeout %s", squeezed.secrets, squeezeRate, cfg.squeezeTimeout)},
	}
	runs := []*fleetRun{full, squeezed}
	stats := []awstest.LimitStats{fullStats, squeezedStats}
	rates := []float64{cfg.writeRate, squeezeRate}
	row := func(name string, f func(i int, r *fleetRun) string) {
		cells := []string{name}
		for i, r := range runs {
			cells = append(cells, f(i, r))
		}
		t.add(cells...)
	}
	row("wall time of the invocation", func(_ int, r *fleetRun) string { return secs(r.wall) })
	row("results in the response", func(_ int, r *fleetRun) string { return r.results() })
	row("AWSCURRENT on the new version (asked moto)", func(_ int, r *fleetRun) string { return fmt.Sprintf("%d of %d", r.verified, r.secrets) })
	row("writes let through (PutSecretValue + UpdateSecretVersionStage)", func(i int, r *fleetRun) string {
		return fmt.Sprintf("%d (%d + %d; %.2f per rotation)", stats[i].Admitted, r.sm.ByKind["PutSecretValue"]-r.sm.Errors["PutSecretValue"],
			r.sm.ByKind["UpdateSecretVersionStage"]-r.sm.Errors["UpdateSecretVersionStage"], perRotation(stats[i].Admitted, r))
	})
	row("writes throttled (400 ThrottlingException), share of writes", func(i int, r *fleetRun) string {
		return fmt.Sprintf("%d (%.2f%%), the last at write #%d", stats[i].Throttled, share(stats[i].Throttled, stats[i].Admitted), stats[i].LastThrottled)
	})
	row("wall time / (writes ÷ rate)", func(i int, r *fleetRun) string {
		ideal := time.Duration(float64(stats[i].Admitted) / rates[i] * float64(time.Second))
		return fmt.Sprintf("%.3f (writes ÷ %v/s = %s)", r.wall.Seconds()/ideal.Seconds(), rates[i], secs(ideal))
	})
	row("Graph calls per secret", func(_ int, r *fleetRun) string {
		return fmt.Sprintf("%.2f (%s)", float64(r.graph.Requests)/float64(r.secrets), byKind(r.graph.ByKind, nil))
	})
	row("Secrets Manager calls by operation", func(_ int, r *fleetRun) string { return byKind(r.sm.ByKind, nil) })
	row("bootstrap peak RSS (VmHWM) after the run", func(_ int, r *fleetRun) string { return mb(r.hwm) })
	row("bootstrap CPU time", func(_ int, r *fleetRun) string { return secs(r.cpu) })
	t.note("The front is awstest.Proxy in front of moto with a token bucket per quota (Proxy.Limit): PutSecretValue, UpdateSecret and " +
		"UpdateSecretVersionStage share one bucket, RotateSecret has its own, each at the front's rate with a second's burst; a write " +
		"over it is answered 400 ThrottlingException \"Rate exceeded\" and never reaches moto. The counting proxy sits in front of it.")
	addFailures(t, runs...)

	writes := stats[0].Admitted
	ideal := time.Duration(float64(writes) / cfg.writeRate * float64(time.Second))
	targets := &table{title: "(e) targets", header: []string{"target", "figure", "verdict"}}
	targets.add("0 failures", full.results(), verdict(full.statuses["failed"] == 0))
	targets.add(fmt.Sprintf("all %d secrets in one invocation", full.secrets), fmt.Sprintf("%d rotated", full.rotated()), verdict(full.allRotated()))
	targets.add("throttled answers under 1% of writes", fmt.Sprintf("%d of %d (%.2f%%)", stats[0].Throttled, writes, share(stats[0].Throttled, writes)),
		verdict(share(stats[0].Throttled, writes) < 1))
	targets.add(fmt.Sprintf("wall time within 1.2× of writes ÷ %v", cfg.writeRate), fmt.Sprintf("%s vs %s: %.3f×", secs(full.wall), secs(ideal), full.wall.Seconds()/ideal.Seconds()),
		verdict(full.wall.Seconds() <= 1.2*ideal.Seconds()))
	targets.add("peak RSS under 64 MB", mb(full.hwm), verdict(full.hwm < 64e6))
	targets.add("3 Graph calls per secret", fmt.Sprintf("%.2f", float64(full.graph.Requests)/float64(full.secrets)),
		verdict(full.graph.Requests == 3*full.secrets))
	targets.add("squeezed: no failure, no revoked token", fmt.Sprintf("%s; revoke calls %d", squeezed.results(), squeezed.graph.ByKind["revoke"]),
		verdict(squeezed.statuses["failed"] == 0 && squeezed.graph.ByKind["revoke"] == 0))
	return []*table{t, targets}, nil
}

func perRotation(n int, r *fleetRun) float64 {
	if r.rotated() == 0 {
		return 0
	}
	return float64(n) / float64(r.rotated())
}

func share(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}
