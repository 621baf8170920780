package minttest

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSeed(t *testing.T) {
	t.Parallel()
	srv := NewServer()
	t.Cleanup(srv.Close)
	fx := srv.Seed()

	want := Fixture{
		BusinessID:        "100000000000001",
		AppID:             "200000000000002",
		AdminSystemUserID: "300000000000003",
		SystemUserID:      "400000000000004",
		AppSecret:         fx.AppSecret,
		AdminToken:        fx.AdminToken,
	}
	if fx != want {
		t.Errorf("Seed() = %+v; want %+v", fx, want)
	}
	if len(fx.AppSecret) != 32 || strings.Trim(fx.AppSecret, hexDigits) != "" {
		t.Errorf("Seed().AppSecret = %q; want 32 lowercase hex digits", fx.AppSecret)
	}
	if got := srv.Installs(fx.AdminSystemUserID); !slices.Equal(got, []string{fx.AppID}) {
		t.Errorf("Installs(admin) = %v; want [%s]", got, fx.AppID)
	}
	if got := srv.Installs(fx.SystemUserID); len(got) != 0 {
		t.Errorf("Installs(system user) = %v; want none", got)
	}
	tok, ok := srv.Token(fx.AdminToken)
	wantTok := TokenState{
		Value: fx.AdminToken, Type: "SYSTEM_USER", AppID: fx.AppID, UserID: fx.AdminSystemUserID,
		BusinessID: fx.BusinessID, Scopes: []string{"business_management"}, IssuedAt: tok.IssuedAt,
	}
	if !ok || tok.Value != wantTok.Value || tok.Type != wantTok.Type || tok.AppID != wantTok.AppID ||
		tok.UserID != wantTok.UserID || tok.BusinessID != wantTok.BusinessID ||
		!slices.Equal(tok.Scopes, wantTok.Scopes) || !tok.ExpiresAt.IsZero() || tok.Revoked {
		t.Errorf("Token(admin token) = %+v, %v; want %+v, true", tok, ok, wantTok)
	}
	if got := srv.Minted(); got != 0 {
		t.Errorf("Minted() = %d; want 0: seeded tokens are not minted", got)
	}
}

func TestTokenValues(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	seen := map[string]bool{}
	for range 50 {
		v := w.srv.IssueToken(TokenSpec{UserID: w.fx.SystemUserID, AppID: w.fx.AppID})
		if len(v) != 180 || !strings.HasPrefix(v, "EAA") || strings.Trim(v, base62) != "" {
			t.Fatalf("IssueToken() = %q; want EAA and 177 base62 characters", v)
		}
		if seen[v] {
			t.Fatalf("IssueToken() returned %q twice", v)
		}
		seen[v] = true
	}
}

func TestMisusePanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		f    func(w *world)
	}{
		{"Seed twice", func(w *world) { w.srv.Seed() }},
		{"AddBusiness empty ID", func(w *world) { w.srv.AddBusiness(Business{}) }},
		{"AddBusiness ID with a slash", func(w *world) { w.srv.AddBusiness(Business{ID: "1/2"}) }},
		{"AddBusiness duplicate", func(w *world) { w.srv.AddBusiness(Business{ID: w.fx.BusinessID}) }},
		{"AddBusiness ID of an app", func(w *world) { w.srv.AddBusiness(Business{ID: w.fx.AppID}) }},
		{"AddApp unknown business", func(w *world) { w.srv.AddApp(App{ID: "1", Secret: "s", BusinessID: "9"}) }},
		{"AddApp empty secret", func(w *world) { w.srv.AddApp(App{ID: "1", BusinessID: w.fx.BusinessID}) }},
		{"AddApp duplicate", func(w *world) { w.srv.AddApp(App{ID: w.fx.AppID, Secret: "s", BusinessID: w.fx.BusinessID}) }},
		{"AddSystemUser bad role", func(w *world) {
			w.srv.AddSystemUser(SystemUser{ID: "1", BusinessID: w.fx.BusinessID, Role: "DEVELOPER"})
		}},
		{"AddSystemUser unknown business", func(w *world) { w.srv.AddSystemUser(SystemUser{ID: "1", BusinessID: "9"}) }},
		{"AddSystemUser duplicate", func(w *world) {
			w.srv.AddSystemUser(SystemUser{ID: w.fx.SystemUserID, BusinessID: w.fx.BusinessID})
		}},
		{"InstallApp unknown system user", func(w *world) { w.srv.InstallApp("9", w.fx.AppID) }},
		{"InstallApp unknown app", func(w *world) { w.srv.InstallApp(w.fx.SystemUserID, "9") }},
		{"InstallApp app of another business", func(w *world) { w.srv.InstallApp(w.fx.SystemUserID, w.otherAppID) }},
		{"IssueToken unknown app", func(w *world) { w.srv.IssueToken(TokenSpec{UserID: w.fx.SystemUserID, AppID: "9"}) }},
		{"IssueToken no app", func(w *world) { w.srv.IssueToken(TokenSpec{UserID: w.fx.SystemUserID}) }},
		{"IssueToken unknown system user", func(w *world) { w.srv.IssueToken(TokenSpec{UserID: "9", AppID: w.fx.AppID}) }},
		{"IssueToken system user of another business", func(w *world) {
			w.srv.IssueToken(TokenSpec{UserID: w.fx.SystemUserID, BusinessID: w.otherBusinessID, AppID: w.fx.AppID})
		}},
		{"IssueToken app of another business", func(w *world) {
			w.srv.IssueToken(TokenSpec{UserID: w.fx.SystemUserID, AppID: w.otherAppID})
		}},
		{"IssueToken unknown type", func(w *world) {
			w.srv.IssueToken(TokenSpec{UserID: w.fx.SystemUserID, AppID: w.fx.AppID, Type: "PAGE"})
		}},
		{"IssueToken unknown scope", func(w *world) {
			w.srv.IssueToken(TokenSpec{UserID: w.fx.SystemUserID, AppID: w.fx.AppID, Scopes: []string{"ads_write"}})
		}},
		{"IssueToken USER without business", func(w *world) {
			w.srv.IssueToken(TokenSpec{Type: "USER", UserID: "77", AppID: w.fx.AppID})
		}},
		{"IssueToken USER without user", func(w *world) {
			w.srv.IssueToken(TokenSpec{Type: "USER", BusinessID: w.fx.BusinessID, AppID: w.fx.AppID})
		}},
		{"IssueToken USER with a system user's ID", func(w *world) {
			w.srv.IssueToken(TokenSpec{Type: "USER", UserID: w.fx.SystemUserID, BusinessID: w.fx.BusinessID, AppID: w.fx.AppID})
		}},
		{"Installs unknown system user", func(w *world) { w.srv.Installs("9") }},
		{"Advance backwards", func(w *world) { w.srv.Advance(-time.Second) }},
		{"SetLatency negative", func(w *world) { w.srv.SetLatency(-time.Second) }},
		{"FailNext unknown endpoint", func(w *world) { w.srv.FailNext("me", Fault{Status: 500}) }},
		{"FailNext negative Times", func(w *world) { w.srv.FailNext(EndpointDebugToken, Fault{Times: -1}) }},
		{"FailNext negative Delay", func(w *world) { w.srv.FailNext(EndpointDebugToken, Fault{Delay: -time.Second}) }},
		{"FailNext invalid Status", func(w *world) { w.srv.FailNext(EndpointDebugToken, Fault{Status: 1000}) }},
		{"NewServer invalid minimum version", func(w *world) { NewServer(WithMinVersion("21")).Close() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			mustPanic(t, tc.name, func() { tc.f(w) })
		})
	}
}

func TestRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.srv.Advance(time.Hour)
	w.send(t, w.debugRequest())
	w.send(t, request{method: http.MethodPost, path: "/v27.0/" + w.fx.SystemUserID + "/applications",
		params: url.Values{"business_app": {w.fx.AppID}}, header: bearer(w.fx.AdminToken)})
	w.send(t, request{method: http.MethodGet, path: "/v27.0/me"})

	got := w.srv.Requests()
	want := []Request{{
		Method: http.MethodGet, Endpoint: EndpointDebugToken, Path: "/v27.0/debug_token",
		RawQuery: w.debugRequest().params.Encode(), Form: w.debugRequest().params,
	}, {
		Method: http.MethodPost, Endpoint: EndpointApplications, Path: "/v27.0/" + w.fx.SystemUserID + "/applications",
		Form: url.Values{"business_app": {w.fx.AppID}}, Authorization: true,
	}, {
		Method: http.MethodGet, Path: "/v27.0/me", Form: url.Values{},
	}}
	if len(got) != len(want) {
		t.Fatalf("Requests() = %d requests; want %d", len(got), len(want))
	}
	for i := range want {
		g, wt := got[i], want[i]
		if g.Method != wt.Method || g.Endpoint != wt.Endpoint || g.Path != wt.Path || g.RawQuery != wt.RawQuery ||
			g.Form.Encode() != wt.Form.Encode() || g.Authorization != wt.Authorization {
			t.Errorf("Requests()[%d] = %+v; want %+v", i, g, wt)
		}
		if now := w.srv.Now(); g.Time.Before(now.Add(-time.Minute)) || g.Time.After(now) {
			t.Errorf("Requests()[%d].Time = %v; want on the emulator clock, shortly before %v", i, g.Time, now)
		}
	}

	// The records are copies.
	got[0].Form.Set("input_token", "changed")
	if again := w.srv.Requests(); again[0].Form.Get("input_token") != w.fx.AdminToken {
		t.Errorf("Requests()[0].Form changed through a copy")
	}
	w.srv.ResetRequests()
	if got := w.srv.Requests(); len(got) != 0 {
		t.Errorf("Requests() after ResetRequests() = %d requests; want 0", len(got))
	}
}

func TestInspectionCopies(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	toks := w.srv.Tokens()
	toks[0].Scopes[0] = "changed"
	one, _ := w.srv.Token(w.fx.AdminToken)
	one.Scopes[0] = "changed"
	w.srv.Installs(w.fx.AdminSystemUserID)[0] = "changed"

	if got, _ := w.srv.Token(w.fx.AdminToken); got.Scopes[0] != "business_management" {
		t.Errorf("Token(admin).Scopes = %v; want [business_management] despite changes to copies", got.Scopes)
	}
	if got := w.srv.Installs(w.fx.AdminSystemUserID); got[0] != w.fx.AppID {
		t.Errorf("Installs(admin) = %v; want [%s] despite changes to a copy", got, w.fx.AppID)
	}
	if _, ok := w.srv.Token("EAAunknown"); ok {
		t.Errorf("Token(unknown) = _, true; want false")
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := NewServer(WithClock(start))
	t.Cleanup(srv.Close)
	fx := srv.Seed()

	if now := srv.Now(); now.Before(start) || now.After(start.Add(time.Minute)) {
		t.Errorf("Now() = %v; want just after %v", now, start)
	}
	tok, _ := srv.Token(fx.AdminToken)
	if tok.IssuedAt.Before(start) || tok.IssuedAt.After(srv.Now()) {
		t.Errorf("IssuedAt = %v; want on the emulator clock, after %v", tok.IssuedAt, start)
	}
	srv.Advance(48 * time.Hour)
	if now := srv.Now(); now.Before(start.Add(48*time.Hour)) || now.After(start.Add(48*time.Hour+time.Minute)) {
		t.Errorf("Now() after Advance(48h) = %v; want just after %v", now, start.Add(48*time.Hour))
	}
	later := srv.IssueToken(TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID})
	if got, _ := srv.Token(later); got.IssuedAt.Before(start.Add(48 * time.Hour)) {
		t.Errorf("IssuedAt after Advance(48h) = %v; want after %v", got.IssuedAt, start.Add(48*time.Hour))
	}
}

func TestWithListener(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("net.Listen = %v", err)
	}
	srv := NewServer(WithListener(l))
	t.Cleanup(srv.Close)
	if want := "http://" + l.Addr().String(); srv.URL != want {
		t.Errorf("URL = %q; want %q", srv.URL, want)
	}
	fx := srv.Seed()
	res := send(t, srv, request{method: http.MethodGet, path: "/v27.0/" + fx.BusinessID + "/system_users", header: bearer(fx.AdminToken)})
	if res.status != http.StatusOK {
		t.Errorf("GET system_users = HTTP %d %s; want 200", res.status, res.body)
	}
}
