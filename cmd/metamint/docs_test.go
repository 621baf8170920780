package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// cliDocSection returns the part of docs/cli.md that documents command
// name: its "### " section (one heading may name several commands), or
// "## The emulator" for emulator, and the "## Commands" introduction, which
// documents the flags every Graph command takes.
func cliDocSection(t *testing.T, doc, name string) (section, intro string) {
	t.Helper()
	var cur string
	var inSection, inIntro bool
	var sb, ib strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "#") {
			cur = line
			inSection = strings.HasPrefix(cur, "### ") && strings.Contains(cur, "`"+name+"`") ||
				name == "emulator" && cur == "## The emulator"
			inIntro = cur == "## Commands"
			continue
		}
		if inSection {
			sb.WriteString(line + "\n")
		}
		if inIntro {
			ib.WriteString(line + "\n")
		}
	}
	if sb.Len() == 0 {
		t.Fatalf("docs/cli.md has no section for the command %s", name)
	}
	return sb.String(), ib.String()
}

// docFlag matches a flag named in docs/cli.md.
var docFlag = regexp.MustCompile(`(?:^|[^A-Za-z0-9-])--([a-z][a-z-]*[a-z])`)

// namedFlags returns the flags text names.
func namedFlags(text string) []string {
	var out []string
	for _, m := range docFlag.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestCLIDocsFlags checks docs/cli.md against the flags the commands
// register: each command's flags are documented in its section (or, for
// the flags every Graph command takes, in the introduction to the
// commands); every flag the page names after its install section is one a command has, or one it
// refuses as a secret (secretFlags); and the page lists every flag refused
// as a secret.
func TestCLIDocsFlags(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	known := map[string]bool{}
	for _, cmd := range commands {
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		cmd.setup(fs, &cli{getenv: func(string) string { return "" }, stdin: strings.NewReader(""),
			stdout: &stream{w: io.Discard}, stderr: &stream{w: io.Discard}, red: newSecrets()})
		var registered []string
		fs.VisitAll(func(f *flag.Flag) { registered = append(registered, f.Name); known[f.Name] = true })
		if len(registered) == 0 {
			continue
		}
		section, intro := cliDocSection(t, doc, cmd.name)
		documented := slices.Concat(namedFlags(section), namedFlags(intro))
		for _, f := range registered {
			if !slices.Contains(documented, f) {
				t.Errorf("docs/cli.md: the section of %s does not name its flag --%s", cmd.name, f)
			}
		}
	}
	// The install section runs other programs (sha256sum --ignore-missing).
	_, commandsDoc, ok := strings.Cut(doc, "\n## Secrets")
	if !ok {
		t.Fatal(`docs/cli.md has no "## Secrets" section`)
	}
	named := namedFlags(commandsDoc)
	for _, f := range named {
		if _, secret := secretFlags[f]; !known[f] && !secret {
			t.Errorf("docs/cli.md names --%s, which no command has", f)
		}
	}
	for f := range secretFlags {
		if !slices.Contains(named, f) {
			t.Errorf("docs/cli.md does not name --%s among the flags refused as secrets", f)
		}
	}
}

// TestCLIDocsVariables checks that docs/cli.md's table of environment
// variables lists every variable the CLI reads.
func TestCLIDocsVariables(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "| variable | what | read by |\n")
	if !ok {
		t.Fatal("docs/cli.md has no table of environment variables")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	for _, v := range []string{envAppSecret, envAccessToken, envMintingAppSecret, envToken, envGraphURL, envGraphVersion, envGitHubToken, envGitHubAPIURL} {
		if !strings.Contains(table, "| `"+v+"` |") {
			t.Errorf("docs/cli.md's table of environment variables has no row for %s", v)
		}
	}
}
