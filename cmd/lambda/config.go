package main

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/pkg/mint"
)

// Limits of the environment.
const (
	maxConcurrency = 64
	// maxInvocation is the longest a Lambda invocation can run.
	maxInvocation = 15 * time.Minute
	// defaultService is the log field service when POWERTOOLS_SERVICE_NAME
	// is unset.
	defaultService = "metamint"
	// writeQuota is Secrets Manager's quota of writes (PutSecretValue,
	// UpdateSecret, UpdateSecretVersionStage) a second per account and
	// region, not adjustable; RotateSecret has one of the same size.
	writeQuota = 50
	// defaultWriteRate is METAMINT_SECRETS_WRITE_RATE's default: half the
	// quota. The quota is shared with every other writer of the account and
	// region (deployments, other rotation functions, applications storing
	// secrets), and a run at 25 a second still rotates 8 secrets a second
	// (three writes each), as much as the default concurrency gets through
	// Graph. Past the quota's other half a run is throttled and slows down.
	defaultWriteRate = 25.0
	// minWriteRate is the least write rate: one write every 10 s.
	minWriteRate = 0.1
)

// config is the Lambda's environment, read once at cold start.
type config struct {
	graphURL      string        // METAMINT_GRAPH_API_URL
	graphVersion  string        // METAMINT_GRAPH_API_VERSION
	secretIDs     []string      // METAMINT_SECRET_IDS
	refreshBefore time.Duration // METAMINT_REFRESH_BEFORE
	concurrency   int           // METAMINT_CONCURRENCY
	mode          string        // METAMINT_MODE: rotation.Inline or rotation.FanOut
	secretTag     *secretTag    // METAMINT_SECRET_TAG; nil when unset
	writeRate     float64       // METAMINT_SECRETS_WRITE_RATE: Secrets Manager writes a second, for the whole run
	logLevel      slog.Level    // METAMINT_LOG_LEVEL, default INFO
	revokeGrace   time.Duration // METAMINT_REVOKE_GRACE
	staleAfter    time.Duration // METAMINT_STALE_ROTATION_AFTER
}

// runtimeEnv is what the Lambda runtime and Powertools conventions set, read
// apart from loadConfig's METAMINT_* variables (deploy/ sets exactly those).
type runtimeEnv struct {
	service      string // POWERTOOLS_SERVICE_NAME, default "metamint": the log field service
	functionName string // AWS_LAMBDA_FUNCTION_NAME: the metrics' dimension FunctionName
	logLevel     string // AWS_LAMBDA_LOG_LEVEL: Lambda's application log level, its filter
}

func loadRuntime(getenv func(string) string) runtimeEnv {
	rt := runtimeEnv{service: defaultService, functionName: strings.TrimSpace(getenv("AWS_LAMBDA_FUNCTION_NAME")),
		logLevel: strings.TrimSpace(getenv("AWS_LAMBDA_LOG_LEVEL"))}
	if v := strings.TrimSpace(getenv("POWERTOOLS_SERVICE_NAME")); v != "" {
		rt.service = v
	}
	return rt
}

// loadConfig reads the METAMINT_* variables through getenv. Every error is
// a ConfigError naming the variable.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		graphURL:      mint.DefaultBaseURL,
		graphVersion:  mint.DefaultVersion,
		refreshBefore: rotation.DefaultRefreshBefore,
		revokeGrace:   rotation.DefaultRevokeGrace,
		staleAfter:    rotation.DefaultStaleAfter,
		concurrency:   rotation.DefaultConcurrency,
		mode:          string(rotation.Inline),
		writeRate:     defaultWriteRate,
	}
	if v := strings.TrimSpace(getenv("METAMINT_GRAPH_API_URL")); v != "" {
		u, err := mint.CheckBaseURL(v)
		if err != nil {
			return c, configErr(fmt.Errorf("METAMINT_GRAPH_API_URL: %w", err))
		}
		c.graphURL = u
	}
	if v := strings.TrimSpace(getenv("METAMINT_GRAPH_API_VERSION")); v != "" {
		if err := mint.CheckVersion(v); err != nil {
			return c, configErr(fmt.Errorf("METAMINT_GRAPH_API_VERSION %q is not a Graph API version of the form v27.0", truncate(v)))
		}
		c.graphVersion = v
	}
	c.secretIDs = splitIDs(getenv("METAMINT_SECRET_IDS"))
	if v := strings.TrimSpace(getenv("METAMINT_REFRESH_BEFORE")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return c, configErr(fmt.Errorf("METAMINT_REFRESH_BEFORE %q is not a non-negative Go duration such as 360h", truncate(v)))
		}
		c.refreshBefore = d
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"METAMINT_REVOKE_GRACE", &c.revokeGrace}, {"METAMINT_STALE_ROTATION_AFTER", &c.staleAfter}} {
		v := strings.TrimSpace(getenv(d.name))
		if v == "" {
			continue
		}
		p, err := time.ParseDuration(v)
		if err != nil || p <= 0 {
			return c, configErr(fmt.Errorf("%s %q is not a positive Go duration such as 24h", d.name, truncate(v)))
		}
		*d.dst = p
	}
	if v := strings.TrimSpace(getenv("METAMINT_CONCURRENCY")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxConcurrency {
			return c, configErr(fmt.Errorf("METAMINT_CONCURRENCY %q is not a number from 1 to %d", truncate(v), maxConcurrency))
		}
		c.concurrency = n
	}
	if v := strings.TrimSpace(getenv("METAMINT_MODE")); v != "" {
		if m := rotation.Mode(v); m != rotation.Inline && m != rotation.FanOut {
			return c, configErr(fmt.Errorf("METAMINT_MODE %q is neither %s nor %s", truncate(v), rotation.Inline, rotation.FanOut))
		}
		c.mode = v
	}
	if v := strings.TrimSpace(getenv("METAMINT_SECRETS_WRITE_RATE")); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r >= minWriteRate && r <= writeQuota) {
			return c, configErr(fmt.Errorf("METAMINT_SECRETS_WRITE_RATE %q is not a number of writes a second from %v to %d (Secrets Manager's quota)",
				truncate(v), minWriteRate, writeQuota))
		}
		c.writeRate = r
	}
	if v := strings.TrimSpace(getenv("METAMINT_LOG_LEVEL")); v != "" {
		l, ok := logLevels[v]
		if !ok {
			return c, configErr(fmt.Errorf("METAMINT_LOG_LEVEL %q is not DEBUG, INFO, WARN or ERROR", truncate(v)))
		}
		c.logLevel = l
	}
	if v := strings.TrimSpace(getenv("METAMINT_SECRET_TAG")); v != "" {
		t, err := parseSecretTag(v)
		if err != nil {
			return c, configErr(fmt.Errorf("METAMINT_SECRET_TAG %w", err))
		}
		c.secretTag = t
	}
	return c, nil
}

// logLevels are the values of METAMINT_LOG_LEVEL, the template's LogLevel.
var logLevels = map[string]slog.Level{"DEBUG": slog.LevelDebug, "INFO": slog.LevelInfo, "WARN": slog.LevelWarn, "ERROR": slog.LevelError}

// retryPolicy is the Lambda's Graph retry policy: mint.DefaultRetryPolicy
// (four attempts, about 0.5 s, 1 s and 2 s apart), except that a wait Meta
// asks for is never too long. When Graph throttles, its usage headers say when
// access returns (estimated_time_to_regain_access, in whole minutes), and
// the default policy gives up on any wait over 30 s: a one-minute estimate
// would fail every rotation in flight. Here MaxDelay is the longest
// invocation, so the only bound is the invocation's own deadline: mint
// starts no wait (a retry's or the pacer's) that would pass it, and the run
// reports the secrets it could not finish as deferred.
func retryPolicy() mint.RetryPolicy {
	p := mint.DefaultRetryPolicy()
	p.MaxDelay = maxInvocation
	return p
}

// graphOptions configure the one Graph client every rotation of an
// invocation shares, so that Meta's usage headers pace all of them.
func graphOptions(cfg config) []mint.Option {
	return []mint.Option{
		mint.WithBaseURL(cfg.graphURL),
		mint.WithVersion(cfg.graphVersion),
		mint.WithRetry(retryPolicy()),
		// When the usage headers near their limits, every goroutine slows
		// down; when Graph throttles, every call waits until access returns.
		mint.WithPacing(mint.Pacing{}),
	}
}

// splitIDs splits a comma- or whitespace-separated list of secret IDs and
// drops duplicates, keeping the first-seen order.
func splitIDs(s string) []string {
	var ids []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	}) {
		if !slices.Contains(ids, f) {
			ids = append(ids, f)
		}
	}
	return ids
}

func truncate(s string) string { return truncateN(s, 40) }

// truncateN cuts s to its first n bytes, marking the cut.
func truncateN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
