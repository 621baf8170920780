package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// scenarioAction is (d): the action binary, built as the Dockerfile builds
// it, run as the runner runs a container action (inputs and file commands
// in the environment, no arguments) against an in-process emulator with no
// injected latency: process start, input checks, POST access_tokens, GET
// debug_token, outputs.
func scenarioAction(ctx context.Context, cfg config, cl *cleanups, dir string) ([]*table, error) {
	bin := filepath.Join(dir, "action", "metamint-action")
	progress("(d) building the action (CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' ./cmd/action)")
	if err := awstest.GoBuild(ctx, bin, "./cmd/action", ""); err != nil {
		return nil, err
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return nil, err
	}
	srv := minttest.NewServer()
	cl.add(srv.Close)
	defer srv.Close()
	fx := srv.Seed()
	srv.InstallApp(fx.SystemUserID, fx.AppID)
	files := filepath.Join(dir, "action")
	env := []string{
		"INPUT_APP-ID=" + fx.AppID,
		"INPUT_APP-SECRET=" + fx.AppSecret,
		"INPUT_ACCESS-TOKEN=" + fx.AdminToken,
		"INPUT_SYSTEM-USER-ID=" + fx.SystemUserID,
		"INPUT_SCOPES=ads_read,business_management",
		"INPUT_GRAPH-API-URL=" + srv.URL,
		"GITHUB_OUTPUT=" + filepath.Join(files, "output"),
		"GITHUB_STATE=" + filepath.Join(files, "state"),
		"GITHUB_STEP_SUMMARY=" + filepath.Join(files, "summary"),
	}
	mintOnce := func() (time.Duration, error) {
		for _, f := range []string{"output", "state", "summary"} {
			if err := os.WriteFile(filepath.Join(files, f), nil, 0o600); err != nil {
				return 0, err
			}
		}
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("the action failed: %w\n%s", err, awstest.Tail(out.String(), 20))
		}
		b, _ := os.ReadFile(filepath.Join(files, "output"))
		if !strings.Contains(string(b), "token") {
			return 0, fmt.Errorf("the action wrote no token output\n%s", awstest.Tail(out.String(), 20))
		}
		return took, nil
	}
	if _, err := mintOnce(); err != nil { // warms the page cache; not timed
		return nil, err
	}
	srv.ResetRequests()
	minted := srv.Minted()
	var times []time.Duration
	for range cfg.actionRuns {
		d, err := mintOnce()
		if err != nil {
			return nil, err
		}
		times = append(times, d)
	}
	calls := len(srv.Requests())
	progress("(d) one mint: %s", spread(times))

	t := &table{title: "(d) the action binary", header: []string{"measure", "figure", "target", "verdict"}}
	t.add(fmt.Sprintf("wall time of one mint, %d runs", cfg.actionRuns), spread(times), "< 30 ms", verdict(median(times) < 30*time.Millisecond))
	t.add("binary size (linux/"+runtime.GOARCH+", -trimpath -ldflags '-s -w')", mb(fi.Size()), "< 10 MB", verdict(fi.Size() < 10e6))
	t.add("Graph calls per mint", fmt.Sprintf("%.1f (%d tokens minted in %d runs)", float64(calls)/float64(cfg.actionRuns), srv.Minted()-minted, cfg.actionRuns), "", "")
	t.note("Each run is a fresh process started with exactly the runner's environment (INPUT_*, GITHUB_OUTPUT, GITHUB_STATE, " +
		"GITHUB_STEP_SUMMARY) against minttest in this process on a loopback port, without injected latency; wall time is from " +
		"exec to exit. The app is installed beforehand, so a run mints and inspects; one untimed run comes first.")
	return []*table{t}, nil
}
