package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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
	// beforePut, when set, runs (without the lock) as PutSecretValue
	// starts: another run or actor changing the secret at that moment.
	beforePut func()
	calls     map[string]int // calls by operation
}

// count records a call; f.mu is held.
func (f *fakeSM) count(op string) {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
}

// takeCalls returns the calls so far and starts counting again.
func (f *fakeSM) takeCalls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// moveLabel puts label on version and takes it off every other; f.mu is held.
func (f *fakeSM) moveLabel(label, version string) {
	for v, l := range f.stages {
		f.stages[v] = slices.DeleteFunc(slices.Clone(l), func(s string) bool { return s == label })
	}
	f.stages[version] = append(f.stages[version], label)
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
	f.count("DescribeSecret")
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
	f.count("GetSecretValue")
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
	f.count("PutSecretValue")
	gate, before := f.putGate, f.beforePut
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if before != nil {
		before()
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

// UpdateSecretVersionStage moves or removes a label as Secrets Manager does:
// RemoveFromVersionId must name a version holding the label, and must be
// given when the label is on another version; moving AWSCURRENT leaves
// AWSPREVIOUS on the version it moved from.
func (f *fakeSM) UpdateSecretVersionStage(_ context.Context, in *secretsmanager.UpdateSecretVersionStageInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("UpdateSecretVersionStage")
	label, to, from := aws.ToString(in.VersionStage), aws.ToString(in.MoveToVersionId), aws.ToString(in.RemoveFromVersionId)
	invalid := func(msg string) error { return &types.InvalidParameterException{Message: aws.String(msg)} }
	if from != "" && !slices.Contains(f.stages[from], label) {
		return nil, invalid("Version " + from + " doesn't have the staging label " + label)
	}
	if to == "" {
		if from == "" {
			return nil, invalid("nothing to move or remove")
		}
		f.stages[from] = slices.DeleteFunc(slices.Clone(f.stages[from]), func(s string) bool { return s == label })
		return &secretsmanager.UpdateSecretVersionStageOutput{ARN: aws.String(f.arn)}, nil
	}
	if _, ok := f.values[to]; !ok {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no version " + to)}
	}
	if holder := versionWith(f.stages, label); holder != "" && holder != to {
		if from != holder {
			return nil, invalid("The staging label " + label + " is attached to version " + holder + "; name it in RemoveFromVersionId")
		}
		if label == stageCurrent {
			f.moveLabel(stagePrevious, holder)
		}
	}
	f.moveLabel(label, to)
	return &secretsmanager.UpdateSecretVersionStageOutput{ARN: aws.String(f.arn)}, nil
}

// ListSecrets and RotateSecret complete fleetAPI; the inline runs of these
// tests name their secret and never fan out.
func (f *fakeSM) ListSecrets(context.Context, *secretsmanager.ListSecretsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
	return nil, errors.New("fakeSM: ListSecrets is not used by these tests")
}

func (f *fakeSM) RotateSecret(context.Context, *secretsmanager.RotateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error) {
	return nil, errors.New("fakeSM: RotateSecret is not used by these tests")
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

// fakeFleet is an inline fleet over fakeWorld's secret, which is due.
func fakeFleet(r *rotator, sm *fakeSM) *fleet {
	return &fleet{sm: sm, rot: r, concurrency: 1, refreshBefore: 15 * day}
}

// withAccessToken returns the secret JSON value with its access_token
// replaced.
func withAccessToken(t *testing.T, value, token string) string {
	t.Helper()
	doc, err := parseSecret(value)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(value, `"access_token":"`+doc.AccessToken+`"`, `"access_token":"`+token+`"`, 1)
}

// TestScheduledKnownStagesConflict has another run store the version of
// this cycle while an inline run is between its DescribeSecret and its
// PutSecretValue. The inline run checks the stages its own describe showed
// and skips the AWSPENDING read, so it mints too; Secrets Manager refuses
// its second value, and the run revokes its token, describes the secret
// again, and goes on from what the other run stored: it finishes that
// rotation, or finds it finished.
func TestScheduledKnownStagesConflict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		otherDone bool // the other run also moved AWSCURRENT
		wantCalls map[string]int
	}{
		{
			name: "the other run stored AWSPENDING",
			// The second describe starts setSecret; testSecret reads the
			// other run's value.
			wantCalls: map[string]int{"DescribeSecret": 2, "GetSecretValue": 2, "PutSecretValue": 1, "UpdateSecretVersionStage": 2},
		},
		{
			name: "the other run finished the rotation", otherDone: true,
			wantCalls: map[string]int{"DescribeSecret": 2, "GetSecretValue": 1, "PutSecretValue": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, sm, srv, fx := fakeWorld(t)
			token := versionToken(sm.arn, "v0")
			current, err := parseSecret(sm.values["v0"])
			if err != nil {
				t.Fatal(err)
			}
			other := srv.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: testScopes, ExpiresAt: srv.Now().Add(60 * day)})
			sm.beforePut = func() {
				sm.mu.Lock()
				defer sm.mu.Unlock()
				sm.beforePut = nil
				sm.values[token] = withAccessToken(t, sm.values["v0"], other)
				sm.moveLabel(stagePending, token)
				if tc.otherDone {
					sm.moveLabel(stagePrevious, "v0")
					sm.moveLabel(stageCurrent, token)
					sm.stages[token] = slices.DeleteFunc(sm.stages[token], func(s string) bool { return s == stagePending })
				}
			}
			results, sum := fakeFleet(r, sm).run(t.Context(), []string{sm.arn}, false, modeInline)
			if sum.Rotated != 1 {
				t.Fatalf("results = %+v; want rotated", results)
			}
			if got := srv.Minted(); got != 1 {
				t.Errorf("Minted() = %d; want 1 (the stages showed no version %s)", got, token)
			}
			for _, tok := range srv.Tokens() {
				switch tok.Value {
				case fx.AdminToken, current.AccessToken:
				case other:
					if tok.Revoked {
						t.Errorf("the other run's token was revoked")
					}
				default:
					if !tok.Revoked {
						t.Errorf("the token minted here and refused by PutSecretValue is live; want it revoked")
					}
				}
			}
			if got, err := parseSecret(sm.values[token]); err != nil || got.AccessToken != other {
				t.Errorf("version %s holds another token than the other run's (err %v)", token, err)
			}
			want := map[string][]string{token: {stageCurrent}, "v0": {stagePrevious}}
			if diff := cmp.Diff(want, sm.stages, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("stages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCalls, sm.takeCalls()); diff != "" {
				t.Errorf("Secrets Manager calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestScheduledCurrentMovedMidRotation moves AWSCURRENT while an inline run
// rotates on the stages it described: a rollback to the version holding
// AWSPREVIOUS (whose token the run would revoke by those stages), or a
// version someone else put. Secrets Manager refuses the run's read of
// AWSPREVIOUS or its move of AWSCURRENT: the rotation fails in finishSecret,
// nothing is revoked, and AWSCURRENT stays where the other actor put it.
func TestScheduledCurrentMovedMidRotation(t *testing.T) {
	t.Parallel()
	for _, rollback := range []bool{true, false} {
		name := map[bool]string{true: "rolled back to AWSPREVIOUS", false: "another version put"}[rollback]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r, sm, srv, fx := fakeWorld(t)
			older := srv.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: testScopes, ExpiresAt: srv.Now().Add(2 * day)})
			sm.values["vP"] = withAccessToken(t, sm.values["v0"], older)
			sm.stages["vP"] = []string{stagePrevious}
			moveTo := "vP"
			if !rollback {
				moveTo = "vX"
				sm.values["vX"] = withAccessToken(t, sm.values["v0"], srv.IssueToken(minttest.TokenSpec{
					UserID: fx.SystemUserID, AppID: fx.AppID, Scopes: testScopes, ExpiresAt: srv.Now().Add(60 * day)}))
			}
			sm.beforePut = func() {
				sm.mu.Lock()
				defer sm.mu.Unlock()
				sm.beforePut = nil
				sm.moveLabel(stagePrevious, "v0")
				sm.moveLabel(stageCurrent, moveTo)
			}
			results, _ := fakeFleet(r, sm).run(t.Context(), []string{sm.arn}, false, modeInline)
			res := results[0]
			if res.Status != statusFailed || res.Step != stepFinish || res.ErrorType != "SecretsManagerError" {
				t.Fatalf("result = %+v; want failed in finishSecret with SecretsManagerError", res)
			}
			for _, tok := range srv.Tokens() {
				if tok.Revoked {
					t.Errorf("token %s… was revoked; want none", tok.Value[:8])
				}
			}
			if got := versionWith(sm.stages, stageCurrent); got != moveTo {
				t.Errorf("AWSCURRENT is on %s; want %s", got, moveTo)
			}
			token := versionToken(sm.arn, "v0")
			if !slices.Contains(sm.stages[token], stagePending) {
				t.Errorf("version %s has labels %v; want AWSPENDING, the stored token kept for a later run", token, sm.stages[token])
			}
		})
	}
}
