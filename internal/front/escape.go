package front

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// isControl reports runes that no log line, workflow command or terminal
// gets raw: C0 and C1 controls, DEL, Unicode format characters (bidi
// overrides, zero-width joiners), the line and paragraph separators, and
// the replacement character that stands for invalid UTF-8.
func isControl(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError
}

// escapeControls writes s with every control rune but those keep allows
// shown as a \uXXXX escape.
func escapeControls(s string, keep func(rune) bool) string {
	if strings.IndexFunc(s, func(r rune) bool { return isControl(r) && !keep(r) }) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) && !keep(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func none(rune) bool { return false }

// oneLine joins the fields of s with single spaces: no line break, no tab.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// LogLine makes untrusted text safe inside one line of a workflow log:
// line breaks and tabs become spaces, every other control character a
// \uXXXX escape, and "##[" (which the runner's legacy parser takes for a
// command anywhere on a line that does not start with "::") becomes
// "#\u0023[". The text can then neither start a workflow command nor drive
// the terminal that shows the log.
func LogLine(s string) string {
	s = escapeControls(oneLine(s), none)
	return strings.ReplaceAll(s, "##[", `#\u0023[`)
}

// CommandValue makes untrusted text safe as the value of a workflow
// command (::warning::, ::error::): LogLine's rules. go-githubactions then
// escapes %, CR and LF as the runner expects.
func CommandValue(s string) string { return LogLine(s) }

// Terminal makes one untrusted field fit one line of a terminal: line
// breaks and tabs become spaces, other control characters \uXXXX escapes.
func Terminal(s string) string { return escapeControls(oneLine(s), none) }

// TerminalWriter escapes, in everything written through it, the control
// characters that could move a terminal's cursor, recolour, retitle or
// hide text: every one isControl reports but newline and tab, each shown as
// \uXXXX. Each write is escaped on its own.
type TerminalWriter struct{ W io.Writer }

func (tw *TerminalWriter) Write(p []byte) (int, error) {
	s := escapeControls(string(p), func(r rune) bool { return r == '\n' || r == '\t' })
	if _, err := io.WriteString(tw.W, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Markdown renders untrusted text as a Markdown code span for a table cell
// of a job summary: a code span shows its text literally, so no link,
// image, HTML or emphasis renders. The text is made one line (LogLine), a
// backtick becomes ' and | is escaped as a table needs. Empty text gives "".
func Markdown(s string) string {
	s = LogLine(s)
	if s == "" {
		return ""
	}
	return "`" + strings.NewReplacer("`", "'", "|", `\|`).Replace(s) + "`"
}
