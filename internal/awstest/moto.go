package awstest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// RotationLambdaARN is the function every Moto knows, for RotateSecret's
// RotationLambdaARN. With moto's Lambda docker-off setting, RotateSecret
// "invokes" it without running anything: it makes moto create the
// AWSPENDING placeholder version the way Secrets Manager does.
const RotationLambdaARN = "arn:aws:lambda:us-east-1:123456789012:function:metamint-rotation"

// motoMissing is the error for a missing moto_server.
const motoMissing = "moto_server is not on PATH: the tests and the bench need moto's Secrets Manager; " +
	"install it with pip install 'moto[server]==5.2.*' (`make tools` checks for it)"

// Moto is a running moto_server on a free loopback port, with Lambda's
// Docker use turned off and the function of RotationLambdaARN created.
// Its methods are safe for concurrent use.
type Moto struct {
	// URL is moto's endpoint, http://127.0.0.1:PORT, for the Secrets
	// Manager client's BaseEndpoint or AWS_ENDPOINT_URL_SECRETS_MANAGER.
	URL string
	// Path is the moto_server that runs.
	Path string

	p   *process
	out *Buffer
}

// StartMoto starts moto_server -H 127.0.0.1 -p PORT, waits until it answers
// and configures it (see Moto). A missing moto_server is an error naming it.
// The caller must call Close.
func StartMoto(ctx context.Context) (*Moto, error) {
	path, err := lookTool("moto_server")
	if err != nil {
		return nil, fmt.Errorf("awstest: %s (%v)", motoMissing, err)
	}
	var lastErr error
	for range 3 { // a free port can be taken between picking and binding
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		out := &Buffer{}
		cmd := exec.Command(path, "-H", "127.0.0.1", "-p", port)
		cmd.Stdout, cmd.Stderr = out, out
		p, err := startProcess("moto_server", cmd)
		if err != nil {
			return nil, err
		}
		m := &Moto{URL: "http://127.0.0.1:" + port, Path: path, p: p, out: out}
		if lastErr = m.setup(ctx); lastErr == nil {
			return m, nil
		}
		p.stop()
		lastErr = fmt.Errorf("awstest: moto_server on port %s: %w; it said:\n%s", port, lastErr, Tail(out.String(), 20))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// NewMoto starts a Moto for one test and stops it when the test ends. A
// missing or failing moto_server fails the test (t.Fatal) naming it; it
// never skips.
func NewMoto(tb testing.TB) *Moto {
	tb.Helper()
	m, err := StartMoto(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(m.Close)
	return m
}

var shared struct {
	once sync.Once
	moto *Moto
	err  error
}

// SharedMoto returns the one Moto of this test binary, starting it on first
// use; tests share it and keep apart by naming their own secrets. Call
// Shutdown from TestMain to stop it. A missing moto_server fails the test.
func SharedMoto(tb testing.TB) *Moto {
	tb.Helper()
	shared.once.Do(func() { shared.moto, shared.err = StartMoto(context.Background()) })
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.moto
}

// Shutdown stops the shared Moto and removes the bootstrap built by
// Bootstrap. Call it from TestMain after m.Run.
func Shutdown() {
	if shared.moto != nil {
		shared.moto.Close()
	}
	removeBuilt()
}

// Close stops moto_server and everything it started (its process group).
func (m *Moto) Close() { m.p.stop() }

// Output returns what moto_server printed so far (its request log).
func (m *Moto) Output() string { return m.out.String() }

// SecretsManager returns a Secrets Manager client for moto (see the
// function SecretsManager).
func (m *Moto) SecretsManager(optFns ...func(*secretsmanager.Options)) *secretsmanager.Client {
	return SecretsManager(m.URL, optFns...)
}

// SecretsManager returns a Secrets Manager client for endpoint (a Moto, or
// a Proxy in front of one): region us-east-1, static test credentials, the
// SDK's default retryer (3 attempts), then optFns.
func SecretsManager(endpoint string, optFns ...func(*secretsmanager.Options)) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "awstest"}, nil
		}),
	}, optFns...)
}

// setup waits until moto answers, turns off Docker for Lambda invocations
// (RotateSecret then "invokes" the function without running it) and creates
// the function of RotationLambdaARN.
func (m *Moto) setup(ctx context.Context) error {
	if err := m.waitReady(ctx); err != nil {
		return err
	}
	return m.setupLambda(ctx)
}

func (m *Moto) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/moto-api/config", strings.NewReader(`{"lambda":{"use_docker":false}}`))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return nil
			}
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-m.p.exited:
			t.Stop()
			return errors.New("it exited")
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return errors.New("no answer within 60 s")
}

// setupLambda creates the IAM role and the Lambda function that RotateSecret
// needs, over moto's raw IAM and Lambda APIs (only the Secrets Manager SDK is
// a dependency). With use_docker off moto keeps functions in a separate
// backend, so this must come after the config call.
func (m *Moto) setupLambda(ctx context.Context) error {
	auth := func(service string) string {
		return "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/" + service + "/aws4_request, SignedHeaders=host, Signature=00"
	}
	form := url.Values{
		"Action":                   {"CreateRole"},
		"Version":                  {"2010-05-08"},
		"RoleName":                 {"metamint-rotation"},
		"AssumeRolePolicyDocument": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`},
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", auth("iam"))
	if err := doOK(req); err != nil {
		return fmt.Errorf("IAM CreateRole: %w", err)
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	f, _ := zw.Create("bootstrap")
	_, _ = f.Write([]byte("#!/bin/sh\n"))
	_ = zw.Close()
	body, _ := json.Marshal(map[string]any{
		"FunctionName": "metamint-rotation",
		"Runtime":      "provided.al2023",
		"Role":         "arn:aws:iam::123456789012:role/metamint-rotation",
		"Handler":      "bootstrap",
		"Code":         map[string]string{"ZipFile": base64.StdEncoding.EncodeToString(zipped.Bytes())},
	})
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/2015-03-31/functions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth("lambda"))
	if err := doOK(req); err != nil {
		return fmt.Errorf("Lambda CreateFunction: %w", err)
	}
	return nil
}

func doOK(req *http.Request) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("HTTP %d: %.500s", resp.StatusCode, b)
	}
	return nil
}
