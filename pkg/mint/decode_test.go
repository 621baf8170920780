package mint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// graphTestdata is the top-level testdata/graph: real-shaped Graph responses.
// An fs.FS, so a name cannot reach outside it.
var graphTestdata = os.DirFS(filepath.Join("..", "..", "testdata", "graph"))

// fixture reads a real-shaped Graph response from the top-level testdata.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(graphTestdata, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeGraphError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		file        string
		status      int
		wantCode    int
		wantSubcode int
		wantTemp    bool
		wantInvalid bool
		wantHint    string // a substring of Hint()
	}{
		{name: "expired token", file: "error_expired_token.json", status: 400, wantCode: 190, wantSubcode: 463, wantInvalid: true, wantHint: "expired"},
		{name: "invalid proof", file: "error_invalid_proof.json", status: 400, wantCode: 100, wantHint: "appsecret_proof"},
		{name: "missing proof", file: "error_missing_proof.json", status: 400, wantCode: 100, wantHint: "appsecret_proof"},
		{name: "two factor", file: "error_two_factor.json", status: 400, wantCode: 415, wantSubcode: 2859009, wantHint: "two-factor"},
		{name: "transient", file: "error_transient.json", status: 500, wantCode: 2, wantTemp: true},
		{name: "business use case throttle", file: "error_throttled.json", status: 400, wantCode: 80004, wantSubcode: 2446079, wantTemp: true, wantHint: "throttling"},
		{name: "deprecated version", file: "error_deprecated_version.json", status: 400, wantCode: 2635, wantHint: "deprecated"},
		{name: "permission", file: "error_permission.json", status: 403, wantCode: 200, wantHint: "test app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := decodeGraphError(tt.status, http.Header{}, fixture(t, tt.file))
			if !e.fromGraph {
				t.Fatalf("decodeGraphError(%s).fromGraph = false; want true", tt.file)
			}
			if e.Code != tt.wantCode || e.Subcode != tt.wantSubcode {
				t.Errorf("decodeGraphError(%s) code, subcode = %d, %d; want %d, %d", tt.file, e.Code, e.Subcode, tt.wantCode, tt.wantSubcode)
			}
			if e.FBTraceID == "" {
				t.Errorf("decodeGraphError(%s).FBTraceID is empty", tt.file)
			}
			if got := e.Temporary(); got != tt.wantTemp {
				t.Errorf("decodeGraphError(%s).Temporary() = %v; want %v", tt.file, got, tt.wantTemp)
			}
			if got := errors.Is(e, ErrInvalidToken); got != tt.wantInvalid {
				t.Errorf("errors.Is(decodeGraphError(%s), ErrInvalidToken) = %v; want %v", tt.file, got, tt.wantInvalid)
			}
			if hint := e.Hint(); !strings.Contains(strings.ToLower(hint), strings.ToLower(tt.wantHint)) {
				t.Errorf("decodeGraphError(%s).Hint() = %q; want it to mention %q", tt.file, hint, tt.wantHint)
			}
		})
	}
}

func TestDecodeGraphErrorWithoutGraphBody(t *testing.T) {
	t.Parallel()
	h := http.Header{"X-Fb-Trace-Id": {"TRACE123"}}
	e := decodeGraphError(502, h, []byte("<html>bad gateway</html>"))
	if e.fromGraph || e.Code != 0 || e.StatusCode != 502 {
		t.Fatalf("decodeGraphError(502, html) = %+v; want a status-only error", e)
	}
	if !e.Temporary() {
		t.Errorf("decodeGraphError(502, html).Temporary() = false; want true")
	}
	if got, want := e.Error(), "mint: graph: HTTP 502 Bad Gateway [fbtrace_id TRACE123]"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}

func TestGraphErrorMessage(t *testing.T) {
	t.Parallel()
	e := decodeGraphError(400, http.Header{}, fixture(t, "error_expired_token.json"))
	got := e.Error()
	for _, want := range []string{"mint: graph: Error validating access token", "(code 190, subcode 463)", "[fbtrace_id AzV2bQ4WuVhE7Kt0iZqX1kP]"} {
		if !strings.Contains(got, want) {
			t.Errorf("Error() = %q; want it to contain %q", got, want)
		}
	}
}

// TestTemporaryPerErrorGuide pins Meta's error-handling guide: code 1 is
// possibly temporary whatever its type (only Graph's named wrong-secret
// answer states a cause), and code 368 is a policy block to wait out, never
// retried within a run.
func TestTemporaryPerErrorGuide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       *GraphError
		temporary bool
		hint      string
	}{
		{"code 1 OAuthException", &GraphError{StatusCode: 400, Code: 1, Type: "OAuthException", Message: "An unknown error has occurred."}, true, "possibly temporary"},
		{"code 1 other type", &GraphError{StatusCode: 500, Code: 1, Type: "GraphMethodException", Message: "An unknown error occurred"}, true, "possibly temporary"},
		{"code 1 wrong client secret", &GraphError{StatusCode: 400, Code: 1, Type: "OAuthException", Message: "Error validating client secret."}, false, "app secret"},
		{"code 368", &GraphError{StatusCode: 400, Code: 368, Type: "OAuthException", Message: "It looks like you were misusing this feature"}, false, "temporarily blocked"},
		{"code 100 subcode 33", &GraphError{StatusCode: 400, Code: 100, Subcode: 33, Message: "Unsupported get request."}, false, "Business Settings"},
		{"code 200", &GraphError{StatusCode: 403, Code: 200, Message: "(#200) Permissions error"}, false, "assigned to the system user in Business Settings"},
		{"proof", &GraphError{StatusCode: 400, Code: 100, Type: "GraphMethodException", Message: "Invalid appsecret_proof provided in the API argument"}, false, "minting-app-secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Temporary(); got != tt.temporary {
				t.Errorf("Temporary() = %v; want %v", got, tt.temporary)
			}
			if got := tt.err.Hint(); !strings.Contains(got, tt.hint) {
				t.Errorf("Hint() = %q; want it to contain %q", got, tt.hint)
			}
		})
	}
}

func TestDecodeTokenInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file      string
		wantValid bool
		wantNever bool
		wantAppID string
		wantErr   int
	}{
		{file: "debug_token_system_user.json", wantValid: true, wantNever: true, wantAppID: "634974688087057"},
		{file: "debug_token_expiring.json", wantValid: true, wantAppID: "634974688087057"},
		{file: "debug_token_invalid.json", wantAppID: "634974688087057", wantErr: 190},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			info, err := decodeTokenInfo(fixture(t, tt.file))
			if err != nil {
				t.Fatalf("decodeTokenInfo(%s) error = %v", tt.file, err)
			}
			if info.IsValid != tt.wantValid || info.NeverExpires() != tt.wantNever || info.AppID != tt.wantAppID {
				t.Errorf("decodeTokenInfo(%s) = valid %v, never %v, app %q; want %v, %v, %q",
					tt.file, info.IsValid, info.NeverExpires(), info.AppID, tt.wantValid, tt.wantNever, tt.wantAppID)
			}
			if info.Type != "SYSTEM_USER" || info.UserID != "104169029247128" {
				t.Errorf("decodeTokenInfo(%s) type, user = %q, %q; want SYSTEM_USER, 104169029247128", tt.file, info.Type, info.UserID)
			}
			gotErr := 0
			if info.Error != nil {
				gotErr = info.Error.Code
			}
			if gotErr != tt.wantErr {
				t.Errorf("decodeTokenInfo(%s).Error code = %d; want %d", tt.file, gotErr, tt.wantErr)
			}
		})
	}
	info, _ := decodeTokenInfo(fixture(t, "debug_token_expiring.json"))
	if want := time.Unix(1717283387, 0).UTC(); !info.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v; want %v", info.ExpiresAt, want)
	}
}

func TestDecodeSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		ok   bool
	}{
		{`{"success":true}`, true},
		{`true`, true},
		{`"true"`, true},
		{`{"success":"true",}`, true},
		{string(fixture(t, "oauth_revoke.json")), true},
		{`{"success":false}`, false},
		{`false`, false},
		{`{}`, false},
		{`not json`, false},
	}
	for _, tt := range tests {
		err := decodeSuccess("POST /x", []byte(tt.body))
		if (err == nil) != tt.ok {
			t.Errorf("decodeSuccess(%q) = %v; want ok %v", tt.body, err, tt.ok)
		}
	}
}

func TestSanitizeURL(t *testing.T) {
	t.Parallel()
	raw := "https://graph.facebook.com/v27.0/debug_token?input_token=SECRET1&fields=a&client_secret=SECRET2&revoke_token=SECRET3"
	got := sanitizeURL(raw)
	for _, s := range []string{"SECRET1", "SECRET2", "SECRET3"} {
		if strings.Contains(got, s) {
			t.Errorf("sanitizeURL(...) = %q; still contains %s", got, s)
		}
	}
	if !strings.Contains(got, "fields=a") {
		t.Errorf("sanitizeURL(...) = %q; lost the harmless parameter", got)
	}
}

func TestRedactorWrap(t *testing.T) {
	t.Parallel()
	secret := "tok+en/with=chars"
	uerr := &url.Error{Op: "Get", URL: "https://h/v27.0/debug_token?input_token=" + url.QueryEscape(secret), Err: errors.New("dial failed for " + secret)}
	err := newRedactor(secret).wrap(uerr)
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), url.QueryEscape(secret)) {
		t.Errorf("wrap(err).Error() = %q; contains the secret", err)
	}
	var got *url.Error
	if !errors.As(err, &got) || strings.Contains(got.URL, url.QueryEscape(secret)) {
		t.Errorf("errors.As(wrap(err), *url.Error) URL = %q; want sanitized", got.URL)
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	transient := decodeGraphError(500, http.Header{}, []byte(`{"error":{"code":2,"is_transient":true,"message":"x"}}`))
	gateway := decodeGraphError(502, http.Header{}, []byte(`bad gateway`))
	badParam := decodeGraphError(400, http.Header{}, []byte(`{"error":{"code":100,"message":"x"}}`))
	tests := []struct {
		name       string
		err        error
		idempotent bool
		want       bool
	}{
		{"graph transient, creating", transient, false, true},
		{"graph transient, idempotent", transient, true, true},
		{"gateway 502, creating", gateway, false, false},
		{"gateway 502, idempotent", gateway, true, true},
		{"bad parameter", badParam, true, false},
		{"not sent, creating", &transportError{err: errors.New("dial"), sent: false}, false, true},
		{"sent, creating", &transportError{err: errors.New("timeout"), sent: true}, false, false},
		{"sent, idempotent", &transportError{err: errors.New("timeout"), sent: true}, true, true},
		{"context canceled", &transportError{err: fmt.Errorf("wrapped: %w", context.Canceled), sent: false}, true, false},
		{"validation", invalidf("x"), true, false},
	}
	for _, tt := range tests {
		if got := retryable(tt.err, tt.idempotent); got != tt.want {
			t.Errorf("retryable(%s) = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for attempt := 1; attempt < 10; attempt++ {
		ceil := min(p.BaseDelay<<(attempt-1), p.MaxDelay)
		for range 50 {
			d := p.backoff(attempt)
			if d < ceil/2 || d > ceil {
				t.Fatalf("backoff(%d) = %v; want in [%v, %v]", attempt, d, ceil/2, ceil)
			}
		}
	}
}

func TestDecideHonoursRegainAccess(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Minute}
	h := http.Header{"X-Business-Use-Case-Usage": {string(fixture(t, "headers_business_use_case_usage.txt"))}}
	e := decodeGraphError(400, h, fixture(t, "error_throttled.json"))
	wait, ok := p.decide(1, e, false)
	if !ok || wait != 3*time.Minute {
		t.Errorf("decide(throttled, regain 3m) = %v, %v; want 3m0s, true", wait, ok)
	}
	p.MaxDelay = time.Minute
	if _, ok := p.decide(1, e, false); ok {
		t.Errorf("decide(throttled, regain 3m > MaxDelay 1m) retries; want it to give up")
	}
	// The same header on a transient error that is not a throttle: the
	// backoff, not the estimate.
	transient := decodeGraphError(500, h, []byte(`{"error":{"message":"Service temporarily unavailable","type":"OAuthException","code":2,"is_transient":true}}`))
	if wait, ok := p.decide(1, transient, true); !ok || wait > p.BaseDelay {
		t.Errorf("decide(code 2, regain 3m) = %v, %v; want the backoff, at most %v", wait, ok, p.BaseDelay)
	}
}

func TestCheckVersion(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"v27.0": true, "v1.0": true, "v100.12": true,
		"27.0": false, "v27": false, "v27.": false, "v.0": false, "v027.0": false, "v27.0.1": false, "v27.x": false, "": false, "V27.0": false,
	} {
		if got := CheckVersion(v) == nil; got != want {
			t.Errorf("CheckVersion(%q) == nil is %v; want %v", v, got, want)
		}
	}
}

// TestGraphErrorIsOneLine: Error() holds Graph's message, which a hostile
// or broken Graph fills with line breaks, terminal escapes, workflow
// commands and bidirectional controls; wherever a program logs the error,
// it stays one printable line. A plain message is shown as Graph sent it.
func TestGraphErrorIsOneLine(t *testing.T) {
	t.Parallel()
	hostile := &GraphError{StatusCode: 400, Code: 100, Message: "bad\n::error::forged\r\x1b[31mred\u202eevil\x00\xff"}
	got := hostile.Error()
	if strings.ContainsFunc(got, func(r rune) bool { return !strconv.IsGraphic(r) }) || !utf8.ValidString(got) {
		t.Errorf("Error() = %q; want one line of printable characters", got)
	}
	for _, want := range []string{`bad\n::error::forged\r\x1b[31mred\u202eevil\x00\xff`, "(code 100)"} {
		if !strings.Contains(got, want) {
			t.Errorf("Error() = %q; want it to contain %q", got, want)
		}
	}
	plain := &GraphError{StatusCode: 400, Code: 100, Message: `Unsupported get request. Object with ID "123" does not exist.`}
	if got, want := plain.Error(), `mint: graph: Unsupported get request. Object with ID "123" does not exist. (code 100)`; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}
