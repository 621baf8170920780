package mint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// InstallAppRequest is the input of InstallApp.
type InstallAppRequest struct {
	// SystemUserID is the app-scoped ID of the system user. Required.
	SystemUserID string
	// App is the app to install (business_app). App.ID is required; when
	// App.Secret is set, the call carries an appsecret_proof, which apps with
	// "Require App Secret" on need.
	App App
	// AccessToken is the calling token: an admin user's, an admin system
	// user's or another system user's, of the same Business Manager. Required.
	AccessToken string
	// MintingAppSecret is the secret of the app that generated AccessToken,
	// when that is not App's app: Meta keys appsecret_proof with the secret
	// of the calling token's app. Empty means App.Secret.
	MintingAppSecret string
}

// InstallApp installs an app for a system user, which must happen once before
// CreateAccessToken can mint a token for that app. Installing again is
// harmless.
//
// It calls POST /{system-user-id}/applications with business_app. Graph
// answers a boolean: {"success":true}, a bare true, and "true" are accepted.
//
// See https://developers.facebook.com/docs/business-management-apis/system-users/install-apps-and-generate-tokens/.
func (c *Client) InstallApp(ctx context.Context, r InstallAppRequest) error {
	if err := requireIDs("system user ID", r.SystemUserID, "app ID", r.App.ID); err != nil {
		return err
	}
	if err := requireSet("access token", r.AccessToken); err != nil {
		return err
	}
	return c.doSuccess(ctx, "POST /{system-user-id}/applications", &call{
		method:      http.MethodPost,
		path:        "/" + r.SystemUserID + "/applications",
		form:        url.Values{"business_app": {r.App.ID}},
		proofSecret: proofKey(r.App, r.MintingAppSecret),
		token:       r.AccessToken,
		idempotent:  true,
		secrets:     []string{r.AccessToken, r.App.Secret, r.MintingAppSecret},
	})
}

// TokenRequest is the input of CreateAccessToken.
type TokenRequest struct {
	// SystemUserID is the app-scoped ID of the system user the token is
	// for. Required.
	SystemUserID string
	// App is the app the token is for (business_app). Both fields are
	// required: the secret signs the appsecret_proof unless
	// MintingAppSecret is set, and a malformed token Graph answers is
	// revoked with it.
	App App
	// AccessToken is the calling token: an admin user's, an admin system
	// user's or a system user's, of the same Business Manager. Required.
	AccessToken string
	// MintingAppSecret is the secret of the app that generated AccessToken,
	// when that is not App's app: Meta keys appsecret_proof with the secret
	// of the calling token's app. Empty means App.Secret.
	MintingAppSecret string
	// Scopes are the permissions to grant. At least one is required; each
	// must be supported (see CheckScopes) unless AllowUnlistedScopes is set.
	Scopes []string
	// AllowUnlistedScopes sends scopes missing from SupportedScopes instead
	// of refusing them.
	AllowUnlistedScopes bool
	// Permanent asks for a token that never expires. The zero value asks for
	// an expiring token (set_token_expires_in_60_days=true), which Meta
	// recommends and requires for some businesses.
	Permanent bool
}

func (r *TokenRequest) validate() error {
	if err := requireIDs("system user ID", r.SystemUserID, "app ID", r.App.ID); err != nil {
		return err
	}
	if err := requireSet("app secret", r.App.Secret, "access token", r.AccessToken); err != nil {
		return err
	}
	err := CheckScopes(r.Scopes)
	var unlisted *UnlistedScopeError
	if errors.As(err, &unlisted) && r.AllowUnlistedScopes {
		return nil
	}
	return err
}

// CreateAccessToken generates a system user access token.
//
// It calls POST /{system-user-id}/access_tokens with business_app, scope,
// appsecret_proof and set_token_expires_in_60_days. Graph answers the token
// alone, without its expiry: call DebugToken for that. The app must be
// installed for the system user first (InstallApp).
//
// The request is checked before anything is sent. A failure after the
// request was sent is never retried unless Graph said it failed: the token
// may exist. An answer that is the calling token itself is refused with
// ErrCallerTokenEchoed, and never revoked.
//
// See https://developers.facebook.com/docs/business-management-apis/system-users/install-apps-and-generate-tokens/.
func (c *Client) CreateAccessToken(ctx context.Context, r TokenRequest) (*Token, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	form := url.Values{
		"business_app": {r.App.ID},
		"scope":        {strings.Join(r.Scopes, ",")},
	}
	if !r.Permanent {
		form.Set("set_token_expires_in_60_days", "true")
	}
	body, err := c.do(ctx, &call{
		method:      http.MethodPost,
		path:        "/" + r.SystemUserID + "/access_tokens",
		form:        form,
		proofSecret: proofKey(r.App, r.MintingAppSecret),
		token:       r.AccessToken,
		secrets:     []string{r.AccessToken, r.App.Secret, r.MintingAppSecret},
	})
	if err != nil {
		return nil, err
	}
	tok, err := c.decodeToken(ctx, "POST /{system-user-id}/access_tokens", body, r.App)
	if err != nil {
		return nil, err
	}
	if tok.AccessToken == r.AccessToken {
		// The caller's own token is not a new one: returning it would let a
		// front end hand it over as new, or revoke it when its check fails.
		return nil, fmt.Errorf("%w (POST /{system-user-id}/access_tokens); it was not revoked", ErrCallerTokenEchoed)
	}
	return tok, nil
}

// DebugToken inspects inputToken with the app access token of app.
//
// It calls GET /debug_token?input_token=... with "ID|Secret" in the
// Authorization header; Graph refuses POST, and a system user token cannot
// inspect itself. The input token has to travel in the URL, so it is
// removed from every error this method returns. An invalid token is not an
// error: the TokenInfo says IsValid false and why.
//
// See https://developers.facebook.com/docs/graph-api/reference/debug_token.
func (c *Client) DebugToken(ctx context.Context, app App, inputToken string) (*TokenInfo, error) {
	if err := requireIDs("app ID", app.ID); err != nil {
		return nil, err
	}
	if err := requireSet("app secret", app.Secret, "token to inspect", inputToken); err != nil {
		return nil, err
	}
	cl := &call{
		method:     http.MethodGet,
		path:       "/debug_token",
		query:      url.Values{"input_token": {inputToken}},
		token:      app.AccessToken(),
		idempotent: true,
		// The inspected token's own proof is never sent here, but it is a
		// credential a Graph or gateway may quote beside the token.
		secrets: []string{inputToken, app.Secret, AppSecretProof(app.Secret, inputToken)},
	}
	body, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	info, err := decodeTokenInfo(body)
	if err != nil {
		return nil, err
	}
	// Graph, or a gateway before it, may echo the inspected token (or its
	// proof) in any text, data.error.message included.
	info.redact(cl.redactor())
	return info, nil
}

func decodeTokenInfo(body []byte) (*TokenInfo, error) {
	var resp struct {
		Data *struct {
			AppID               flexString `json:"app_id"`
			Application         string     `json:"application"`
			Type                string     `json:"type"`
			UserID              flexString `json:"user_id"`
			IsValid             bool       `json:"is_valid"`
			IssuedAt            flexInt    `json:"issued_at"`
			ExpiresAt           flexInt    `json:"expires_at"`
			DataAccessExpiresAt flexInt    `json:"data_access_expires_at"`
			Scopes              []string   `json:"scopes"`
			GranularScopes      []struct {
				Scope     string       `json:"scope"`
				TargetIDs []flexString `json:"target_ids"`
			} `json:"granular_scopes"`
			Error *struct {
				Code    flexInt `json:"code"`
				Subcode flexInt `json:"subcode"`
				Message string  `json:"message"`
			} `json:"error"`
		} `json:"data"`
	}
	if err := decodeJSON("GET /debug_token", body, &resp); err != nil {
		return nil, err
	}
	d := resp.Data
	if d == nil {
		return nil, fmt.Errorf("mint: GET /debug_token: the response has no data")
	}
	info := &TokenInfo{
		AppID:               string(d.AppID),
		Application:         d.Application,
		Type:                d.Type,
		UserID:              string(d.UserID),
		IsValid:             d.IsValid,
		IssuedAt:            unixOrZero(int64(d.IssuedAt)),
		ExpiresAt:           unixOrZero(int64(d.ExpiresAt)),
		DataAccessExpiresAt: unixOrZero(int64(d.DataAccessExpiresAt)),
		Scopes:              d.Scopes,
	}
	for _, g := range d.GranularScopes {
		gs := GranularScope{Scope: g.Scope}
		for _, id := range g.TargetIDs {
			gs.TargetIDs = append(gs.TargetIDs, string(id))
		}
		info.GranularScopes = append(info.GranularScopes, gs)
	}
	if d.Error != nil {
		info.Error = &TokenError{Code: int(d.Error.Code), Subcode: int(d.Error.Subcode), Message: d.Error.Message}
	}
	return info, nil
}

// RefreshRequest is the input of RefreshAccessToken.
type RefreshRequest struct {
	App         App    // the token's app; ID and Secret required
	AccessToken string // the expiring token to refresh; required
	// Info is a debug_token result for AccessToken the caller already has.
	// When nil, RefreshAccessToken calls DebugToken first.
	Info *TokenInfo
}

// RefreshAccessToken exchanges a valid expiring token for a new one that is
// valid for 60 days. The old token keeps working until its own expiry; revoke
// it once the new one is deployed.
//
// It refuses, before any exchange, a token that never expires (refreshing
// would make it expire) and a token debug_token calls invalid (an expired
// token cannot be refreshed: mint a new one).
//
// It calls GET /oauth/access_token with grant_type=fb_exchange_token,
// client_id, client_secret, fb_exchange_token and
// set_token_expires_in_60_days=true in the query, as Meta documents it (the
// system user page and "Get long-lived tokens" both show GET with query
// parameters, and no Meta page shows a form body). The query is removed from
// every error this method returns. Graph answers expires_in, which sets
// Token.ExpiresAt.
//
// Meta does not promise a different token: the answer may equal
// r.AccessToken, which is not an error. A caller that revokes the old token
// must first compare the two, or it revokes the token it just got.
//
// See https://developers.facebook.com/docs/business-management-apis/system-users/install-apps-and-generate-tokens/
// and https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived.
func (c *Client) RefreshAccessToken(ctx context.Context, r RefreshRequest) (*Token, error) {
	if err := requireIDs("app ID", r.App.ID); err != nil {
		return nil, err
	}
	if err := requireSet("app secret", r.App.Secret, "token to refresh", r.AccessToken); err != nil {
		return nil, err
	}
	info := r.Info
	if info == nil {
		var err error
		if info, err = c.DebugToken(ctx, r.App, r.AccessToken); err != nil {
			return nil, err
		}
	}
	if !info.IsValid {
		return nil, invalidf("the token to refresh is not valid; mint a new one instead")
	}
	if info.NeverExpires() {
		return nil, invalidf("the token never expires; refreshing it would make it expire in 60 days")
	}
	form := url.Values{
		"grant_type":                   {"fb_exchange_token"},
		"client_id":                    {r.App.ID},
		"client_secret":                {r.App.Secret},
		"fb_exchange_token":            {r.AccessToken},
		"set_token_expires_in_60_days": {"true"},
	}
	body, err := c.do(ctx, &call{
		method:  http.MethodGet,
		path:    "/oauth/access_token",
		query:   form,
		secrets: []string{r.AccessToken, r.App.Secret},
	})
	if err != nil {
		return nil, err
	}
	return c.decodeToken(ctx, "GET /oauth/access_token", body, r.App)
}

// RevokeRequest is the input of RevokeAccessToken.
type RevokeRequest struct {
	App   App    // the token's app; ID and Secret required
	Token string // the token to revoke; required
	// AccessToken identifies the caller. Meta requires client_id, the app
	// of Token, the app of the caller and client_secret to be one app, so a
	// minting token of another app cannot be the caller. When empty, Token
	// identifies itself, which is always of the right app.
	AccessToken string
}

// RevokeAccessToken invalidates one token at once.
//
// It calls GET /oauth/revoke with client_id, client_secret, revoke_token and
// access_token (the caller) in the query, as Meta documents it, with the
// caller's appsecret_proof keyed by App.Secret: Meta requires the caller to
// be of App's app, and an app with "Require App Secret" on refuses a user or
// system user token's call without a proof
// (https://developers.facebook.com/docs/facebook-login/security/). Nothing
// travels in a header, so even a token a header could not carry (one Graph
// answered with a newline, say) can be revoked. The query is removed from
// every error this method returns.
// Revocations skip Pacing's waits (see WithPacing), so that a token can be
// ended even while Meta throttles other calls; retries still apply.
// Revoking an already revoked token succeeds when another valid token is the
// caller; when the revoked token is its own caller, Graph answers code 190
// (ErrInvalidToken), which callers may take as "already revoked".
//
// See https://developers.facebook.com/docs/business-management-apis/system-users/install-apps-and-generate-tokens/.
func (c *Client) RevokeAccessToken(ctx context.Context, r RevokeRequest) error {
	if err := requireIDs("app ID", r.App.ID); err != nil {
		return err
	}
	if err := requireSet("app secret", r.App.Secret, "token to revoke", r.Token); err != nil {
		return err
	}
	caller := r.AccessToken
	if caller == "" {
		caller = r.Token
	}
	return c.doSuccess(ctx, "GET /oauth/revoke", &call{
		method: http.MethodGet,
		path:   "/oauth/revoke",
		query: url.Values{
			"client_id":     {r.App.ID},
			"client_secret": {r.App.Secret},
			"revoke_token":  {r.Token},
			"access_token":  {caller},
		},
		proofSecret: r.App.Secret,
		proofToken:  caller,
		idempotent:  true,
		unpaced:     true,
		secrets:     []string{r.Token, caller, r.App.Secret},
	})
}

// RevokeAllRequest is the input of RevokeAllAccessTokens.
type RevokeAllRequest struct {
	SystemUserID string // required
	// AccessToken is the calling token of the same Business Manager. Required.
	AccessToken string
	// App, when its Secret is set, signs an appsecret_proof for the calling
	// token.
	App App
	// MintingAppSecret is the secret of the app that generated AccessToken,
	// when that is not App's app: Meta keys appsecret_proof with the secret
	// of the calling token's app. Empty means App.Secret.
	MintingAppSecret string
}

// RevokeAllAccessTokens invalidates every token of a system user.
//
// It calls DELETE /{system-user-id}/access_tokens as a real DELETE (Graph
// v27 refuses the method=DELETE override for new apps).
//
// See https://developers.facebook.com/docs/business-management-apis/system-users/create-retrieve-update.
func (c *Client) RevokeAllAccessTokens(ctx context.Context, r RevokeAllRequest) error {
	if err := requireIDs("system user ID", r.SystemUserID); err != nil {
		return err
	}
	if err := requireSet("access token", r.AccessToken); err != nil {
		return err
	}
	return c.doSuccess(ctx, "DELETE /{system-user-id}/access_tokens", &call{
		method:      http.MethodDelete,
		path:        "/" + r.SystemUserID + "/access_tokens",
		query:       url.Values{},
		proofSecret: proofKey(r.App, r.MintingAppSecret),
		token:       r.AccessToken,
		idempotent:  true,
		unpaced:     true,
		secrets:     []string{r.AccessToken, r.App.Secret, r.MintingAppSecret},
	})
}

// SystemUsersRequest is the input of SystemUsers.
type SystemUsersRequest struct {
	BusinessID  string // required
	AccessToken string // a token of that business; required
	// App, when its Secret is set, signs an appsecret_proof.
	App App
	// MintingAppSecret is the secret of the app that generated AccessToken,
	// when that is not App's app: Meta keys appsecret_proof with the secret
	// of the calling token's app. Empty means App.Secret.
	MintingAppSecret string
	// PageSize is the number asked for per page; 0 means 100.
	PageSize int
}

// maxPages bounds SystemUsers against a server whose cursors never end.
const maxPages = 1000

// SystemUsers lists the system users of a business, admin system users
// included, following the after cursor over every page until a page has no
// next link, as Meta's "Paginated Results" page says: a short or empty page
// does not end the list. A cursor that does not advance is an error.
//
// It calls GET /{business-id}/system_users?fields=id,name,role.
//
// See https://developers.facebook.com/docs/business-management-apis/system-users/create-retrieve-update.
func (c *Client) SystemUsers(ctx context.Context, r SystemUsersRequest) ([]SystemUser, error) {
	if err := requireIDs("business ID", r.BusinessID); err != nil {
		return nil, err
	}
	if err := requireSet("access token", r.AccessToken); err != nil {
		return nil, err
	}
	if r.PageSize < 0 {
		return nil, invalidf("page size %d is negative", r.PageSize)
	}
	limit := r.PageSize
	if limit == 0 {
		limit = 100
	}
	var users []SystemUser
	after := ""
	for range maxPages {
		q := url.Values{"fields": {"id,name,role"}, "limit": {strconv.Itoa(limit)}}
		if after != "" {
			q.Set("after", after)
		}
		cl := &call{
			method:      http.MethodGet,
			path:        "/" + r.BusinessID + "/system_users",
			query:       q,
			proofSecret: proofKey(r.App, r.MintingAppSecret),
			token:       r.AccessToken,
			idempotent:  true,
			secrets:     []string{r.AccessToken, r.App.Secret, r.MintingAppSecret},
		}
		body, err := c.do(ctx, cl)
		if err != nil {
			return nil, err
		}
		var page struct {
			Data   []SystemUser `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := decodeJSON("GET /{business-id}/system_users", body, &page); err != nil {
			return nil, err
		}
		red := cl.redactor()
		for _, u := range page.Data {
			users = append(users, SystemUser{ID: red.replace(u.ID), Name: red.replace(u.Name), Role: red.replace(u.Role)})
		}
		// Meta: the absence of next ends the list, not a short or empty
		// page (privacy filtering may empty one that has a next link).
		if page.Paging.Next == "" || page.Paging.Cursors.After == "" {
			return users, nil
		}
		if page.Paging.Cursors.After == after {
			return nil, fmt.Errorf("mint: GET /{business-id}/system_users: the after cursor did not advance")
		}
		after = page.Paging.Cursors.After
	}
	return nil, fmt.Errorf("mint: GET /{business-id}/system_users: more than %d pages", maxPages)
}

// proofKey is the secret that keys the proof of a calling token: the
// minting app's when the caller names one, else the business app's.
func proofKey(app App, mintingAppSecret string) string {
	if mintingAppSecret != "" {
		return mintingAppSecret
	}
	return app.Secret
}

// doSuccess sends cl and expects one of Graph's boolean answers.
func (c *Client) doSuccess(ctx context.Context, name string, cl *call) error {
	body, err := c.do(ctx, cl)
	if err != nil {
		return err
	}
	return decodeSuccess(name, body)
}

func (c *Client) expiry(expiresIn int64) time.Time {
	if expiresIn <= 0 {
		return time.Time{}
	}
	return c.now().Add(time.Duration(expiresIn) * time.Second).UTC().Truncate(time.Second)
}

// decodeToken reads Graph's answer to a call that issues a token of app. A
// token that fails CheckTokenValue is revoked at once, through a call that
// carries it only as a query parameter, and the answer is an error that never
// holds the token. A well-formed token with white space or control
// characters around it is refused but not revoked: it may be a token someone
// already holds (the calling token, the token to refresh, one a secret
// stores), which a Graph that reads past the padding would revoke.
func (c *Client) decodeToken(ctx context.Context, name string, body []byte, app App) (*Token, error) {
	var resp struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   flexInt `json:"expires_in"`
	}
	if err := decodeJSON(name, body, &resp); err != nil {
		return nil, err
	}
	if resp.AccessToken == "" {
		return nil, fmt.Errorf("mint: %s: the response has no access_token", name)
	}
	if err := CheckTokenValue(resp.AccessToken); err != nil {
		if trimmed := strings.TrimFunc(resp.AccessToken, func(r rune) bool { return r <= ' ' || r == 0x7f }); CheckTokenValue(trimmed) == nil {
			return nil, fmt.Errorf("%w: %s: Graph answered a token with white space or control characters around it; "+
				"it is not revoked, since it may be a token already held (the calling token, or one a secret stores)", ErrMalformedToken, name)
		}
		return nil, c.revokeMalformed(ctx, name, app, resp.AccessToken, err)
	}
	return &Token{AccessToken: resp.AccessToken, ExpiresAt: c.expiry(int64(resp.ExpiresIn))}, nil
}

// ErrCallerTokenEchoed is matched (errors.Is) by the error of
// CreateAccessToken when Graph answers the calling token itself as the new
// token. That token is neither returned nor revoked: it is the caller's.
var ErrCallerTokenEchoed = errors.New("mint: Graph answered the calling token itself as the new token; refusing it")

// ErrMalformedToken is matched (errors.Is) by the error of a call that
// issued a token unfit for use (see CheckTokenValue). The Client has then
// tried to revoke it, unless it is a well-formed token with white space or
// control characters around it, which may be a token someone holds; the
// error says which.
var ErrMalformedToken = errors.New("mint: Graph issued a malformed token")

// revokeMalformed revokes token, which Graph issued for app but which fails
// CheckTokenValue (Discard: even when ctx is done, since a live token nobody
// holds must not stay live), and returns the error that says so.
func (c *Client) revokeMalformed(ctx context.Context, name string, app App, token string, why error) error {
	reason := why.Error()
	var rerr *RequestError
	if errors.As(why, &rerr) {
		reason = rerr.Reason
	}
	if err := c.Discard(ctx, app, token); err != nil {
		// No advice to revoke every token of the system user: that would
		// end the calling token and every token a secret stores too.
		return fmt.Errorf("%w: %s: %s; revoking it failed, so it stays valid until it expires: %v", ErrMalformedToken, name, reason, err)
	}
	return fmt.Errorf("%w: %s: %s; it was revoked", ErrMalformedToken, name, reason)
}

func unixOrZero(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// requireSet checks name/value pairs of required values, such as secrets,
// that must not be empty. Messages never include the values.
func requireSet(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return invalidf("%s is empty", pairs[i])
		}
	}
	return nil
}

// requireIDs checks name/value pairs of Graph IDs: present, and digits only,
// since an ID becomes a path segment.
func requireIDs(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		name, v := pairs[i], pairs[i+1]
		if v == "" {
			return invalidf("%s is empty", name)
		}
		if !IsGraphID(v) {
			return invalidf("%s %s is not a numeric Graph ID", name, QuoteInput(v))
		}
	}
	return nil
}

// IsGraphID reports whether s has the form of a Graph object ID (an app,
// business or system user ID): 1 to 32 decimal digits. Every Client method
// checks its IDs this way before sending anything.
func IsGraphID(s string) bool {
	return s != "" && isDigits(s) && len(s) <= 32
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// decodeJSON decodes a success body. Errors name the call, never the body.
func decodeJSON(name string, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("mint: %s: decoding the response: %w", name, jsonErrorWithoutData(err))
	}
	return nil
}

// jsonErrorWithoutData keeps the kind of a JSON error but drops anything it
// may quote from the body.
func jsonErrorWithoutData(err error) error {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Errorf("invalid JSON at offset %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Errorf("field %q has JSON type %s", e.Field, e.Value)
	}
	return fmt.Errorf("invalid JSON")
}

// decodeSuccess accepts Graph's boolean answers: {"success":true},
// {"success":"true"}, a bare true and "true". Anything else is an error.
func decodeSuccess(name string, body []byte) error {
	trimmed := strings.TrimSpace(string(body))
	// Meta's page shows {"success":"true",} with a trailing comma.
	trimmed = strings.Replace(trimmed, ",}", "}", 1)
	var v any
	if err := json.Unmarshal([]byte(trimmed), &v); err != nil {
		return fmt.Errorf("mint: %s: decoding the response: %w", name, jsonErrorWithoutData(err))
	}
	if m, ok := v.(map[string]any); ok {
		v = m["success"]
	}
	switch v {
	case true, "true":
		return nil
	}
	return fmt.Errorf("mint: %s: Graph did not answer success", name)
}
