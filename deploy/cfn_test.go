package deploy_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The templates under test, relative to this package's directory.
const (
	lambdaTemplate = "template.yaml"
	oidcTemplate   = "github-oidc.yaml"
)

// loadTemplate reads a template into JSON form (short-form tags become
// {"Ref": ...}, {"Fn::Sub": ...}) with cfn-lint's own decoder, the one
// cfn-lint checks it with. Only the standard library reads the result. Each
// call returns a fresh copy, so tests may change it.
func loadTemplate(t *testing.T, name string) map[string]any {
	t.Helper()
	decodedMu.Lock()
	d, ok := decoded[name]
	if !ok {
		d = sync.OnceValues(func() ([]byte, error) { return decodeTemplate(name) })
		decoded[name] = d
	}
	decodedMu.Unlock()
	raw, err := d()
	if err != nil {
		t.Fatal(err)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	return tmpl
}

var (
	decodedMu sync.Mutex
	decoded   = map[string]func() ([]byte, error){}
)

func decodeTemplate(name string) ([]byte, error) {
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
	out, err := exec.Command(py, "-c", script, name).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return nil, fmt.Errorf("decoding %s: %v\n%s", name, err, stderr)
	}
	return out, nil
}

// path walks a decoded template: path(t, m, "Resources", "X", "Properties").
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

// pathAs is path for a value of type T: the test fails, naming the path, when
// the template holds something else there.
func pathAs[T any](t *testing.T, v any, keys ...string) T {
	t.Helper()
	return as[T](t, path(t, v, keys...), "template: "+strings.Join(keys, "."))
}

// as returns v as a T, or fails the test saying what v, named what, is.
func as[T any](t *testing.T, v any, what string) T {
	t.Helper()
	x, ok := v.(T)
	if !ok {
		t.Fatalf("%s: is %T (%v); want %T", what, v, v, x)
	}
	return x
}

// Pseudo parameters of a rendered stack.
var pseudo = map[string]string{
	"AWS::Region":    "eu-west-1",
	"AWS::Partition": "aws",
	"AWS::AccountId": "123456789012",
	"AWS::StackName": "metamint",
}

// render does what CloudFormation does with a template and parameter values
// before it creates resources, as far as these templates need: it checks
// the values against each parameter's Type, AllowedValues, AllowedPattern,
// MinValue and MaxValue and the template's Rules; resolves Ref to
// parameters and pseudo parameters, Fn::Sub of them, Fn::If, Fn::Equals,
// Fn::Not, Fn::And, Fn::Or and Condition; drops AWS::NoValue and the
// resources and outputs whose Condition is false. References to resources
// (Ref, Fn::GetAtt, ${Resource} in Fn::Sub) stay as they are. A parameter
// without a Default must be given. Values are strings, as on the command
// line; a CommaDelimitedList becomes a list of strings.
func render(t *testing.T, tmpl map[string]any, values map[string]string) (map[string]any, error) {
	t.Helper()
	return renderAs(t, tmpl, values, pseudo["AWS::StackName"])
}

// renderAs is render of a stack named stack.
func renderAs(t *testing.T, tmpl map[string]any, values map[string]string, stack string) (map[string]any, error) {
	t.Helper()
	r := renderer{params: map[string]any{}, conds: map[string]any{}, done: map[string]bool{}, pseudo: maps.Clone(pseudo)}
	r.pseudo["AWS::StackName"] = stack
	params, _ := tmpl["Parameters"].(map[string]any)
	for k := range values {
		if _, ok := params[k]; !ok {
			t.Fatalf("render: the template has no parameter %s", k)
		}
	}
	for name, p := range params {
		p := as[map[string]any](t, p, "template: Parameters."+name)
		v, ok := values[name]
		if !ok {
			def, ok := p["Default"]
			if !ok {
				return nil, fmt.Errorf("parameter %s has no Default and no value", name)
			}
			v = scalar(def)
		}
		val, err := checkParameter(name, p, v)
		if err != nil {
			return nil, err
		}
		r.params[name] = val
	}
	if c, ok := tmpl["Conditions"].(map[string]any); ok {
		r.conds = c
	}
	rules, _ := tmpl["Rules"].(map[string]any)
	for name, rule := range rules {
		rule := as[map[string]any](t, rule, "template: Rules."+name)
		if cond, ok := rule["RuleCondition"]; ok && !r.truth(cond) {
			continue
		}
		for _, a := range as[[]any](t, rule["Assertions"], "template: Rules."+name+".Assertions") {
			a := as[map[string]any](t, a, "template: Rules."+name+".Assertions[]")
			if !r.truth(a["Assert"]) {
				return nil, fmt.Errorf("rule %s: %v", name, a["AssertDescription"])
			}
		}
	}
	out := map[string]any{}
	for _, section := range []string{"Resources", "Outputs"} {
		sec, _ := tmpl[section].(map[string]any)
		res := map[string]any{}
		for name, v := range sec {
			m := as[map[string]any](t, v, "template: "+section+"."+name)
			if c, ok := m["Condition"].(string); ok && !r.truth(map[string]any{"Condition": c}) {
				continue
			}
			if e, ok := r.eval(v); ok {
				res[name] = e
			}
		}
		out[section] = res
	}
	return out, r.err
}

// scalar is a decoded YAML scalar as CloudFormation passes it: a string.
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	panic(fmt.Sprintf("scalar(%T %v)", v, v))
}

func checkParameter(name string, p map[string]any, v string) (any, error) {
	items := []string{v}
	var val any = v
	switch p["Type"] {
	case "String":
	case "Number":
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %q is not a number", name, v)
		}
		if lo, ok := p["MinValue"].(float64); ok && n < lo {
			return nil, fmt.Errorf("parameter %s: %v is below MinValue %v", name, n, lo)
		}
		if hi, ok := p["MaxValue"].(float64); ok && n > hi {
			return nil, fmt.Errorf("parameter %s: %v is above MaxValue %v", name, n, hi)
		}
	case "CommaDelimitedList":
		items = strings.Split(v, ",")
		list := make([]any, len(items))
		for i, s := range items {
			list[i] = s
		}
		val = list
	default:
		return nil, fmt.Errorf("parameter %s: render does not know Type %v", name, p["Type"])
	}
	if allowed, ok := p["AllowedValues"].([]any); ok {
		if !slices.ContainsFunc(allowed, func(a any) bool { return scalar(a) == v }) {
			return nil, fmt.Errorf("parameter %s: %q is not one of AllowedValues", name, v)
		}
	}
	if pat, ok := p["AllowedPattern"].(string); ok {
		re := regexp.MustCompile(pat)
		for _, s := range items { // each value of a list, as CloudFormation does
			if !re.MatchString(s) {
				return nil, fmt.Errorf("parameter %s: %q does not match AllowedPattern %s", name, s, pat)
			}
		}
	}
	return val, nil
}

type renderer struct {
	params map[string]any
	conds  map[string]any
	done   map[string]bool // conditions being evaluated, against loops
	pseudo map[string]string
	err    error
}

func (r *renderer) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

// truth evaluates a condition expression.
func (r *renderer) truth(v any) bool {
	got, _ := r.eval(v)
	b, ok := got.(bool)
	if !ok {
		r.fail("condition %v is not a boolean: %v", v, got)
	}
	return b
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// eval resolves v; ok is false for AWS::NoValue.
func (r *renderer) eval(v any) (_ any, ok bool) {
	switch v := v.(type) {
	case []any:
		out := []any{}
		for _, e := range v {
			if got, ok := r.eval(e); ok {
				out = append(out, got)
			}
		}
		return out, true
	case map[string]any:
		if len(v) == 1 {
			for fn, arg := range v {
				if got, ok, handled := r.intrinsic(fn, arg); handled {
					return got, ok
				}
			}
		}
		out := map[string]any{}
		for k, e := range v {
			if got, ok := r.eval(e); ok {
				out[k] = got
			}
		}
		return out, true
	}
	return v, true
}

func (r *renderer) intrinsic(fn string, arg any) (_ any, ok, handled bool) {
	args, _ := arg.([]any)
	switch fn {
	case "Ref":
		name, isName := arg.(string)
		if !isName {
			r.fail("Ref %v: want a name", arg)
			return nil, false, true
		}
		if name == "AWS::NoValue" {
			return nil, false, true
		}
		if p, ok := r.params[name]; ok {
			return p, true, true
		}
		if p, ok := r.pseudo[name]; ok {
			return p, true, true
		}
		return map[string]any{"Ref": name}, true, true // a resource
	case "Condition":
		name, isName := arg.(string)
		if !isName {
			r.fail("Condition %v: want a name", arg)
			return false, true, true
		}
		c, ok := r.conds[name]
		if !ok || r.done[name] {
			r.fail("condition %s: undefined or circular", name)
			return false, true, true
		}
		r.done[name] = true
		defer delete(r.done, name)
		return r.truth(c), true, true
	case "Fn::If":
		if r.truth(map[string]any{"Condition": args[0]}) {
			got, ok := r.eval(args[1])
			return got, ok, true
		}
		got, ok := r.eval(args[2])
		return got, ok, true
	case "Fn::Equals":
		a, _ := r.eval(args[0])
		b, _ := r.eval(args[1])
		return cmp.Equal(a, b), true, true
	case "Fn::Not":
		return !r.truth(args[0]), true, true
	case "Fn::And", "Fn::Or":
		and := fn == "Fn::And"
		result := and
		for _, a := range args {
			if r.truth(a) != and {
				result = !and
			}
		}
		return result, true, true
	case "Fn::Sub":
		s, ok := arg.(string)
		if !ok {
			r.fail("render: Fn::Sub with a variable map is not supported: %v", arg)
			return arg, true, true
		}
		resolved := subVar.ReplaceAllStringFunc(s, func(m string) string {
			name := m[2 : len(m)-1]
			if p, ok := r.params[name]; ok {
				if str, ok := p.(string); ok {
					return str
				}
				r.fail("Fn::Sub %q: parameter %s is a list", s, name)
			}
			if p, ok := r.pseudo[name]; ok {
				return p
			}
			return m // a resource or attribute: left for CloudFormation
		})
		if subVar.MatchString(resolved) {
			return map[string]any{"Fn::Sub": resolved}, true, true
		}
		return resolved, true, true
	}
	return nil, false, false
}

// statements returns the statements of an IAM policy document, failing on
// a document that is not one.
func statements(t *testing.T, doc any) []map[string]any {
	t.Helper()
	d, ok := doc.(map[string]any)
	if !ok || d["Version"] != "2012-10-17" {
		t.Fatalf("policy document %v: want an object with Version 2012-10-17", doc)
	}
	list, ok := d["Statement"].([]any)
	if !ok {
		t.Fatalf("policy document: Statement is %T; want a list", d["Statement"])
	}
	var out []map[string]any
	for _, s := range list {
		m, ok := s.(map[string]any)
		if !ok {
			t.Fatalf("policy statement %v: not an object", s)
		}
		out = append(out, m)
	}
	return out
}

func TestRender(t *testing.T) {
	t.Parallel()
	// The renderer is itself checked, so a test cannot pass because it
	// ignored what CloudFormation would do.
	tmpl := map[string]any{
		"Parameters": map[string]any{
			"S": map[string]any{"Type": "String", "Default": "", "AllowedPattern": "^[a-z]*$"},
			"N": map[string]any{"Type": "Number", "Default": float64(5), "MinValue": float64(1), "MaxValue": float64(9)},
			"L": map[string]any{"Type": "CommaDelimitedList", "AllowedPattern": "^x[0-9]$"},
		},
		"Rules": map[string]any{"R": map[string]any{"Assertions": []any{map[string]any{
			"Assert":            map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "S"}, "bad"}}}},
			"AssertDescription": "S is not bad",
		}}}},
		"Conditions": map[string]any{
			"HasS":  map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "S"}, ""}}}},
			"Both":  map[string]any{"Fn::And": []any{map[string]any{"Condition": "HasS"}, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "N"}, "5"}}}},
			"Other": map[string]any{"Fn::Or": []any{map[string]any{"Condition": "HasS"}, map[string]any{"Fn::Equals": []any{"a", "b"}}}},
		},
		"Resources": map[string]any{
			"A": map[string]any{"Type": "T", "Properties": map[string]any{
				"Name": map[string]any{"Fn::Sub": "${S}-${AWS::Region}-${B.Arn}"},
				"List": map[string]any{"Ref": "L"},
				"Opt":  map[string]any{"Fn::If": []any{"Both", "yes", map[string]any{"Ref": "AWS::NoValue"}}},
				"Or":   map[string]any{"Fn::If": []any{"Other", "yes", "no"}},
				"Ref":  map[string]any{"Ref": "B"},
			}},
			"B": map[string]any{"Type": "T", "Condition": "HasS"},
		},
	}
	tests := []struct {
		name    string
		values  map[string]string
		want    map[string]any
		wantErr string
	}{
		{name: "defaults", values: map[string]string{"L": "x1,x2"}, want: map[string]any{
			"A": map[string]any{"Type": "T", "Properties": map[string]any{
				"Name": map[string]any{"Fn::Sub": "-eu-west-1-${B.Arn}"}, "List": []any{"x1", "x2"}, "Or": "no", "Ref": map[string]any{"Ref": "B"},
			}},
		}},
		{name: "set", values: map[string]string{"L": "x1", "S": "abc"}, want: map[string]any{
			"A": map[string]any{"Type": "T", "Properties": map[string]any{
				"Name": map[string]any{"Fn::Sub": "abc-eu-west-1-${B.Arn}"}, "List": []any{"x1"}, "Opt": "yes", "Or": "yes", "Ref": map[string]any{"Ref": "B"},
			}},
			"B": map[string]any{"Type": "T", "Condition": "HasS"},
		}},
		{name: "missing list", wantErr: "parameter L has no Default"},
		{name: "list item", values: map[string]string{"L": "x1,y"}, wantErr: `parameter L: "y" does not match`},
		{name: "pattern", values: map[string]string{"L": "x1", "S": "A"}, wantErr: `parameter S: "A" does not match`},
		{name: "number", values: map[string]string{"L": "x1", "N": "10"}, wantErr: "above MaxValue"},
		{name: "rule", values: map[string]string{"L": "x1", "S": "bad"}, wantErr: "rule R: S is not bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := render(t, tmpl, tt.values)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("render(%v) = %v; want an error containing %q", tt.values, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("render(%v) = %v", tt.values, err)
			}
			if diff := cmp.Diff(tt.want, got["Resources"]); diff != "" {
				t.Errorf("render(%v) resources (-want +got):\n%s", tt.values, diff)
			}
		})
	}
	if _, err := render(t, map[string]any{"Conditions": map[string]any{"C": map[string]any{"Condition": "C"}},
		"Resources": map[string]any{"X": map[string]any{"Condition": "C"}}}, nil); err == nil || !strings.Contains(err.Error(), "circular") {
		t.Errorf("render of a circular condition = %v; want an error", err)
	}
}
