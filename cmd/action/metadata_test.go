package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/internal/actionyml"
	"github.com/metamint/metamint/internal/version"
)

// repoFile reads a file at the repository root (go test runs in cmd/action).
func repoFile(t testing.TB, name string) string {
	t.Helper()
	b, err := fs.ReadFile(os.DirFS(filepath.Join("..", "..")), name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// yamlNode is a mapping parseYAML read.
type yamlNode = actionyml.Node

// parseYAML reads action.yml's subset of YAML (actionyml.Parse).
func parseYAML(t testing.TB, text string) yamlNode {
	t.Helper()
	n, err := actionyml.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// node returns the mapping n holds at key.
func node(t *testing.T, n yamlNode, key string) yamlNode {
	t.Helper()
	c, ok := n[key].(yamlNode)
	if !ok {
		t.Fatalf("action.yml: %q is not a mapping", key)
	}
	return c
}

// TestActionMetadata checks action.yml's inputs, their defaults and its
// outputs (docs/action.md documents them) against the names the program
// reads.
func TestActionMetadata(t *testing.T) {
	t.Parallel()
	meta := parseYAML(t, repoFile(t, "action.yml"))
	for _, k := range []string{"name", "description"} {
		if s, _ := meta[k].(string); s == "" {
			t.Errorf("action.yml %s is empty", k)
		}
	}
	branding := node(t, meta, "branding")
	if branding["icon"] == "" || branding["color"] == "" {
		t.Errorf("action.yml branding = %v; want an icon and a color", branding)
	}

	type input struct {
		Required string
		Default  string
	}
	want := map[string]input{
		// Required unless aws-secret-id is set; the program enforces it,
		// naming the input.
		inAppID:           {"false", ""},
		inAppSecret:       {"false", ""},
		inAccessToken:     {"false", ""},
		inSystemUserID:    {"false", ""},
		inScopes:          {"false", ""},
		inInstallApp:      {"false", "false"},
		inExpiringToken:   {"false", "true"},
		inSkipTokenRevoke: {"false", "false"},
		inGraphAPIURL:     {"false", "https://graph.facebook.com"},
		inGraphAPIVersion: {"false", "v27.0"},
		// Empty, not "false": with aws-secret-id, empty means the managed
		// secret's allow_unlisted_scopes, and the runner passes a default.
		inAllowUnlistedScopes: {"false", ""},
		inMintingAppSecret:    {"false", ""},
		inAWSSecretID:         {"false", ""},
		inRenewSecret:         {"false", ""},
		inRenewWithin:         {"false", "30"},
		inRenewEnvironment:    {"false", ""},
		inRenewOrg:            {"false", ""},
		inGitHubToken:         {"false", ""},
		inGitHubAPIURL:        {"false", "${{ github.api_url }}"},
	}
	got := map[string]input{}
	for name, v := range node(t, meta, "inputs") {
		in, ok := v.(yamlNode)
		if !ok {
			t.Fatalf("input %s is not a mapping", name)
		}
		if d, _ := in["description"].(string); d == "" {
			t.Errorf("input %s has no description", name)
		}
		for k := range in {
			if !slices.Contains([]string{"description", "required", "default", "deprecationMessage"}, k) {
				t.Errorf("input %s has key %q, which action metadata does not allow", name, k)
			}
		}
		r, _ := in["required"].(string)
		d, _ := in["default"].(string)
		got[name] = input{r, d}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("action.yml inputs mismatch (-want +got):\n%s", diff)
	}

	var outputs []string
	for name, v := range node(t, meta, "outputs") {
		if d, _ := v.(yamlNode)["description"].(string); d == "" {
			t.Errorf("output %s has no description", name)
		}
		outputs = append(outputs, name)
	}
	slices.Sort(outputs)
	if diff := cmp.Diff([]string{outExpiresAt, outRenewed, outScopes, outToken}, outputs); diff != "" {
		t.Errorf("action.yml outputs mismatch (-want +got):\n%s", diff)
	}

	runs := node(t, meta, "runs")
	if runs["using"] != "docker" {
		t.Errorf("runs.using = %v; want docker", runs["using"])
	}
	image, _ := runs["image"].(string)
	if image != "Dockerfile" && !regexp.MustCompile(`^docker://ghcr\.io/[a-z0-9-]+/metamint-action@sha256:[0-9a-f]{64}$`).MatchString(image) {
		t.Errorf("runs.image = %q; want Dockerfile or an image pinned by digest", image)
	}
	if _, ok := runs["args"]; ok {
		t.Errorf("runs.args is set; the runner would pass it to the post step too")
	}
	post, _ := runs["post-entrypoint"].(string)
	if ok, err := isPost([]string{post}); !ok || err != nil {
		t.Errorf("isPost([%q]) = %v, %v; want the post-entrypoint to select the post step", post, ok, err)
	}
}

// dockerInstr is one Dockerfile instruction, continuation lines joined.
type dockerInstr struct {
	cmd  string // upper case
	args string
}

// dockerStage is one FROM ... AS name stage.
type dockerStage struct {
	name, from string
	instrs     []dockerInstr
}

func parseDockerfile(t *testing.T, text string) []dockerStage {
	t.Helper()
	var stages []dockerStage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		cmd = strings.ToUpper(cmd)
		args = strings.TrimSpace(args)
		if cmd == "FROM" {
			f := strings.Fields(args)
			st := dockerStage{}
			for i := 0; i < len(f); i++ {
				switch {
				case strings.HasPrefix(f[i], "--"):
				case strings.EqualFold(f[i], "AS") && i+1 < len(f):
					st.name = f[i+1]
					i++
				default:
					st.from = f[i]
				}
			}
			stages = append(stages, st)
			return
		}
		if len(stages) == 0 {
			if cmd != "ARG" {
				t.Fatalf("Dockerfile: %s before the first FROM", cmd)
			}
			return
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, dockerInstr{cmd, args})
	}
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return stages
}

func (s dockerStage) all(cmd string) []string {
	var out []string
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// TestDockerfile checks the image recipe, since Docker cannot run here:
// static builds, a scratch action image as the default (last) target that
// runs as root with CA certificates, the Lambda artifact stage, and the
// entrypoints action.yml names.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	stages := parseDockerfile(t, repoFile(t, "Dockerfile"))
	byName := map[string]dockerStage{}
	var names []string
	for _, s := range stages {
		byName[s.name] = s
		names = append(names, s.name)
	}
	if diff := cmp.Diff([]string{"build", "lambda-build", "lambda", "action"}, names); diff != "" {
		t.Fatalf("Dockerfile stages mismatch (-want +got):\n%s", diff)
	}

	for _, s := range stages {
		if s.from == "scratch" || byName[s.from].name != "" {
			continue
		}
		ref := strings.ReplaceAll(s.from, "${GO_VERSION}", "1.26.8")
		if !regexp.MustCompile(`^[a-z0-9./-]+:[0-9][A-Za-z0-9._-]*(@sha256:[0-9a-f]{64})?$`).MatchString(ref) {
			t.Errorf("stage %s FROM %q; want a base image pinned by a version tag", s.name, s.from)
		}
	}
	for _, s := range stages {
		if u := s.all("USER"); len(u) > 0 {
			t.Errorf("stage %s sets USER %v; GitHub requires Docker actions to run as root", s.name, u)
		}
	}

	build := strings.Join(byName["build"].all("RUN"), "\n")
	for _, want := range []string{"CGO_ENABLED=0", "go build -trimpath -ldflags '-s -w' -o /out/metamint-action ./cmd/action", "ln -s metamint-action /out/post"} {
		if !strings.Contains(build, want) {
			t.Errorf("build stage RUN = %q; want it to contain %q", build, want)
		}
	}
	// The build stage copies every directory of this module the two
	// programs import (go list), so a new internal package cannot be left
	// out of the image.
	copied := byName["build"].all("COPY")
	// .dockerignore sends the builder only what it lets through: "*",
	// then "!dir/" for each directory.
	var sent []string
	for _, line := range strings.Split(repoFile(t, ".dockerignore"), "\n") {
		if dir, ok := strings.CutPrefix(strings.TrimSpace(line), "!"); ok {
			sent = append(sent, dir)
		}
	}
	for _, pkg := range []string{"./cmd/action", "./cmd/lambda"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "../../"+strings.TrimPrefix(pkg, "./")).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, imp := range strings.Fields(string(out)) {
			rel, ok := strings.CutPrefix(imp, "github.com/metamint/metamint/")
			if !ok {
				continue
			}
			top, _, _ := strings.Cut(rel, "/")
			if !slices.Contains(copied, top+"/ "+top+"/") {
				t.Errorf("build stage COPY = %q; want %s/ copied: %s imports %s", copied, top, pkg, imp)
			}
			if !slices.Contains(sent, top+"/") {
				t.Errorf(".dockerignore lets through %q; want %s/ too: %s imports %s", sent, top, pkg, imp)
			}
		}
	}
	lambdaBuild := byName["lambda-build"]
	if lambdaBuild.from != "build" {
		t.Errorf("lambda-build FROM %q; want build", lambdaBuild.from)
	}
	lb := strings.Join(lambdaBuild.all("RUN"), "\n")
	// The image holds no .git: the build is named with the release's tag.
	if !slices.Contains(lambdaBuild.all("ARG"), "VERSION=") {
		t.Errorf("lambda-build ARG = %q; want VERSION=, the name the release workflow passes", lambdaBuild.all("ARG"))
	}
	ldflags := `-ldflags "-s -w ` + version.Flag("${VERSION}") + `"`
	for _, want := range []string{"GOOS=linux", "CGO_ENABLED=0", "go build -tags lambda.norpc -trimpath " + ldflags + " -o /lambda/bootstrap ./cmd/lambda", "zip -X -9 function.zip bootstrap"} {
		if !strings.Contains(lb, want) {
			t.Errorf("lambda-build RUN = %q; want it to contain %q", lb, want)
		}
	}
	lambda := byName["lambda"]
	if lambda.from != "scratch" || !slices.Contains(lambda.all("COPY"), "--from=lambda-build /lambda/function.zip /function.zip") {
		t.Errorf("lambda stage = %+v; want scratch holding /function.zip", lambda)
	}

	action := stages[len(stages)-1]
	if action.from != "scratch" {
		t.Errorf("action stage FROM %q; want scratch", action.from)
	}
	copies := action.all("COPY")
	if !slices.Contains(copies, "--from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt") {
		t.Errorf("action stage COPY = %q; want the CA certificates", copies)
	}
	if !slices.Contains(copies, "--from=build /out/ /") {
		t.Errorf("action stage COPY = %q; want /out/ (binary and post link) at /", copies)
	}
	entry := action.all("ENTRYPOINT")
	if len(entry) != 1 {
		t.Fatalf("action stage ENTRYPOINT = %q; want one", entry)
	}
	var argv []string
	if err := json.Unmarshal([]byte(entry[0]), &argv); err != nil || len(argv) != 1 {
		t.Fatalf("action stage ENTRYPOINT %s; want the exec form with the binary alone", entry[0])
	}
	// /out/metamint-action lands at /metamint-action, and /out/post, a link
	// to it, at /post.
	if argv[0] != "/metamint-action" {
		t.Errorf("ENTRYPOINT = %q; want /metamint-action, where the build puts the binary", argv[0])
	}
	if ok, _ := isPost(argv); ok {
		t.Errorf("isPost(%q) = true; want the entrypoint to run the main step", argv)
	}
	runs := node(t, parseYAML(t, repoFile(t, "action.yml")), "runs")
	post, _ := runs["post-entrypoint"].(string)
	if post != "/"+postName || path.Dir(post) != path.Dir(argv[0]) {
		t.Errorf("action.yml post-entrypoint = %q; want /%s, the link next to the ENTRYPOINT %s", post, postName, argv[0])
	}
	if e, ok := runs["entrypoint"]; ok && e != argv[0] {
		t.Errorf("action.yml entrypoint = %v; want the Dockerfile's %s", e, argv[0])
	}
}

// mdTable returns the rows of the Markdown table in text whose header row
// is header, each as its cells with the surrounding space trimmed. No cell
// of the tables it reads holds a "|".
func mdTable(t *testing.T, text, header string) [][]string {
	t.Helper()
	lines := strings.Split(text, "\n")
	start := slices.Index(lines, header)
	if start < 0 || start+1 >= len(lines) || !strings.HasPrefix(lines[start+1], "|---") {
		t.Fatalf("no table with the header %q", header)
	}
	var rows [][]string
	for _, l := range lines[start+2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(l, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	return rows
}

// codeName returns the name a table cell holds as one code span: "`x`" is x.
func codeName(t *testing.T, cell string) string {
	t.Helper()
	inner, ok := strings.CutPrefix(cell, "`")
	if n, ok2 := strings.CutSuffix(inner, "`"); ok && ok2 && !strings.Contains(n, "`") {
		return n
	}
	t.Errorf("table cell %q is not one code span", cell)
	return cell
}

// TestActionDocs checks docs/action.md's tables against action.yml: every
// input, with the default the runner passes (an empty
// cell, or one that starts with "empty", is no default), and every output.
func TestActionDocs(t *testing.T) {
	t.Parallel()
	meta := parseYAML(t, repoFile(t, "action.yml"))
	declared, err := actionyml.Inputs(meta)
	if err != nil {
		t.Fatal(err)
	}
	doc := repoFile(t, "docs/action.md")
	documented := map[string]string{}
	for _, row := range mdTable(t, doc, "| input | default | description |") {
		if len(row) != 3 {
			t.Errorf("docs/action.md inputs row %q; want 3 cells", row)
			continue
		}
		name, def := codeName(t, row[0]), row[1]
		switch {
		case def == "" || strings.HasPrefix(def, "empty"):
			def = ""
		default:
			def = codeName(t, def)
		}
		documented[name] = def
	}
	if diff := cmp.Diff(declared, documented); diff != "" {
		t.Errorf("docs/action.md inputs and their defaults differ from action.yml's (-action.yml +docs):\n%s", diff)
	}

	var outputs []string
	for name := range node(t, meta, "outputs") {
		outputs = append(outputs, name)
	}
	var docOutputs []string
	for _, row := range mdTable(t, doc, "| output | meaning |") {
		docOutputs = append(docOutputs, codeName(t, row[0]))
	}
	slices.Sort(outputs)
	slices.Sort(docOutputs)
	if diff := cmp.Diff(outputs, docOutputs); diff != "" {
		t.Errorf("docs/action.md outputs differ from action.yml's (-action.yml +docs):\n%s", diff)
	}
}

// TestRenewInputDefaults checks the defaults the renewal mode compares the
// mint-only and renew-only inputs with (an input is set when it differs
// from its default) against action.yml's: a default changed there alone
// would make the renewal mode refuse a step that sets nothing.
func TestRenewInputDefaults(t *testing.T) {
	t.Parallel()
	declared, err := actionyml.Inputs(parseYAML(t, repoFile(t, "action.yml")))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range slices.Concat(mintOnlyInputs, renewOnlyInputs) {
		def, ok := declared[in.name]
		if !ok {
			t.Errorf("action.yml declares no input %s", in.name)
			continue
		}
		if in.def != def {
			t.Errorf("renewal mode's default of input %s = %q; want action.yml's %q", in.name, in.def, def)
		}
	}
}
