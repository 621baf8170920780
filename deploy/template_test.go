package deploy_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestTemplateLint runs cfn-lint on every template in deploy/, as make lint
// does.
func TestTemplateLint(t *testing.T) {
	t.Parallel()
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint is not on PATH (%v): install it (`make tools` checks for it)", err)
	}
	templates, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{oidcTemplate, lambdaTemplate}; !cmp.Equal(templates, want) {
		t.Errorf("templates in deploy/ = %v; want %v (add a new one to these tests)", templates, want)
	}
	for _, tmpl := range templates {
		t.Run(tmpl, func(t *testing.T) {
			t.Parallel()
			out, lintErr := exec.Command(lint, append(cfnLintAll, tmpl)...).CombinedOutput()
			if lintErr != nil {
				t.Errorf("cfn-lint %s: %v\n%s", tmpl, lintErr, out)
			}
		})
	}

	// make lint lints them all too.
	mk, err := os.ReadFile(filepath.Join("..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	target := regexp.MustCompile(`(?m)^lint:.*\n((?:\t.*\n)+)`).FindSubmatch(mk)
	want := "cfn-lint " + strings.Join(cfnLintAll, " ") + " deploy/*.yaml"
	if target == nil || !strings.Contains(string(target[1]), want) {
		t.Errorf("the Makefile's lint target does not run %s", want)
	}

	// The options do enable more rules: an informational finding fails.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err = os.WriteFile(bad, []byte("Resources:\n  Group:\n    Type: AWS::Logs::LogGroup\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(lint, append(cfnLintAll, bad)...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "I3011") {
		t.Errorf("cfn-lint %v on a log group without a deletion policy = %v\n%s; want informational rule I3011 to fail it", cfnLintAll, err, out)
	}
}

// cfnLintAll are the cfn-lint 1.51 options that enable every rule:
// informational rules (I), experimental ones, strict type checks (E3012),
// and ARNs built from the region and account pseudo parameters (I3042).
var cfnLintAll = []string{
	"--include-checks", "I", "--include-experimental",
	"--configure-rule", "E3012:strict=true", "I3042:region=true", "I3042:accountId=true", "--",
}

func TestTemplateFunction(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	// LanguageExtensions for the log group's DeletionPolicy, then SAM.
	if got := path(t, tmpl, "Transform"); !cmp.Equal(got, []any{"AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"}) {
		t.Errorf("Transform = %v; want the language extensions and the SAM transform", got)
	}
	fn := pathAs[map[string]any](t, tmpl, "Resources", "MetamintFunction")
	props := pathAs[map[string]any](t, fn, "Properties")
	for k, want := range map[string]any{"Runtime": "provided.al2023", "Handler": "bootstrap"} {
		if props[k] != want {
			t.Errorf("MetamintFunction.%s = %v; want %v", k, props[k], want)
		}
	}
	if got := path(t, fn, "Metadata", "BuildMethod"); got != "makefile" {
		t.Errorf("BuildMethod = %v; want makefile", got)
	}
	if mem, _ := props["MemorySize"].(float64); mem < 128 {
		t.Errorf("MemorySize = %v; want at least 128", props["MemorySize"])
	}
	if _, ok := props["Timeout"]; !ok {
		t.Errorf("Timeout is not set")
	}
	if got := path(t, props, "LoggingConfig", "LogFormat"); got != "JSON" {
		t.Errorf("LoggingConfig.LogFormat = %v; want JSON", got)
	}
	// One architecture, the one the Makefile target builds (sam build runs
	// it and passes it no architecture).
	if _, ok := pathAs[map[string]any](t, tmpl, "Parameters")["Architecture"]; ok {
		t.Errorf("an Architecture parameter: sam build would still build what the Makefile says")
	}
	if got := props["Architectures"]; !cmp.Equal(got, []any{"arm64"}) {
		t.Errorf("Architectures = %v; want [arm64], what build-MetamintFunction builds", got)
	}
	if _, ok := props["Events"]; ok {
		t.Errorf("MetamintFunction has SAM Events; want the schedule as a resource of its own (RefreshSchedule), which can have a Condition")
	}

	// The environment is exactly what the Lambda reads.
	read := lambdaEnvironment(t)
	var vars []string
	for k := range pathAs[map[string]any](t, props, "Environment", "Variables") {
		vars = append(vars, k)
	}
	slices.Sort(vars)
	if diff := cmp.Diff(read, vars); diff != "" {
		t.Errorf("Environment.Variables vs the METAMINT_* names cmd/lambda reads (-read +template):\n%s", diff)
	}

	// The Makefile has the target sam build runs.
	mk, err := os.ReadFile(filepath.Join("..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	target := regexp.MustCompile(`(?m)^build-MetamintFunction:.*\n((?:\t.*\n)+)`).FindSubmatch(mk)
	if target == nil {
		t.Fatalf("Makefile has no build-MetamintFunction target")
	}
	for _, want := range []string{"lambda.norpc", "$(ARTIFACTS_DIR)/bootstrap", "GOOS=linux", "GOARCH=arm64 ", "CGO_ENABLED=0", "./cmd/lambda"} {
		if !strings.Contains(string(target[1]), want) {
			t.Errorf("build-MetamintFunction does not mention %s", want)
		}
	}
}

// lambdaEnvironment returns, sorted, the METAMINT_* names that cmd/lambda's
// code (not its tests) spells as string literals: the variables it reads.
func lambdaEnvironment(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join("..", "cmd", "lambda")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`^METAMINT_[A-Z0-9_]+$`)
	var read []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && name.MatchString(s) && !slices.Contains(read, s) {
					read = append(read, s)
				}
			}
			return true
		})
	}
	if len(read) == 0 {
		t.Fatalf("%s: no METAMINT_* string literal in its code; if the Lambda now reads its environment elsewhere, point lambdaEnvironment there", dir)
	}
	slices.Sort(read)
	return read
}

// TestTemplatePolicy checks least privilege: the four rotation calls on the
// managed secrets, GetSecretValue alone on the referenced ones, no wildcard
// action, ListSecrets (which takes no resource) only with a tag filter, and
// no RotateSecret outside the fan-out policy.
func TestTemplatePolicy(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	policies := pathAs[[]any](t, tmpl, "Resources", "MetamintFunctionRole", "Properties", "Policies")
	if len(policies) != 1 {
		t.Fatalf("the role's Policies has %d entries; want one inline policy", len(policies))
	}
	stmts := pathAs[[]any](t, policies[0], "PolicyDocument", "Statement")
	bySid := map[string]map[string]any{}
	condition := map[string]any{} // Sid -> the condition of its Fn::If
	for _, s := range stmts {
		m, ok := s.(map[string]any)
		if !ok {
			continue
		}
		var cond any
		if f, ok := m["Fn::If"].([]any); ok { // optional statements
			if f[2] != "AWS::NoValue" && !cmp.Equal(f[2], map[string]any{"Ref": "AWS::NoValue"}) {
				t.Errorf("Fn::If %v: want the statement or nothing", f[0])
			}
			cond, m = f[0], as[map[string]any](t, f[1], "Fn::If statement")
		}
		sid, _ := m["Sid"].(string)
		bySid[sid], condition[sid] = m, cond
		for _, a := range as[[]any](t, m["Action"], "statement "+sid+" Action") {
			if s := as[string](t, a, "statement "+sid+" Action[]"); strings.Contains(s, "*") || (s == "secretsmanager:RotateSecret" && m["Effect"] != "Deny") {
				t.Errorf("statement %s allows %s", sid, s)
			}
		}
		if sid == "OwnLogGroup" {
			continue // TestTemplateRole
		}
		if m["Resource"] == "*" && sid != "ListTaggedSecrets" {
			t.Errorf("statement %s applies to every resource", sid)
		}
	}
	want := map[string][]any{
		"ManagedSecrets": {"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage",
			"secretsmanager:ListSecretVersionIds"},
		"ReferencedSecrets": {"secretsmanager:GetSecretValue"},
		// The consent check reads the minting token's tags, nothing more.
		"MintingTokenConsent": {"secretsmanager:DescribeSecret"},
		"SecretsKey":          {"kms:Decrypt", "kms:GenerateDataKey"},
		"ListTaggedSecrets":   {"secretsmanager:ListSecrets"},
		// TestTemplateNestedPrefixes
		"NeverWriteReferencedSecrets": {"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:RotateSecret"},
	}
	for sid, actions := range want {
		if diff := cmp.Diff(actions, bySid[sid]["Action"]); diff != "" {
			t.Errorf("statement %s actions (-want +got):\n%s", sid, diff)
		}
	}
	wantCondition := map[string]any{"OwnLogGroup": nil, "ManagedSecrets": nil, "ReferencedSecrets": nil, "MintingTokenConsent": nil,
		"NeverWriteReferencedSecrets": nil, "SecretsKey": "HasKmsKey", "ListTaggedSecrets": "HasSecretTag"}
	if diff := cmp.Diff(wantCondition, condition); diff != "" {
		t.Errorf("statement conditions (-want +got):\n%s", diff)
	}
	for sid, prefix := range map[string]string{"ManagedSecrets": "${ManagedSecretPrefix}*", "ReferencedSecrets": "${ReferencedSecretPrefix}*",
		"MintingTokenConsent": "${ReferencedSecretPrefix}*", "NeverWriteReferencedSecrets": "${ReferencedSecretPrefix}*"} {
		res, _ := json.Marshal(bySid[sid]["Resource"])
		if !strings.Contains(string(res), ":secret:"+prefix) {
			t.Errorf("statement %s resource = %s; want the secrets under %s", sid, res, prefix)
		}
	}
	wantConds := map[string]any{
		"HasSecretTag": map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "SecretTag"}, ""}}}},
		"IsFanOut":     map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Mode"}, "fanout"}},
	}
	for name, want := range wantConds {
		if diff := cmp.Diff(want, path(t, tmpl, "Conditions", name)); diff != "" {
			t.Errorf("condition %s (-want +got):\n%s", name, diff)
		}
	}
}

// TestTemplateFanOut checks what fan-out mode adds, and only then:
// RotateSecret on the managed secrets, and the right to invoke the function
// that RotateSecret needs.
func TestTemplateFanOut(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	pol := pathAs[map[string]any](t, tmpl, "Resources", "FanOutPolicy")
	if pol["Type"] != "AWS::IAM::Policy" || pol["Condition"] != "IsFanOut" {
		t.Errorf("FanOutPolicy Type, Condition = %v, %v; want AWS::IAM::Policy, IsFanOut", pol["Type"], pol["Condition"])
	}
	if got := path(t, pol, "Properties", "Roles"); !cmp.Equal(got, []any{map[string]any{"Ref": "MetamintFunctionRole"}}) {
		t.Errorf("FanOutPolicy.Roles = %v; want the function's role", got)
	}
	managed := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${ManagedSecretPrefix}*"}
	want := []any{
		map[string]any{"Sid": "StartRotations", "Effect": "Allow", "Action": []any{"secretsmanager:RotateSecret"}, "Resource": managed},
		map[string]any{"Sid": "InvokeRotationFunction", "Effect": "Allow", "Action": []any{"lambda:InvokeFunction"},
			"Resource": map[string]any{"Fn::GetAtt": []any{"MetamintFunction", "Arn"}}},
	}
	if diff := cmp.Diff(want, path(t, pol, "Properties", "PolicyDocument", "Statement")); diff != "" {
		t.Errorf("FanOutPolicy statements (-want +got):\n%s", diff)
	}
	for mode, wantPolicy := range map[string]bool{"inline": false, "fanout": true} {
		got, err := renderStack(t, tmpl, map[string]string{"Mode": mode})
		if err != nil {
			t.Fatalf("render(Mode=%s) = %v", mode, err)
		}
		if _, ok := as[map[string]any](t, got["Resources"], "Resources")["FanOutPolicy"]; ok != wantPolicy {
			t.Errorf("render(Mode=%s) has FanOutPolicy = %v; want %v", mode, ok, wantPolicy)
		}
	}

	// The Mode and SecretTag parameters accept what METAMINT_MODE and
	// METAMINT_SECRET_TAG accept (docs/lambda.md's configuration table;
	// cmd/lambda's loadConfig and parseSecretTag).
	mode := pathAs[map[string]any](t, tmpl, "Parameters", "Mode")
	if mode["Default"] != "inline" || !cmp.Equal(mode["AllowedValues"], []any{"inline", "fanout"}) {
		t.Errorf("Mode = default %v, allowed %v; want default inline, inline or fanout", mode["Default"], mode["AllowedValues"])
	}
	pattern := regexp.MustCompile(pathAs[string](t, tmpl, "Parameters", "SecretTag", "AllowedPattern"))
	for v, want := range map[string]bool{
		"":                              true, // no tag filter
		"metamint:managed":              true, // the key, any value
		"metamint:managed=yes":          true,
		"a=b=c":                         true, // split at the first '='
		"=yes":                          false,
		"metamint:managed=":             false,
		strings.Repeat("k", 128):        true, // a tag key holds 128 characters
		strings.Repeat("k", 129):        false,
		"k=" + strings.Repeat("v", 256): true, // a tag value 256
		"k=" + strings.Repeat("v", 257): false,
	} {
		if got := pattern.MatchString(v); got != want {
			t.Errorf("SecretTag AllowedPattern matches %q = %v; want %v", v, got, want)
		}
	}
}

func TestTemplateRotation(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	perm := pathAs[map[string]any](t, tmpl, "Resources", "SecretsManagerInvokePermission")
	if perm["Type"] != "AWS::Lambda::Permission" {
		t.Fatalf("SecretsManagerInvokePermission.Type = %v", perm["Type"])
	}
	wantPerm := map[string]any{
		"Action":        "lambda:InvokeFunction",
		"Principal":     "secretsmanager.amazonaws.com",
		"SourceAccount": map[string]any{"Ref": "AWS::AccountId"},
		"FunctionName":  map[string]any{"Fn::GetAtt": []any{"MetamintFunction", "Arn"}},
	}
	if diff := cmp.Diff(wantPerm, perm["Properties"]); diff != "" {
		t.Errorf("invoke permission (-want +got):\n%s", diff)
	}
	rs := pathAs[map[string]any](t, tmpl, "Resources", "RotationSchedule")
	if rs["Type"] != "AWS::SecretsManager::RotationSchedule" {
		t.Fatalf("RotationSchedule.Type = %v", rs["Type"])
	}
	dep := rs["DependsOn"]
	if dep != "SecretsManagerInvokePermission" && !cmp.Equal(dep, []any{"SecretsManagerInvokePermission"}) {
		t.Errorf("RotationSchedule.DependsOn = %v; want the invoke permission", dep)
	}
	if got := path(t, rs, "Properties", "RotationLambdaARN"); !cmp.Equal(got, map[string]any{"Fn::GetAtt": []any{"MetamintFunction", "Arn"}}) {
		t.Errorf("RotationLambdaARN = %v; want the function", got)
	}
	if _, ok := pathAs[map[string]any](t, rs, "Properties", "RotationRules")["ScheduleExpression"]; !ok {
		t.Errorf("RotationRules has no ScheduleExpression")
	}
}

// retentionDays are the retention periods CloudWatch Logs accepts
// (PutRetentionPolicy; AWS::Logs::LogGroup RetentionInDays). cfn-lint
// rejects a parameter value outside them (TestTemplateLint); this list makes
// sure none is missing.
var retentionDays = []any{1., 3., 5., 7., 14., 30., 60., 90., 120., 150., 180., 365., 400., 545., 731., 1096., 1827., 2192., 2557., 2922., 3288., 3653.}

// TestTemplateLogGroup checks the function logs into a log group of the
// stack whose retention is the LogRetentionInDays parameter.
func TestTemplateLogGroup(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	param := pathAs[map[string]any](t, tmpl, "Parameters", "LogRetentionInDays")
	if param["Type"] != "Number" || param["Default"] != 90. {
		t.Errorf("LogRetentionInDays = Type %v, Default %v; want Number, 90", param["Type"], param["Default"])
	}
	if diff := cmp.Diff(retentionDays, param["AllowedValues"]); diff != "" {
		t.Errorf("LogRetentionInDays AllowedValues (-CloudWatch Logs +template):\n%s", diff)
	}
	for _, days := range []string{"", "1", "3653"} {
		values := map[string]string{}
		if days != "" {
			values["LogRetentionInDays"] = days
		}
		got, err := renderStack(t, tmpl, values)
		if err != nil {
			t.Fatalf("render(%v) = %v", values, err)
		}
		want := days
		if want == "" {
			want = "90"
		}
		group := pathAs[map[string]any](t, got, "Resources", "MetamintLogGroup")
		wantGroup := map[string]any{"Type": "AWS::Logs::LogGroup", "Properties": map[string]any{"RetentionInDays": want},
			"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}
		if diff := cmp.Diff(wantGroup, group); diff != "" {
			t.Errorf("render(%v) MetamintLogGroup (-want +got):\n%s", values, diff)
		}
		if got := path(t, got, "Resources", "MetamintFunction", "Properties", "LoggingConfig", "LogGroup"); !cmp.Equal(got, map[string]any{"Ref": "MetamintLogGroup"}) {
			t.Errorf("render(%v) LoggingConfig.LogGroup = %v; want MetamintLogGroup", values, got)
		}
		if got := path(t, got, "Outputs", "LogGroupName", "Value"); !cmp.Equal(got, map[string]any{"Ref": "MetamintLogGroup"}) {
			t.Errorf("render(%v) output LogGroupName = %v; want MetamintLogGroup", values, got)
		}
	}
	for _, days := range []string{"0", "2", "90.5", "10000"} {
		if _, err := renderStack(t, tmpl, map[string]string{"LogRetentionInDays": days}); err == nil {
			t.Errorf("render(LogRetentionInDays=%s) succeeded; want the parameter refused", days)
		}
	}
}

// The metrics the Lambda writes in CloudWatch Embedded Metric Format
// (docs: production signals).
var emittedMetrics = []string{"Rotated", "Failed", "Deferred", "NotDue", "MinDaysToExpiry"}

// TestTemplateAlarms checks both alarms: metric, namespace, dimension,
// statistic, period, comparison, threshold and missing data.
func TestTemplateAlarms(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	got, err := renderStack(t, tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	common := map[string]any{
		"Namespace":         "metamint",
		"Dimensions":        []any{map[string]any{"Name": "FunctionName", "Value": map[string]any{"Ref": "MetamintFunction"}}},
		"Period":            "86400",
		"EvaluationPeriods": 1.,
	}
	tests := []struct {
		alarm string
		want  map[string]any
	}{
		{alarm: "FailedAlarm", want: map[string]any{
			"MetricName":         "Failed",
			"Statistic":          "Sum",
			"ComparisonOperator": "GreaterThanThreshold",
			"Threshold":          0.,
			// No run, no failure: the expiry alarm notices a silent function.
			"TreatMissingData": "notBreaching",
		}},
		{alarm: "ExpiryAlarm", want: map[string]any{
			"MetricName":         "MinDaysToExpiry",
			"Statistic":          "Minimum",
			"ComparisonOperator": "LessThanThreshold",
			"Threshold":          "7", // ExpiryAlarmDays
			// Every scheduled run reports it: none means the refresh stopped.
			"TreatMissingData": "breaching",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.alarm, func(t *testing.T) {
			t.Parallel()
			alarm := pathAs[map[string]any](t, got, "Resources", tt.alarm)
			if alarm["Type"] != "AWS::CloudWatch::Alarm" {
				t.Errorf("%s.Type = %v; want AWS::CloudWatch::Alarm", tt.alarm, alarm["Type"])
			}
			props := pathAs[map[string]any](t, alarm, "Properties")
			for k, want := range common {
				tt.want[k] = want
			}
			for k, want := range tt.want {
				if diff := cmp.Diff(want, props[k]); diff != "" {
					t.Errorf("%s.%s (-want +got):\n%s", tt.alarm, k, diff)
				}
			}
			if !slices.Contains(emittedMetrics, as[string](t, props["MetricName"], tt.alarm+" MetricName")) {
				t.Errorf("%s watches %v, which the Lambda does not emit", tt.alarm, props["MetricName"])
			}
		})
	}
	// The thresholds and the period come from parameters.
	raw := pathAs[map[string]any](t, tmpl, "Resources", "ExpiryAlarm", "Properties")
	if !cmp.Equal(raw["Threshold"], map[string]any{"Ref": "ExpiryAlarmDays"}) {
		t.Errorf("ExpiryAlarm.Threshold = %v; want the parameter ExpiryAlarmDays", raw["Threshold"])
	}
	for _, a := range []string{"FailedAlarm", "ExpiryAlarm"} {
		if got := path(t, tmpl, "Resources", a, "Properties", "Period"); !cmp.Equal(got, map[string]any{"Ref": "AlarmPeriodSeconds"}) {
			t.Errorf("%s.Period = %v; want the parameter AlarmPeriodSeconds", a, got)
		}
	}
	set, err := renderStack(t, tmpl, map[string]string{"ExpiryAlarmDays": "3", "AlarmPeriodSeconds": "43200"})
	if err != nil {
		t.Fatal(err)
	}
	if e := pathAs[map[string]any](t, set, "Resources", "ExpiryAlarm", "Properties"); e["Threshold"] != "3" || e["Period"] != "43200" {
		t.Errorf("render(ExpiryAlarmDays=3, AlarmPeriodSeconds=43200) ExpiryAlarm Threshold, Period = %v, %v; want 3, 43200", e["Threshold"], e["Period"])
	}

	// By default each period holds one scheduled run, and the expiry alarm
	// fires only after refreshes have failed for days.
	period := pathAs[float64](t, tmpl, "Parameters", "AlarmPeriodSeconds", "Default")
	schedule := pathAs[string](t, tmpl, "Parameters", "RefreshScheduleExpression", "Default")
	if every := rateInterval(t, schedule); every != time.Duration(period)*time.Second {
		t.Errorf("AlarmPeriodSeconds default %vs; want the default schedule %s's interval, %v", period, schedule, every)
	}
	days := pathAs[float64](t, tmpl, "Parameters", "ExpiryAlarmDays", "Default")
	before, err := time.ParseDuration(pathAs[string](t, tmpl, "Parameters", "RefreshBefore", "Default"))
	if err != nil {
		t.Fatal(err)
	}
	if days != 7 || time.Duration(days)*24*time.Hour >= before {
		t.Errorf("ExpiryAlarmDays default %v; want 7, below RefreshBefore's %v", days, before)
	}
	for _, v := range []string{"0", "3599", "3660", "5000", "604801"} {
		if _, err := renderStack(t, tmpl, map[string]string{"AlarmPeriodSeconds": v}); err == nil {
			t.Errorf("render(AlarmPeriodSeconds=%s) succeeded; want the parameter refused", v)
		}
	}
}

// rateInterval reads an EventBridge rate(N unit) expression.
func rateInterval(t *testing.T, expr string) time.Duration {
	t.Helper()
	m := regexp.MustCompile(`^rate\(([0-9]+) (minute|hour|day)s?\)$`).FindStringSubmatch(expr)
	if m == nil {
		t.Fatalf("rateInterval(%q): not a rate expression", expr)
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[m[2]]
	return time.Duration(n) * unit
}

// TestTemplateAlarmActions checks that both alarms notify the SNS topic
// when it is given, on alarm and on recovery, and nobody when it is not.
func TestTemplateAlarmActions(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	const topic = "arn:aws:sns:eu-west-1:123456789012:metamint-alarms"
	tests := []struct {
		name  string
		topic string
		want  any // AlarmActions and OKActions; nil: absent
	}{
		{name: "no topic", topic: ""},
		{name: "topic", topic: topic, want: []any{topic}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := renderStack(t, tmpl, map[string]string{"AlarmTopicArn": tt.topic})
			if err != nil {
				t.Fatalf("render(AlarmTopicArn=%q) = %v", tt.topic, err)
			}
			for _, a := range []string{"FailedAlarm", "ExpiryAlarm"} {
				props := pathAs[map[string]any](t, got, "Resources", a, "Properties")
				for _, k := range []string{"AlarmActions", "OKActions"} {
					if diff := cmp.Diff(tt.want, props[k]); diff != "" {
						t.Errorf("render(AlarmTopicArn=%q) %s.%s (-want +got):\n%s", tt.topic, a, k, diff)
					}
				}
			}
		})
	}
	for _, bad := range []string{"*", "metamint-alarms", "arn:aws:sqs:eu-west-1:123456789012:q", topic + ",x"} {
		if _, err := renderStack(t, tmpl, map[string]string{"AlarmTopicArn": bad}); err == nil {
			t.Errorf("render(AlarmTopicArn=%q) succeeded; want the parameter refused", bad)
		}
	}
}

// TestTemplateWriteRate: the write-rate parameter keeps within Secrets
// Manager's quota of 50 writes a second, and defaults to the Lambda's 25.
func TestTemplateWriteRate(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	p := pathAs[map[string]any](t, tmpl, "Parameters", "SecretsWriteRate")
	if p["Type"] != "Number" || p["Default"] != 25.0 || p["MinValue"] != 0.1 || p["MaxValue"] != 50.0 {
		t.Errorf("SecretsWriteRate = %v; want a Number, default 25, from 0.1 to 50", p)
	}
	env := pathAs[map[string]any](t, tmpl, "Resources", "MetamintFunction", "Properties", "Environment", "Variables")
	if ref, ok := env["METAMINT_SECRETS_WRITE_RATE"].(map[string]any); !ok || ref["Ref"] != "SecretsWriteRate" {
		t.Errorf("METAMINT_SECRETS_WRITE_RATE = %v; want !Ref SecretsWriteRate", env["METAMINT_SECRETS_WRITE_RATE"])
	}
}
