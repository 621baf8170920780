// Package actionyml reads action.yml as the runner does for the program:
// the inputs it declares and their defaults, and the environment a step
// gets from them. The action's tests and the benchmarks start the action
// with it, so that both run it as a runner runs it.
package actionyml

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Node is a mapping Parse read: nested Nodes and string values.
type Node map[string]any

// Parse reads the block-mapping subset of YAML action.yml uses: nested
// "key: value" lines, quoted and plain scalars, and folded (>-, >) or
// literal (|-, |) block scalars. It fails on anything else, so that a reader
// notices when action.yml outgrows it.
func Parse(text string) (Node, error) {
	root := Node{}
	type level struct {
		indent int
		node   Node
	}
	stack := []level{{-1, root}}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		raw := lines[i]
		trimmed := strings.TrimSpace(raw)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(raw) - len(strings.TrimLeft(raw, " "))
		key, val, ok := strings.Cut(trimmed, ":")
		if !ok || strings.HasPrefix(trimmed, "- ") {
			return nil, fmt.Errorf("action.yml line %d: %q is not a key: value line", i+1, raw)
		}
		for stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		parent := stack[len(stack)-1].node
		val = strings.TrimSpace(val)
		switch val {
		case "":
			child := Node{}
			parent[key] = child
			stack = append(stack, level{indent, child})
		case ">-", ">", "|-", "|":
			var block []string
			for i+1 < len(lines) {
				next := lines[i+1]
				nextIndent := len(next) - len(strings.TrimLeft(next, " "))
				if strings.TrimSpace(next) != "" && nextIndent <= indent {
					break
				}
				block = append(block, next)
				i++
			}
			parent[key] = blockScalar(val, block)
		default:
			v, err := scalar(val)
			if err != nil {
				return nil, fmt.Errorf("action.yml line %d: %q: %v", i+1, raw, err)
			}
			parent[key] = v
		}
	}
	return root, nil
}

// blockScalar is the value of a block scalar whose header is header (>-,
// >, |- or |) and whose lines follow it: without the block's indentation
// (its first line's that is not empty), joined with line breaks (|) or folded into spaces
// (>, where an empty line is a line break), with one final line break
// unless the header ends in "-" (strip).
func blockScalar(header string, block []string) string {
	for len(block) > 0 && strings.TrimSpace(block[len(block)-1]) == "" {
		block = block[:len(block)-1]
	}
	if len(block) == 0 {
		return ""
	}
	indentOf := func(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }
	indent := -1
	lines := make([]string, len(block))
	for i, l := range block {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if indent < 0 {
			indent = indentOf(l)
		}
		lines[i] = strings.TrimRight(l[min(indent, indentOf(l)):], " \t")
	}
	var b strings.Builder
	for i, l := range lines {
		switch {
		case header[0] == '|' && i > 0:
			b.WriteString("\n" + l)
		case header[0] == '|' || i == 0:
			b.WriteString(l)
		case l == "":
			b.WriteString("\n")
		case lines[i-1] != "":
			b.WriteString(" " + l)
		default:
			b.WriteString(l)
		}
	}
	if !strings.HasSuffix(header, "-") {
		b.WriteString("\n")
	}
	return b.String()
}

// scalar reads a quoted or plain scalar. A comment after it, or text
// after a quoted one's closing quote, is an error: this subset does not
// read them.
func scalar(v string) (string, error) {
	switch {
	case strings.HasPrefix(v, `"`):
		var s string
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			return "", fmt.Errorf("not one double-quoted string (text or a comment after it?)")
		}
		return s, nil
	case strings.HasPrefix(v, `'`):
		body := v[1:]
		end := strings.Index(strings.ReplaceAll(body, "''", "\x00\x00"), "'")
		if end < 0 || end != len(body)-1 {
			return "", fmt.Errorf("not one single-quoted string (text or a comment after it?)")
		}
		return strings.ReplaceAll(body[:end], "''", "'"), nil
	case strings.Contains(v, " #"):
		return "", fmt.Errorf("a comment after a value, which this subset does not read")
	}
	return v, nil
}

// Inputs returns the inputs the parsed action.yml declares, each with its
// default ("" for none).
func Inputs(meta Node) (map[string]string, error) {
	in, ok := meta["inputs"].(Node)
	if !ok {
		return nil, fmt.Errorf("action.yml declares no inputs")
	}
	out := map[string]string{}
	for name, v := range in {
		spec, ok := v.(Node)
		if !ok {
			return nil, fmt.Errorf("action.yml input %q is not a mapping", name)
		}
		def, _ := spec["default"].(string)
		out[name] = def
	}
	return out, nil
}

// Env is the environment variable the runner passes input name in: INPUT_
// and the name upper-cased, spaces turned into underscores, hyphens kept.
func Env(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// DefaultGitHubAPIURL is what ${{ github.api_url }} evaluates to on
// GitHub.com.
const DefaultGitHubAPIURL = "https://api.github.com"

// Default returns the value the runner passes for input name's default
// def: an expression is evaluated first, as the runner does. The only one
// action.yml uses is ${{ github.api_url }}, the job's GITHUB_API_URL (from
// given when it sets it); any other is an error, so that a new one is
// evaluated here too.
func Default(name, def string, given map[string]string) (string, error) {
	if !strings.Contains(def, "${{") {
		return def, nil
	}
	if strings.TrimSpace(def) != "${{ github.api_url }}" {
		return "", fmt.Errorf("input %s has the default %q, an expression this package cannot evaluate", name, def)
	}
	if u := given["GITHUB_API_URL"]; u != "" {
		return u, nil
	}
	return DefaultGitHubAPIURL, nil
}

// RunnerEnv returns the environment the runner gives the program: every
// input declared (Inputs) with its default evaluated (Default) as its
// value, "false" being a value the runner passes and an input without a
// default passed empty, then given on top. A key of given that starts with
// INPUT_ but names no declared input is an error: a misspelt input would
// otherwise test nothing.
func RunnerEnv(declared, given map[string]string) (map[string]string, error) {
	env := map[string]string{}
	names := map[string]bool{}
	for name, def := range declared {
		v, err := Default(name, def, given)
		if err != nil {
			return nil, err
		}
		env[Env(name)] = v
		names[Env(name)] = true
	}
	for _, k := range slices.Sorted(maps.Keys(given)) {
		if strings.HasPrefix(k, "INPUT_") && !names[k] {
			return nil, fmt.Errorf("%s is not an input action.yml declares", k)
		}
		env[k] = given[k]
	}
	return env, nil
}
