package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/metamint/metamint/internal/baseurl"
	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

var emulatorCommand = &command{
	name:     "emulator",
	synopsis: "[--addr 127.0.0.1:0] [--allow-remote]",
	summary:  "serve the Graph API emulator (minttest) for demos and tests",
	about: `Serves pkg/mint/minttest, a stateful emulator of the Graph API calls metamint makes, seeds it
with a business, an app, an admin system user (with the app installed and a permanent token)
and a system user without the app, and prints shell lines on standard output. It keeps serving,
so run it in the background and eval what it printed once it is there:

  metamint emulator > emulator.env &
  until grep -q SYSTEM_USER_ID emulator.env 2>/dev/null; do sleep 0.1; done
  eval "$(cat emulator.env)"

They export METAMINT_GRAPH_API_URL (so later metamint commands in that shell talk to the
emulator), METAMINT_APP_SECRET and METAMINT_ACCESS_TOKEN (the admin system user's token), and,
for your flags, METAMINT_BUSINESS_ID, METAMINT_APP_ID, METAMINT_ADMIN_SYSTEM_USER_ID and
METAMINT_SYSTEM_USER_ID. These are emulator-only credentials, random per run: Meta knows
nothing of them.

Serves until SIGINT or SIGTERM. It listens on loopback only unless --allow-remote is given,
because it serves plain HTTP and hands out tokens to anyone who asks.`,
	setup: func(fs *flag.FlagSet, c *cli) func(context.Context) error {
		addr := fs.String("addr", "127.0.0.1:0", "address to listen on; port 0 picks a free port")
		allowRemote := fs.Bool("allow-remote", false, "allow a non-loopback --addr (plain HTTP, emulator credentials only)")
		return func(ctx context.Context) error { return c.emulator(ctx, *addr, *allowRemote) }
	},
}

func (c *cli) emulator(ctx context.Context, addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %s is not host:port (for example 127.0.0.1:0)", mint.QuoteInput(addr))
	}
	if !baseurl.IsLoopback(host) {
		if !allowRemote {
			return fmt.Errorf("--addr %s is not a loopback address; the emulator serves plain HTTP, so it listens "+
				"on 127.0.0.1, ::1 or localhost unless you pass --allow-remote", mint.QuoteInput(addr))
		}
		c.stderr.printf("metamint emulator: warning: listening on %s, reachable from other machines\n", addr)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s := minttest.NewServer(minttest.WithListener(ln))
	defer s.Close()
	fx := s.Seed()
	graphURL := shellURL(host, s.URL)

	var b strings.Builder
	fmt.Fprintf(&b, "# metamint emulator (minttest) at %s\n", s.URL)
	fmt.Fprintf(&b, "# Emulator-only credentials, random per run: they are not Meta credentials.\n")
	for _, kv := range [][2]string{
		{envGraphURL, graphURL},
		{"METAMINT_BUSINESS_ID", fx.BusinessID},
		{"METAMINT_APP_ID", fx.AppID},
		{envAppSecret, fx.AppSecret},
		{"METAMINT_ADMIN_SYSTEM_USER_ID", fx.AdminSystemUserID},
		{envAccessToken, fx.AdminToken},
		{"METAMINT_SYSTEM_USER_ID", fx.SystemUserID},
	} {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	if _, err := fmt.Fprint(c.stdout, b.String()); err != nil {
		return err
	}
	c.stderr.printf("metamint emulator: serving at %s; stop with Ctrl-C (SIGINT) or SIGTERM\n", s.URL)
	<-ctx.Done()
	s.Close()
	c.stderr.printf("metamint emulator: stopped after %d requests, %d tokens minted\n", len(s.Requests()), s.Minted())
	return nil
}

// shellURL is the URL the exports name for an emulator listening at
// serverURL on --addr's host: on every interface (0.0.0.0, ::, none) it is
// reached from this machine on loopback, the only host the CLI sends plain
// HTTP to, so the exports work in the shell that evals them.
func shellURL(host, serverURL string) string {
	ip := net.ParseIP(host)
	if host != "" && (ip == nil || !ip.IsUnspecified()) {
		return serverURL
	}
	loopback := "127.0.0.1"
	if ip != nil && ip.To4() == nil {
		loopback = "::1"
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return serverURL
	}
	u.Host = net.JoinHostPort(loopback, u.Port())
	return u.String()
}

// shellQuote quotes s for POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
