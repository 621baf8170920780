package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLambdaConfigDocs checks docs/lambda-config.md's table of parameters
// against the template: every parameter is documented, with the
// template's default and the environment variable it sets (none when the
// cell is empty), and the range of a number parameter ("1 to 64"). An
// empty default cell, or "empty", is the empty string.
func TestLambdaConfigDocs(t *testing.T) {
	t.Parallel()
	tmpl := loadTemplate(t, lambdaTemplate)
	b, err := os.ReadFile(filepath.Join("..", "docs", "lambda-config.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	start := slices.Index(lines, "| parameter | variable | default | meaning |")
	if start < 0 {
		t.Fatal("docs/lambda-config.md has no table of parameters")
	}
	code := func(cell string) string {
		if cell == "" || cell == "empty" {
			return ""
		}
		inner, ok := strings.CutPrefix(cell, "`")
		if v, ok2 := strings.CutSuffix(inner, "`"); ok && ok2 && !strings.Contains(v, "`") {
			return v
		}
		t.Errorf("docs/lambda-config.md: cell %q is not empty, \"empty\" or one code span", cell)
		return cell
	}
	type param struct{ Variable, Default string }
	documented := map[string]param{}
	meaning := map[string]string{}
	for _, l := range lines[start+2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) < 4 || cells[0] == "" {
			continue // a variable the template does not set
		}
		documented[code(cells[0])] = param{Variable: code(cells[1]), Default: code(cells[2])}
		meaning[code(cells[0])] = cells[3]
	}

	env := pathAs[map[string]any](t, tmpl, "Resources", "MetamintFunction", "Properties", "Environment", "Variables")
	variableOf := map[string]string{}
	for name, v := range env {
		m, _ := v.(map[string]any)
		if ref, ok := m["Ref"].(string); ok {
			variableOf[ref] = name
		}
	}
	declared := map[string]param{}
	for name, v := range pathAs[map[string]any](t, tmpl, "Parameters") {
		spec := as[map[string]any](t, v, "template: Parameters."+name)
		def := ""
		if d, ok := spec["Default"]; ok {
			def = fmt.Sprint(d)
		}
		declared[name] = param{Variable: variableOf[name], Default: def}
		lo, okLo := spec["MinValue"]
		hi, okHi := spec["MaxValue"]
		if r := fmt.Sprintf("%v to %v", lo, hi); okLo && okHi && !strings.Contains(meaning[name], r) {
			t.Errorf("docs/lambda-config.md: the meaning of %s, %q, does not give its range %s", name, meaning[name], r)
		}
	}
	if diff := cmp.Diff(declared, documented); diff != "" {
		t.Errorf("docs/lambda-config.md parameters differ from deploy/template.yaml's (-template +docs):\n%s", diff)
	}
}
