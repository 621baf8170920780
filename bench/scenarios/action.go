package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/actionyml"
	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// actionVariant is one way of running the action binary in (d).
type actionVariant struct {
	name  string
	bin   string
	env   []string
	files string // the directory of its file command files
	times []time.Duration
}

// scenarioAction is (d): the action binary, built as the Dockerfile builds
// it, run as the runner runs a container action (inputs and file commands
// in the environment, no arguments) against an in-process emulator with no
// injected latency: process start, input checks, POST access_tokens, GET
// debug_token, outputs. It runs the plain path (app-secret and
// access-token inputs), the keyless path (aws-secret-id, read from moto
// with the AWS variables configure-aws-credentials exports) and, with
// -action-baseline REV, the plain path of the binary built from git
// revision REV; the runs of the variants alternate, so the machine's
// noise falls on all of them alike.
func scenarioAction(ctx context.Context, cfg config, cl *cleanups, dir string) ([]*table, error) {
	base := filepath.Join(dir, "action")
	bin := filepath.Join(base, "metamint-action")
	progress("(d) building the action (CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' ./cmd/action)")
	if err := awstest.GoBuild(ctx, bin, "./cmd/action", ""); err != nil {
		return nil, err
	}
	var baseBin string
	if cfg.actionBaseline != "" {
		var err error
		if baseBin, err = buildBaselineAction(ctx, cfg.actionBaseline, filepath.Join(dir, "baseline")); err != nil {
			return nil, err
		}
	}

	srv := minttest.NewServer()
	cl.add(srv.Close)
	defer srv.Close()
	fx := srv.Seed()
	srv.InstallApp(fx.SystemUserID, fx.AppID)
	scopes := []string{"ads_read", "business_management"}

	progress("(d) starting moto_server for the keyless variant")
	moto, err := awstest.StartMoto(ctx)
	if err != nil {
		return nil, err
	}
	cl.add(moto.Close)
	defer moto.Close()
	sm := moto.SecretsManager()
	put := func(name string, v any) (string, error) {
		b, merr := json.Marshal(v)
		if merr != nil {
			return "", merr
		}
		_, merr = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(b))})
		return name, merr
	}
	appRef, err := put("metamint-bench/keyless/app-secret", map[string]any{"app_secret": fx.AppSecret})
	if err != nil {
		return nil, err
	}
	stored := srv.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: scopes, ExpiresAt: srv.Now().Add(30 * 24 * time.Hour)})
	managed, err := put("metamint-bench/keyless/managed", map[string]any{
		"app_id": fx.AppID, "system_user_id": fx.SystemUserID, "scopes": scopes, "app_secret_ref": appRef, "access_token": stored,
	})
	if err != nil {
		return nil, err
	}

	// The runner passes every input action.yml declares, each default
	// evaluated, with the workflow's on top.
	plainEnv, err := runnerEnv(map[string]string{
		"INPUT_APP-ID":         fx.AppID,
		"INPUT_APP-SECRET":     fx.AppSecret,
		"INPUT_ACCESS-TOKEN":   fx.AdminToken,
		"INPUT_SYSTEM-USER-ID": fx.SystemUserID,
		"INPUT_SCOPES":         strings.Join(scopes, ","),
		"INPUT_GRAPH-API-URL":  srv.URL,
	})
	if err != nil {
		return nil, err
	}
	keylessEnv, err := runnerEnv(map[string]string{
		"INPUT_AWS-SECRET-ID":              managed,
		"INPUT_GRAPH-API-URL":              srv.URL,
		"HOME":                             base,
		"AWS_ACCESS_KEY_ID":                "test",
		"AWS_SECRET_ACCESS_KEY":            "test",
		"AWS_SESSION_TOKEN":                "test",
		"AWS_REGION":                       "us-east-1",
		"AWS_DEFAULT_REGION":               "us-east-1",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": moto.URL,
		"AWS_EC2_METADATA_DISABLED":        "true",
	})
	if err != nil {
		return nil, err
	}
	variants := []*actionVariant{
		{name: "plain path (app-secret, access-token), this tree", bin: bin, env: plainEnv},
		{name: "keyless path (aws-secret-id, moto), this tree", bin: bin, env: keylessEnv},
	}
	if baseBin != "" {
		variants = append(variants, &actionVariant{name: "plain path, " + cfg.actionBaseline, bin: baseBin, env: plainEnv})
	}
	for i, v := range variants {
		v.files = filepath.Join(base, fmt.Sprintf("files-%d", i))
		if err = os.MkdirAll(v.files, 0o700); err != nil {
			return nil, err
		}
		v.env = append(v.env,
			"GITHUB_OUTPUT="+filepath.Join(v.files, "output"),
			"GITHUB_STATE="+filepath.Join(v.files, "state"),
			"GITHUB_STEP_SUMMARY="+filepath.Join(v.files, "summary"))
		if _, err = v.mintOnce(ctx); err != nil { // warms the page cache; not timed
			return nil, fmt.Errorf("%s: %w", v.name, err)
		}
	}
	srv.ResetRequests()
	minted := srv.Minted()
	for range cfg.actionRuns {
		for _, v := range variants {
			d, runErr := v.mintOnce(ctx)
			if runErr != nil {
				return nil, fmt.Errorf("%s: %w", v.name, runErr)
			}
			v.times = append(v.times, d)
		}
	}
	calls := len(srv.Requests())
	for _, v := range variants {
		progress("(d) one mint, %s: %s", v.name, spread(v.times))
	}

	t := &table{title: "(d) the action binary", header: []string{"measure", "figure", "target", "verdict"}}
	plain, keyless := variants[0], variants[1]
	t.add(fmt.Sprintf("wall time of one mint, %s, %d runs", plain.name, cfg.actionRuns), spread(plain.times), "< 30 ms", verdict(median(plain.times) < 30*time.Millisecond))
	size, err := fileSize(bin)
	if err != nil {
		return nil, err
	}
	t.add("binary size, this tree (linux/"+runtime.GOARCH+", -trimpath -ldflags '-s -w')", mb(size), "< 10 MB", verdict(size < 10e6))
	if baseBin != "" {
		old := variants[2]
		t.add(fmt.Sprintf("wall time of one mint, %s, %d runs", old.name, cfg.actionRuns), spread(old.times), "", "")
		ratio := float64(median(plain.times)) / float64(median(old.times))
		t.add("plain-path median, this tree / "+cfg.actionBaseline, fmt.Sprintf("%.2fx (%+.1f ms)", ratio, float64(median(plain.times)-median(old.times))/float64(time.Millisecond)),
			"<= 1.5x", verdict(ratio <= 1.5))
		oldSize, err := fileSize(baseBin)
		if err != nil {
			return nil, err
		}
		t.add("binary size, "+cfg.actionBaseline, mb(oldSize), "", "")
		t.add("binary size, this tree / "+cfg.actionBaseline, fmt.Sprintf("%.2fx (%+.2f MB)", float64(size)/float64(oldSize), float64(size-oldSize)/1e6), "", "")
	}
	t.add(fmt.Sprintf("wall time of one mint, %s, %d runs", keyless.name, cfg.actionRuns), spread(keyless.times), "", "")
	t.add("Graph calls per mint", fmt.Sprintf("%.1f (%d tokens minted in %d runs)", float64(calls)/float64(cfg.actionRuns*len(variants)), srv.Minted()-minted, cfg.actionRuns*len(variants)), "", "")
	t.note("Each run is a fresh process started with exactly the runner's environment (every input action.yml declares, defaults evaluated, GITHUB_OUTPUT, GITHUB_STATE, " +
		"GITHUB_STEP_SUMMARY; for the keyless path also the AWS_* variables configure-aws-credentials exports, with " +
		"AWS_ENDPOINT_URL_SECRETS_MANAGER pointing at moto_server) against minttest in this process on a loopback port, without injected " +
		"latency; wall time is from exec to exit. The app is installed beforehand, so a run mints and inspects; the keyless path " +
		"also loads the AWS SDK's configuration and reads from moto the managed secret (AWSCURRENT, and AWSPENDING and AWSPREVIOUS, which hold no version here) and its app_secret_ref. " +
		"The variants' runs alternate; one untimed run of each comes first.")
	return []*table{t}, nil
}

func (v *actionVariant) mintOnce(ctx context.Context) (time.Duration, error) {
	for _, f := range []string{"output", "state", "summary"} {
		if err := os.WriteFile(filepath.Join(v.files, f), nil, 0o600); err != nil {
			return 0, err
		}
	}
	cmd := exec.CommandContext(ctx, v.bin)
	cmd.Env = v.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("the action failed: %w\n%s", err, awstest.Tail(out.String(), 20))
	}
	b, _ := os.ReadFile(filepath.Join(v.files, "output"))
	if !strings.Contains(string(b), "token") {
		return 0, fmt.Errorf("the action wrote no token output\n%s", awstest.Tail(out.String(), 20))
	}
	return took, nil
}

func fileSize(name string) (int64, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// buildBaselineAction exports git revision rev of this repository into dir
// (git archive; the working tree is not touched) and builds its
// ./cmd/action the same way.
func buildBaselineAction(ctx context.Context, rev, dir string) (string, error) {
	root, err := awstest.ModuleRoot()
	if err != nil {
		return "", err
	}
	progress("(d) building the action at %s (git archive, then the same go build)", rev)
	if err = os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	archive := exec.CommandContext(ctx, "git", "-C", root, "archive", "--format=tar", rev)
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return "", err
	}
	untar.Stdin = pipe
	var errs bytes.Buffer
	archive.Stderr, untar.Stderr = &errs, &errs
	if err := untar.Start(); err != nil {
		return "", err
	}
	if err := archive.Run(); err != nil {
		return "", fmt.Errorf("git archive %s: %w\n%s", rev, err, errs.String())
	}
	if err := untar.Wait(); err != nil {
		return "", fmt.Errorf("tar: %w\n%s", err, errs.String())
	}
	bin := filepath.Join(dir, "metamint-action")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/action")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build at %s: %w\n%s", rev, err, out)
	}
	return bin, nil
}

// runnerEnv is the environment the runner gives the action's binary
// (actionyml.RunnerEnv over the repository's action.yml, read from the
// working directory) with given on top, as KEY=value lines.
func runnerEnv(given map[string]string) ([]string, error) {
	b, err := os.ReadFile("action.yml")
	if err != nil {
		return nil, fmt.Errorf("reading action.yml (run the scenarios from the repository root): %w", err)
	}
	meta, err := actionyml.Parse(string(b))
	if err != nil {
		return nil, err
	}
	declared, err := actionyml.Inputs(meta)
	if err != nil {
		return nil, err
	}
	env, err := actionyml.RunnerEnv(declared, given)
	if err != nil {
		return nil, err
	}
	lines := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		lines = append(lines, k+"="+env[k])
	}
	return lines, nil
}
