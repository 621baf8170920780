package rotation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/metamint/metamint/internal/pace"
	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// Unit tests of single functions of the engine, on an in-memory Secrets
// Manager (fakeSM) that does what moto cannot: refuse a second value for a
// version, fail a write after committing it, fail reads. The engine's
// behaviour against moto and aws-lambda-rie, faults included, is tested in
// cmd/lambda.

const day = 24 * time.Hour

var testScopes = []string{"ads_read", "business_management"}

// fakeSM is an in-memory Secrets Manager for single-function tests of what
// moto cannot show: real AWS refuses a PutSecretValue that would give an
// existing version another value (moto overwrites it), and errors other than
// ResourceNotFound on reads. One secret only.
type fakeSM struct {
	mu         sync.Mutex
	arn        string
	values     map[string]string   // version -> value
	stages     map[string][]string // version -> labels
	getErr     error               // returned by GetSecretValue for AWSPENDING
	putErr     error               // returned by PutSecretValue (after storing, when putCommits)
	putCommits bool
	putErrs    []error       // returned by the next PutSecretValue calls, one each, before putErr
	putGate    chan struct{} // when set, PutSecretValue waits on it
	putCalls   int
	// putAttempts is the RetryMaxAttempts each PutSecretValue's options set.
	putAttempts []int
	// beforePut, when set, runs (without the lock) as PutSecretValue
	// starts: another run or actor changing the secret at that moment.
	beforePut func()
	calls     map[string]int // calls by operation
	// versionErrs are returned by GetSecretValue of these versions.
	versionErrs map[string]error
}

// count records a call; f.mu is held.
func (f *fakeSM) count(op string) {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
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
		stages: map[string][]string{"v0": {StageCurrent}},
	}
}

// doc is the parsed value of version.
func (f *fakeSM) doc(t *testing.T, version string) *secret.Doc {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	d, err := secret.Parse(f.values[version])
	if err != nil {
		t.Fatalf("version %s: %v", version, err)
	}
	return d
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
	if (stage == StagePending || stage == "") && f.getErr != nil {
		return nil, f.getErr
	}
	v := aws.ToString(in.VersionId)
	if err := f.versionErrs[v]; v != "" && err != nil {
		return nil, err
	}
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

func (f *fakeSM) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	var o secretsmanager.Options
	for _, opt := range opts {
		opt(&o)
	}
	f.mu.Lock()
	f.putCalls++
	f.putAttempts = append(f.putAttempts, o.RetryMaxAttempts)
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
	if len(f.putErrs) > 0 {
		err := f.putErrs[0]
		f.putErrs = f.putErrs[1:]
		return nil, err
	}
	if f.putErr != nil && !f.putCommits {
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
	if f.putErr != nil {
		return nil, f.putErr
	}
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
		if label == StageCurrent {
			f.moveLabel(StagePrevious, holder)
		}
	}
	f.moveLabel(label, to)
	return &secretsmanager.UpdateSecretVersionStageOutput{ARN: aws.String(f.arn)}, nil
}

func (f *fakeSM) RotateSecret(context.Context, *secretsmanager.RotateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error) {
	return nil, errors.New("fakeSM: RotateSecret is not used by these tests")
}

// fakeWorld is a Rotator on a fakeSM and minttest, with a secret whose
// inline app secret needs no other secret.
func fakeWorld(t *testing.T) (*Rotator, *fakeSM, *minttest.Server) {
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
	return &Rotator{SM: sm, Graph: graph, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: srv.Now}, sm, srv
}

func TestLabelState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stages map[string][]string
		exists bool
		want   State
	}{
		{"nothing pending", map[string][]string{"c": {StageCurrent}}, false, NoPending},
		{"pending on the current version", map[string][]string{"c": {StageCurrent, StagePending}}, false, NoPending},
		{"ours pending", map[string][]string{"c": {StageCurrent}, "t": {StagePending}}, false, PendingStored},
		{"ours current", map[string][]string{"t": {StageCurrent, StagePending}, "p": {StagePrevious}}, false, Current},
		{"another pending", map[string][]string{"c": {StageCurrent}, "o": {StagePending}}, false, OtherPending},
		{"ours unlabelled but listed", map[string][]string{"c": {StageCurrent}, "t": {StageDiscarded}}, false, NotPending},
		{"ours unlabelled, another pending", map[string][]string{"c": {StageCurrent}, "t": {}, "o": {StagePending}}, false, NotPending},
		{"ours unlisted, known to exist", map[string][]string{"c": {StageCurrent}}, true, NotPending},
		{"ours unlisted, known to exist, another pending", map[string][]string{"c": {StageCurrent}, "o": {StagePending}}, true, NotPending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := labelState(tc.stages, "t", tc.exists); got != tc.want {
				t.Errorf("labelState(%v, t, %v) = %s; want %s", tc.stages, tc.exists, got, tc.want)
			}
		})
	}
}

// answeredErr is an error with Secrets Manager's HTTP response and its
// error code, as the SDK returns it.
func answeredErr(status int, code string) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err: &smithy.GenericAPIError{Code: code, Message: fmt.Sprintf("%s (HTTP %d)", code, status)}}
}

// TestStore pins what store concludes from a failed PutSecretValue and the
// read-back: only provably unstored tokens may be revoked.
func TestStore(t *testing.T) {
	t.Parallel()
	noAnswer := fmt.Errorf("request canceled: %w", context.DeadlineExceeded)
	notSent := fmt.Errorf("operation error Secrets Manager: PutSecretValue: %w", &pace.WaitError{What: "a slot", Err: context.DeadlineExceeded})
	tests := []struct {
		name    string
		prepare func(sm *fakeSM)
		want    stored
		wantErr bool
		puts    int
	}{
		{name: "stored", prepare: func(sm *fakeSM) {}, want: storedOurs, puts: 1},
		{name: "answer lost after the commit", prepare: func(sm *fakeSM) { sm.putErr, sm.putCommits = answeredErr(500, "InternalServiceError"), true }, want: storedOurs, puts: 1},
		{name: "answer held past the deadline, committed", prepare: func(sm *fakeSM) { sm.putErr, sm.putCommits = noAnswer, true }, want: storedOurs, puts: 1},
		{name: "another value stored first", prepare: func(sm *fakeSM) { sm.values["t"] = `{"access_token":"theirs"}` }, want: storedTheirs, puts: 1},
		// A 5xx is no answer: the write may have committed (the read-back can
		// lag it), so the same write is sent again, and only its success
		// decides; failing again, the token is kept.
		{name: "a 5xx, absent, the repeat stores", prepare: func(sm *fakeSM) { sm.putErrs = []error{answeredErr(500, "InternalServiceError")} }, want: storedOurs, puts: 2},
		{name: "a 5xx, absent, the repeat fails", prepare: func(sm *fakeSM) { sm.putErr = answeredErr(500, "InternalServiceError") }, want: storedUnknown, wantErr: true, puts: 2},
		{name: "a 503, absent, the repeat fails", prepare: func(sm *fakeSM) { sm.putErr = answeredErr(503, "ServiceUnavailable") }, want: storedUnknown, wantErr: true, puts: 2},
		// A documented 4xx refusal of this one attempt: provably not stored.
		{name: "refused as invalid, absent", prepare: func(sm *fakeSM) { sm.putErr = answeredErr(400, "ValidationException") }, want: storedNothing, wantErr: true, puts: 1},
		{name: "refused by a limit, absent", prepare: func(sm *fakeSM) { sm.putErr = answeredErr(400, "LimitExceededException") }, want: storedNothing, wantErr: true, puts: 1},
		// A throttle is "not now": the same write is sent once more, and
		// only a refusal of that too proves nothing stored.
		{name: "throttled, absent, the repeat stores", prepare: func(sm *fakeSM) { sm.putErrs = []error{answeredErr(400, "ThrottlingException")} }, want: storedOurs, puts: 2},
		{name: "throttled, absent, the repeat throttled", prepare: func(sm *fakeSM) { sm.putErr = answeredErr(400, "ThrottlingException") }, want: storedNothing, wantErr: true, puts: 2},
		{name: "throttled, absent, the repeat gets no answer", prepare: func(sm *fakeSM) {
			sm.putErrs = []error{answeredErr(400, "ThrottlingException"), answeredErr(500, "InternalServiceError")}
		}, want: storedUnknown, wantErr: true, puts: 2},
		// The Lambda's write pacer (internal/pace) gave up waiting for a slot:
		// the request was never sent, which proves nothing stored, as a
		// refusal does; the token must not stay live outside the secret.
		{name: "never sent, the repeat stores", prepare: func(sm *fakeSM) { sm.putErrs = []error{notSent} }, want: storedOurs, puts: 2},
		{name: "never sent, the repeat never sent", prepare: func(sm *fakeSM) { sm.putErr = notSent }, want: storedNothing, wantErr: true, puts: 2},
		{name: "throttled, the repeat never sent", prepare: func(sm *fakeSM) {
			sm.putErrs = []error{answeredErr(400, "ThrottlingException"), notSent}
		}, want: storedNothing, wantErr: true, puts: 2},
		{name: "never sent, the repeat gets no answer", prepare: func(sm *fakeSM) {
			sm.putErrs = []error{notSent, answeredErr(500, "InternalServiceError")}
		}, want: storedUnknown, wantErr: true, puts: 2},
		// A 4xx Secrets Manager does not document (a proxy's 408, say) is no answer.
		{name: "an undocumented 4xx, absent, the repeat fails", prepare: func(sm *fakeSM) { sm.putErr = answeredErr(408, "RequestTimeout") }, want: storedUnknown, wantErr: true, puts: 2},
		{name: "no answer, absent, the repeat stores", prepare: func(sm *fakeSM) { sm.putErrs = []error{noAnswer} }, want: storedOurs, puts: 2},
		{name: "no answer, absent, the repeat fails", prepare: func(sm *fakeSM) { sm.putErr = noAnswer }, want: storedUnknown, wantErr: true, puts: 2},
		{name: "read-back fails", prepare: func(sm *fakeSM) {
			sm.putErr, sm.getErr = answeredErr(400, "ValidationException"), errors.New("throttled")
		}, want: storedUnknown, wantErr: true, puts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, sm, _ := fakeWorld(t)
			tc.prepare(sm)
			rot := &rotation{arn: sm.arn, secretID: sm.arn, version: "t", step: StepCreate, logger: r.Log}
			value := `{"app_id":"2","system_user_id":"4","scopes":["ads_read"],"app_secret":"s","access_token":"ours"}`
			got, err := r.store(t.Context(), rot, value, "ours")
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("store() = %d, %v; want %d (error %v)", got, err, tc.want, tc.wantErr)
			}
			if sm.putCalls != tc.puts {
				t.Errorf("PutSecretValue calls = %d; want %d", sm.putCalls, tc.puts)
			}
			if diff := cmp.Diff(slices.Repeat([]int{1}, tc.puts), sm.putAttempts); diff != "" {
				t.Errorf("RetryMaxAttempts of each PutSecretValue (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCreateSecretHeadroom checks that createSecret does not start a mint
// or refresh too close to its deadline: a token Graph issued then could not
// be stored and would stay live.
func TestCreateSecretHeadroom(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	r.Headroom = 5 * time.Second
	sm.stages["v1"] = []string{StagePending}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	_, err := r.Step(ctx, Event{SecretID: sm.arn, VersionID: "v1", Step: StepCreate})
	var unavailable *GraphUnavailableError
	if !errors.As(err, &unavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Step(createSecret, 2s left, headroom 5s) = %v; want a GraphUnavailableError matching context.DeadlineExceeded", err)
	}
	if _, cut := CutShort(ctx, err); !cut {
		t.Errorf("CutShort(%v) = false; want a run to report the secret deferred", err)
	}
	if got := srv.Minted(); got != 0 {
		t.Errorf("Minted() = %d; want 0", got)
	}
}

// TestUnreadablePendingIsDiscarded: a pending version whose value is not a
// managed secret is discarded (METAMINT_DISCARDED, no AWSPENDING), and the
// next scheduled token differs from it.
func TestUnreadablePendingIsDiscarded(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	sm.values["v1"], sm.stages["v1"] = `not json`, []string{StagePending}
	_, err := r.Step(t.Context(), Event{SecretID: sm.arn, VersionID: "v1", Step: StepCreate})
	var state *RotationStateError
	if !errors.As(err, &state) || !strings.Contains(err.Error(), "discarded") {
		t.Fatalf("Step(createSecret) = %v; want a RotationStateError saying the version was discarded", err)
	}
	// Marked for revocation too, a grace period from now: a later run finds
	// no token it can read in it, and only drops the label.
	want := []string{StageDiscarded, revokeLabel(srv.Now().Add(DefaultRevokeGrace), "v1")}
	if diff := cmp.Diff(want, sm.stages["v1"]); diff != "" {
		t.Errorf("labels of v1 (-want +got):\n%s", diff)
	}
	if srv.Minted() != 0 {
		t.Errorf("Minted() = %d; want 0", srv.Minted())
	}
	if a, b := VersionToken(sm.arn, "v0", ""), VersionToken(sm.arn, "v0", "v1"); a == b {
		t.Errorf("VersionToken() ignores the discarded version")
	}
}

// TestConcurrentCreate runs createSecret twice at once for one version
// token, both past the "absent" check before either stores: Secrets Manager
// keeps the first value, and the second run revokes the token it minted.
func TestConcurrentCreate(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	sm.stages["v1"] = []string{StagePending}
	gate := make(chan struct{})
	sm.putGate = gate
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { _, errs[i] = r.Step(t.Context(), Event{SecretID: sm.arn, VersionID: "v1", Step: StepCreate}) })
	}
	for {
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
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Step(createSecret) = %v", err)
		}
	}
	doc := sm.doc(t, "v1")
	live := 0
	for _, tok := range srv.Tokens() {
		if !tok.Revoked && tok.IssuedAt.After(srv.Now().Add(-time.Minute)) && tok.Value != doc.AccessToken && slices.Contains([]string{"SYSTEM_USER"}, tok.Type) {
			if _, ok := srv.Token(tok.Value); ok && tok.ExpiresAt.After(srv.Now().Add(30*day)) {
				live++
			}
		}
	}
	if srv.Minted() != 2 || live != 0 {
		t.Errorf("Minted() = %d, %d live new tokens besides the stored one; want 2 and 0", srv.Minted(), live)
	}
}

var uuidV5 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestVersionToken(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:meta-AbCdEf"
	a := VersionToken(arn, "v1", "")
	if !uuidV5.MatchString(a) {
		t.Errorf("VersionToken() = %q; want a version 5 UUID (32-64 characters, as PutSecretValue needs)", a)
	}
	if b := VersionToken(arn, "v1", ""); b != a {
		t.Errorf("VersionToken() = %q then %q; want the same token for the same input", a, b)
	}
	for _, other := range []string{VersionToken(arn, "v2", ""), VersionToken(arn+"x", "v1", ""), VersionToken(arn+"\nv", "1", ""), VersionToken(arn, "v1", "d")} {
		if other == a {
			t.Errorf("VersionToken() = %q for different inputs", a)
		}
	}
}

func TestGraphErrClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"validation", mint.ErrInvalidRequest, "SecretFormatError"},
		{"permission", &mint.GraphError{StatusCode: 400, Code: 200, Message: "(#200) not installed"}, "GraphRefusedError"},
		{"transient", &mint.GraphError{StatusCode: 400, Code: 2, IsTransient: true}, "GraphUnavailableError"},
		{"outage", &mint.GraphError{StatusCode: 503}, "GraphUnavailableError"},
		{"transport", errors.New("dial tcp: connection refused"), "GraphUnavailableError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := graphErr(StepCreate, "arn", "minting", tc.err)
			if ErrorType(got) != tc.want || !errors.Is(got, tc.err) {
				t.Errorf("graphErr(%v) = %s %v; want %s wrapping the cause", tc.err, ErrorType(got), got, tc.want)
			}
		})
	}
}

// TestRevokeOrphanKeepsHeldTokens: revokeOrphan never revokes the current
// token or the minting token, whatever it is handed; a token the secret does
// not hold is revoked.
func TestRevokeOrphanKeepsHeldTokens(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	rot, cur, app := creating(t, r, sm)
	orphan := srv.IssueToken(minttest.TokenSpec{UserID: cur.SystemUserID, AppID: cur.AppID, Scopes: testScopes})
	for _, tok := range []string{cur.AccessToken, orphan} {
		r.revokeOrphan(t.Context(), rot, app, tok)
	}
	if got, _ := srv.Token(cur.AccessToken); got.Revoked {
		t.Errorf("revokeOrphan(the current token) revoked it; want it kept")
	}
	if got, _ := srv.Token(orphan); !got.Revoked {
		t.Errorf("revokeOrphan(a token the secret does not hold) kept it; want it revoked")
	}
}

// TestRevokeOrphanKeepsPreviousToken: Graph answered this run the token
// another rotation got too, stored, made current, and saw replaced since:
// AWSPREVIOUS holds it now, in its grace period. revokeOrphan, reading the
// secret again, keeps it.
func TestRevokeOrphanKeepsPreviousToken(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	rot, cur, app := creating(t, r, sm)
	tok, v := issueStored(t, srv, cur, srv.Now().Add(50*day), srv.Now().Add(50*day))
	sm.values["vPrev"], sm.stages["vPrev"] = v, []string{StagePrevious}
	r.revokeOrphan(t.Context(), rot, app, tok)
	if got, _ := srv.Token(tok); got.Revoked {
		t.Errorf("revokeOrphan(the token AWSPREVIOUS holds) revoked it; want it kept")
	}
}

// TestUnlabelledVersionHeals: this cycle's version holds a value and has no
// label (its AWSPENDING was removed by hand, AWS's remedy after
// CancelRotateSecret); DescribeSecret omits it, as Secrets Manager does. A
// run cannot store under that version token: it discards the version
// (METAMINT_DISCARDED) and rotates under the next one. Only the token made
// for the taken version, provably not stored, is revoked; the second run
// does not fail.
func TestUnlabelledVersionHeals(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	f := &Fleet{Rotator: r, RefreshBefore: 10 * day}
	cur := sm.doc(t, "v0")
	stranded := srv.IssueToken(minttest.TokenSpec{UserID: cur.SystemUserID, AppID: cur.AppID, Scopes: testScopes, ExpiresAt: srv.Now().Add(60 * day)})
	value, err := cur.WithToken(secret.Issued{Token: stranded, ExpiresAt: srv.Now().Add(60 * day), IssuedAt: srv.Now(), Scopes: testScopes})
	if err != nil {
		t.Fatal(err)
	}
	cycle := VersionToken(sm.arn, "v0", "")
	sm.values[cycle], sm.stages[cycle] = value, nil
	var statuses []string
	for range 2 {
		res, _ := f.Run(t.Context(), []string{sm.arn}, RunOptions{})
		statuses = append(statuses, res[0].Status)
		if res[0].Status == StatusFailed {
			t.Errorf("Run() = %+v; want no failure", res[0])
		}
	}
	if diff := cmp.Diff([]string{StatusRotated, StatusNotDue}, statuses); diff != "" {
		t.Errorf("statuses of two runs (-want +got):\n%s", diff)
	}
	now := sm.doc(t, versionWith(sm.stages, StageCurrent))
	if now.AccessToken == cur.AccessToken || now.AccessToken == stranded {
		t.Errorf("AWSCURRENT holds the initial or the stranded token; want a new one")
	}
	// The stranded token, live in a version nobody labels, is marked for
	// revocation a grace period from the discard.
	if diff := cmp.Diff([]string{StageDiscarded, revokeLabel(srv.Now().Add(DefaultRevokeGrace), cycle)}, sm.stages[cycle]); diff != "" {
		t.Errorf("labels of the stranded version (-want +got):\n%s", diff)
	}
	// Exactly the revocation the doc promises: the token made for the
	// taken version (the first mint), provably not stored. The initial,
	// the stranded (until its grace period is over) and the new current
	// token stay live.
	if got := srv.Minted(); got != 2 {
		t.Errorf("Minted() = %d; want 2 (one for the taken version, one under the next version token)", got)
	}
	var revoked []string
	for _, tok := range srv.Tokens() {
		if tok.Revoked {
			revoked = append(revoked, tok.Value)
		}
	}
	if len(revoked) != 1 {
		t.Fatalf("%d tokens revoked; want exactly 1 (the one made for the taken version)", len(revoked))
	}
	if r := revoked[0]; r == cur.AccessToken || r == stranded || r == now.AccessToken {
		t.Errorf("the revoked token is the initial, the stranded or the current one; want the one made for the taken version")
	}
}

func (f *fakeSM) ListSecretVersionIds( //nolint:revive // the SDK's name
	context.Context, *secretsmanager.ListSecretVersionIdsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretVersionIdsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("ListSecretVersionIds")
	out := &secretsmanager.ListSecretVersionIdsOutput{}
	for v := range f.values {
		out.Versions = append(out.Versions, types.SecretVersionsListEntry{VersionId: aws.String(v), VersionStages: f.stages[v]})
	}
	return out, nil
}

// TestSecretResultJSON pins the JSON names of a result's fields, which the
// answers, the logs and the docs use.
func TestSecretResultJSON(t *testing.T) {
	b, err := json.Marshal(SecretResult{SecretID: "i", Status: StatusFailed, Step: StepCreate, ErrorType: "E", RevocationsFailed: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"secret_id":"i","status":"failed","step":"createSecret","revocations_failed":1,"error_type":"E"}`
	if string(b) != want {
		t.Errorf("json.Marshal(SecretResult) = %s; want %s", b, want)
	}
}

// TestSettleRevocationsProtectsHeldTokens: two versions are marked for
// revocation and due. One holds the token another version holds as
// AWSPENDING: it is not revoked (never a token of AWSCURRENT, AWSPENDING or
// behind minting_token_ref). The other holds a live token of the secret's
// app and system user: it is revoked with AWSCURRENT's app secret. Both
// labels go; nothing counts as failed. A mark not yet due stays.
func TestSettleRevocationsProtectsHeldTokens(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	cur := sm.doc(t, "v0")
	expires := srv.Now().Add(50 * day)
	pendingTok, pendingValue := issueStored(t, srv, cur, expires, expires)
	oldTok, oldValue := issueStored(t, srv, cur, expires, expires)
	laterTok, laterValue := issueStored(t, srv, cur, expires, expires)
	past, future := srv.Now().Add(-time.Minute), srv.Now().Add(time.Hour)
	sm.values["vP"], sm.stages["vP"] = pendingValue, []string{StagePending}
	sm.values["vSame"], sm.stages["vSame"] = pendingValue, []string{revokeLabel(past, "vSame")}
	sm.values["vOld"], sm.stages["vOld"] = oldValue, []string{revokeLabel(past, "vOld")}
	sm.values["vLater"], sm.stages["vLater"] = laterValue, []string{revokeLabel(future, "vLater")}
	f := &Fleet{Rotator: r}
	res, sum := f.Run(t.Context(), []string{sm.arn}, RunOptions{})
	if res[0].Status != StatusNotDue || sum.RevocationsFailed != 0 {
		t.Fatalf("Run() = %+v, %+v; want not_due, no failed revocation", res[0], sum)
	}
	for tok, want := range map[string]bool{pendingTok: false, oldTok: true, laterTok: false, cur.AccessToken: false} {
		if got, _ := srv.Token(tok); got.Revoked != want {
			t.Errorf("token %.6s... revoked %v; want %v", tok, got.Revoked, want)
		}
	}
	want := map[string][]string{"v0": {StageCurrent}, "vP": {StagePending}, "vSame": {}, "vOld": {}, "vLater": {revokeLabel(future, "vLater")}}
	if diff := cmp.Diff(want, sm.stages, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
}

// TestRevokeLabelNamesItsVersion: a revocation label counts only on the
// version it names (METAMINT_REVOKE_<time>_<version>). A label due now
// that names another version (moved, copied or forged onto AWSPREVIOUS)
// revokes nothing: the previous token stays live through its grace period,
// and the label is left as found.
func TestRevokeLabelNamesItsVersion(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	cur := sm.doc(t, "v0")
	tok, v := issueStored(t, srv, cur, srv.Now().Add(50*day), srv.Now().Add(50*day))
	label := revokeLabel(srv.Now().Add(-time.Minute), "vElse")
	sm.values["vPrev"], sm.stages["vPrev"] = v, []string{StagePrevious, label}
	res, sum := (&Fleet{Rotator: r}).Run(t.Context(), []string{sm.arn}, RunOptions{})
	if res[0].Status != StatusNotDue || sum.RevocationsFailed != 0 {
		t.Fatalf("Run() = %+v, %+v; want not_due, no failed revocation", res[0], sum)
	}
	if got, _ := srv.Token(tok); got.Revoked {
		t.Error("AWSPREVIOUS's token was revoked by a label naming another version")
	}
	if got := sm.stages["vPrev"]; !slices.Equal(got, []string{StagePrevious, label}) {
		t.Errorf("vPrev's labels = %q; want them as found", got)
	}
}

// TestInvalidTokenReasonIsQuoted: debug_token's error.message is Graph's
// text: a run's reason and error quote it (Go escapes), so a hostile
// message brings no line break or control character into a result.
func TestInvalidTokenReasonIsQuoted(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	cur := sm.doc(t, "v0")
	body, err := json.Marshal(map[string]any{"data": map[string]any{
		"app_id": cur.AppID, "type": "SYSTEM_USER", "is_valid": false, "scopes": []string{}, "user_id": cur.SystemUserID,
		"error": map[string]any{"code": 190, "subcode": 463, "message": "expired\n{\"level\":\"INFO\"}\x1b[2J"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{Status: http.StatusOK, Body: body, Times: 10})
	res, _ := (&Fleet{Rotator: r}).Run(t.Context(), []string{sm.arn}, RunOptions{})
	if res[0].Status != StatusFailed {
		t.Fatalf("Run() = %+v; want failed (the managed token is invalid and mints its successor)", res[0])
	}
	for name, text := range map[string]string{"reason": res[0].Reason, "error": res[0].Error} {
		if strings.ContainsAny(text, "\n\x1b") || !strings.Contains(text, `"expired\n{\"level\":\"INFO\"}\x1b[2J"`) {
			t.Errorf("%s = %q; want Graph's message quoted with Go escapes", name, text)
		}
	}
}

// TestLaterRevokeLabelIsReplaced: the version losing AWSPREVIOUS already
// carries a revocation label of its own, due far in the future (left by
// hand, or forged). promote marks it due RevokeGrace from now instead, and
// takes the later label off: a label someone else wrote never keeps a
// token two generations old live past the grace period.
func TestLaterRevokeLabelIsReplaced(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	cur := sm.doc(t, "v0")
	_, v := issueStored(t, srv, cur, srv.Now().Add(50*day), srv.Now().Add(50*day))
	forged := revokeLabel(srv.Now().AddDate(900, 0, 0), "vPrev")
	sm.values["vPrev"], sm.stages["vPrev"] = v, []string{StagePrevious, forged}
	res, _ := (&Fleet{Rotator: r}).Run(t.Context(), []string{sm.arn}, RunOptions{Force: true})
	if res[0].Status != StatusRotated {
		t.Fatalf("Run() = %+v; want rotated", res[0])
	}
	want := revokeLabel(srv.Now().Add(DefaultRevokeGrace), "vPrev")
	if got := sm.stages["vPrev"]; !slices.Equal(got, []string{want}) {
		t.Errorf("vPrev's labels = %q; want only %q (due a grace period from now)", got, want)
	}
}

// pagedSM lists a fakeSM's versions one a page, in version order, each
// created at created, and describes the secret with a rotation function:
// a secret with more versions than ListSecretVersionIds answers at once.
type pagedSM struct {
	*fakeSM
	created time.Time
}

func (p *pagedSM) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	out, err := p.fakeSM.DescribeSecret(ctx, in, opts...)
	if err == nil {
		out.RotationLambdaARN = aws.String("arn:aws:lambda:us-east-1:123456789012:function:metamint")
	}
	return out, err
}

func (p *pagedSM) ListSecretVersionIds( //nolint:revive // the SDK's name
	_ context.Context, in *secretsmanager.ListSecretVersionIdsInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretVersionIdsOutput, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	versions := slices.Sorted(maps.Keys(p.stages))
	i := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		i = slices.Index(versions, tok)
	}
	out := &secretsmanager.ListSecretVersionIdsOutput{Versions: []types.SecretVersionsListEntry{{
		VersionId: aws.String(versions[i]), VersionStages: p.stages[versions[i]], CreatedDate: aws.Time(p.created)}}}
	if i+1 < len(versions) {
		out.NextToken = aws.String(versions[i+1])
	}
	return out, nil
}

// TestStaleRotationOnALaterPage: fan-out fails a secret whose rotation has
// been in progress longer than StaleAfter, even when its pending version
// is not on ListSecretVersionIds' first page.
func TestStaleRotationOnALaterPage(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	for _, v := range []string{"va", "vb"} {
		sm.values[v], sm.stages[v] = sm.values["v0"], []string{"OLD_" + v}
	}
	sm.values["vz"], sm.stages["vz"] = sm.values["v0"], []string{StagePending}
	r.SM = &pagedSM{fakeSM: sm, created: srv.Now().Add(-7 * time.Hour)}
	res, _ := (&Fleet{Rotator: r}).Run(t.Context(), []string{sm.arn}, RunOptions{Mode: FanOut})
	if res[0].Status != StatusFailed || res[0].ErrorType != "RotationStateError" {
		t.Errorf("Run() = %+v; want failed, RotationStateError (a rotation in progress for 7h)", res[0])
	}
}

// issueStored issues a live token of cur's app and system user, expiring at
// expires, and returns it and cur's value holding it with storedExpiry as
// its expires_at.
func issueStored(t *testing.T, srv *minttest.Server, cur *secret.Doc, expires, storedExpiry time.Time) (string, string) {
	t.Helper()
	tok := srv.IssueToken(minttest.TokenSpec{UserID: cur.SystemUserID, AppID: cur.AppID, Scopes: testScopes, ExpiresAt: expires})
	v, err := cur.WithToken(secret.Issued{Token: tok, ExpiresAt: storedExpiry, IssuedAt: srv.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return tok, v
}

// TestRevocationIgnoresStoredExpiry: a version marked for revocation and
// due says, in its own JSON, that its token expired (another tool wrote it,
// or wrote it wrong); debug_token says the token is live. The version's JSON
// decides nothing: the token is revoked.
func TestRevocationIgnoresStoredExpiry(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	cur := sm.doc(t, "v0")
	tok, v := issueStored(t, srv, cur, srv.Now().Add(50*day), srv.Now().Add(-day))
	sm.values["vOld"], sm.stages["vOld"] = v, []string{revokeLabel(srv.Now().Add(-time.Minute), "vOld")}
	res, sum := (&Fleet{Rotator: r}).Run(t.Context(), []string{sm.arn}, RunOptions{})
	if res[0].Status != StatusNotDue || sum.RevocationsFailed != 0 {
		t.Fatalf("Run() = %+v, %+v; want not_due, no failed revocation", res[0], sum)
	}
	if got, _ := srv.Token(tok); !got.Revoked {
		t.Error("a live token marked for revocation was kept because its version's JSON says it expired")
	}
	if got := sm.stages["vOld"]; len(got) != 0 {
		t.Errorf("vOld's labels = %q; want none", got)
	}
}

// TestRevocationWaitsForUnreadablePending: a version marked for revocation
// and due holds the token that the AWSPENDING version holds, and AWSPENDING
// cannot be read (a throttle, say). Nothing is revoked: no token AWSPENDING
// may hold is, and the mark stays for a later run, counted as failed.
func TestRevocationWaitsForUnreadablePending(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	cur := sm.doc(t, "v0")
	tok, v := issueStored(t, srv, cur, srv.Now().Add(50*day), srv.Now().Add(50*day))
	label := revokeLabel(srv.Now().Add(-time.Minute), "vSame")
	sm.values["vP"], sm.stages["vP"] = v, []string{StagePending}
	sm.values["vSame"], sm.stages["vSame"] = v, []string{label}
	sm.versionErrs = map[string]error{"vP": answeredErr(http.StatusBadRequest, "ThrottlingException")}
	res, sum := (&Fleet{Rotator: r}).Run(t.Context(), []string{sm.arn}, RunOptions{})
	if res[0].Status != StatusNotDue || sum.RevocationsFailed != 1 {
		t.Fatalf("Run() = %+v, %+v; want not_due, one failed revocation", res[0], sum)
	}
	if got, _ := srv.Token(tok); got.Revoked {
		t.Error("revoked a token AWSPENDING may hold: AWSPENDING could not be read")
	}
	if got := sm.stages["vSame"]; !slices.Equal(got, []string{label}) {
		t.Errorf("vSame's labels = %q; want %q kept", got, label)
	}
}

// TestHostileLabelIsQuoted: staging labels are anyone's to write, and a
// step refusing a version that is not AWSPENDING names its labels: it
// quotes them (Go escapes), so a hostile label brings no line break or
// control character into the error.
func TestHostileLabelIsQuoted(t *testing.T) {
	t.Parallel()
	r, sm, _ := fakeWorld(t)
	hostile := "X\n{\"level\":\"INFO\"}\x1b[2J"
	sm.values["t"], sm.stages["t"] = sm.values["v0"], []string{hostile}
	_, err := r.Step(t.Context(), Event{SecretID: sm.arn, VersionID: "t", Step: StepCreate})
	if err == nil {
		t.Fatal("Step(createSecret) of a version that is not AWSPENDING succeeded; want an error")
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\n\x1b") || !strings.Contains(msg, `"X\n{\"level\":\"INFO\"}\x1b[2J"`) {
		t.Errorf("error = %q; want the label quoted with Go escapes", msg)
	}
}

// TestUnjudgedSupersededVersionIsMarked: another writer took AWSPENDING off
// the event's version, which holds a live token and now no label. Judging
// it fails before any token is looked at (AWSPREVIOUS cannot be read to
// compare): nothing is revoked, and the version is marked for revocation,
// so that a later run, which no label would lead to it otherwise, judges it.
func TestUnjudgedSupersededVersionIsMarked(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	cur := sm.doc(t, "v0")
	tok, v := issueStored(t, srv, cur, srv.Now().Add(50*day), srv.Now().Add(50*day))
	sm.values["vX"], sm.stages["vX"] = v, nil
	sm.values["vPrev"], sm.stages["vPrev"] = sm.values["v0"], []string{StagePrevious}
	sm.versionErrs = map[string]error{"vPrev": errors.New("fakeSM: vPrev cannot be read")}
	_, err := r.Step(t.Context(), Event{SecretID: sm.arn, VersionID: "vX", Step: StepCreate})
	var cc *ConcurrentChangeError
	if !errors.As(err, &cc) {
		t.Fatalf("Step(createSecret) of a version without labels = %v; want a ConcurrentChangeError", err)
	}
	if got, _ := srv.Token(tok); got.Revoked {
		t.Error("revoked the version's token although AWSPREVIOUS could not be read to compare")
	}
	if !slices.ContainsFunc(sm.stages["vX"], func(l string) bool { _, ok := revokeDue(l, "vX"); return ok }) {
		t.Errorf("vX's labels = %q; want a revocation label, for a later run to judge it", sm.stages["vX"])
	}
}

// TestRevokeOrphanAnsweredInvalid: revoking a token made but not stored,
// Graph answers "invalid access token" (code 190) though the token is live.
// That answer alone is no revocation: revokeOrphan asks debug_token and
// logs that the token stays valid, where it used to log it revoked.
func TestRevokeOrphanAnsweredInvalid(t *testing.T) {
	t.Parallel()
	r, sm, srv := fakeWorld(t)
	var logs bytes.Buffer
	r.Log = slog.New(slog.NewTextHandler(&logs, nil))
	rot, cur, app := creating(t, r, sm)
	orphan := srv.IssueToken(minttest.TokenSpec{UserID: cur.SystemUserID, AppID: cur.AppID, Scopes: testScopes})
	srv.FailNext(minttest.EndpointRevoke, minttest.Fault{
		Error: &minttest.Error{Message: "Error validating access token: Session is invalid.", Type: "OAuthException", Code: 190}})
	r.revokeOrphan(t.Context(), rot, app, orphan)
	if got, _ := srv.Token(orphan); got.Revoked {
		t.Fatalf("the orphan is revoked; the fault should have kept it live")
	}
	if strings.Contains(logs.String(), "revoked a token that was made but not stored") ||
		!strings.Contains(logs.String(), "could not revoke a token that was made but not stored") {
		t.Errorf("log = %q; want the live orphan reported as not revoked", logs.String())
	}
}

// TestWithReserve pins the reserve's arithmetic, which tests of a run cut
// off by count (Fleet.CutOff) stand in for: the calls' context ends
// reserve before the invocation's deadline, and has none when the
// invocation has none.
func TestWithReserve(t *testing.T) {
	t.Parallel()
	deadline := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	work, stop := WithReserve(ctx, 5*time.Second)
	defer stop()
	if got, ok := work.Deadline(); !ok || !got.Equal(deadline.Add(-5*time.Second)) {
		t.Errorf("WithReserve(deadline %s, 5s).Deadline() = %s, %v; want 5s earlier", deadline, got, ok)
	}
	free, stopFree := WithReserve(t.Context(), 5*time.Second)
	defer stopFree()
	if got, ok := free.Deadline(); ok {
		t.Errorf("WithReserve(no deadline, 5s).Deadline() = %s; want none", got)
	}
	stopFree()
	if free.Err() == nil {
		t.Errorf("WithReserve(no deadline): the cancel func does not end the context")
	}
}

// creating is the rotation of fakeWorld's secret in createSecret, after
// it read AWSCURRENT (cur) and its app: what revokeOrphan is handed.
func creating(t *testing.T, r *Rotator, sm *fakeSM) (*rotation, *secret.Doc, mint.App) {
	t.Helper()
	cur := sm.doc(t, "v0")
	rot := &rotation{arn: sm.arn, secretID: sm.arn, version: "t", refs: secret.NewResolver(sm), current: cur, step: StepCreate, logger: r.Log}
	app, err := r.app(t.Context(), rot, cur)
	if err != nil {
		t.Fatal(err)
	}
	return rot, cur, app
}
