package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var templatePath = filepath.Join("..", "..", "deploy", "template.yaml")

// loadTemplate reads deploy/template.yaml into JSON form (short-form tags
// become {"Ref": ...}, {"Fn::Sub": ...}) with cfn-lint's own decoder, the one
// cfn-lint checks it with. Only the standard library reads the result.
func loadTemplate(t *testing.T) map[string]any {
	t.Helper()
	decoded.once.Do(func() { decoded.json, decoded.err = decodeTemplate() })
	if decoded.err != nil {
		t.Fatal(decoded.err)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(decoded.json, &tmpl); err != nil {
		t.Fatalf("decoding %s: %v", templatePath, err)
	}
	return tmpl
}

var decoded struct {
	once sync.Once
	json []byte
	err  error
}

func decodeTemplate() ([]byte, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, fmt.Errorf("python3 is not on PATH (%v): the template tests read YAML through cfn-lint's decoder; install cfn-lint (`make tools` checks for it)", err)
	}
	const script = `
import json, sys
try:
    from cfnlint.decode import decode
except ImportError as e:
    sys.exit("cfn-lint's Python package is not importable from python3 (%s): install cfn-lint (make tools checks for it)" % e)
template, matches = decode(sys.argv[1])
if matches:
    sys.exit("decoding %s: %s" % (sys.argv[1], matches))
json.dump(template, sys.stdout)
`
	out, err := exec.Command(py, "-c", script, templatePath).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return nil, fmt.Errorf("decoding %s: %v\n%s", templatePath, err, stderr)
	}
	return out, nil
}

// path walks a decoded template: path(m, "Resources", "X", "Properties").
func path(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("template: %s: not an object", strings.Join(keys, "."))
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("template: %s: %q missing", strings.Join(keys, "."), k)
		}
	}
	return v
}

func TestTemplateLint(t *testing.T) {
	t.Parallel()
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint is not on PATH (%v): install it (`make tools` checks for it)", err)
	}
	out, err := exec.Command(lint, templatePath).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint %s: %v\n%s", templatePath, err, out)
	}
}

func TestTemplateFunction(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	if got := path(t, tmpl, "Transform"); got != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform = %v; want the SAM transform", got)
	}
	fn := path(t, tmpl, "Resources", "MetamintFunction").(map[string]any)
	props := path(t, fn, "Properties").(map[string]any)
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
	arch := path(t, tmpl, "Parameters", "Architecture").(map[string]any)
	if arch["Default"] != "arm64" || !cmp.Equal(arch["AllowedValues"], []any{"arm64", "x86_64"}) {
		t.Errorf("Architecture parameter = %v; want default arm64, arm64 or x86_64", arch)
	}

	// The environment is exactly what loadConfig reads.
	var read []string
	_, _ = loadConfig(func(k string) string { read = append(read, k); return "" })
	var vars []string
	for k := range path(t, props, "Environment", "Variables").(map[string]any) {
		vars = append(vars, k)
	}
	slices.Sort(read)
	slices.Sort(vars)
	if diff := cmp.Diff(read, vars); diff != "" {
		t.Errorf("Environment.Variables vs what loadConfig reads (-read +template):\n%s", diff)
	}

	// The scheduled input is a direct event the handler accepts.
	ev := path(t, props, "Events", "Refresh").(map[string]any)
	if ev["Type"] != "ScheduleV2" {
		t.Errorf("Events.Refresh.Type = %v; want ScheduleV2 (EventBridge Scheduler)", ev["Type"])
	}
	input, _ := path(t, ev, "Properties", "Input").(string)
	if got, err := parseEvent([]byte(input)); err != nil || got.trigger != triggerDirect {
		t.Errorf("Events.Refresh.Input %q: parseEvent = %+v, %v; want a direct event", input, got, err)
	}

	// The Makefile has the target sam build runs.
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	target := regexp.MustCompile(`(?m)^build-MetamintFunction:\n((?:\t.*\n)+)`).FindSubmatch(mk)
	if target == nil {
		t.Fatalf("Makefile has no build-MetamintFunction target")
	}
	for _, want := range []string{"lambda.norpc", "$(ARTIFACTS_DIR)/bootstrap", "GOOS=linux", "CGO_ENABLED=0", "./cmd/lambda"} {
		if !strings.Contains(string(target[1]), want) {
			t.Errorf("build-MetamintFunction does not mention %s", want)
		}
	}
}

// TestTemplatePolicy checks least privilege: the four rotation calls on the
// managed secrets, GetSecretValue alone on the referenced ones, no wildcard
// action, ListSecrets (which takes no resource) only with a tag filter, and
// no RotateSecret outside the fan-out policy.
func TestTemplatePolicy(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	policies := path(t, tmpl, "Resources", "MetamintFunction", "Properties", "Policies").([]any)
	if len(policies) != 1 {
		t.Fatalf("Policies has %d entries; want one inline policy", len(policies))
	}
	stmts := path(t, policies[0], "Statement").([]any)
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
			cond, m = f[0], f[1].(map[string]any)
		}
		sid, _ := m["Sid"].(string)
		bySid[sid], condition[sid] = m, cond
		for _, a := range m["Action"].([]any) {
			if s := a.(string); strings.Contains(s, "*") || s == "secretsmanager:RotateSecret" {
				t.Errorf("statement %s allows %s", sid, s)
			}
		}
		if m["Resource"] == "*" && sid != "ListTaggedSecrets" {
			t.Errorf("statement %s applies to every resource", sid)
		}
	}
	want := map[string][]any{
		"ManagedSecrets":    {"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"},
		"ReferencedSecrets": {"secretsmanager:GetSecretValue"},
		"SecretsKey":        {"kms:Decrypt", "kms:GenerateDataKey"},
		"ListTaggedSecrets": {"secretsmanager:ListSecrets"},
	}
	for sid, actions := range want {
		if diff := cmp.Diff(actions, bySid[sid]["Action"]); diff != "" {
			t.Errorf("statement %s actions (-want +got):\n%s", sid, diff)
		}
	}
	wantCondition := map[string]any{"ManagedSecrets": nil, "ReferencedSecrets": nil, "SecretsKey": "HasKmsKey", "ListTaggedSecrets": "HasSecretTag"}
	if diff := cmp.Diff(wantCondition, condition); diff != "" {
		t.Errorf("statement conditions (-want +got):\n%s", diff)
	}
	for sid, prefix := range map[string]string{"ManagedSecrets": "${ManagedSecretPrefix}*", "ReferencedSecrets": "${ReferencedSecretPrefix}*"} {
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
	tmpl := loadTemplate(t)
	pol := path(t, tmpl, "Resources", "FanOutPolicy").(map[string]any)
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

	// The Mode and SecretTag parameters accept what loadConfig accepts.
	mode := path(t, tmpl, "Parameters", "Mode").(map[string]any)
	def, _ := loadConfig(func(string) string { return "" })
	if mode["Default"] != def.mode {
		t.Errorf("Mode default = %v; want %s, as METAMINT_MODE's", mode["Default"], def.mode)
	}
	for _, v := range mode["AllowedValues"].([]any) {
		if cfg, err := loadConfig(func(k string) string {
			if k == "METAMINT_MODE" {
				return v.(string)
			}
			return ""
		}); err != nil || cfg.mode != v {
			t.Errorf("loadConfig(METAMINT_MODE=%v) = %v, %v; want the mode", v, cfg.mode, err)
		}
	}
	pattern := regexp.MustCompile(path(t, tmpl, "Parameters", "SecretTag", "AllowedPattern").(string))
	for _, v := range []string{"", "metamint:managed", "metamint:managed=yes", "a=b=c", "=yes", "metamint:managed=", strings.Repeat("k", 129)} {
		_, err := parseSecretTag(v)
		if got, want := pattern.MatchString(v), v == "" || err == nil; got != want {
			t.Errorf("SecretTag AllowedPattern matches %q = %v; want %v (parseSecretTag: %v)", v, got, want, err)
		}
	}
}

func TestTemplateRotation(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	perm := path(t, tmpl, "Resources", "SecretsManagerInvokePermission").(map[string]any)
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
	rs := path(t, tmpl, "Resources", "RotationSchedule").(map[string]any)
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
	if _, ok := path(t, rs, "Properties", "RotationRules").(map[string]any)["ScheduleExpression"]; !ok {
		t.Errorf("RotationRules has no ScheduleExpression")
	}
}
