package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// table is one markdown table, printed with padded columns so the raw text
// reads as well as the rendered one.
type table struct {
	title  string
	header []string
	rows   [][]string
	notes  []string // printed under the table, one paragraph each
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

// render writes the table as GitHub-flavoured markdown. Rows shorter than
// the header are padded with empty cells; a pipe inside a cell is escaped.
// reportWriter keeps the first write error of the report, so its many prints
// are checked once, at the end of the run: a report that could not be written
// fails the run instead of vanishing. Writes after an error write nothing.
type reportWriter struct {
	w   io.Writer
	err error
}

func (r *reportWriter) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.w.Write(p)
	if err != nil {
		r.err = err
	}
	return n, err
}

// printf formats and writes; an error is kept in r.err.
func (r *reportWriter) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(r, format, args...) // kept in r.err
}

func (t *table) render(w io.Writer) error {
	width := make([]int, len(t.header))
	cell := func(row []string, i int) string {
		if i >= len(row) {
			return ""
		}
		return strings.ReplaceAll(row[i], "|", `\|`)
	}
	for i := range t.header {
		width[i] = max(3, utf8.RuneCountInString(cell(t.header, i)))
		for _, r := range t.rows {
			width[i] = max(width[i], utf8.RuneCountInString(cell(r, i)))
		}
	}
	var b strings.Builder
	if t.title != "" {
		fmt.Fprintf(&b, "### %s\n\n", t.title)
	}
	line := func(row []string) {
		b.WriteString("|")
		for i := range t.header {
			c := cell(row, i)
			b.WriteString(" " + c + strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)) + " |")
		}
		b.WriteString("\n")
	}
	line(t.header)
	b.WriteString("|")
	for i := range t.header {
		b.WriteString(strings.Repeat("-", width[i]+2) + "|")
	}
	b.WriteString("\n")
	for _, r := range t.rows {
		line(r)
	}
	for _, n := range t.notes {
		b.WriteString("\n" + n + "\n")
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// median returns the median of ds (the mean of the middle two for an even
// count), or 0 for none. ds is not modified.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread is "median (min–max, n runs)".
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%s (min %s, max %s, n=%d)", ms(median(ds)), ms(slices.Min(ds)), ms(slices.Max(ds)), len(ds))
}

// ms formats a short duration in milliseconds with one decimal.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

// secs formats a wall time: milliseconds under a second, seconds with one
// decimal below ten minutes, and minutes and seconds above.
func secs(d time.Duration) string {
	switch {
	case d < time.Second:
		return ms(d)
	case d < 10*time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	}
	m := int(d / time.Minute)
	return fmt.Sprintf("%d min %02d s (%.0f s)", m, int((d-time.Duration(m)*time.Minute)/time.Second), d.Seconds())
}

// mb formats a byte count in MB (10^6 bytes), with the exact count.
func mb(n int64) string {
	return fmt.Sprintf("%.2f MB (%s bytes)", float64(n)/1e6, groupDigits(n))
}

// groupDigits writes n with thin separators: 3530112 -> 3,530,112.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// verdict is the target column: "met" or "**NOT MET**".
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**NOT MET**"
}

// shellQuote quotes one argument for a POSIX shell when it needs it.
func shellQuote(s string) string {
	safe := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=,:@%+", r)
	}
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !safe(r) }) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func commandLine(args []string) string {
	q := []string{"go", "run", "./bench/scenarios"}
	for _, a := range args {
		q = append(q, shellQuote(a))
	}
	return strings.Join(q, " ")
}

// machine describes where the benchmark runs.
type machine struct {
	CPUs     int    // what nproc prints: the CPUs this process may run on
	CPUModel string // /proc/cpuinfo "model name"
	Kernel   string
	Memory   string
	Go       string
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), CPUModel: "unknown", Go: runtime.Version(), Kernel: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = cpuModel(bytes.NewReader(b))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b)) + " " + runtime.GOARCH
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				m.Memory = fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20))
			}
		}
	}
	return m
}

// cpuModel returns the first "model name" of a /proc/cpuinfo, or the
// first "Hardware"/"CPU part" line on machines without one (some arm64).
func cpuModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	fallback := "unknown"
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "model name":
			if v != "" {
				return v
			}
		case "Hardware", "CPU part":
			if fallback == "unknown" && v != "" {
				fallback = k + " " + v
			}
		}
	}
	return fallback
}
