// Package baseurl checks the base URL of an HTTP API metamint sends a
// secret to (Graph, GitHub's REST API): https, or plain http to a loopback
// host only, so that a secret never crosses a network in the clear.
package baseurl

import (
	"net"
	"net/url"
	"strings"
)

// Check returns raw without its trailing slashes when it can be a base
// URL: absolute, https (or http to a loopback host), without user info, a
// query or a fragment. Otherwise problem says why, to follow the URL's name
// in a message, and shown is raw fit to quote there: without a password.
func Check(raw string) (clean, shown, problem string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", withoutUserInfo(raw), "is not an absolute URL"
	}
	switch {
	case u.User != nil, u.RawQuery != "", u.ForceQuery, u.Fragment != "": // ForceQuery: a bare "?"
		return "", u.Redacted(), "must not carry user info, a query or a fragment"
	case u.Scheme == "https":
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
	case u.Scheme == "http":
		return "", raw, "uses http on a non-loopback host; use https"
	default:
		return "", raw, "must use https"
	}
	return strings.TrimRight(u.String(), "/"), raw, ""
}

// withoutUserInfo returns raw, a URL url.Parse refused or found no host in,
// with everything before its last "@" after the scheme's "//" (user info,
// perhaps a password) replaced by "xxxxx", as URL.Redacted shows a password.
func withoutUserInfo(raw string) string {
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw
	}
	start := 0
	if i := strings.Index(raw[:at], "//"); i >= 0 {
		start = i + 2
	}
	return raw[:start] + "xxxxx" + raw[at:]
}

// IsLoopback reports whether host (without a port) is localhost or a
// loopback IP address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
