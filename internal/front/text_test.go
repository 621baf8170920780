package front

import (
	"errors"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint"
)

func TestDescribe(t *testing.T) {
	t.Parallel()
	proofErr := &mint.GraphError{StatusCode: 400, Message: "(#100) Invalid appsecret_proof provided in the API argument", Type: "GraphMethodException",
		Code: 100, Subcode: 33, FBTraceID: "AbC", UserMessage: "Try again\nlater"}
	if proofErr.Hint() == "" {
		t.Fatal("GraphError.Hint() for a proof error is empty; want a hint")
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "plain error",
			err:  errors.New("mint: POST /1/access_tokens: dial tcp: connection refused"),
			want: "POST /1/access_tokens: dial tcp: connection refused.",
		},
		{
			name: "graph error with everything",
			err:  proofErr,
			want: "Graph API error: (#100) Invalid appsecret_proof provided in the API argument (HTTP 400, type GraphMethodException, code 100, subcode 33, fbtrace_id AbC). " +
				"Meta says: Try again later. Hint: " + proofErr.Hint(),
		},
		{
			name: "status only",
			err:  &mint.GraphError{StatusCode: 502},
			want: "Graph API error: the response holds no Graph error object (HTTP 502).",
		},
		{
			name: "legacy command in the message",
			err:  &mint.GraphError{StatusCode: 400, Message: "##[set-output name=x;]y", UserTitle: "##[error]", UserMessage: "z"},
			want: `Graph API error: #\u0023[set-output name=x;]y (HTTP 400). Meta says: #\u0023[error] z.`,
		},
		{
			name: "throttled",
			err:  &mint.GraphError{StatusCode: 429, Message: "slow down", Code: 4},
			want: "Graph API error: slow down (HTTP 429, code 4). Rate-limit usage: 0% of the budget used. Hint: " + (&mint.GraphError{StatusCode: 429, Code: 4}).Hint(),
		},
	}
	for _, tt := range tests {
		if got := Describe(tt.err); got != tt.want {
			t.Errorf("Describe(%s) = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestScopesAndTime(t *testing.T) {
	t.Parallel()
	if got, want := Scopes([]string{"a"}), `scope "a" is`; got != want {
		t.Errorf("Scopes(a) = %q; want %q", got, want)
	}
	if got, want := Scopes([]string{"a", "b\n"}), `scopes "a", "b\n" are`; got != want {
		t.Errorf("Scopes(a, b) = %q; want %q", got, want)
	}
	if got := Time(time.Time{}); got != "" {
		t.Errorf("Time(zero) = %q; want empty", got)
	}
	if got, want := Days(4*24*time.Hour+23*time.Hour+59*time.Minute), "4d23h"; got != want {
		t.Errorf("Days = %q; want %q", got, want)
	}
}

func TestMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{errors.New("mint: graph API URL is not an absolute URL"), "graph API URL is not an absolute URL"},
		{errors.New("ghsecrets: empty token"), "empty token"},
		{errors.New("something else: mint: kept"), "something else: mint: kept"},
		{errors.New("mint: ghsecrets: only one prefix goes"), "ghsecrets: only one prefix goes"},
	}
	for _, tt := range tests {
		if got := Message(tt.err); got != tt.want {
			t.Errorf("Message(%q) = %q; want %q", tt.err, got, tt.want)
		}
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 3, 22, 0, 0, 0, time.FixedZone("CET", 3600))
	for _, tt := range []struct {
		in   time.Time
		want string
	}{
		{time.Time{}, "never expires"},
		{at, "expires 2026-12-03T21:00:00Z"},
	} {
		if got := Expiry(tt.in); got != tt.want {
			t.Errorf("Expiry(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
