package deploy_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/pkg/mint"
)

// stackValues are the least a deployable stack is given: something to
// rotate (the template's rule refuses the defaults alone).
var stackValues = map[string]string{"SecretIds": "metamint/ads"}

// renderStack renders the Lambda template with values over stackValues.
func renderStack(t *testing.T, tmpl map[string]any, values map[string]string) (map[string]any, error) {
	t.Helper()
	all := map[string]string{}
	for k, v := range stackValues {
		all[k] = v
	}
	for k, v := range values {
		all[k] = v
	}
	return render(t, tmpl, all)
}

// nameLimits are AWS's limits on the names the template may set: the
// property, its length and its characters, by resource type (the
// CloudFormation resource reference of each).
var nameLimits = map[string]struct {
	prop  string
	max   int
	chars *regexp.Regexp
}{
	"AWS::Scheduler::Schedule":      {"Name", 64, regexp.MustCompile(`^[0-9a-zA-Z-_.]+$`)},
	"AWS::Scheduler::ScheduleGroup": {"Name", 64, regexp.MustCompile(`^[0-9a-zA-Z-_.]+$`)},
	"AWS::IAM::Role":                {"RoleName", 64, regexp.MustCompile(`^[\w+=,.@-]+$`)},
	"AWS::Serverless::Function":     {"FunctionName", 64, regexp.MustCompile(`^[a-zA-Z0-9-_]+$`)},
	"AWS::Logs::LogGroup":           {"LogGroupName", 512, regexp.MustCompile(`^[.\-_/#A-Za-z0-9]+$`)},
	"AWS::CloudWatch::Alarm":        {"AlarmName", 255, regexp.MustCompile(`^[^\x00-\x1f]+$`)},
}

// TestTemplateNamesFitEveryStackName renders the stack under the longest
// name CloudFormation accepts (128 characters) and checks every name the
// template sets against AWS's limits for its type: a name built from the
// stack's (${AWS::StackName}-refresh, 136 characters) fails the create of
// a stack whose name is longer than the resource allows, however valid the
// stack's own name. A name the template leaves out is CloudFormation's to
// generate, within the limits.
func TestTemplateNamesFitEveryStackName(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	stack := "m" + strings.Repeat("x", 127) // [a-zA-Z][-a-zA-Z0-9]*, at most 128
	got, err := renderAs(t, tmpl, stackValues, stack)
	if err != nil {
		t.Fatal(err)
	}
	res := as[map[string]any](t, got["Resources"], "Resources")
	for _, name := range []string{"RefreshSchedule", "RefreshScheduleGroup"} {
		if _, ok := res[name]; !ok {
			t.Fatalf("the stack has no %s: the check below would miss it", name)
		}
	}
	for name, v := range res {
		r := as[map[string]any](t, v, name)
		limit, ok := nameLimits[as[string](t, r["Type"], name+".Type")]
		if !ok {
			continue
		}
		props, _ := r["Properties"].(map[string]any)
		set, ok := props[limit.prop]
		if !ok {
			continue
		}
		s, ok := set.(string)
		if !ok {
			t.Errorf("%s.%s = %v: a name the renderer cannot resolve; want a string, or none", name, limit.prop, set)
			continue
		}
		if len(s) > limit.max || !limit.chars.MatchString(s) {
			t.Errorf("stack %d characters long: %s.%s is %d characters (%q); AWS allows %d of %s",
				len(stack), name, limit.prop, len(s), s, limit.max, limit.chars)
		}
	}
}

// TestTemplateRules checks that a stack with nothing to rotate is refused
// before it is created, with a message naming the three parameters, and
// that each of them alone is enough. Without the rule, every scheduled run
// of such a stack fails with "no secrets to rotate" and both alarms fire for
// good.
func TestTemplateRules(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamint/ads-AbCdEf"
	tests := []struct {
		name    string
		values  map[string]string
		wantErr string
	}{
		{name: "defaults", values: nil, wantErr: "rule SomethingToRotate: Set at least one of SecretIds, SecretTag or RotatedSecretArn"},
		{name: "SecretIds", values: map[string]string{"SecretIds": "metamint/ads,metamint/catalog"}},
		{name: "SecretTag", values: map[string]string{"SecretTag": "metamint:managed"}},
		{name: "RotatedSecretArn", values: map[string]string{"RotatedSecretArn": arn}},
		{name: "one prefix for both", values: map[string]string{"SecretIds": "metamint/ads", "ReferencedSecretPrefix": "metamint/"},
			wantErr: "rule SeparatePrefixes: ManagedSecretPrefix and ReferencedSecretPrefix must differ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := render(t, tmpl, tt.values)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("render(%v) = %v; want a stack", tt.values, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("render(%v) = %v; want the refusal %q", tt.values, err, tt.wantErr)
			}
		})
	}
}

// TestTemplateSchedule checks the refresh schedule: only when SecretIds or
// SecretTag names something to check (a stack that only attaches
// RotatedSecretArn has no schedule, which would fail every run, and no
// expiry alarm, which only scheduled runs feed), invoking
// the function alone, with the direct shape plus the schedule's ARN.
func TestTemplateSchedule(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamint/ads-AbCdEf"
	for _, tt := range []struct {
		values map[string]string
		want   bool
	}{
		{map[string]string{"SecretIds": "metamint/ads"}, true},
		{map[string]string{"SecretIds": "", "SecretTag": "metamint:managed"}, true},
		{map[string]string{"SecretIds": "", "RotatedSecretArn": arn}, false},
	} {
		got, err := renderStack(t, tmpl, tt.values)
		if err != nil {
			t.Fatalf("render(%v) = %v", tt.values, err)
		}
		res := as[map[string]any](t, got["Resources"], "Resources")
		_, sched := res["RefreshSchedule"]
		_, role := res["RefreshScheduleRole"]
		_, group := res["RefreshScheduleGroup"]
		// Only scheduled runs emit MinDaysToExpiry: without them the
		// expiry alarm (missing data breaching) would never clear.
		_, expiry := res["ExpiryAlarm"]
		if sched != tt.want || role != tt.want || group != tt.want || expiry != tt.want {
			t.Errorf("render(%v): RefreshSchedule %v, RefreshScheduleRole %v, RefreshScheduleGroup %v, ExpiryAlarm %v; want all %v", tt.values, sched, role, group, expiry, tt.want)
		}
	}

	got, err := renderStack(t, tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	sched := pathAs[map[string]any](t, got, "Resources", "RefreshSchedule", "Properties")
	if got := path(t, sched, "Target", "Arn"); !cmp.Equal(got, map[string]any{"Fn::GetAtt": []any{"MetamintFunction", "Arn"}}) {
		t.Errorf("RefreshSchedule target = %v; want the function", got)
	}
	if got := path(t, sched, "Target", "RoleArn"); !cmp.Equal(got, map[string]any{"Fn::GetAtt": []any{"RefreshScheduleRole", "Arn"}}) {
		t.Errorf("RefreshSchedule role = %v; want RefreshScheduleRole", got)
	}
	// The schedule lives in a group of the stack's own, which the role's
	// trust names: a schedule someone else creates in another group of the
	// account (the default one, say) cannot act through the role.
	if got := path(t, sched, "GroupName"); !cmp.Equal(got, map[string]any{"Ref": "RefreshScheduleGroup"}) {
		t.Errorf("RefreshSchedule group = %v; want RefreshScheduleGroup", got)
	}
	// The input: the direct shape (an empty rotate list means the
	// configured secrets), unforced, in METAMINT_MODE, plus the schedule's
	// ARN, which EventBridge Scheduler puts in place of its context
	// attribute and which marks the run as scheduled.
	// TestScheduledRunLogsSchedule (cmd/lambda) sends this input.
	input := pathAs[string](t, sched, "Target", "Input")
	var direct map[string]any
	if err := json.Unmarshal([]byte(input), &direct); err != nil {
		t.Fatalf("RefreshSchedule input %q: %v", input, err)
	}
	want := map[string]any{"rotate": []any{}, "force": false, "schedule": "<aws.scheduler.schedule-arn>"}
	if diff := cmp.Diff(want, direct); diff != "" {
		t.Errorf("RefreshSchedule input (-want +got):\n%s", diff)
	}

	role := pathAs[map[string]any](t, got, "Resources", "RefreshScheduleRole", "Properties")
	trust := statements(t, role["AssumeRolePolicyDocument"])
	wantTrust := []map[string]any{{"Effect": "Allow", "Principal": map[string]any{"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole",
		"Condition": map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": "123456789012"},
			// AWS's confused-deputy guidance for Scheduler: the group's
			// ARN, never a schedule's.
			"ArnEquals": map[string]any{"aws:SourceArn": map[string]any{"Fn::GetAtt": []any{"RefreshScheduleGroup", "Arn"}}},
		}}}
	if diff := cmp.Diff(wantTrust, trust); diff != "" {
		t.Errorf("RefreshScheduleRole trust (-want +got):\n%s", diff)
	}
	policies := pathAs[[]any](t, role, "Policies")
	if len(policies) != 1 {
		t.Fatalf("RefreshScheduleRole has %d policies; want 1", len(policies))
	}
	wantStmt := []map[string]any{{"Sid": "InvokeFunction", "Effect": "Allow", "Action": []any{"lambda:InvokeFunction"},
		"Resource": map[string]any{"Fn::GetAtt": []any{"MetamintFunction", "Arn"}}}}
	if diff := cmp.Diff(wantStmt, statements(t, path(t, policies[0], "PolicyDocument"))); diff != "" {
		t.Errorf("RefreshScheduleRole policy (-want +got):\n%s", diff)
	}
}

// TestTemplateLogLevel checks that no LogLevel can drop the metric lines.
// Lambda's log-level filtering treats a JSON line without a level key, as
// every EMF line is, as INFO, and drops it when the application log level
// is WARN or ERROR; the alarms then lose their data. The runtime's filter
// therefore stays at DEBUG (INFO at most) for every LogLevel, passing every
// record the function is told to write, and LogLevel reaches the
// function as METAMINT_LOG_LEVEL, which it applies to its own records
// (TestLogLevelKeepsMetrics in cmd/lambda runs that under aws-lambda-rie).
func TestTemplateLogLevel(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	// Lambda's application log levels, most verbose first.
	levels := []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
	rank := func(l string) int {
		for i, x := range levels {
			if x == l {
				return i
			}
		}
		t.Fatalf("%q is not a Lambda application log level", l)
		return 0
	}
	for _, lvl := range pathAs[[]any](t, tmpl, "Parameters", "LogLevel", "AllowedValues") {
		lvl := as[string](t, lvl, "LogLevel value")
		got, err := renderStack(t, tmpl, map[string]string{"LogLevel": lvl})
		if err != nil {
			t.Fatalf("render(LogLevel=%s) = %v", lvl, err)
		}
		props := pathAs[map[string]any](t, got, "Resources", "MetamintFunction", "Properties")
		app, ok := path(t, props, "LoggingConfig", "ApplicationLogLevel").(string)
		if !ok || rank(app) > rank("INFO") {
			t.Errorf("render(LogLevel=%s) ApplicationLogLevel = %v; want INFO or more verbose, so that Lambda keeps the EMF lines (level INFO)", lvl, app)
		}
		if ok && rank(app) > rank(lvl) {
			t.Errorf("render(LogLevel=%s) ApplicationLogLevel = %s; Lambda would drop records the function writes at LogLevel", lvl, app)
		}
		if env := path(t, props, "Environment", "Variables", "METAMINT_LOG_LEVEL"); env != lvl {
			t.Errorf("render(LogLevel=%s) METAMINT_LOG_LEVEL = %v; want %s", lvl, env, lvl)
		}
	}
}

// TestTemplateRole checks the function's explicit role: trusted by Lambda,
// no managed policy (AWSLambdaBasicExecutionRole may write to every log
// group), and logs written to MetamintLogGroup only.
func TestTemplateRole(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	got, err := renderStack(t, tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	fn := pathAs[map[string]any](t, got, "Resources", "MetamintFunction", "Properties")
	if !cmp.Equal(fn["Role"], map[string]any{"Fn::GetAtt": []any{"MetamintFunctionRole", "Arn"}}) {
		t.Errorf("MetamintFunction.Role = %v; want MetamintFunctionRole's ARN", fn["Role"])
	}
	for _, k := range []string{"Policies", "Events"} {
		if _, ok := fn[k]; ok {
			t.Errorf("MetamintFunction.%s is set; SAM would then attach a role or policies of its own", k)
		}
	}
	role := pathAs[map[string]any](t, got, "Resources", "MetamintFunctionRole")
	if role["Type"] != "AWS::IAM::Role" {
		t.Fatalf("MetamintFunctionRole.Type = %v", role["Type"])
	}
	props := pathAs[map[string]any](t, role, "Properties")
	if _, ok := props["ManagedPolicyArns"]; ok {
		t.Errorf("MetamintFunctionRole has ManagedPolicyArns %v; want none", props["ManagedPolicyArns"])
	}
	trust := statements(t, props["AssumeRolePolicyDocument"])
	if diff := cmp.Diff([]map[string]any{{"Effect": "Allow", "Principal": map[string]any{"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}}, trust); diff != "" {
		t.Errorf("MetamintFunctionRole trust (-want +got):\n%s", diff)
	}
	var logs []map[string]any
	for _, p := range pathAs[[]any](t, props, "Policies") {
		for _, s := range statements(t, path(t, p, "PolicyDocument")) {
			b, _ := json.Marshal(s["Action"])
			if strings.Contains(string(b), `"logs:`) {
				logs = append(logs, s)
			}
		}
	}
	want := []map[string]any{{
		"Sid": "OwnLogGroup", "Effect": "Allow", "Action": []any{"logs:CreateLogStream", "logs:PutLogEvents"},
		"Resource": map[string]any{"Fn::Sub": "arn:aws:logs:eu-west-1:123456789012:log-group:${MetamintLogGroup}:log-stream:*"},
	}}
	if diff := cmp.Diff(want, logs); diff != "" {
		t.Errorf("the role's logs statements (-want +got):\n%s", diff)
	}
	// Nothing else in the stack grants logs or names the managed policy.
	raw, _ := json.Marshal(tmpl)
	if n := strings.Count(string(raw), `"logs:`); n != 2 {
		t.Errorf("the template names %d logs: actions; want the 2 of OwnLogGroup", n)
	}
	if strings.Contains(string(raw), "AWSLambdaBasicExecutionRole") {
		t.Errorf("the template names AWSLambdaBasicExecutionRole")
	}
}

// TestTemplateParameters checks that every parameter refuses what would
// deploy a broken or wider stack.
func TestTemplateParameters(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	const secretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamint/ads-AbCdEf"
	tests := []struct {
		param string
		ok    []string
		bad   []string
	}{
		// A prefix without its / also covers its neighbours: metamint-refs
		// covers metamint-refs-evil/.
		{"ManagedSecretPrefix", []string{"metamint/", "team/metamint/"}, []string{"metamint", "", "/", "metamint/*", "a b/"}},
		{"ReferencedSecretPrefix", []string{"metamint-refs/", "refs/admin/"}, []string{"metamint-refs", "", "/", "refs*/"}},
		{"RotatedSecretArn", []string{"", secretARN, "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x"},
			[]string{"metamint/ads", "arn:aws:secretsmanager:eu-west-1:123:secret:x", "arn:aws:s3:::bucket", secretARN + "*"}},
		{"SecretsKmsKeyArn", []string{"", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
			[]string{"alias/aws/secretsmanager", "arn:aws:kms:eu-west-1:123456789012:alias/x", "*"}},
		{"SecretIds", []string{"metamint/ads", "metamint/ads,metamint/catalog", secretARN}, []string{"metamint/*", "a;b"}},
		{"ReservedConcurrency", []string{"", "1", "50"}, []string{"0", "-1", "x", "1.5"}},
		// Positive Go durations, as cmd/lambda's loadConfig takes them.
		{"RevokeGrace", []string{"24h", "90m", "0.5h"}, []string{"0s", "0h", "1d", "", "-1h"}},
		{"StaleRotationAfter", []string{"6h", "30m"}, []string{"0m", "6", "6 h"}},
		{"RetainLogGroup", []string{"true", "false"}, []string{"yes", ""}},
		{"RefreshScheduleExpression", []string{"rate(1 day)", "rate(12 hours)", "cron(0 6 * * ? *)"}, []string{"rate(0 days)", "every day", "rate(1 day"}},
		{"RotationScheduleExpression", []string{"rate(30 days)", "rate(4 hours)", "cron(0 6 ? * MON *)"}, []string{"rate(30 minutes)", "30 days"}},
		{"GraphApiUrl", []string{"https://graph.facebook.com", "https://graph.example.com:8443/base"}, []string{"http://graph.facebook.com", "graph.facebook.com", "https://x y"}},
		{"Concurrency", []string{"1", "64"}, []string{"0", "65"}},
		{"ExpiryAlarmDays", []string{"1", "59"}, []string{"0", "60"}},
		{"AlarmPeriodSeconds", []string{"3600", "43200", "86400", "604800"}, []string{"3660", "60", "1209600"}},
	}
	for _, tt := range tests {
		for _, v := range tt.ok {
			if _, err := renderStack(t, tmpl, map[string]string{tt.param: v}); err != nil {
				t.Errorf("render(%s=%q) = %v; want it accepted", tt.param, v, err)
			}
		}
		for _, v := range tt.bad {
			if _, err := renderStack(t, tmpl, map[string]string{tt.param: v}); err == nil {
				t.Errorf("render(%s=%q) succeeded; want the parameter refused", tt.param, v)
			}
		}
	}
	// Every String parameter is checked: a pattern or a list of values.
	for name, p := range pathAs[map[string]any](t, tmpl, "Parameters") {
		p := as[map[string]any](t, p, name)
		_, pattern := p["AllowedPattern"]
		_, values := p["AllowedValues"]
		_, lo := p["MinValue"]
		_, hi := p["MaxValue"]
		if !pattern && !values && (!lo || !hi) {
			t.Errorf("parameter %s is not validated: no AllowedPattern, AllowedValues or MinValue and MaxValue", name)
		}
		if pat, ok := p["AllowedPattern"].(string); ok && (!strings.HasPrefix(pat, "^") || !strings.HasSuffix(pat, "$")) {
			t.Errorf("parameter %s AllowedPattern %q is not anchored", name, pat)
		}
		if pat, ok := p["AllowedPattern"].(string); ok {
			regexp.MustCompile(pat)
		}
	}

	// ReservedConcurrency and RetainLogGroup reach their resources.
	got, err := renderStack(t, tmpl, map[string]string{"ReservedConcurrency": "5", "RetainLogGroup": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if got := path(t, got, "Resources", "MetamintFunction", "Properties", "ReservedConcurrentExecutions"); got != "5" {
		t.Errorf("ReservedConcurrentExecutions = %v; want 5", got)
	}
	group := pathAs[map[string]any](t, got, "Resources", "MetamintLogGroup")
	if group["DeletionPolicy"] != "Retain" || group["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("RetainLogGroup=true: MetamintLogGroup DeletionPolicy %v, UpdateReplacePolicy %v; want Retain", group["DeletionPolicy"], group["UpdateReplacePolicy"])
	}
	def, err := renderStack(t, tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pathAs[map[string]any](t, def, "Resources", "MetamintFunction", "Properties")["ReservedConcurrentExecutions"]; ok {
		t.Errorf("ReservedConcurrentExecutions is set by default; want none reserved")
	}
}

// TestTemplateNestedPrefixes checks that the function can never write a
// secret under ReferencedSecretPrefix (an app secret, a minting token), even
// when one prefix lies under the other, which the SeparatePrefixes rule
// (equality only; CloudFormation rules cannot compare prefixes) lets
// through: ManagedSecretPrefix metamint/ with ReferencedSecretPrefix
// metamint/refs/ made every minting token writable by the function's
// ManagedSecrets and StartRotations statements. The policies are evaluated
// by allows, a model of IAM's Allow, explicit Deny and wildcard matching
// for the statements these templates write; IAM itself cannot run here.
func TestTemplateNestedPrefixes(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
	writes := []string{"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage", "secretsmanager:RotateSecret"}
	reads := []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
	tests := []struct {
		name              string
		managed, refs     string
		managedSecret     string
		referencedSecrets []string
		managedWritable   bool
	}{
		{name: "separate", managed: "metamint/", refs: "metamint-refs/", managedSecret: "metamint/ads-AbCdEf",
			referencedSecrets: []string{"metamint-refs/admin-token-MnOpQr"}, managedWritable: true},
		{name: "references under the managed prefix", managed: "metamint/", refs: "metamint/refs/", managedSecret: "metamint/ads-AbCdEf",
			referencedSecrets: []string{"metamint/refs/admin-token-MnOpQr", "metamint/refs/app-secret-GhIjKl"}, managedWritable: true},
		// Fails safe: the function cannot write its own secrets either, so
		// each rotation fails with an access-denied error, loudly.
		{name: "managed under the references prefix", managed: "metamint-refs/managed/", refs: "metamint-refs/",
			managedSecret: "metamint-refs/managed/ads-AbCdEf", referencedSecrets: []string{"metamint-refs/admin-token-MnOpQr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stack, err := renderStack(t, tmpl, map[string]string{"ManagedSecretPrefix": tt.managed, "ReferencedSecretPrefix": tt.refs, "Mode": "fanout"})
			if err != nil {
				t.Fatal(err)
			}
			stmts := functionStatements(t, stack)
			for _, ref := range tt.referencedSecrets {
				for _, a := range writes {
					if allows(stmts, a, arn+ref) {
						t.Errorf("the function's role allows %s on the referenced secret %s", a, ref)
					}
				}
				for _, a := range reads {
					if !allows(stmts, a, arn+ref) {
						t.Errorf("the function's role denies %s on the referenced secret %s", a, ref)
					}
				}
			}
			for _, a := range writes {
				if got := allows(stmts, a, arn+tt.managedSecret); got != tt.managedWritable {
					t.Errorf("the function's role allows %s on the managed secret %s = %v; want %v", a, tt.managedSecret, got, tt.managedWritable)
				}
			}
			// Another tool's secret beside both prefixes: nothing at all.
			for _, a := range append(writes, reads...) {
				if other := arn + "othertool/db-AbCdEf"; allows(stmts, a, other) {
					t.Errorf("the function's role allows %s on %s", a, other)
				}
			}
		})
	}
}

// functionStatements are the statements of every policy a rendered stack
// gives the function's role: its inline policies and FanOutPolicy.
func functionStatements(t *testing.T, stack map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, p := range pathAs[[]any](t, stack, "Resources", "MetamintFunctionRole", "Properties", "Policies") {
		out = append(out, statements(t, path(t, p, "PolicyDocument"))...)
	}
	if fo, ok := pathAs[map[string]any](t, stack, "Resources")["FanOutPolicy"]; ok {
		out = append(out, statements(t, path(t, fo, "Properties", "PolicyDocument"))...)
	}
	return out
}

// allows reports whether statements allow action on resource: some Allow
// statement matches and no Deny statement does. A statement matches when
// one of its Action and one of its Resource patterns match (* and ?, as IAM
// reads them). It knows no Condition, NotAction or NotResource: it fails
// on a secretsmanager statement that has them, so a change that adds one
// is read again rather than evaluated wrongly. Resources that are still
// references (the function's ARN, the log group) match nothing here.
func allows(stmts []map[string]any, action, resource string) bool {
	allowed := false
	for _, s := range stmts {
		if !slices.ContainsFunc(asList(s["Action"]), func(a any) bool { p, _ := a.(string); return wildcardMatch(p, action) }) {
			continue
		}
		if s["Condition"] != nil || s["NotAction"] != nil || s["NotResource"] != nil {
			panic(fmt.Sprintf("allows: statement %v has a condition or a Not element", s["Sid"]))
		}
		if !slices.ContainsFunc(asList(s["Resource"]), func(r any) bool { p, _ := r.(string); return p != "" && wildcardMatch(p, resource) }) {
			continue
		}
		switch s["Effect"] {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

// wildcardMatch matches s against an IAM pattern: * any run of characters,
// ? one character, case-sensitive.
func wildcardMatch(pattern, s string) bool {
	var re strings.Builder
	re.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(s)
}

// TestTemplateDurations checks that every duration the template accepts is
// one cmd/lambda's loadConfig accepts (time.ParseDuration, and above zero
// where the parameter says positive), so a bad value fails the deploy, not
// every cold start. The fault: a duration past Go's limit (2562047h), such
// as RefreshBefore=9999999h, matched the patterns and stopped the function
// with a ConfigError at its first invocation.
func TestTemplateDurations(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	values := []string{"0h", "0s", "0.5h", "6h", "24h", "360h", "90m", "1.5s", "999999h", "99999999m", "999999999s", "0.000000001s",
		"2562047h", "2562048h", "9999999h", "99999999999999999999h", "153722868m", "9223372037s", "1e3h", "1h30m", "1d"}
	for _, param := range []string{"RefreshBefore", "RevokeGrace", "StaleRotationAfter"} {
		positive := param != "RefreshBefore"
		for _, v := range values {
			_, renderErr := renderStack(t, tmpl, map[string]string{param: v})
			d, parseErr := time.ParseDuration(v)
			if renderErr == nil && (parseErr != nil || d < 0 || (positive && d == 0)) {
				t.Errorf("render(%s=%q) accepted it; the function refuses it at cold start (ParseDuration: %v, %v)", param, v, d, parseErr)
			}
		}
		// The usual values still deploy.
		for _, v := range []string{"1h", "0.5h", "0.50h", "30m", "999999h"} {
			if _, err := renderStack(t, tmpl, map[string]string{param: v}); err != nil {
				t.Errorf("render(%s=%q) = %v; want it accepted", param, v, err)
			}
		}
	}
}

// TestTemplateGraphParameters checks that GraphApiUrl and GraphApiVersion
// accept only what the function's own checks (mint.CheckBaseURL,
// mint.CheckVersion) accept, so a bad value fails the deploy rather than
// every cold start. The fault: GraphApiVersion v0.5 or v01.0 matched the
// pattern, and CheckVersion refuses a major version 0 or with a leading 0.
func TestTemplateGraphParameters(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	for _, v := range []string{"v27.0", "v1.0", "v10.99", "v0.1", "v0.0", "v01.0", "v27", "27.0", "v27.0.1", "v27.", "v.0"} {
		if _, err := renderStack(t, tmpl, map[string]string{"GraphApiVersion": v}); err == nil {
			if cerr := mint.CheckVersion(v); cerr != nil {
				t.Errorf("render(GraphApiVersion=%q) accepted it; the function refuses it at cold start: %v", v, cerr)
			}
		}
	}
	for _, v := range []string{"https://graph.facebook.com", "https://graph.facebook.com/", "https://graph.example.com:8443/base",
		"https://h:99999", "https://-", "https://.", "https://graph.facebook.com/v1/~x"} {
		if _, err := renderStack(t, tmpl, map[string]string{"GraphApiUrl": v}); err == nil {
			if _, cerr := mint.CheckBaseURL(v); cerr != nil {
				t.Errorf("render(GraphApiUrl=%q) accepted it; the function refuses it at cold start: %v", v, cerr)
			}
		}
	}
	for param, v := range map[string]string{"GraphApiVersion": "v27.0", "GraphApiUrl": "https://graph.facebook.com"} {
		if _, err := renderStack(t, tmpl, map[string]string{param: v}); err != nil {
			t.Errorf("render(%s=%q) = %v; want it accepted", param, v, err)
		}
	}
}

// TestTemplateBlankSelectors checks that SecretIds and SecretTag made only
// of separators or white space are refused. The fault: SecretIds="," passed
// the SomethingToRotate rule (it is not empty) and created the schedule, and
// every run then failed with no secrets to rotate; SecretTag=" " granted
// ListSecrets and stopped the function at cold start (METAMINT_SECRET_TAG
// names no tag key once trimmed, cmd/lambda's parseSecretTag).
func TestTemplateBlankSelectors(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	for _, tt := range []struct{ param, value string }{
		{"SecretIds", ","}, {"SecretIds", " "}, {"SecretIds", ", ,"},
		{"SecretTag", " "}, {"SecretTag", "\t"}, {"SecretTag", " =yes"}, {"SecretTag", "metamint:managed= "}, {"SecretTag", " metamint:managed"},
	} {
		values := map[string]string{"SecretIds": "", tt.param: tt.value}
		if _, err := render(t, tmpl, values); err == nil {
			t.Errorf("render(%s=%q) succeeded; want it refused", tt.param, tt.value)
		}
	}
	for _, tt := range []struct{ param, value string }{
		{"SecretIds", "metamint/ads"}, {"SecretIds", " metamint/ads, metamint/catalog "}, {"SecretIds", "metamint/ads,"},
		{"SecretTag", "metamint:managed"}, {"SecretTag", "team=ads squad"}, {"SecretTag", "a=b=c"},
	} {
		if _, err := render(t, tmpl, map[string]string{tt.param: tt.value}); err != nil {
			t.Errorf("render(%s=%q) = %v; want it accepted", tt.param, tt.value, err)
		}
	}
}

// TestTemplateDefaultsAreTheFunctions checks that a stack deployed with
// every default gives the function the values it would take with the
// variable unset: the defaults docs/lambda-config.md shows once for both.
// CloudFormation always passes each variable, so a template default that
// drifted from the function's would silently win.
func TestTemplateDefaultsAreTheFunctions(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	got, err := renderStack(t, tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := pathAs[map[string]any](t, got, "Resources", "MetamintFunction", "Properties", "Environment", "Variables")
	durations := map[string]time.Duration{
		"METAMINT_REFRESH_BEFORE":       rotation.DefaultRefreshBefore,
		"METAMINT_REVOKE_GRACE":         rotation.DefaultRevokeGrace,
		"METAMINT_STALE_ROTATION_AFTER": rotation.DefaultStaleAfter,
	}
	for name, want := range durations {
		d, err := time.ParseDuration(as[string](t, env[name], name))
		if err != nil || d != want {
			t.Errorf("%s = %v; want %v, the function's default", name, env[name], want)
		}
	}
	values := map[string]string{
		"METAMINT_GRAPH_API_URL":     mint.DefaultBaseURL,
		"METAMINT_GRAPH_API_VERSION": mint.DefaultVersion,
		"METAMINT_CONCURRENCY":       strconv.Itoa(rotation.DefaultConcurrency),
		"METAMINT_MODE":              string(rotation.Inline),
		// cmd/lambda's defaultWriteRate and its default log level.
		"METAMINT_SECRETS_WRITE_RATE": "25",
		"METAMINT_LOG_LEVEL":          "INFO",
		// stackValues' SecretIds; no tag.
		"METAMINT_SECRET_IDS": "metamint/ads",
		"METAMINT_SECRET_TAG": "",
	}
	for name, want := range values {
		if got := fmt.Sprint(env[name]); got != want {
			t.Errorf("%s = %q; want %q, the function's default", name, got, want)
		}
	}
	if len(env) != len(durations)+len(values) {
		t.Errorf("the function gets %d variables; this test knows %d: add the new one's default here", len(env), len(durations)+len(values))
	}
}
