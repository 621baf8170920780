// Command scenarios runs metamint's scenario benchmarks and prints one
// markdown table per scenario, with the machine and the command, for
// BENCHMARKS.md:
//
//	(a) fleet: a direct invocation of the real bootstrap under aws-lambda-rie
//	    over N managed secrets in moto, Graph (minttest) answering after an
//	    injected latency, METAMINT_CONCURRENCY=16 against sequential (run on a
//	    sample and scaled), writes paced at METAMINT_SECRETS_WRITE_RATE=-write-rate;
//	(b) throttling: the same with the emulator throttling at a set rate;
//	(c) the bootstrap: cold start (rie's INIT REPORT), peak RSS after the fleet
//	    run, CPU time per rotation, zipped size for arm64 and amd64;
//	(d) the action: binary size and the wall time of one mint;
//	(e) quotas: -quota-secrets due secrets in one invocation against a
//	    Secrets Manager front enforcing a write quota (-quota-rate a second)
//	    with METAMINT_SECRETS_WRITE_RATE=-write-rate, and the squeezed case.
//
// It starts everything it needs (moto_server, the emulator, aws-lambda-rie)
// on free loopback ports and stops it on exit, on failure and on SIGINT.
// Run it from the repository: go run ./bench/scenarios -h.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/metamint/metamint/internal/awstest"
)

// config is the command line.
type config struct {
	only        []string // scenarios to run, in order
	secrets     int
	sample      int
	latency     time.Duration
	concurrency int
	rate        rateLimit
	starts      int
	actionRuns  int
	// (e): the fleet at the quota, the front's write quota, the
	// function's METAMINT_SECRETS_WRITE_RATE, the squeezed fleet and the
	// function timeout of the squeezed run.
	quotaSecrets   int
	quotaRate      float64
	writeRate      float64
	squeezeSecrets int
	squeezeTimeout time.Duration
	// actionBaseline is a git revision whose action binary (d) measures
	// beside this tree's; empty: none.
	actionBaseline string
	keep           bool
	args           []string // as given
}

// rateLimit is the emulator's throttling: calls per window, per app.
type rateLimit struct {
	calls  int
	window time.Duration
}

func (r rateLimit) String() string { return fmt.Sprintf("%d/%s", r.calls, r.window) }

func (r *rateLimit) Set(s string) error {
	c, w, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(c)
	if !ok || err != nil || n < 1 {
		return fmt.Errorf("want CALLS/WINDOW such as 400/10s, got %q", s)
	}
	d, err := time.ParseDuration(w)
	if err != nil || d <= 0 {
		return fmt.Errorf("want CALLS/WINDOW such as 400/10s, got %q", s)
	}
	r.calls, r.window = n, d
	return nil
}

// perSecond is the limit's average rate.
func (r rateLimit) perSecond() float64 { return float64(r.calls) / r.window.Seconds() }

var scenarioNames = []string{"a", "b", "c", "d", "e"}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := config{rate: rateLimit{calls: 400, window: 10 * time.Second}, args: args}
	fs := flag.NewFlagSet("scenarios", flag.ContinueOnError)
	fs.SetOutput(stderr)
	only := fs.String("only", "a,b,c,d", "scenarios to run, comma-separated: a (fleet), b (throttling), c (bootstrap), d (action), e (Secrets Manager quota)")
	fs.IntVar(&c.secrets, "secrets", 1000, "managed secrets in the fleet runs (a, b, and the peak-RSS run of c)")
	fs.IntVar(&c.sample, "sample", 100, "secrets of the sequential run in (a), scaled to -secrets")
	fs.DurationVar(&c.latency, "latency", 200*time.Millisecond, "Graph latency the emulator injects in (a), (b) and (c)")
	fs.IntVar(&c.concurrency, "concurrency", 16, "METAMINT_CONCURRENCY of the concurrent runs")
	fs.Var(&c.rate, "rate", "the emulator's rate limit in (b), CALLS/WINDOW per app (all secrets share one app)")
	fs.IntVar(&c.starts, "starts", 11, "fresh cold starts of the bootstrap in (c)")
	fs.IntVar(&c.actionRuns, "action-runs", 31, "timed runs of the action binary in (d)")
	fs.StringVar(&c.actionBaseline, "action-baseline", "", "a git revision (such as main) whose action binary (d) also measures, for a before/after ratio")
	fs.IntVar(&c.quotaSecrets, "quota-secrets", 10000, "due secrets of the run at the quota in (e)")
	fs.Float64Var(&c.quotaRate, "quota-rate", 50, "the Secrets Manager front's write quota in (e), writes a second (AWS: 50)")
	fs.Float64Var(&c.writeRate, "write-rate", 45, "METAMINT_SECRETS_WRITE_RATE of every fleet run: (a), (b), (c) and (e)")
	fs.IntVar(&c.squeezeSecrets, "squeeze-secrets", 1000, "due secrets of the squeezed run in (e): the front allows -write-rate/2.5")
	fs.DurationVar(&c.squeezeTimeout, "squeeze-timeout", time.Minute, "the function timeout of the squeezed run in (e)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory (builds, rie and moto logs)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, s := range strings.Split(*only, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(scenarioNames, s) {
			return c, fmt.Errorf("-only: unknown scenario %q; want a, b, c, d or e", s)
		}
		if !slices.Contains(c.only, s) {
			c.only = append(c.only, s)
		}
	}
	slices.Sort(c.only)
	switch {
	case c.secrets < 1 || c.sample < 1 || c.sample > c.secrets:
		return c, errors.New("want 1 <= -sample <= -secrets")
	case c.concurrency < 1 || c.concurrency > 64:
		return c, errors.New("-concurrency is METAMINT_CONCURRENCY: 1 to 64")
	case c.latency < 0:
		return c, errors.New("-latency must not be negative")
	case c.starts < 1 || c.actionRuns < 1:
		return c, errors.New("-starts and -action-runs must be at least 1")
	case c.quotaSecrets < 1 || c.squeezeSecrets < 1 || !(c.quotaRate > 0) || !(c.writeRate >= 0.1 && c.writeRate <= 50):
		return c, errors.New("want -quota-secrets and -squeeze-secrets >= 1, -quota-rate > 0, -write-rate from 0.1 to 50")
	case c.squeezeTimeout < 10*time.Second || c.squeezeTimeout > 15*time.Minute:
		return c, errors.New("-squeeze-timeout is a function timeout: 10s to 15m")
	}
	return c, nil
}

func (c config) has(s string) bool { return slices.Contains(c.only, s) }

// expanded is the command with every setting spelled out.
func (c config) expanded() string {
	args := []string{
		"-only", strings.Join(c.only, ","),
		"-secrets", strconv.Itoa(c.secrets),
		"-sample", strconv.Itoa(c.sample),
		"-latency", c.latency.String(),
		"-concurrency", strconv.Itoa(c.concurrency),
		"-rate", c.rate.String(),
		"-starts", strconv.Itoa(c.starts),
		"-action-runs", strconv.Itoa(c.actionRuns),
	}
	if c.has("e") {
		args = append(args, "-quota-secrets", strconv.Itoa(c.quotaSecrets), "-quota-rate", strconv.FormatFloat(c.quotaRate, 'f', -1, 64),
			"-write-rate", strconv.FormatFloat(c.writeRate, 'f', -1, 64), "-squeeze-secrets", strconv.Itoa(c.squeezeSecrets),
			"-squeeze-timeout", c.squeezeTimeout.String())
	}
	if c.actionBaseline != "" {
		args = append(args, "-action-baseline", c.actionBaseline)
	}
	return commandLine(args)
}

var progressMu sync.Mutex

// progress reports what the program is doing on stderr; the tables go to
// stdout.
func progress(format string, args ...any) {
	progressMu.Lock()
	defer progressMu.Unlock()
	fmt.Fprintf(os.Stderr, "bench %s: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scenarios:", err)
		os.Exit(2)
	}
	cl := &cleanups{}
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		progress("%s: stopping everything this program started", s)
		cancel()
		<-sigs // a second signal: do not wait for the scenario to unwind
		cl.run()
		os.Exit(130)
	}()
	err = run(ctx, cfg, cl, os.Stdout)
	cl.run()
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "scenarios: interrupted:", err)
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "scenarios: FAILED:", err)
		os.Exit(1)
	}
}

// run runs the chosen scenarios, printing each table as it is done.
func run(ctx context.Context, cfg config, cl *cleanups, w io.Writer) error {
	out := &reportWriter{w: w}
	dir, err := os.MkdirTemp("", "metamint-bench-")
	if err != nil {
		return err
	}
	if cfg.keep {
		defer progress("work directory kept: %s", dir)
	} else {
		cl.add(func() { _ = os.RemoveAll(dir) })
	}
	root, err := awstest.ModuleRoot()
	if err != nil {
		return fmt.Errorf("%w: run this from the metamint repository (go run ./bench/scenarios)", err)
	}

	var l *lab
	var tools []string
	if cfg.has("a") || cfg.has("b") || cfg.has("c") || cfg.has("e") {
		if l, err = setupLab(ctx, cfg, cl, dir); err != nil {
			return err
		}
		riePath, rieVersion, _ := awstest.RIEPath()
		tools = append(tools, "aws-lambda-rie "+rieVersion+" ("+riePath+")", "moto_server ("+l.moto.Path+")")
	}

	m := describeMachine()
	out.printf("## Scenario benchmarks\n\n")
	out.printf("- command: `%s`\n", commandLine(cfg.args))
	out.printf("- every setting: `%s`\n", cfg.expanded())
	out.printf("- started: %s\n", time.Now().UTC().Format(time.RFC3339))
	out.printf("- machine: %d CPUs (nproc), %s, %s, %s; load average at the start: %s\n", m.CPUs, m.CPUModel, m.Kernel, m.Memory, loadAverage())
	out.printf("- Go: %s (%s/%s)\n", m.Go, runtime.GOOS, runtime.GOARCH)
	out.printf("- source: %s\n", sourceState(root))
	for _, t := range tools {
		out.printf("- %s\n", t)
	}
	out.printf("- the machine is shared and noisy: compare figures within one run (ratios), not across runs\n\n")

	var fleets fleetSets
	if l != nil {
		if fleets, err = l.createSets(ctx, cfg); err != nil {
			return err
		}
		out.printf("Fleet runs: moto holds %d secrets (the shared app secret and every fleet below), "+
			"each managed secret has its own system user and a valid 60-day token of the shared app that expires in %s "+
			"(due under the default METAMINT_REFRESH_BEFORE=360h); Graph latency %s on every call; "+
			"the function runs with AWS_LAMBDA_FUNCTION_TIMEOUT=900.\n\n",
			fleets.total+1, tokenLeft, cfg.latency)
	}

	var st state
	for _, s := range cfg.only {
		if err = ctx.Err(); err != nil {
			return err
		}
		var tables []*table
		switch s {
		case "a":
			tables, err = scenarioFleet(ctx, cfg, l, fleets, &st)
		case "b":
			tables, err = scenarioThrottling(ctx, cfg, l, fleets, &st)
		case "c":
			tables, err = scenarioBootstrap(ctx, cfg, l, fleets, &st, dir)
		case "d":
			tables, err = scenarioAction(ctx, cfg, cl, dir)
		case "e":
			tables, err = scenarioQuota(ctx, cfg, l, fleets)
		}
		if err != nil {
			return fmt.Errorf("scenario (%s): %w", s, err)
		}
		for _, t := range tables {
			if err = t.render(out); err != nil {
				return err
			}
		}
	}
	out.printf("Finished %s; load average at the end: %s.\n", time.Now().UTC().Format(time.RFC3339), loadAverage())
	return out.err
}

// loadAverage is the 1, 5 and 15 minute load averages, a hint of how busy
// the shared machine was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// sourceState names the commit the binaries were built from, and says so
// when the working tree differs from it.
func sourceState(root string) string {
	head, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "not a git checkout"
	}
	s := "commit " + strings.TrimSpace(string(head))
	dirty, err := exec.Command("git", "-C", root, "status", "--porcelain", "--", "cmd", "pkg", "go.mod", "go.sum").Output()
	if err == nil && len(strings.TrimSpace(string(dirty))) > 0 {
		s += " plus uncommitted changes under cmd/, pkg/ or go.mod (the binaries are built from the working tree)"
	}
	return s
}

// state carries results from one scenario to the next.
type state struct {
	seq, conc *fleetRun
}

// fleetSets are the secrets created up front, so every run sees moto
// holding the same number of secrets.
type fleetSets struct {
	sample, fleet, throttled []string
	quota, squeezed          []string
	total                    int
}

func (l *lab) createSets(ctx context.Context, cfg config) (fleetSets, error) {
	var f fleetSets
	var err error
	if cfg.has("a") {
		if f.sample, err = l.createFleet(ctx, "metamint-bench/sequential", cfg.sample); err != nil {
			return f, err
		}
	}
	if cfg.has("a") || cfg.has("c") {
		if f.fleet, err = l.createFleet(ctx, "metamint-bench/fleet", cfg.secrets); err != nil {
			return f, err
		}
	}
	if cfg.has("b") {
		if f.throttled, err = l.createFleet(ctx, "metamint-bench/throttled", cfg.secrets); err != nil {
			return f, err
		}
	}
	if cfg.has("e") {
		if f.quota, err = l.createFleet(ctx, "metamint-bench/quota", cfg.quotaSecrets); err != nil {
			return f, err
		}
		if f.squeezed, err = l.createFleet(ctx, "metamint-bench/squeezed", cfg.squeezeSecrets); err != nil {
			return f, err
		}
	}
	f.total = len(f.sample) + len(f.fleet) + len(f.throttled) + len(f.quota) + len(f.squeezed)
	return f, nil
}

// setupLab starts moto (behind a counting proxy) and the Graph emulator,
// stores the shared app secret and builds the bootstrap.
func setupLab(ctx context.Context, cfg config, cl *cleanups, dir string) (*lab, error) {
	if _, _, err := awstest.RIEPath(); err != nil { // fail before building anything
		return nil, err
	}
	// Every fleet run paces its writes at -write-rate: at the default (25 a
	// second) the writes, not the concurrency, would bound (a) and (b).
	l := &lab{cl: cl, dir: dir, bootstrap: dir + "/rie/bootstrap",
		env: map[string]string{"METAMINT_SECRETS_WRITE_RATE": strconv.FormatFloat(cfg.writeRate, 'f', -1, 64)}}
	progress("building the bootstrap (GOOS=linux CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags '-s -w')")
	if err := awstest.BuildBootstrap(ctx, l.bootstrap); err != nil {
		return nil, err
	}
	progress("starting moto_server")
	m, err := awstest.StartMoto(ctx)
	if err != nil {
		return nil, err
	}
	l.moto = m
	cl.add(func() {
		m.Close()
		_ = os.WriteFile(filepath.Join(dir, "moto.log"), []byte(m.Output()), 0o600) // for -keep
	})
	if l.proxy, err = startSMProxy(cl, l.moto.URL); err != nil {
		return nil, err
	}
	l.sm = l.moto.SecretsManager()
	if l.g, err = startGraph(cl); err != nil {
		return nil, err
	}
	l.g.srv.SetLatency(cfg.latency)
	ref := "metamint-bench/refs/app"
	if _, err := l.sm.CreateSecret(ctx, newSecret(ref, `{"app_secret":"`+l.g.fx.AppSecret+`"}`)); err != nil {
		return nil, fmt.Errorf("CreateSecret %s in moto: %w", ref, err)
	}
	l.appRef = ref
	return l, nil
}
