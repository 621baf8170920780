package main

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// fakeSM is an in-memory Secrets Manager for single-function tests of what
// moto cannot show: real AWS refuses a PutSecretValue that would give an
// existing version another value (moto overwrites it), and errors other than
// ResourceNotFound on reads. One secret only.
type fakeSM struct {
	mu       sync.Mutex
	arn      string
	values   map[string]string   // version -> value
	stages   map[string][]string // version -> labels
	getErr   error               // returned by GetSecretValue for AWSPENDING
	putErr   error               // returned by PutSecretValue
	putGate  chan struct{}       // when set, PutSecretValue waits on it
	putCalls int
}

func newFakeSM(current string) *fakeSM {
	return &fakeSM{
		arn:    "arn:aws:secretsmanager:us-east-1:123456789012:secret:fake-AbCdEf",
		values: map[string]string{"v0": current},
		stages: map[string][]string{"v0": {stageCurrent}},
	}
}

func (f *fakeSM) DescribeSecret(_ context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := map[string][]string{}
	for v, l := range f.stages {
		if len(l) > 0 {
			st[v] = slices.Clone(l)
		}
	}
	return &secretsmanager.DescribeSecretOutput{ARN: aws.String(f.arn), VersionIdsToStages: st, RotationEnabled: aws.Bool(true)}, nil
}

func (f *fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	stage := aws.ToString(in.VersionStage)
	if stage == stagePending && f.getErr != nil {
		return nil, f.getErr
	}
	v := aws.ToString(in.VersionId)
	if v == "" {
		v = versionWith(f.stages, stage)
	}
	val, ok := f.values[v]
	if !ok {
		return nil, &types.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret value")}
	}
	if stage != "" && !slices.Contains(f.stages[v], stage) {
		return nil, &types.InvalidRequestException{Message: aws.String("version and stage do not match")}
	}
	return &secretsmanager.GetSecretValueOutput{ARN: aws.String(f.arn), VersionId: aws.String(v), SecretString: aws.String(val)}, nil
}

func (f *fakeSM) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	f.mu.Lock()
	f.putCalls++
	gate := f.putGate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.putErr != nil {
		return nil, f.putErr
	}
	v, val := aws.ToString(in.ClientRequestToken), aws.ToString(in.SecretString)
	if old, ok := f.values[v]; ok {
		if old != val {
			return nil, &types.ResourceExistsException{Message: aws.String("A resource with the ID you requested already exists.")}
		}
		return &secretsmanager.PutSecretValueOutput{VersionId: aws.String(v)}, nil
	}
	for _, label := range in.VersionStages {
		for ov, l := range f.stages {
			f.stages[ov] = slices.DeleteFunc(l, func(s string) bool { return s == label })
		}
	}
	f.values[v] = val
	f.stages[v] = slices.Clone(in.VersionStages)
	return &secretsmanager.PutSecretValueOutput{VersionId: aws.String(v)}, nil
}

func (f *fakeSM) UpdateSecretVersionStage(context.Context, *secretsmanager.UpdateSecretVersionStageInput, ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error) {
	return nil, errors.New("fakeSM: UpdateSecretVersionStage is not used by these tests")
}

// fakeWorld is a rotator on a fakeSM and minttest, with a secret whose
// inline app secret needs no other secret.
func fakeWorld(t *testing.T) (*rotator, *fakeSM, *minttest.Server, minttest.Fixture) {
	t.Helper()
	srv := minttest.NewServer()
	t.Cleanup(srv.Close)
	fx := srv.Seed()
	srv.InstallApp(fx.SystemUserID, fx.AppID)
	tok := srv.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: testScopes, ExpiresAt: srv.Now().Add(5 * day)})
	sm := newFakeSM(`{"app_id":"` + fx.AppID + `","system_user_id":"` + fx.SystemUserID + `","scopes":["ads_read","business_management"],` +
		`"app_secret":"` + fx.AppSecret + `","access_token":"` + tok + `"}`)
	graph, err := mint.NewClient(mint.WithHTTPClient(srv.Client()), mint.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	return &rotator{sm: sm, graph: graph, log: discardLogger(), now: srv.Now}, sm, srv, fx
}

// TestCreateSecretConcurrentRuns runs createSecret twice at once for the
// same version token, both past the "AWSPENDING absent" check before either
// stores: Secrets Manager keeps the first value, and the second run revokes
// the token it minted instead of leaving it live.
func TestCreateSecretConcurrentRuns(t *testing.T) {
	t.Parallel()
	r, sm, srv, _ := fakeWorld(t)
	sm.stages["v1"] = []string{stagePending} // the placeholder
	gate := make(chan struct{})
	sm.putGate = gate

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			rot := &rotation{secretID: sm.arn, token: "v1", refs: newRefCache()}
			_, errs[i] = r.createSecret(t.Context(), rot)
		})
	}
	for { // both runs are at PutSecretValue
		sm.mu.Lock()
		n := sm.putCalls
		sm.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("createSecret run %d = %v", i, err)
		}
	}
	if got := srv.Minted(); got != 2 {
		t.Fatalf("Minted() = %d; want 2 (both runs passed the check)", got)
	}
	stored, err := parseSecret(sm.values["v1"])
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range srv.Tokens()[2:] { // the seed's admin token and the managed token come first
		if tok.Value == stored.AccessToken {
			if tok.Revoked {
				t.Errorf("the stored token was revoked")
			}
		} else if !tok.Revoked {
			t.Errorf("the token that lost the race is live; want it revoked")
		}
	}
}

// TestCreateSecretReadErrors checks that only ResourceNotFound means
// "AWSPENDING is absent", and that a token minted but not stored is revoked.
func TestCreateSecretReadErrors(t *testing.T) {
	t.Parallel()
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}
	tests := []struct {
		name       string
		getErr     error
		putErr     error
		wantMinted int
	}{
		{name: "reading AWSPENDING is denied", getErr: denied},
		{name: "reading AWSPENDING fails", getErr: &types.InternalServiceError{Message: aws.String("boom")}},
		{name: "storing AWSPENDING fails", putErr: &types.InternalServiceError{Message: aws.String("boom")}, wantMinted: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, sm, srv, _ := fakeWorld(t)
			sm.stages["v1"] = []string{stagePending}
			sm.getErr, sm.putErr = tc.getErr, tc.putErr
			_, err := r.createSecret(t.Context(), &rotation{secretID: sm.arn, token: "v1", refs: newRefCache()})
			var smerr *SecretsManagerError
			if !errors.As(err, &smerr) {
				t.Fatalf("createSecret() = %v; want a SecretsManagerError", err)
			}
			if got := srv.Minted(); got != tc.wantMinted {
				t.Errorf("Minted() = %d; want %d", got, tc.wantMinted)
			}
			for _, tok := range srv.Tokens()[2:] {
				if !tok.Revoked {
					t.Errorf("a token minted but not stored is live; want it revoked")
				}
			}
		})
	}
}
