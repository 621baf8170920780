package minttest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/metamint/metamint/internal/clock"
)

// proof is the tests' own appsecret_proof: HMAC-SHA256 written out from RFC
// 2104 over crypto/sha256, so the tests share no HMAC code with the server.
// TestProofVectors pins it to openssl's output.
func proof(secret, msg string) string {
	const blockSize = 64
	key := []byte(secret)
	if len(key) > blockSize {
		sum := sha256.Sum256(key)
		key = sum[:]
	}
	inner, outer := sha256.New(), sha256.New()
	for i := range blockSize {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		inner.Write([]byte{k ^ 0x36})
		outer.Write([]byte{k ^ 0x5c})
	}
	inner.Write([]byte(msg))
	outer.Write(inner.Sum(nil))
	return hex.EncodeToString(outer.Sum(nil))
}

// world is a seeded server plus a second business with its own app, system
// user (which installed the app) and token.
type world struct {
	srv *Server
	fx  Fixture

	otherBusinessID   string
	otherAppID        string
	otherAppSecret    string
	otherSystemUserID string
	otherToken        string
}

func newWorld(t *testing.T, opts ...Option) *world {
	t.Helper()
	srv := NewServer(opts...)
	t.Cleanup(srv.Close)
	w := &world{
		srv:               srv,
		fx:                srv.Seed(),
		otherBusinessID:   "900000000000001",
		otherAppID:        "900000000000002",
		otherAppSecret:    "othersecret",
		otherSystemUserID: "900000000000003",
	}
	srv.AddBusiness(Business{ID: w.otherBusinessID, Name: "Other Business"})
	srv.AddApp(App{ID: w.otherAppID, Name: "Other App", Secret: w.otherAppSecret, BusinessID: w.otherBusinessID})
	srv.AddSystemUser(SystemUser{ID: w.otherSystemUserID, BusinessID: w.otherBusinessID, Name: "Other", Role: "ADMIN"})
	srv.InstallApp(w.otherSystemUserID, w.otherAppID)
	w.otherToken = srv.IssueToken(TokenSpec{UserID: w.otherSystemUserID, AppID: w.otherAppID, Scopes: []string{"business_management"}})
	return w
}

// appToken is the seeded app's app access token.
func (w *world) appToken() string { return w.fx.AppID + "|" + w.fx.AppSecret }

// adminProof is the appsecret_proof of the seeded admin token.
func (w *world) adminProof() string { return proof(w.fx.AppSecret, w.fx.AdminToken) }

// request is one HTTP request to the server. Parameters go in the query for
// GET and DELETE and in a form body otherwise.
type request struct {
	method string
	path   string // after the server URL, such as /v27.0/debug_token
	params url.Values
	header http.Header
}

// result is the server's answer.
type result struct {
	status int
	header http.Header
	body   []byte
}

func (w *world) send(t *testing.T, req request) result {
	t.Helper()
	return send(t, w.srv, req)
}

func send(t *testing.T, srv *Server, req request) result {
	t.Helper()
	res, err := trySend(t.Context(), srv.Client(), srv.URL, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	return res
}

// expireOnArrival returns a context whose deadline passes once srv has
// received one more request than it has now: a client that gives up while
// its request is held, by count, which a slow machine cannot reach before
// the request arrives.
func expireOnArrival(t *testing.T, srv *Server) context.Context {
	t.Helper()
	n := len(srv.Requests()) + 1
	cue := clock.NewCue(time.Hour)
	go func() {
		for len(srv.Requests()) < n {
			select {
			case <-t.Context().Done():
				return
			case <-time.After(time.Millisecond):
			}
		}
		cue.Expire()
	}()
	return cue
}

// trySend sends req to the server at base and returns its answer.
func trySend(ctx context.Context, client *http.Client, base string, req request) (result, error) {
	target := base + req.path
	var body io.Reader
	if req.method == http.MethodGet || req.method == http.MethodDelete {
		if len(req.params) > 0 {
			target += "?" + req.params.Encode()
		}
	} else {
		body = strings.NewReader(req.params.Encode())
	}
	r, err := http.NewRequestWithContext(ctx, req.method, target, body)
	if err != nil {
		return result{}, err
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range req.header {
		r.Header[k] = vs
	}
	resp, err := client.Do(r)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	return result{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// graphError is the decoded body of a Graph error answer.
type graphError struct {
	Message     string `json:"message"`
	Type        string `json:"type"`
	Code        int    `json:"code"`
	Subcode     int    `json:"error_subcode"`
	UserTitle   string `json:"error_user_title"`
	UserMessage string `json:"error_user_msg"`
	IsTransient bool   `json:"is_transient"`
	FBTraceID   string `json:"fbtrace_id"`
}

// wantError checks that res is a Graph error with the given status, code and
// subcode, and returns it.
func wantError(t *testing.T, res result, status, code, subcode int) graphError {
	t.Helper()
	var env struct {
		Error *graphError `json:"error"`
	}
	if err := json.Unmarshal(res.body, &env); err != nil || env.Error == nil {
		t.Fatalf("body = %s; want a Graph error (decoding: %v)", res.body, err)
	}
	e := *env.Error
	if res.status != status || e.Code != code || e.Subcode != subcode {
		t.Fatalf("answer = HTTP %d code %d subcode %d (%q); want HTTP %d code %d subcode %d",
			res.status, e.Code, e.Subcode, e.Message, status, code, subcode)
	}
	if e.FBTraceID == "" || e.FBTraceID != res.header.Get("X-Fb-Trace-Id") {
		t.Errorf("fbtrace_id = %q, x-fb-trace-id = %q; want equal and non-empty", e.FBTraceID, res.header.Get("X-Fb-Trace-Id"))
	}
	return e
}

// decode checks that res is HTTP 200 and decodes its body into v.
func decode(t *testing.T, res result, v any) {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("status = %d (body %s); want 200", res.status, res.body)
	}
	if err := json.Unmarshal(res.body, v); err != nil {
		t.Fatalf("json.Unmarshal(%s) = %v", res.body, err)
	}
}

// mintParams are the parameters of a valid mint for the seeded app with the
// admin token, before the token and the proof are added.
func (w *world) mintParams(scope string, expiring bool) url.Values {
	v := url.Values{
		"business_app":    {w.fx.AppID},
		"scope":           {scope},
		"access_token":    {w.fx.AdminToken},
		"appsecret_proof": {w.adminProof()},
	}
	if expiring {
		v.Set("set_token_expires_in_60_days", "true")
	}
	return v
}

// mint installs the seeded app for the seeded system user and mints a token
// for it over HTTP.
func (w *world) mint(t *testing.T, expiring bool) string {
	t.Helper()
	w.install(t, w.fx.SystemUserID)
	res := w.send(t, request{
		method: http.MethodPost,
		path:   "/v27.0/" + w.fx.SystemUserID + "/access_tokens",
		params: w.mintParams("ads_read,business_management", expiring),
	})
	var body struct {
		AccessToken string `json:"access_token"`
	}
	decode(t, res, &body)
	if body.AccessToken == "" {
		t.Fatalf("mint: body = %s; want an access_token", res.body)
	}
	return body.AccessToken
}

func (w *world) install(t *testing.T, systemUserID string) {
	t.Helper()
	res := w.send(t, request{
		method: http.MethodPost,
		path:   "/v27.0/" + systemUserID + "/applications",
		params: url.Values{"business_app": {w.fx.AppID}, "access_token": {w.fx.AdminToken}},
	})
	var body map[string]any
	decode(t, res, &body)
}

// token returns the server's record of value, which must exist.
func (w *world) token(t *testing.T, value string) TokenState {
	t.Helper()
	ts, ok := w.srv.Token(value)
	if !ok {
		t.Fatalf("Token(%.12s...) = _, false; want true", value)
	}
	return ts
}

// mustPanic checks that f panics.
func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic; want a panic", name)
		}
	}()
	f()
}

// day is 24 hours.
const day = 24 * time.Hour

// bearer is an Authorization header carrying token.
func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}
