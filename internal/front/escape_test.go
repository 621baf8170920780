package front

import (
	"bytes"
	"strings"
	"testing"
)

// hostile holds what each destination must defuse: a line break that
// starts a workflow command, a legacy "##[" command, ESC, NUL, a bidi
// override, invalid UTF-8, Markdown links, images, HTML and table pipes.
const hostile = "a\n::warning::x ##[error]y \x1b[31m\x00\u202e\xff [t](https://e.example) ![i](https://e.example/i.png) <b>|`"

func TestLogLine(t *testing.T) {
	t.Parallel()
	got := LogLine(hostile)
	want := `a ::warning::x #\u0023[error]y \u001b[31m\u0000\u202e\ufffd [t](https://e.example) ![i](https://e.example/i.png) <b>|` + "`"
	if got != want {
		t.Errorf("LogLine(hostile) = %q; want %q", got, want)
	}
	for _, in := range []string{"##[", "###[", "##[##[", "#\n#[", "##\u200b["} {
		if got := LogLine(in); strings.Contains(got, "##[") {
			t.Errorf("LogLine(%q) = %q; want no ##[", in, got)
		}
	}
	if got := CommandValue(hostile); got != want {
		t.Errorf("CommandValue(hostile) = %q; want %q", got, want)
	}
}

func TestTerminal(t *testing.T) {
	t.Parallel()
	got := Terminal("x\x1b]0;title\x07\ty\u202e\xff")
	want := `x\u001b]0;title\u0007 y\u202e\ufffd`
	if got != want {
		t.Errorf("Terminal(...) = %q; want %q", got, want)
	}
	var buf bytes.Buffer
	n, err := (&TerminalWriter{W: &buf}).Write([]byte("a\tb\n\x1b[2Jc\r"))
	if err != nil || n != 10 {
		t.Fatalf("TerminalWriter.Write = %d, %v; want 10, nil", n, err)
	}
	if got, want := buf.String(), "a\tb\n\\u001b[2Jc\\u000d"; got != want {
		t.Errorf("TerminalWriter wrote %q; want %q", got, want)
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	got := Markdown(hostile)
	if strings.Count(got, "`") != 2 || !strings.HasPrefix(got, "`") || !strings.HasSuffix(got, "`") {
		t.Fatalf("Markdown(hostile) = %q; want one code span", got)
	}
	if strings.Contains(strings.ReplaceAll(got, `\|`, ""), "|") {
		t.Errorf("Markdown(hostile) = %q; want every | escaped for the table", got)
	}
	if strings.ContainsAny(got, "\n\x1b\x00") || strings.Contains(got, "##[") {
		t.Errorf("Markdown(hostile) = %q; want LogLine's escapes", got)
	}
	if got := Markdown(""); got != "" {
		t.Errorf(`Markdown("") = %q; want ""`, got)
	}
}
