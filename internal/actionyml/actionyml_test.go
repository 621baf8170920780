package actionyml

import (
	"os"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	n, err := Parse("name: x\ninputs:\n  a-b:\n    description: >-\n      one\n      two\n    default: \"false\"\n  c:\n    default: 'it''s'\n")
	if err != nil {
		t.Fatal(err)
	}
	in, err := Inputs(n)
	if err != nil {
		t.Fatal(err)
	}
	if in["a-b"] != "false" || in["c"] != "it's" {
		t.Errorf("Inputs = %q", in)
	}
	inputs, _ := n["inputs"].(Node)
	ab, _ := inputs["a-b"].(Node)
	if d := ab["description"]; d != "one two" {
		t.Errorf("folded description = %q", d)
	}
	if _, err := Parse("inputs:\n  - a\n"); err == nil {
		t.Error("Parse(a sequence) = nil error; want the line named")
	}
}

func TestRunnerEnv(t *testing.T) {
	t.Parallel()
	declared := map[string]string{"app-id": "", "install-app": "false", "github-api-url": "${{ github.api_url }}"}
	env, err := RunnerEnv(declared, map[string]string{"INPUT_APP-ID": "1", "GITHUB_OUTPUT": "/o"})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"INPUT_APP-ID": "1", "INPUT_INSTALL-APP": "false", "INPUT_GITHUB-API-URL": DefaultGitHubAPIURL, "GITHUB_OUTPUT": "/o"} {
		if env[k] != want {
			t.Errorf("env[%s] = %q; want %q", k, env[k], want)
		}
	}
	env, err = RunnerEnv(declared, map[string]string{"GITHUB_API_URL": "https://ghe.example/api/v3"})
	if err != nil || env["INPUT_GITHUB-API-URL"] != "https://ghe.example/api/v3" {
		t.Errorf("with GITHUB_API_URL: %q, %v; want the job's API URL", env["INPUT_GITHUB-API-URL"], err)
	}
	if _, err := RunnerEnv(declared, map[string]string{"INPUT_APP_ID": "1"}); err == nil || !strings.Contains(err.Error(), "INPUT_APP_ID") {
		t.Errorf("a misspelt input: %v; want an error naming it", err)
	}
	if _, err := RunnerEnv(map[string]string{"x": "${{ github.token }}"}, nil); err == nil {
		t.Error("an expression it cannot evaluate: nil error")
	}
}

// TestActionYML reads the repository's action.yml.
func TestActionYML(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	n, err := Parse(string(b))
	if err != nil {
		t.Fatal(err)
	}
	in, err := Inputs(n)
	if err != nil || len(in) == 0 {
		t.Fatalf("Inputs(action.yml) = %d inputs, %v", len(in), err)
	}
	if _, err := RunnerEnv(in, nil); err != nil {
		t.Errorf("RunnerEnv(action.yml) = %v", err)
	}
}

// TestParseBlockScalars: a literal block (|) keeps its line breaks and a
// folded one (>) joins its lines with spaces; both keep one final line
// break, which the strip indicator (>-, |-) removes, as YAML reads them. A
// literal default read as folded would give the program a value no runner
// passes.
func TestParseBlockScalars(t *testing.T) {
	t.Parallel()
	n, err := Parse("a: |\n  one\n  two\nb: |-\n  one\n  two\nc: >\n  one\n  two\nd: >-\n  one\n  two\ne: x\n")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"a": "one\ntwo\n", "b": "one\ntwo", "c": "one two\n", "d": "one two", "e": "x"} {
		if n[k] != want {
			t.Errorf("Parse()[%q] = %q; want %q", k, n[k], want)
		}
	}
}

// TestParseRefusesTrailingComments: a comment after a value (which YAML
// drops) or a quoted value with text after its closing quote is refused,
// naming its line, rather than read into the value: a default read with
// its comment would give the program a value no runner passes.
func TestParseRefusesTrailingComments(t *testing.T) {
	t.Parallel()
	for _, text := range []string{
		"a:\n  default: \"false\" # off\n",
		"a:\n  default: 'false' # off\n",
		"a:\n  default: false # off\n",
		"a:\n  default: \"x\" y\n",
		"a:\n  default: '\n",
	} {
		if n, err := Parse(text); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("Parse(%q) = %q, %v; want an error naming line 2", text, n, err)
		}
	}
	if n, err := Parse("a: \"x # y\"\nb: c#d\n"); err != nil || n["a"] != "x # y" || n["b"] != "c#d" {
		t.Errorf("Parse(a # inside quotes, a # without a space before) = %q, %v; want both kept", n, err)
	}
}
