package main

import (
	"archive/zip"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/metamint/metamint/internal/awstest"
)

// scenarioFleet is (a): the sequential sample, then the whole fleet at
// METAMINT_CONCURRENCY, and the ratio.
func scenarioFleet(ctx context.Context, cfg config, l *lab, f fleetSets, st *state) ([]*table, error) {
	seq, err := l.run(ctx, "(a) sequential sample", f.sample, 1, nil)
	if err != nil {
		return nil, err
	}
	conc, err := l.run(ctx, "(a) concurrent", f.fleet, cfg.concurrency, nil)
	if err != nil {
		return nil, err
	}
	st.seq, st.conc = seq, conc
	scale := float64(cfg.secrets) / float64(cfg.sample)
	seqScaled := time.Duration(float64(seq.wall) * scale)
	ratio := seqScaled.Seconds() / conc.wall.Seconds()

	t := &table{
		title: fmt.Sprintf("(a) fleet: %d secrets, Graph latency %s, METAMINT_CONCURRENCY=%d against sequential, METAMINT_SECRETS_WRITE_RATE=%v",
			cfg.secrets, cfg.latency, cfg.concurrency, cfg.writeRate),
		header: []string{"", fmt.Sprintf("sequential (METAMINT_CONCURRENCY=1), sample of %d", cfg.sample), fmt.Sprintf("METAMINT_CONCURRENCY=%d, all %d", cfg.concurrency, cfg.secrets)},
	}
	runRows(t, cfg, seq, conc)
	t.rows = slices.Insert(t.rows, 1, []string{fmt.Sprintf("wall time for %d secrets", cfg.secrets),
		fmt.Sprintf("%s (scaled ×%.4g)", secs(seqScaled), scale), secs(conc.wall)})
	t.note("%s", whereTimeGoes(seq, "sequential"))
	t.note("%s", whereTimeGoes(conc, fmt.Sprintf("concurrency %d", cfg.concurrency)))
	t.note("Secrets Manager calls by operation (concurrent run): %s.", byKind(conc.sm.ByKind, conc.sm.Errors))
	addFailures(t, seq, conc)

	targets := &table{
		title:  "(a) targets",
		header: []string{"target", "figure", "verdict"},
	}
	targets.add(fmt.Sprintf("METAMINT_CONCURRENCY=%d at least 10× faster than sequential", cfg.concurrency),
		fmt.Sprintf("%.1f× (%s scaled from %d secrets, against %s)", ratio, secs(seqScaled), cfg.sample, secs(conc.wall)), verdict(ratio >= 10))
	targets.add(fmt.Sprintf("%d secrets under 2 minutes at %s latency", cfg.secrets, cfg.latency), secs(conc.wall), verdict(conc.wall < 2*time.Minute))
	targets.add("every secret rotated (response and moto agree)",
		fmt.Sprintf("%d/%d sequential, %d/%d concurrent", seq.verified, seq.secrets, conc.verified, conc.secrets), verdict(seq.allRotated() && conc.allRotated()))
	if cfg.secrets != 1000 || cfg.latency != 200*time.Millisecond || cfg.concurrency != 16 {
		targets.note("The targets are set for 1000 secrets at 200 ms with concurrency 16; this run used other sizes, so the verdicts are indicative only.")
	}
	return []*table{t, targets}, nil
}

// runRows adds the rows every fleet table shares, one column per run.
func runRows(t *table, cfg config, runs ...*fleetRun) {
	row := func(name string, f func(r *fleetRun) string) {
		cells := []string{name}
		for _, r := range runs {
			cells = append(cells, f(r))
		}
		t.add(cells...)
	}
	per := func(d time.Duration, n int) time.Duration {
		if n == 0 {
			return 0
		}
		return d / time.Duration(n)
	}
	perRot := func(n int, r *fleetRun) string {
		if r.rotated() == 0 {
			return fmt.Sprint(n)
		}
		return fmt.Sprintf("%d (%.2f per rotation)", n, float64(n)/float64(r.rotated()))
	}
	row("wall time of the invocation", func(r *fleetRun) string { return secs(r.wall) })
	row("per secret (wall time / secrets)", func(r *fleetRun) string { return ms(per(r.wall, r.secrets)) })
	row("results in the response", func(r *fleetRun) string { return r.results() })
	row("AWSCURRENT on the new version (asked moto)", func(r *fleetRun) string { return fmt.Sprintf("%d of %d", r.verified, r.secrets) })
	row("how (response): refreshed / minted", func(r *fleetRun) string {
		return fmt.Sprintf("%d / %d", r.methods["refreshed"], r.methods["minted"])
	})
	row("minttest: Minted() (refresh calls + mint calls)", func(r *fleetRun) string {
		return fmt.Sprintf("%d (%d + %d)", r.minted, r.graph.ByKind["refresh"], r.graph.ByKind["mint"])
	})
	row("Graph calls", func(r *fleetRun) string { return perRot(r.graph.Requests, r) })
	row("Graph calls by kind", func(r *fleetRun) string { return byKind(r.graph.ByKind, nil) })
	row("Graph throttled answers (code 4) / other errors", func(r *fleetRun) string {
		other := 0
		for _, n := range r.graph.Errors {
			other += n
		}
		return fmt.Sprintf("%d / %d", r.graph.Throttled, other-r.graph.Throttled)
	})
	row(fmt.Sprintf("Graph calls in the busiest %s window", cfg.rate.window), func(r *fleetRun) string {
		return fmt.Sprint(r.graph.peakIn(cfg.rate.window))
	})
	row("Graph calls in flight, peak", func(r *fleetRun) string { return fmt.Sprint(r.graph.MaxInflight) })
	row("TCP connections the bootstrap opened to Graph", func(r *fleetRun) string { return fmt.Sprint(r.graph.Conns) })
	row("Secrets Manager calls", func(r *fleetRun) string { return perRot(r.sm.Requests, r) })
	row("Secrets Manager writes (PutSecretValue + UpdateSecretVersionStage) in the busiest second", func(r *fleetRun) string {
		return fmt.Sprint(r.sm.peakIn(time.Second, "PutSecretValue", "UpdateSecretVersionStage"))
	})
	row("Secrets Manager calls in flight, peak", func(r *fleetRun) string { return fmt.Sprint(r.sm.MaxInflight) })
	row("TCP connections the bootstrap opened to Secrets Manager", func(r *fleetRun) string { return fmt.Sprint(r.sm.Conns) })
	row("bootstrap CPU time (utime+stime), per rotation", func(r *fleetRun) string {
		return fmt.Sprintf("%s (%s)", secs(r.cpu), ms(per(r.cpu, r.rotated())))
	})
	row("bootstrap peak RSS (VmHWM) after the run", func(r *fleetRun) string { return mb(r.hwm) })
}

// whereTimeGoes splits a run's time per secret between Graph, moto and the
// rest, from the sums of the call durations the counting servers measured.
func whereTimeGoes(r *fleetRun, name string) string {
	n := time.Duration(max(r.secrets, 1))
	return fmt.Sprintf("Where the time goes (%s): per secret, %s in Graph calls (the sum of their durations, injected latency included, / secrets) "+
		"and %s in Secrets Manager calls answered by moto (measured at the counting proxy); wall time per secret %s. "+
		"Summed over the run: Graph %s for %d calls, moto %s for %d calls (%.0f%% of the wall time).",
		name, ms(r.graph.Busy/n), ms(r.sm.Busy/n), ms(r.wall/n),
		secs(r.graph.Busy), r.graph.Requests, secs(r.sm.Busy), r.sm.Requests, 100*r.sm.Busy.Seconds()/max(r.wall.Seconds(), 1e-9))
}

// byKind is "DescribeSecret 1000, GetSecretValue 2001 (1000 errors)".
func byKind(m, errs map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s := fmt.Sprintf("%s %d", k, m[k])
		if errs[k] > 0 {
			s += fmt.Sprintf(" (%d answered an error)", errs[k])
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func addFailures(t *table, runs ...*fleetRun) {
	for _, r := range runs {
		if len(r.failures) > 0 {
			t.note("First failures of %s: %s", r.label, strings.Join(r.failures, "; "))
		}
	}
}

// scenarioThrottling is (b): a fresh fleet with the emulator throttling.
func scenarioThrottling(ctx context.Context, cfg config, l *lab, f fleetSets, st *state) ([]*table, error) {
	r, err := l.run(ctx, "(b) throttled", f.throttled, cfg.concurrency, &cfg.rate)
	if err != nil {
		return nil, err
	}
	t := &table{
		title: fmt.Sprintf("(b) throttling: %d secrets, Graph latency %s, METAMINT_CONCURRENCY=%d, METAMINT_SECRETS_WRITE_RATE=%v, the emulator allowing %d calls per %s",
			cfg.secrets, cfg.latency, cfg.concurrency, cfg.writeRate, cfg.rate.calls, cfg.rate.window),
		header: []string{"", "throttled run"},
	}
	unpaced := "not measured in this run (add a to -only)"
	if st.conc != nil {
		peak := st.conc.graph.peakIn(cfg.rate.window)
		unpaced = fmt.Sprintf("%d calls in its busiest %s window: %.2f× the limit", peak, cfg.rate.window, float64(peak)/float64(cfg.rate.calls))
	}
	t.add("rate limit (minttest SetRateLimit, per app; the fleet shares one app)",
		fmt.Sprintf("%d calls per sliding %s window (%.0f calls/s on average)", cfg.rate.calls, cfg.rate.window, cfg.rate.perSecond()))
	t.add("the same fleet unthrottled, run (a)", unpaced)
	runRows(t, cfg, r)
	t.note("The Lambda paces its Graph calls by Meta's usage headers (mint.WithPacing, default threshold 75%%): the emulator reports " +
		"the share of the limit used in X-App-Usage on every answer, and answers code 4 with estimated_time_to_regain_access " +
		"(in whole minutes) past the limit.")
	t.note("%s", whereTimeGoes(r, "throttled"))
	addFailures(t, r)
	targets := &table{title: "(b) targets", header: []string{"target", "figure", "verdict"}}
	targets.add("zero failed rotations under throttling", fmt.Sprintf("%s; %d throttled answers", r.results(), r.graph.Throttled),
		verdict(r.statuses["failed"] == 0 && r.allRotated()))
	if st.conc != nil {
		peak := st.conc.graph.peakIn(cfg.rate.window)
		targets.add("the limit is below what the unpaced fleet sends", fmt.Sprintf("%d allowed, %d sent unpaced in (a)", cfg.rate.calls, peak),
			verdict(peak > cfg.rate.calls))
	}
	return []*table{t, targets}, nil
}

// scenarioBootstrap is (c): cold starts, peak RSS after the fleet run, CPU
// per rotation, and the zipped sizes.
func scenarioBootstrap(ctx context.Context, cfg config, l *lab, f fleetSets, st *state, dir string) ([]*table, error) {
	conc := st.conc
	if conc == nil {
		var err error
		if conc, err = l.run(ctx, "(c) fleet run for peak RSS", f.fleet, cfg.concurrency, nil); err != nil {
			return nil, err
		}
	}
	bare := filepath.Join(dir, "bare", "bootstrap")
	progress("(c) building the baseline Lambda (bench/barelambda) as the bootstrap is built")
	if err := awstest.GoBuild(ctx, bare, "./bench/barelambda", "lambda.norpc", "GOOS=linux"); err != nil {
		return nil, err
	}
	env := map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": l.proxy.URL,
		"METAMINT_GRAPH_API_URL":           l.g.URL,
	}
	var inits, bareInits []time.Duration
	var hwms []int64
	// Interleaved, so both see the same noise.
	for i := range cfg.starts {
		c, err := l.coldStart(ctx, l.bootstrap, filepath.Join(dir, fmt.Sprintf("rie-cold-%d.log", i)), env)
		if err != nil {
			return nil, err
		}
		inits, hwms = append(inits, c.init), append(hwms, c.hwm)
		b, err := l.coldStart(ctx, bare, filepath.Join(dir, fmt.Sprintf("rie-cold-bare-%d.log", i)), env)
		if err != nil {
			return nil, err
		}
		bareInits = append(bareInits, b.init)
	}
	// One more start each with GODEBUG=inittrace=1: the package initialisers' share.
	traced := map[string]string{"GODEBUG": "inittrace=1"}
	for k, v := range env {
		traced[k] = v
	}
	ours, err := l.coldStart(ctx, l.bootstrap, filepath.Join(dir, "rie-cold-inittrace.log"), traced)
	if err != nil {
		return nil, err
	}
	base, err := l.coldStart(ctx, bare, filepath.Join(dir, "rie-cold-bare-inittrace.log"), traced)
	if err != nil {
		return nil, err
	}
	progress("(c) cold start: %s", spread(inits))

	zips := map[string][2]int64{}
	for _, arch := range []string{"arm64", "amd64"} {
		bin := filepath.Join(dir, "lambda-"+arch, "bootstrap")
		progress("(c) building and zipping the bootstrap for %s", arch)
		if err := awstest.GoBuild(ctx, bin, "./cmd/lambda", "lambda.norpc", "GOOS=linux", "GOARCH="+arch); err != nil {
			return nil, err
		}
		zipped, raw, err := zipBootstrap(bin, bin+".zip")
		if err != nil {
			return nil, err
		}
		zips[arch] = [2]int64{zipped, raw}
	}

	slices.Sort(hwms)
	t := &table{
		title:  "(c) the bootstrap under aws-lambda-rie",
		header: []string{"measure", "figure", "target", "verdict"},
	}
	t.add(fmt.Sprintf("cold start: rie INIT REPORT durationMs, %d fresh starts (%s)", cfg.starts, "linux/"+runtime.GOARCH+" binary"),
		spread(inits), "< 20 ms", verdict(median(inits) < 20*time.Millisecond))
	t.add(fmt.Sprintf("peak RSS (VmHWM) after the %d-secret run, METAMINT_CONCURRENCY=%d", conc.secrets, conc.concurrency),
		mb(conc.hwm), "< 40 MB", verdict(conc.hwm < 40e6))
	t.add(fmt.Sprintf("baseline: bench/barelambda (AWS config, Secrets Manager and HTTP clients, nothing else), %d fresh starts", cfg.starts),
		spread(bareInits), "", "")
	t.add("cold start, bootstrap / baseline (medians)", fmt.Sprintf("%.2f×", median(inits).Seconds()/median(bareInits).Seconds()), "", "")
	t.add("package initialisers (GODEBUG=inittrace=1, one extra start each): bootstrap / baseline",
		fmt.Sprintf("%s in %d packages / %s in %d packages", ms(ours.pkgInit), ours.pkgs, ms(base.pkgInit), base.pkgs), "", "")
	t.add("peak RSS after one invocation that touches nothing (median of the cold starts)", mb(hwms[len(hwms)/2]), "", "")
	t.add(fmt.Sprintf("CPU time per rotation (utime+stime / rotations), METAMINT_CONCURRENCY=%d", conc.concurrency),
		cpuPer(conc), "", "")
	if st.seq != nil {
		t.add("CPU time per rotation, sequential", cpuPer(st.seq), "", "")
	}
	for _, arch := range []string{"arm64", "amd64"} {
		z := zips[arch]
		t.add(fmt.Sprintf("bootstrap zip, %s (Deflate, best compression); unzipped %s", arch, mb(z[1])), mb(z[0]), "< 5 MB", verdict(z[0] < 5e6))
	}
	t.note("Cold start is measured by rie from exec of the bootstrap to its first request for an event (the INIT REPORT line; " +
		"the REPORT line's Init Duration does not wait for the runtime). Each start is a fresh aws-lambda-rie and a fresh process, " +
		"invoked once with {\"rotate\":[]}, which touches neither Graph nor Secrets Manager. CPU time is read from /proc/<pid>/stat " +
		"of the bootstrap before and after the measured invocation (clock-tick resolution); MB are 10^6 bytes.")
	return []*table{t}, nil
}

// coldStarted is one fresh start of a function under rie.
type coldStarted struct {
	init    time.Duration // rie's INIT REPORT
	hwm     int64         // the function's VmHWM after one invocation
	pkgInit time.Duration // the sum of the package initialisers, with GODEBUG=inittrace=1
	pkgs    int
}

// coldStart runs bin under a fresh rie, invokes it once with a payload that
// touches nothing, and reads the measures before stopping it.
func (l *lab) coldStart(ctx context.Context, bin, logPath string, env map[string]string) (coldStarted, error) {
	var c coldStarted
	r, err := l.startRIE(ctx, bin, logPath, env)
	if err != nil {
		return c, err
	}
	defer r.stop()
	if _, _, err = r.invoke(ctx, []byte(`{"rotate":[]}`)); err != nil {
		return c, err
	}
	if c.init, err = r.InitDuration(ctx); err != nil {
		return c, err
	}
	pid, err := r.FunctionPID()
	if err != nil {
		return c, err
	}
	if c.hwm, err = vmHWM(pid); err != nil {
		return c, err
	}
	r.stop()
	c.pkgInit, c.pkgs = initTrace(r.Output())
	return c, nil
}

// initTrace sums the function's "init pkg @t ms, d ms clock, ..." lines of
// GODEBUG=inittrace=1: those after rie's INIT START, since rie, a Go program
// too, prints its own first.
func initTrace(log string) (time.Duration, int) {
	_, after, ok := strings.Cut(log, "INIT START")
	if !ok {
		return 0, 0
	}
	var sum time.Duration
	n := 0
	for _, line := range strings.Split(after, "\n") {
		f := strings.Fields(line)
		// init pkg @0.20 ms, 0.50 ms clock, 0 bytes, 0 allocs
		if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
			continue
		}
		d, err := time.ParseDuration(f[4] + "ms")
		if err != nil {
			continue
		}
		sum += d
		n++
	}
	return sum, n
}

func cpuPer(r *fleetRun) string {
	if r.rotated() == 0 {
		return "no rotation"
	}
	return fmt.Sprintf("%s (%s over %d rotations)", ms(r.cpu/time.Duration(r.rotated())), secs(r.cpu), r.rotated())
}

// zipBootstrap zips bin as "bootstrap" (mode 0755) with Deflate at best
// compression, as a Lambda deployment package, and returns the zip's size
// and the binary's.
func zipBootstrap(bin, out string) (zipped, raw int64, err error) {
	b, err := os.ReadFile(bin)
	if err != nil {
		return 0, 0, err
	}
	f, err := os.Create(out)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			zipped, raw, err = 0, 0, cerr
		}
	}()
	zw := zip.NewWriter(f)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return 0, 0, err
	}
	if _, err = w.Write(b); err != nil {
		return 0, 0, err
	}
	if err = zw.Close(); err != nil {
		return 0, 0, err
	}
	zfi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	return zfi.Size(), int64(len(b)), nil
}
