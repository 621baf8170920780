// Command barelambda is the cold-start baseline of the scenario benchmarks
// (go run ./bench/scenarios -only c): a Go Lambda that does at cold start
// what metamint's bootstrap does with the AWS SDK (load the default
// configuration, build a Secrets Manager client and an HTTP client) and
// nothing else. Built as the bootstrap is built and run under aws-lambda-rie
// next to it, it shows how much of the bootstrap's init time is its own.
package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func main() {
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		os.Exit(1)
	}
	sm := secretsmanager.NewFromConfig(cfg)
	hc := &http.Client{Timeout: 30 * time.Second}
	lambda.StartHandlerFunc(func(ctx context.Context, _ json.RawMessage) (map[string]bool, error) {
		return map[string]bool{"ok": sm != nil && hc != nil}, nil
	})
}
