package baseurl

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		raw, clean, problem string
	}{
		{"https://graph.facebook.com", "https://graph.facebook.com", ""},
		{"https://ghe.example.com/api/v3//", "https://ghe.example.com/api/v3", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"http://[::1]:8080/", "http://[::1]:8080", ""},
		{"http://localhost:1", "http://localhost:1", ""},
		{"http://graph.example.com", "", "uses http on a non-loopback host; use https"},
		{"http://127.0.0.1.example.com", "", "uses http on a non-loopback host; use https"},
		{"ftp://graph.example.com", "", "must use https"},
		{"graph.facebook.com", "", "is not an absolute URL"},
		{"https://graph.facebook.com/?access_token=x", "", "must not carry user info, a query or a fragment"},
		{"https://graph.facebook.com/#x", "", "must not carry user info, a query or a fragment"},
		{"https://graph.facebook.com/?", "", "must not carry user info, a query or a fragment"},
		{"http://127.0.0.1:8080?", "", "must not carry user info, a query or a fragment"},
		{"https://user:hunter2-canary@graph.facebook.com", "", "must not carry user info, a query or a fragment"},
		{"%", "", "is not an absolute URL"},
		// Unparsable, or without a host: the password must not be shown either.
		{"https://user:hunter2-canary@graph.facebook.com:x", "", "is not an absolute URL"},
		{"https://user:hunter2-canary@graph.facebook.com%zz/", "", "is not an absolute URL"},
		{"https//user:hunter2-canary@graph.facebook.com", "", "is not an absolute URL"},
		{"//user:hunter2-canary@", "", "is not an absolute URL"},
	} {
		clean, shown, problem := Check(tt.raw)
		if clean != tt.clean || problem != tt.problem {
			t.Errorf("Check(%q) = %q, %q; want %q, %q", tt.raw, clean, problem, tt.clean, tt.problem)
		}
		if strings.Contains(shown, "hunter2-canary") {
			t.Errorf("Check(%q) shows %q, with the password", tt.raw, shown)
		}
	}
	if _, shown, _ := Check("https//user:hunter2-canary@graph.facebook.com"); shown != "https//xxxxx@graph.facebook.com" {
		t.Errorf("Check shows %q; want the URL with its user info as xxxxx", shown)
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.3.2.1": true, "::1": true,
		"0.0.0.0": false, "::": false, "example.com": false, "localhost.example.com": false, "": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v; want %v", host, got, want)
		}
	}
}
