package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/metamint/metamint/internal/awstest"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// fleetScopes are the scopes every managed secret asks for.
var fleetScopes = []string{"ads_read", "business_management"}

// tokenLeft is how long the seeded tokens have left: inside the Lambda's
// default METAMINT_REFRESH_BEFORE (360h), so every secret is due on its own
// merits, as on a real schedule, without force.
const tokenLeft = 5 * 24 * time.Hour

// lab holds the parts the fleet scenarios share: moto behind a counting
// proxy, the Graph emulator, the built bootstrap and the shared app secret.
type lab struct {
	cl        *cleanups
	dir       string
	bootstrap string
	moto      *awstest.Moto
	proxy     *smProxy
	sm        *secretsmanager.Client // straight to moto: setup calls are not counted
	g         *graph
	appRef    string
	users     atomic.Int64
	runs      int
	// env is added to the function's environment of the next runs.
	env map[string]string
}

func newSecret(name, value string) *secretsmanager.CreateSecretInput {
	return &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)}
}

// createFleet creates n managed secrets named prefix/NNNN, each for its own
// system user of the shared app, holding a valid expiring token that is due
// for refresh, and returns their names.
func (l *lab) createFleet(ctx context.Context, prefix string, n int) ([]string, error) {
	start := time.Now()
	srv, fx := l.g.srv, l.g.fx
	names := make([]string, n)
	values := make([]string, n)
	for i := range n {
		id := fmt.Sprintf("7%014d", l.users.Add(1))
		srv.AddSystemUser(minttest.SystemUser{ID: id, BusinessID: fx.BusinessID, Name: "client " + id})
		srv.InstallApp(id, fx.AppID)
		exp := srv.Now().Add(tokenLeft)
		tok := srv.IssueToken(minttest.TokenSpec{UserID: id, AppID: fx.AppID, Scopes: fleetScopes, ExpiresAt: exp})
		b, err := json.Marshal(map[string]any{
			"app_id":         fx.AppID,
			"system_user_id": id,
			"scopes":         fleetScopes,
			"app_secret_ref": l.appRef,
			"access_token":   tok,
			"expires_at":     exp.UTC().Truncate(time.Second).Format(time.RFC3339),
			"client":         fmt.Sprintf("client-%04d", i),
		})
		if err != nil {
			return nil, err
		}
		names[i] = fmt.Sprintf("%s/%04d", prefix, i)
		values[i] = string(b)
	}
	err := parallel(ctx, n, 8, func(i int) error {
		// moto answers an occasional 500 under parallel creates of a large
		// fleet: retried (more attempts than the SDK's 3), and a create
		// that committed before its 500 is found on the retry.
		_, err := l.sm.CreateSecret(ctx, newSecret(names[i], values[i]), func(o *secretsmanager.Options) { o.RetryMaxAttempts = 10 })
		var exists *types.ResourceExistsException
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("CreateSecret %s in moto: %w", names[i], err)
		}
		return nil
	})
	progress("created %d secrets under %s/ in %s", n, prefix, secs(time.Since(start)))
	return names, err
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, f func(int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// answer is the function's response to a direct invocation, or its error.
type answer struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
	Trigger      string `json:"trigger"`
	Results      []struct {
		SecretID  string `json:"secret_id"`
		Status    string `json:"status"`
		Method    string `json:"method"`
		VersionID string `json:"version_id"`
		Step      string `json:"step"`
		ErrorType string `json:"error_type"`
		Error     string `json:"error"`
	} `json:"results"`
}

// fleetRun is one measured direct invocation over a fleet.
type fleetRun struct {
	label       string
	secrets     int
	concurrency int

	wall     time.Duration
	statuses map[string]int // from the response
	methods  map[string]int
	failures []string // the first few failures, "secret: type: error"
	verified int      // secrets whose AWSCURRENT moto shows on the new version
	graph    counts
	sm       counts
	minted   int           // minttest's Minted() during the run
	cpu      time.Duration // the bootstrap's utime+stime during the invocation
	hwm      int64         // the bootstrap's VmHWM after it
	init     time.Duration // rie's INIT REPORT of this bootstrap
}

func (r *fleetRun) rotated() int { return r.statuses["rotated"] }

// allRotated is true when every secret was rotated and moto agrees.
func (r *fleetRun) allRotated() bool {
	return r.rotated() == r.secrets && r.verified == r.secrets
}

// results is "rotated 1000" or "rotated 990, failed 10".
func (r *fleetRun) results() string {
	order := []string{"rotated", "failed", "deferred", "skipped", "not_due"}
	var s string
	for _, k := range order {
		if n := r.statuses[k]; n > 0 || k == "rotated" {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%s %d", k, n)
		}
	}
	return s
}

// run invokes the bootstrap under a fresh aws-lambda-rie with
// {"rotate": names, "force": false} and measures it.
func (l *lab) run(ctx context.Context, label string, names []string, concurrency int, limit *rateLimit) (*fleetRun, error) {
	l.runs++
	env := map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": l.proxy.URL,
		"METAMINT_GRAPH_API_URL":           l.g.URL,
		"METAMINT_CONCURRENCY":             fmt.Sprint(concurrency),
	}
	maps.Copy(env, l.env)
	r, err := l.startRIE(ctx, l.bootstrap, filepath.Join(l.dir, fmt.Sprintf("rie-fleet-%d.log", l.runs)), env)
	if err != nil {
		return nil, err
	}
	defer r.stop()
	// Cold-start the function with an invocation that touches nothing, so
	// the measured one starts warm and its CPU time can be read around it.
	if _, _, err = r.invoke(ctx, []byte(`{"rotate":[]}`)); err != nil {
		return nil, err
	}
	pid, err := r.FunctionPID()
	if err != nil {
		return nil, err
	}
	res := &fleetRun{label: label, secrets: len(names), concurrency: concurrency}
	if res.init, err = r.InitDuration(ctx); err != nil {
		return nil, err
	}
	cpu0, err := cpuTime(pid)
	if err != nil {
		return nil, err
	}
	l.g.k.take()
	l.proxy.k.take()
	l.g.srv.ResetRequests()
	minted := l.g.srv.Minted()
	if limit != nil {
		l.g.srv.SetRateLimit(limit.calls, limit.window)
		defer l.g.srv.SetRateLimit(0, 0)
	}
	payload, _ := json.Marshal(map[string]any{"rotate": names, "force": false})
	progress("%s: invoking the bootstrap over %d secrets, METAMINT_CONCURRENCY=%d", label, len(names), concurrency)
	body, took, err := r.invoke(ctx, payload)
	if err != nil {
		return nil, err
	}
	res.wall = took
	cpu1, err := cpuTime(pid)
	if err != nil {
		return nil, err
	}
	res.cpu = cpu1 - cpu0
	if res.hwm, err = vmHWM(pid); err != nil {
		return nil, err
	}
	res.graph, res.sm = l.g.k.take(), l.proxy.k.take()
	res.minted = l.g.srv.Minted() - minted
	l.g.srv.ResetRequests()
	r.stop()

	var a answer
	if err = json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("%s: the function's answer is not JSON: %w: %.300s", label, err, body)
	}
	if a.ErrorType != "" {
		return nil, fmt.Errorf("%s: the invocation failed: %s: %s", label, a.ErrorType, a.ErrorMessage)
	}
	if len(a.Results) != len(names) {
		return nil, fmt.Errorf("%s: %d results for %d secrets", label, len(a.Results), len(names))
	}
	res.statuses, res.methods = map[string]int{}, map[string]int{}
	versions := map[string]string{}
	for _, x := range a.Results {
		res.statuses[x.Status]++
		if x.Method != "" {
			res.methods[x.Method]++
		}
		switch x.Status {
		case "rotated":
			versions[x.SecretID] = x.VersionID
		case "failed":
			if len(res.failures) < 5 {
				res.failures = append(res.failures, fmt.Sprintf("%s: %s at %s: %s", x.SecretID, x.ErrorType, x.Step, x.Error))
			}
		}
	}
	if res.verified, err = l.verify(ctx, versions); err != nil {
		return nil, err
	}
	progress("%s: %s in %s; moto shows %d on the new version", label, res.results(), secs(res.wall), res.verified)
	return res, nil
}

// verify counts the secrets whose AWSCURRENT is on the version the function
// reported, asking moto directly.
func (l *lab) verify(ctx context.Context, versions map[string]string) (int, error) {
	ids := make([]string, 0, len(versions))
	for id := range versions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var ok atomic.Int64
	err := parallel(ctx, len(ids), 8, func(i int) error {
		out, err := l.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(ids[i])})
		if err != nil {
			return fmt.Errorf("DescribeSecret %s in moto: %w", ids[i], err)
		}
		if slices.Contains(out.VersionIdsToStages[versions[ids[i]]], "AWSCURRENT") {
			ok.Add(1)
		}
		return nil
	})
	return int(ok.Load()), err
}
