package minttest

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The seven Graph endpoints. Every method in this file runs with s.mu held,
// after the version and method-override checks.

// postApplications installs business_app for the system user:
// POST /{system-user-id}/applications.
func (s *Server) postApplications(c *call) reply {
	su, e := s.managedSystemUserLocked(c, false)
	if e != nil {
		return failure(e)
	}
	app, e := s.businessAppLocked(c)
	if e != nil {
		return failure(e)
	}
	if app.BusinessID != su.BusinessID {
		return failure(errAppOtherBusiness())
	}
	s.installLocked(su.ID, app.ID)
	return success(map[string]bool{"success": true})
}

// postAccessTokens mints a system user token:
// POST /{system-user-id}/access_tokens.
func (s *Server) postAccessTokens(c *call) reply {
	su, e := s.managedSystemUserLocked(c, true)
	if e != nil {
		return failure(e)
	}
	app, e := s.businessAppLocked(c)
	if e != nil {
		return failure(e)
	}
	if !slices.Contains(s.installs[su.ID], app.ID) {
		return failure(errNotInstalled(app.ID))
	}
	scopes, e := s.parseScopes(c.form.Get("scope"))
	if e != nil {
		return failure(e)
	}
	expiring, e := boolParam(c.form, "set_token_expires_in_60_days")
	if e != nil {
		return failure(e)
	}
	if !expiring && s.businesses[su.BusinessID].RequireExpiringTokens {
		return failure(errExpiringRequired())
	}
	t := TokenState{
		Type:       "SYSTEM_USER",
		AppID:      app.ID,
		UserID:     su.ID,
		BusinessID: su.BusinessID,
		Scopes:     scopes,
	}
	var lifetime time.Duration
	if expiring {
		lifetime = expiringLifetime
	}
	minted := s.issueLocked(t, lifetime)
	s.minted++
	return success(map[string]string{"access_token": minted.Value})
}

// deleteAccessTokens revokes every token of the system user:
// DELETE /{system-user-id}/access_tokens.
func (s *Server) deleteAccessTokens(c *call) reply {
	su, e := s.managedSystemUserLocked(c, false)
	if e != nil {
		return failure(e)
	}
	for _, t := range s.tokens {
		if t.UserID == su.ID {
			t.Revoked = true
		}
	}
	return success(map[string]bool{"success": true})
}

// debugEnvelope is the body of a debug_token answer.
type debugEnvelope struct {
	Data any `json:"data"`
}

// debugInfo describes a token the server knows.
type debugInfo struct {
	AppID               string         `json:"app_id"`
	Type                string         `json:"type"`
	Application         string         `json:"application"`
	DataAccessExpiresAt int64          `json:"data_access_expires_at"`
	Error               *debugError    `json:"error,omitempty"`
	ExpiresAt           int64          `json:"expires_at"`
	IsValid             bool           `json:"is_valid"`
	IssuedAt            int64          `json:"issued_at,omitempty"`
	Scopes              []string       `json:"scopes"`
	GranularScopes      []granularItem `json:"granular_scopes,omitempty"`
	UserID              string         `json:"user_id,omitempty"`
}

// debugUnknown describes a token the server does not know.
type debugUnknown struct {
	Error   debugError `json:"error"`
	IsValid bool       `json:"is_valid"`
	Scopes  []string   `json:"scopes"`
}

type debugError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Subcode int    `json:"subcode,omitempty"`
}

type granularItem struct {
	Scope     string   `json:"scope"`
	TargetIDs []string `json:"target_ids,omitempty"`
}

// getDebugToken describes input_token to its app: GET /debug_token.
func (s *Server) getDebugToken(c *call) reply {
	who, e := s.authenticateLocked(c, false)
	if e != nil {
		return failure(e)
	}
	// Meta's reference admits an app token or "an app developer's user
	// access token for the app associated with the input_token"
	// (https://developers.facebook.com/docs/graph-api/reference/debug_token),
	// and its WhatsApp pages call debug_token with a system user token
	// (https://developers.secure.facebook.com/documentation/business-messaging/whatsapp/solution-providers/manage-accounts/).
	// App roles are seeded with App.Developers; the token's app must be the
	// input token's, which the App_id check below enforces.
	if who.token != nil && !slices.Contains(who.app.Developers, who.token.UserID) {
		return failure(errNeedAppToken())
	}
	input := c.form.Get("input_token")
	if input == "" {
		return failure(errMissingParam("input_token"))
	}

	if id, secret, ok := strings.Cut(input, "|"); ok {
		if a := s.apps[id]; a != nil && sameSecret(secret, a.Secret) {
			if a.ID != who.app.ID {
				return failure(errAppMismatch())
			}
			return success(debugEnvelope{Data: debugInfo{
				AppID: a.ID, Type: "APP", Application: a.Name, IsValid: true, Scopes: []string{},
			}})
		}
	}
	t := s.tokenByValue[input]
	if t == nil {
		bad := errInvalidToken()
		return success(debugEnvelope{Data: debugUnknown{
			Error:  debugError{Code: bad.Code, Message: bad.Message},
			Scopes: []string{},
		}})
	}
	if t.AppID != who.app.ID {
		return failure(errAppMismatch())
	}
	info := debugInfo{
		AppID:       t.AppID,
		Type:        t.Type,
		Application: s.apps[t.AppID].Name,
		ExpiresAt:   unixOrZero(t.ExpiresAt),
		IsValid:     true,
		IssuedAt:    t.IssuedAt.Unix(),
		Scopes:      slices.Clone(t.Scopes),
		UserID:      t.UserID,
	}
	if info.Scopes == nil {
		info.Scopes = []string{}
	}
	for _, scope := range t.Scopes {
		info.GranularScopes = append(info.GranularScopes, granularItem{Scope: scope, TargetIDs: slices.Clone(s.assets[t.UserID][scope])})
	}
	if bad := s.tokenErrorLocked(t); bad != nil {
		info.IsValid = false
		info.Error = &debugError{Code: bad.Code, Message: bad.Message, Subcode: bad.Subcode}
	}
	return success(debugEnvelope{Data: info})
}

// exchangeResponse is the body of a refresh answer.
type exchangeResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// exchangeToken refreshes fb_exchange_token into a new 60-day token:
// GET /oauth/access_token with grant_type=fb_exchange_token, the one method
// Meta documents (a POST is refused as an unsupported request). A
// permanent token is converted, as Graph does; the old token stays valid.
func (s *Server) exchangeToken(c *call) reply {
	switch grant := c.form.Get("grant_type"); grant {
	case "fb_exchange_token":
	case "":
		return failure(errMissingParam("grant_type"))
	default:
		return failure(errUnsupportedGrant(grant))
	}
	app, e := s.clientAppLocked(c)
	if e != nil {
		return failure(e)
	}
	value := c.form.Get("fb_exchange_token")
	if value == "" {
		return failure(errMissingParam("fb_exchange_token"))
	}
	if _, e := boolParam(c.form, "set_token_expires_in_60_days"); e != nil {
		return failure(e)
	}
	old := s.tokenByValue[value]
	if old == nil {
		return failure(errInvalidToken())
	}
	// Meta's system user page lists set_token_expires_in_60_days among the
	// parameters the refresh of a system user token needs
	// (https://developers.facebook.com/docs/business-management-apis/system-users/install-apps-and-generate-tokens/);
	// its "Get long-lived tokens" page exchanges a user token without it
	// (https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived).
	if old.Type == "SYSTEM_USER" && !c.form.Has("set_token_expires_in_60_days") {
		return failure(errMissingParam("set_token_expires_in_60_days"))
	}
	if e := s.tokenErrorLocked(old); e != nil {
		return failure(e)
	}
	if old.AppID != app.ID {
		return failure(errTokenOfOtherApp(app.ID))
	}
	t := old.clone()
	t.Revoked = false
	fresh := s.issueLocked(t, expiringLifetime)
	s.minted++
	return success(exchangeResponse{
		AccessToken: fresh.Value,
		TokenType:   "bearer",
		ExpiresIn:   int64(fresh.ExpiresAt.Sub(fresh.IssuedAt) / time.Second),
	})
}

// revokeToken revokes revoke_token: GET /oauth/revoke.
func (s *Server) revokeToken(c *call) reply {
	who, e := s.authenticateLocked(c, false)
	if e != nil {
		return failure(e)
	}
	app, e := s.clientAppLocked(c)
	if e != nil {
		return failure(e)
	}
	value := c.form.Get("revoke_token")
	if value == "" {
		return failure(errMissingParam("revoke_token"))
	}
	t := s.tokenByValue[value]
	if t == nil {
		return failure(errInvalidRevokeToken())
	}
	if t.AppID != app.ID || who.app.ID != app.ID {
		return failure(errRevokeMismatch())
	}
	t.Revoked = true
	return success(map[string]string{"success": "true"})
}

// systemUsersPage is the body of a system_users answer.
type systemUsersPage struct {
	Data   []systemUserItem `json:"data"`
	Paging *paging          `json:"paging,omitempty"`
}

type systemUserItem struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

type paging struct {
	Cursors cursors `json:"cursors"`
	Next    string  `json:"next,omitempty"`
}

type cursors struct {
	Before string `json:"before"`
	After  string `json:"after"`
}

// defaultPageSize is the page size when limit is not sent.
const defaultPageSize = 25

// getSystemUsers lists a business's system users in the order they were
// added: GET /{business-id}/system_users?limit=N&after=CURSOR.
func (s *Server) getSystemUsers(c *call) reply {
	who, e := s.authenticateLocked(c, false)
	if e != nil {
		return failure(e)
	}
	b := s.businesses[c.objectID]
	if b == nil {
		return failure(errUnsupported(c.method, c.objectID))
	}
	if who.businessID() != b.ID {
		return failure(errWrongBusiness(b.ID))
	}
	if c.form.Has("before") {
		return failure(errBeforeUnsupported())
	}
	limit := defaultPageSize
	if raw := c.form.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return failure(errInvalidLimit())
		}
		limit = n
	}

	var users []*SystemUser
	for _, id := range s.userOrder {
		if u := s.systemUsers[id]; u.BusinessID == b.ID {
			users = append(users, u)
		}
	}
	start := 0
	if after := c.form.Get("after"); after != "" {
		i := slices.IndexFunc(users, func(u *SystemUser) bool { return cursor(u.ID) == after })
		if i < 0 {
			return failure(errInvalidCursor())
		}
		start = i + 1
	}
	end := min(start+limit, len(users))

	page := systemUsersPage{Data: []systemUserItem{}}
	for _, u := range users[start:end] {
		page.Data = append(page.Data, systemUserItem{ID: u.ID, Name: u.Name, Role: u.Role})
	}
	if len(page.Data) > 0 {
		last := cursor(page.Data[len(page.Data)-1].ID)
		page.Paging = &paging{Cursors: cursors{Before: cursor(page.Data[0].ID), After: last}}
		if end < len(users) {
			page.Paging.Next = nextPageURL(c, limit, last)
		}
	}
	return success(page)
}

// cursor is the opaque paging cursor of an object.
func cursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

// nextPageURL is the link to the page after the cursor. Like Graph's, it
// keeps the request's query parameters but never a token or proof.
func nextPageURL(c *call, limit int, after string) string {
	q := url.Values{}
	for k, vs := range c.query {
		switch k {
		case "access_token", "appsecret_proof", "appsecret_time", "after", "before":
		default:
			q[k] = slices.Clone(vs)
		}
	}
	q.Set("limit", strconv.Itoa(limit))
	q.Set("after", after)
	u := url.URL{Scheme: c.scheme, Host: c.host, Path: c.path, RawQuery: q.Encode()}
	return u.String()
}

// managedSystemUserLocked authenticates the caller (see authenticateLocked
// for proofRequired), then returns the system user of the path, which the
// caller must be allowed to manage: the caller belongs to its business.
func (s *Server) managedSystemUserLocked(c *call, proofRequired bool) (*SystemUser, *Error) {
	who, e := s.authenticateLocked(c, proofRequired)
	if e != nil {
		return nil, e
	}
	su := s.systemUsers[c.objectID]
	if su == nil {
		return nil, errUnsupported(c.method, c.objectID)
	}
	if who.businessID() != su.BusinessID {
		return nil, errWrongBusiness(su.ID)
	}
	return su, nil
}

// businessAppLocked returns the app the business_app parameter names.
func (s *Server) businessAppLocked(c *call) (*App, *Error) {
	id := c.form.Get("business_app")
	if id == "" {
		return nil, errMissingParam("business_app")
	}
	app := s.apps[id]
	if app == nil {
		return nil, errInvalidBusinessApp()
	}
	return app, nil
}

// parseScopes splits a comma-separated scope list, drops blanks and
// duplicates, and checks that each is known.
func (s *Server) parseScopes(raw string) ([]string, *Error) {
	var scopes []string
	for scope := range strings.SplitSeq(raw, ",") {
		scope = strings.TrimSpace(scope)
		if scope == "" || slices.Contains(scopes, scope) {
			continue
		}
		if !s.scopes[scope] {
			return nil, errInvalidScope(scope)
		}
		scopes = append(scopes, scope)
	}
	if len(scopes) == 0 {
		return nil, errMissingParam("scope")
	}
	return scopes, nil
}

// boolParam reads an optional boolean parameter; absent means false.
func boolParam(form url.Values, name string) (bool, *Error) {
	if !form.Has(name) {
		return false, nil
	}
	v, err := strconv.ParseBool(form.Get(name))
	if err != nil {
		return false, errInvalidBool(name)
	}
	return v, nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
