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
// managed secrets, GetSecretValue alone on the referenced ones, nothing on
// "*", no wildcard action, and no RotateSecret.
func TestTemplatePolicy(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t)
	policies := path(t, tmpl, "Resources", "MetamintFunction", "Properties", "Policies").([]any)
	if len(policies) != 1 {
		t.Fatalf("Policies has %d entries; want one inline policy", len(policies))
	}
	stmts := path(t, policies[0], "Statement").([]any)
	bySid := map[string]map[string]any{}
	for _, s := range stmts {
		m, ok := s.(map[string]any)
		if !ok {
			continue
		}
		if cond, ok := m["Fn::If"].([]any); ok { // the optional KMS statement
			m = cond[1].(map[string]any)
		}
		sid, _ := m["Sid"].(string)
		bySid[sid] = m
		for _, a := range m["Action"].([]any) {
			if s := a.(string); strings.Contains(s, "*") || s == "secretsmanager:RotateSecret" {
				t.Errorf("statement %s allows %s", sid, s)
			}
		}
		if m["Resource"] == "*" {
			t.Errorf("statement %s applies to every resource", sid)
		}
	}
	want := map[string][]any{
		"ManagedSecrets":    {"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"},
		"ReferencedSecrets": {"secretsmanager:GetSecretValue"},
		"SecretsKey":        {"kms:Decrypt", "kms:GenerateDataKey"},
	}
	for sid, actions := range want {
		if diff := cmp.Diff(actions, bySid[sid]["Action"]); diff != "" {
			t.Errorf("statement %s actions (-want +got):\n%s", sid, diff)
		}
	}
	for sid, prefix := range map[string]string{"ManagedSecrets": "${ManagedSecretPrefix}*", "ReferencedSecrets": "${ReferencedSecretPrefix}*"} {
		res, _ := json.Marshal(bySid[sid]["Resource"])
		if !strings.Contains(string(res), ":secret:"+prefix) {
			t.Errorf("statement %s resource = %s; want the secrets under %s", sid, res, prefix)
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
