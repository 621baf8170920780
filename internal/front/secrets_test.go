package front

import (
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint"
)

func TestSecretsDerive(t *testing.T) {
	const key, key2, token = "app-secret-0001", "minting-secret-02", "EAAtoken+with/escapes"
	for _, order := range [][]string{{"key", "token", "key2"}, {"token", "key2", "key"}} {
		t.Run(strings.Join(order, ","), func(t *testing.T) {
			var hidden []string
			s := &Secrets{Hide: func(v string) { hidden = append(hidden, v) }}
			for _, what := range order {
				switch what {
				case "key":
					s.AddKey(key)
				case "key2":
					s.AddKey(key2)
				case "token":
					s.AddToken(token)
				}
			}
			want := []string{key, key2, token, url.QueryEscape(token),
				mint.AppSecretProof(key, token), mint.AppSecretProof(key2, token)}
			for _, v := range want {
				if n := count(hidden, v); n != 1 {
					t.Errorf("hidden %d times: %q; want once (hidden: %q)", n, v, hidden)
				}
			}
			if len(hidden) != len(want) {
				t.Errorf("hidden %q; want exactly %q", hidden, want)
			}
			// The value is hidden before what derives from it.
			if i, j := slices.Index(hidden, token), slices.Index(hidden, mint.AppSecretProof(key, token)); i > j {
				t.Errorf("the proof was hidden before its token: %q", hidden)
			}
		})
	}
}

func count(list []string, v string) int {
	n := 0
	for _, s := range list {
		if s == v {
			n++
		}
	}
	return n
}

func TestSecretsAddDerivesNothing(t *testing.T) {
	var hidden []string
	s := &Secrets{Hide: func(v string) { hidden = append(hidden, v) }}
	s.AddKey("app-secret-0001")
	s.Add("ghs_githubtoken0001")
	s.Add("ghs_githubtoken0001")
	if want := []string{"app-secret-0001", "ghs_githubtoken0001"}; !slices.Equal(hidden, want) {
		t.Errorf("hidden %q; want %q: a plain value derives no proof, and is hidden once", hidden, want)
	}
}

func TestSecretsMinLenAndSpace(t *testing.T) {
	var hidden []string
	s := &Secrets{MinLen: 8, Hide: func(v string) { hidden = append(hidden, v) }}
	s.AddKey("short")
	s.AddToken("  long-enough-token \n")
	s.AddToken("")
	if want := []string{"long-enough-token"}; !slices.Equal(hidden, want) {
		t.Errorf("hidden %q; want %q: shorter than MinLen skipped, space trimmed", hidden, want)
	}
	if got := s.Redact("short long-enough-token"); got != "short [REDACTED]" {
		t.Errorf("Redact = %q", got)
	}
}

func TestSecretsRedact(t *testing.T) {
	s := &Secrets{}
	s.AddKey("secret-1234")
	s.AddToken("tok|en-5678")
	proof := mint.AppSecretProof("secret-1234", "tok|en-5678")
	text := "a=secret-1234 b=tok%7Cen-5678 c=" + proof + " d=app|secret-1234x"
	got := s.Redact(text)
	for _, v := range []string{"secret-1234", "tok%7Cen-5678", proof} {
		if strings.Contains(got, v) {
			t.Errorf("Redact left %q in %q", v, got)
		}
	}
	if want := "a=[REDACTED] b=[REDACTED] c=[REDACTED] d=app|[REDACTED]x"; got != want {
		t.Errorf("Redact = %q; want %q", got, want)
	}
}

// TestSecretsConcurrent adds and redacts from many goroutines (run with
// -race), and every value ends up hidden exactly once.
func TestSecretsConcurrent(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	s := &Secrets{Hide: func(v string) { mu.Lock(); seen[v]++; mu.Unlock() }}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s.AddKey("key-" + strings.Repeat("k", i+8))
			s.AddToken("token-" + strings.Repeat("t", i+8))
			_ = s.Redact("text")
		})
	}
	wg.Wait()
	for v, n := range seen {
		if n != 1 {
			t.Errorf("%q hidden %d times; want once", v, n)
		}
	}
	if want := 8 + 8 + 8*8; len(seen) != want { // keys, tokens, every proof
		t.Errorf("hidden %d values; want %d", len(seen), want)
	}
}

// waitingInAdd reports whether a goroutine waits for a Secrets' lock
// inside add, as its stack shows.
func waitingInAdd() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "front.(*Secrets).add(") && strings.Contains(g, "sync.(*Mutex).Lock") {
			return true
		}
	}
	return false
}

// TestSecretsHiddenBeforeAddReturns: two callers add the same value at
// once. The second must not return before the value is hidden: a caller
// prints right after adding, counting on the mask.
func TestSecretsHiddenBeforeAddReturns(t *testing.T) {
	t.Parallel()
	inHide, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var order []string
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	s := &Secrets{Hide: func(string) {
		close(inHide)
		<-release
		note("hidden")
	}}
	first := make(chan struct{})
	go func() { s.AddToken("token-0123456789"); close(first) }()
	<-inHide // the first caller is hiding the value
	second := make(chan struct{})
	go func() { s.AddToken("token-0123456789"); note("second returned"); close(second) }()
	// Release the mask only once the second caller waits for the lock (or,
	// wrongly, has returned): by what it is doing, not by how long it had.
	guard := time.After(time.Minute) // only a hang, or add renamed, gets here
	for !waitingInAdd() {
		select {
		case <-second:
		case <-guard:
			t.Fatal("the second caller neither waits for the lock in (*Secrets).add nor returned")
		default:
			time.Sleep(time.Millisecond)
			continue
		}
		break
	}
	close(release)
	<-first
	<-second
	if want := []string{"hidden", "second returned"}; !slices.Equal(order, want) {
		t.Errorf("order = %q; want %q: the second add returned before the value was hidden", order, want)
	}
}
