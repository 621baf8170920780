package main

import (
	"archive/zip"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/awstest"
)

// These tests cover the helpers only: no moto, no rie, no builds, so that
// go test ./... stays fast. The scenarios themselves run with make bench.

func TestTableRender(t *testing.T) {
	tb := &table{title: "(x) demo", header: []string{"measure", "figure"}}
	tb.add("wall | time", "1.5 s")
	tb.add("short row")
	tb.note("a note with %d%%", 50)
	var b strings.Builder
	if err := tb.render(&b); err != nil {
		t.Fatal(err)
	}
	want := "### (x) demo\n\n" +
		"| measure      | figure |\n" +
		"|--------------|--------|\n" +
		"| wall \\| time | 1.5 s  |\n" +
		"| short row    |        |\n" +
		"\na note with 50%\n\n"
	if got := b.String(); got != want {
		t.Errorf("render =\n%s\nwant\n%s", got, want)
	}
}

func TestMedian(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{ms(7), 7 * time.Millisecond},
		{ms(30, 10, 20), 20 * time.Millisecond},
		{ms(40, 10, 30, 20), 25 * time.Millisecond},
	}
	for _, tc := range tests {
		orig := append([]time.Duration(nil), tc.in...)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v; want %v", tc.in, got, tc.want)
		}
		for i := range orig {
			if orig[i] != tc.in[i] {
				t.Fatalf("median sorted its argument")
			}
		}
	}
	if got, want := spread(ms(12, 10, 30)), "12.0 ms (min 10.0 ms, max 30.0 ms, n=3)"; got != want {
		t.Errorf("spread = %q; want %q", got, want)
	}
}

func TestFormats(t *testing.T) {
	tests := []struct{ got, want string }{
		{ms(1500 * time.Microsecond), "1.5 ms"},
		{secs(250 * time.Millisecond), "250.0 ms"},
		{secs(49940 * time.Millisecond), "49.9 s"},
		{secs(661 * time.Second), "11 min 01 s (661 s)"},
		{mb(3530112), "3.53 MB (3,530,112 bytes)"},
		{groupDigits(999), "999"},
		{groupDigits(-1234567), "-1,234,567"},
		{verdict(true), "met"},
		{verdict(false), "**NOT MET**"},
		{commandLine([]string{"-only", "a,b", "-rate", "400/10s", "-x", "it's"}), `go run ./bench/scenarios -only a,b -rate 400/10s -x 'it'\''s'`},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q; want %q", tc.got, tc.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-only", "d, a,a", "-secrets", "50", "-sample", "5", "-rate", "40/2s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.only, ",") != "a,d" || c.secrets != 50 || c.sample != 5 || c.rate != (rateLimit{40, 2 * time.Second}) {
		t.Errorf("parseFlags = %+v", c)
	}
	if got, want := c.expanded(), "go run ./bench/scenarios -only a,d -secrets 50 -sample 5 -latency 200ms -concurrency 16 -rate 40/2s -starts 11 -action-runs 31"; got != want {
		t.Errorf("expanded = %q; want %q", got, want)
	}
	c, err = parseFlags([]string{"-only", "d", "-action-baseline", "main"}, io.Discard)
	if err != nil || c.actionBaseline != "main" {
		t.Fatalf("parseFlags(-action-baseline main) = %+v, %v", c, err)
	}
	if got, want := c.expanded(), "go run ./bench/scenarios -only d -secrets 1000 -sample 100 -latency 200ms -concurrency 16 -rate 400/10s -starts 11 -action-runs 31 -action-baseline main"; got != want {
		t.Errorf("expanded = %q; want %q", got, want)
	}
	c, err = parseFlags([]string{"-only", "e", "-quota-secrets", "200", "-write-rate", "4.5", "-quota-rate", "5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.expanded(), "go run ./bench/scenarios -only e -secrets 1000 -sample 100 -latency 200ms -concurrency 16 -rate 400/10s -starts 11 -action-runs 31"+
		" -quota-secrets 200 -quota-rate 5 -write-rate 4.5 -squeeze-secrets 1000 -squeeze-timeout 1m0s"; got != want {
		t.Errorf("expanded = %q; want %q", got, want)
	}
	for _, bad := range [][]string{
		{"-only", "f"},
		{"-only", "e", "-write-rate", "51"},
		{"-only", "e", "-quota-secrets", "0"},
		{"-only", "e", "-squeeze-timeout", "1s"},
		{"-sample", "2000"},
		{"-concurrency", "65"},
		{"-rate", "400"},
		{"-rate", "0/1s"},
		{"-rate", "10/-1s"},
		{"extra"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded; want an error", bad)
		}
	}
}

func TestParseStat(t *testing.T) {
	// comm may hold spaces and parentheses.
	line := "4242 (boot (strap) x) S 4200 4242 4200 0 -1 4194560 1 0 0 0 123 45 0 0 20 0 9 0 1 1 1\n"
	st, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st != (procStat{ppid: 4200, utime: 123, stime: 45}) {
		t.Errorf("parseStat = %+v", st)
	}
	if _, err := parseStat([]byte("1 (x) S 0")); err == nil {
		t.Errorf("a short stat parsed")
	}
}

func TestInitReport(t *testing.T) {
	log := "init runtime @0.1 ms, 0.5 ms clock, 0 bytes, 0 allocs\n" + // rie's own
		"28 Nov 2026 16:26:47,122 [INFO] (rapid) INIT START(type: on-demand, phase: init)\n" +
		"init internal/godebug @1.7 ms, 0.76 ms clock, 312 bytes, 7 allocs\n" +
		"init net/http @10 ms, 0.40 ms clock, 4872 bytes, 50 allocs\n" +
		"28 Nov 2026 16:26:47,154 [INFO] (rapid) INIT REPORT(durationMs: 19.461000)\n"
	d, err := awstest.ParseInitReport(log)
	if err != nil || d != 19461*time.Microsecond {
		t.Errorf("ParseInitReport = %v, %v; want 19.461ms", d, err)
	}
	if _, err := awstest.ParseInitReport("nothing"); err == nil {
		t.Errorf("ParseInitReport found a report in nothing")
	}
	sum, n := initTrace(log)
	if sum != 1160*time.Microsecond || n != 2 {
		t.Errorf("initTrace = %v, %d; want 1.16ms in 2 packages", sum, n)
	}
}

func TestPeakIn(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	if got := peakIn(at(900, 0, 100, 950, 1000, 1050, 5000), time.Second); got != 5 {
		t.Errorf("peakIn = %d; want 5 (100..1050)", got)
	}
	if got := peakIn(nil, time.Second); got != 0 {
		t.Errorf("peakIn(nil) = %d", got)
	}
	c := counts{Arrivals: map[string][]time.Time{"PutSecretValue": at(0, 10), "UpdateSecretVersionStage": at(20), "DescribeSecret": at(5, 6, 7)}}
	if got := c.peakIn(time.Second, "PutSecretValue", "UpdateSecretVersionStage"); got != 3 {
		t.Errorf("writes peak = %d; want 3", got)
	}
	if got := c.peakIn(time.Second); got != 6 {
		t.Errorf("all peak = %d; want 6", got)
	}
}

func TestIsThrottled(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   bool
	}{
		{400, `{"error":{"message":"(#4) Application request limit reached","code":4,"is_transient":true}}`, true},
		{400, `{"error":{"code":613}}`, true},
		{400, `{"error":{"message":"(#80004) There have been too many calls","code":80004,"is_transient":true}}`, true},
		{400, `{"error":{"code":190}}`, false},
		{200, `{"error":{"code":4}}`, false},
		{500, `<html>`, false},
	}
	for _, tc := range tests {
		if got := isThrottled(tc.status, []byte(tc.body)); got != tc.want {
			t.Errorf("isThrottled(%d, %s) = %v", tc.status, tc.body, got)
		}
	}
}

func TestKinds(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"GET", "/v27.0/debug_token?input_token=x", "debug_token"},
		{"GET", "/v27.0/oauth/access_token", "refresh"},
		{"POST", "/v27.0/oauth/revoke", "revoke"},
		{"POST", "/v27.0/4000/access_tokens", "mint"},
		{"DELETE", "/v27.0/4000/access_tokens", "revoke_all"},
		{"POST", "/v27.0/4000/applications", "install"},
		{"GET", "/v27.0/me", "other"},
	}
	for _, tc := range tests {
		if got := graphKind(httptest.NewRequest(tc.method, tc.path, nil)); got != tc.want {
			t.Errorf("graphKind(%s %s) = %q; want %q", tc.method, tc.path, got, tc.want)
		}
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	if got := smKind(r); got != "GetSecretValue" {
		t.Errorf("smKind = %q", got)
	}
}

func TestCPUModel(t *testing.T) {
	x86 := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7R13 Processor\n"
	if got := cpuModel(strings.NewReader(x86)); got != "AMD EPYC 7R13 Processor" {
		t.Errorf("cpuModel(x86) = %q", got)
	}
	arm := "processor\t: 0\nBogoMIPS\t: 243.75\nCPU part\t: 0xd0c\n"
	if got := cpuModel(strings.NewReader(arm)); got != "CPU part 0xd0c" {
		t.Errorf("cpuModel(arm) = %q", got)
	}
}

func TestZipBootstrap(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	content := strings.Repeat("metamint bootstrap ", 1000)
	if err := os.WriteFile(bin, []byte(content), 0o600); err != nil { // zipBootstrap sets the mode in the zip
		t.Fatal(err)
	}
	zipped, raw, err := zipBootstrap(bin, bin+".zip")
	if err != nil {
		t.Fatal(err)
	}
	if raw != int64(len(content)) || zipped <= 0 || zipped >= raw {
		t.Errorf("zipBootstrap = %d, %d; want a zip smaller than %d", zipped, raw, len(content))
	}
	zr, err := zip.OpenReader(bin + ".zip")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cerr := zr.Close(); cerr != nil {
			t.Error(cerr)
		}
	})
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode().Perm() != 0o755 || zr.File[0].Method != zip.Deflate {
		t.Fatalf("zip holds %+v; want bootstrap, 0755, deflated", zr.File[0].FileHeader)
	}
	f, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	if string(b) != content {
		t.Errorf("unzipped content differs")
	}
}

func TestParallel(t *testing.T) {
	var hits [50]int
	if err := parallel(t.Context(), len(hits), 4, func(i int) error { hits[i]++; return nil }); err != nil {
		t.Fatal(err)
	}
	for i, h := range hits {
		if h != 1 {
			t.Fatalf("item %d ran %d times", i, h)
		}
	}
	err := parallel(t.Context(), 100, 4, func(i int) error {
		if i == 3 {
			return io.ErrUnexpectedEOF
		}
		return nil
	})
	if err != io.ErrUnexpectedEOF {
		t.Errorf("parallel = %v; want the first error", err)
	}
}
