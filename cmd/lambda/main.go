// Command lambda is metamint's AWS Lambda function. It keeps Meta system user
// access tokens fresh in AWS Secrets Manager: it is the rotation function of
// the managed secrets (createSecret, setSecret, testSecret, finishSecret),
// and a scheduled or direct invocation ({"rotate": [...], "force": false})
// checks the secrets and rotates every one that is due: through the same four
// steps in-process (inline mode), or by asking Secrets Manager to rotate it
// (fan-out mode, one RotateSecret per due secret).
//
// This package parses events and configuration, writes logs and metrics,
// and wires the rotation engine (internal/rotation) to the AWS SDK and
// pkg/mint.
//
// Build it for provided.al2023 as bootstrap:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags '-s -w' -o bootstrap ./cmd/lambda
//
// Environment: METAMINT_GRAPH_API_URL, METAMINT_GRAPH_API_VERSION,
// METAMINT_SECRET_IDS, METAMINT_SECRET_TAG (key or key=value),
// METAMINT_MODE (inline or fanout), METAMINT_REFRESH_BEFORE (default 360h),
// METAMINT_CONCURRENCY (default 8), METAMINT_SECRETS_WRITE_RATE (Secrets
// Manager writes a second, default 25), METAMINT_LOG_LEVEL (DEBUG, INFO, WARN
// or ERROR; default INFO), POWERTOOLS_SERVICE_NAME (the log field
// service, default metamint), and the AWS SDK's own variables. See
// docs/lambda.md.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/pace"
	"github.com/metamint/metamint/pkg/mint"
)

func main() {
	// The Lambda log handler writes JSON when the function's log format is
	// JSON (AWS_LAMBDA_LOG_FORMAT), honours AWS_LAMBDA_LOG_LEVEL, and adds
	// the request ID to every record logged with a context. The function's
	// own level is METAMINT_LOG_LEVEL (INFO until it is read).
	base := lambdacontext.NewLogHandler(lambdacontext.WithFunctionARN())
	rt := loadRuntime(os.Getenv)
	level := new(slog.LevelVar)
	log := newLogger(base, rt.service, level)
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", "error_type", errorType(err), "error", err.Error())
		os.Exit(1)
	}
	level.Set(cfg.logLevel)
	checkLambdaLogLevel(log, rt)
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("loading the AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	// One Client serves every secret of a run, so Meta's usage headers pace
	// all of them together. loadConfig checked every value it takes.
	graph, err := mint.NewClient(graphOptions(cfg)...)
	if err != nil {
		err = configErr(err)
		log.Error("invalid configuration", "error_type", errorType(err), "error", err.Error())
		os.Exit(1)
	}
	// One Pacer serves every Secrets Manager write of the instance, and
	// Lambda runs one invocation at a time in an instance: the rate is the
	// invocation's, shared by all its secrets and steps.
	sm := secretsmanager.NewFromConfig(awsCfg, pacedWrites(pace.New(cfg.writeRate)))
	h := newHandler(sm, graph, log, os.Stdout, cfg, rt, time.Now)
	// lambda.Start with a lambda.Handler, not StartHandlerFunc: the handler
	// must see payloads that are not JSON, to answer them with an EventError.
	lambda.Start(h)
}
