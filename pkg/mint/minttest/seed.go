package minttest

import (
	"fmt"
	"slices"
	"time"
)

// Business is a Business Manager account.
type Business struct {
	ID   string
	Name string
	// RequireExpiringTokens makes minting without
	// set_token_expires_in_60_days=true fail, as Meta does for some businesses.
	RequireExpiringTokens bool
}

// App is a Meta app owned by a business.
type App struct {
	ID         string
	Name       string // shown as "application" by debug_token
	Secret     string // the app secret; required
	BusinessID string // the owning business; required
	// RequireProof emulates the "Require App Secret" setting: every call made
	// with a user or system user token of the app must carry appsecret_proof.
	// (Minting always requires it.)
	RequireProof bool
	// Developers are the IDs of the users and system users with a role on
	// the app. Their tokens of the app may call debug_token on the app's
	// tokens, as Meta's debug_token reference admits "an app developer's
	// user access token"; any other user or system user token is refused.
	Developers []string
}

// SystemUser is a system user of a business. Its ID is the app-scoped ID the
// Graph paths take.
type SystemUser struct {
	ID         string
	BusinessID string // required
	Name       string
	Role       string // "ADMIN" or "EMPLOYEE"; empty means "EMPLOYEE"
}

// TokenSpec describes a calling token for IssueToken.
type TokenSpec struct {
	// UserID is a system user's ID, or for a USER token any ID standing for an
	// admin user of the business (admin users are not seeded separately).
	UserID string
	// BusinessID is the business of the user. For a system user it defaults
	// to, and must equal, the system user's business; for a USER token it is
	// required.
	BusinessID string
	// AppID is the app the token belongs to; required. Its secret keys the
	// token's appsecret_proof.
	AppID string
	// Type is "SYSTEM_USER" (the default) or "USER".
	Type string
	// Scopes are the token's permissions; each must be one the server knows.
	Scopes []string
	// ExpiresAt is when the token expires; zero means never. A time in the
	// past issues an already expired token.
	ExpiresAt time.Time
}

// Fixture is the world Seed creates.
type Fixture struct {
	BusinessID        string
	AppID             string
	AppSecret         string
	AdminSystemUserID string
	AdminToken        string // a permanent token of the admin system user, with business_management
	SystemUserID      string // an EMPLOYEE system user that has not installed the app
}

// The fixed IDs of Seed's world.
const (
	seedBusinessID        = "100000000000001"
	seedAppID             = "200000000000002"
	seedAdminSystemUserID = "300000000000003"
	seedSystemUserID      = "400000000000004"
)

// Seed adds a ready-made world and returns it: a business that does not
// require expiring tokens, an app of that business with a random secret, an
// admin system user that has installed the app and holds a permanent token
// with business_management, and an EMPLOYEE system user that has not installed
// the app. The IDs are fixed (business 100000000000001, app 200000000000002,
// admin system user 300000000000003, system user 400000000000004); the secret
// and the token are random. Seed panics when called twice on a server, or
// when one of its IDs is already taken.
func (s *Server) Seed() Fixture {
	fx := Fixture{
		BusinessID:        seedBusinessID,
		AppID:             seedAppID,
		AppSecret:         randomText(hexDigits, 32),
		AdminSystemUserID: seedAdminSystemUserID,
		SystemUserID:      seedSystemUserID,
	}
	s.AddBusiness(Business{ID: fx.BusinessID, Name: "Metamint Test Business"})
	s.AddApp(App{ID: fx.AppID, Name: "Metamint Test App", Secret: fx.AppSecret, BusinessID: fx.BusinessID})
	s.AddSystemUser(SystemUser{ID: fx.AdminSystemUserID, BusinessID: fx.BusinessID, Name: "Admin System User", Role: "ADMIN"})
	s.AddSystemUser(SystemUser{ID: fx.SystemUserID, BusinessID: fx.BusinessID, Name: "System User", Role: "EMPLOYEE"})
	s.InstallApp(fx.AdminSystemUserID, fx.AppID)
	fx.AdminToken = s.IssueToken(TokenSpec{
		UserID: fx.AdminSystemUserID,
		AppID:  fx.AppID,
		Scopes: []string{"business_management"},
	})
	return fx
}

// AddBusiness adds a business. It panics when the ID is empty, not made of
// letters, digits, '-' and '_', or already taken by any seeded object.
func (s *Server) AddBusiness(b Business) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claimIDLocked("AddBusiness", "business", b.ID)
	s.businesses[b.ID] = &b
}

// AddApp adds an app. It panics when the ID is invalid or taken, the secret is
// empty, or the business is unknown.
func (s *Server) AddApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Secret == "" {
		panic(fmt.Sprintf("minttest: AddApp(%q): empty Secret", a.ID))
	}
	s.mustBusinessLocked("AddApp", a.BusinessID)
	s.claimIDLocked("AddApp", "app", a.ID)
	a.Developers = slices.Clone(a.Developers)
	s.apps[a.ID] = &a
}

// AddSystemUser adds a system user. It panics when the ID is invalid or taken,
// the business is unknown, or the role is neither ADMIN nor EMPLOYEE.
func (s *Server) AddSystemUser(u SystemUser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.Role == "" {
		u.Role = "EMPLOYEE"
	}
	if u.Role != "ADMIN" && u.Role != "EMPLOYEE" {
		panic(fmt.Sprintf("minttest: AddSystemUser(%q): Role %q, want ADMIN or EMPLOYEE", u.ID, u.Role))
	}
	s.mustBusinessLocked("AddSystemUser", u.BusinessID)
	s.claimIDLocked("AddSystemUser", "system user", u.ID)
	s.systemUsers[u.ID] = &u
	s.userOrder = append(s.userOrder, u.ID)
}

// InstallApp installs an app for a system user directly, as a successful
// POST /{system-user-id}/applications would. Installing twice does nothing.
// It panics when either is unknown or they belong to different businesses.
func (s *Server) InstallApp(systemUserID, appID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	su := s.mustSystemUserLocked("InstallApp", systemUserID)
	a, ok := s.apps[appID]
	if !ok {
		panic(fmt.Sprintf("minttest: InstallApp(%q, %q): unknown app", systemUserID, appID))
	}
	if a.BusinessID != su.BusinessID {
		panic(fmt.Sprintf("minttest: InstallApp(%q, %q): the app belongs to business %q, the system user to %q",
			systemUserID, appID, a.BusinessID, su.BusinessID))
	}
	s.installLocked(systemUserID, appID)
}

// IssueToken creates a calling token directly, as if minted in Business
// Manager, and returns its value. It does not count as minted (see Minted) and
// does not require the app to be installed. It panics when the spec names an
// unknown app, user or business, a system user of another business, an app
// of another business than a system user's, an unknown type, or an unknown
// scope.
func (s *Server) IssueToken(spec TokenSpec) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	where := fmt.Sprintf("IssueToken(UserID %q)", spec.UserID)
	a, ok := s.apps[spec.AppID]
	if !ok {
		panic(fmt.Sprintf("minttest: %s: unknown AppID %q", where, spec.AppID))
	}
	switch spec.Type {
	case "", "SYSTEM_USER":
		spec.Type = "SYSTEM_USER"
		su := s.mustSystemUserLocked("IssueToken", spec.UserID)
		if spec.BusinessID == "" {
			spec.BusinessID = su.BusinessID
		}
		if spec.BusinessID != su.BusinessID {
			panic(fmt.Sprintf("minttest: %s: the system user belongs to business %q, not %q", where, su.BusinessID, spec.BusinessID))
		}
		if a.BusinessID != su.BusinessID {
			panic(fmt.Sprintf("minttest: %s: app %q belongs to another business", where, a.ID))
		}
	case "USER":
		if spec.UserID == "" {
			panic(fmt.Sprintf("minttest: %s: empty UserID", where))
		}
		if _, ok := s.systemUsers[spec.UserID]; ok {
			panic(fmt.Sprintf("minttest: %s: a USER token cannot belong to a system user", where))
		}
		s.mustBusinessLocked("IssueToken", spec.BusinessID)
	default:
		panic(fmt.Sprintf("minttest: %s: Type %q, want SYSTEM_USER or USER", where, spec.Type))
	}
	for _, scope := range spec.Scopes {
		if !s.scopes[scope] {
			panic(fmt.Sprintf("minttest: %s: unknown scope %q", where, scope))
		}
	}
	t := s.issueLocked(TokenState{
		Type:       spec.Type,
		AppID:      a.ID,
		UserID:     spec.UserID,
		BusinessID: spec.BusinessID,
		Scopes:     slices.Clone(spec.Scopes),
		ExpiresAt:  spec.ExpiresAt,
	}, 0)
	return t.Value
}

// issueLocked stores a new token like t, with a fresh value, issued now. A
// positive lifetime makes it expire that long after issue.
func (s *Server) issueLocked(t TokenState, lifetime time.Duration) *TokenState {
	t.Value = s.takeNextValueLocked()
	for t.Value == "" {
		v := "EAA" + randomText(base62, 177)
		if _, taken := s.tokenByValue[v]; !taken {
			t.Value = v
		}
	}
	t.IssuedAt = s.nowLocked()
	if lifetime > 0 {
		t.ExpiresAt = t.IssuedAt.Add(lifetime)
	}
	s.tokens = append(s.tokens, &t)
	s.tokenByValue[t.Value] = &t
	return &t
}

// installLocked records that the system user installed the app.
func (s *Server) installLocked(systemUserID, appID string) {
	if !slices.Contains(s.installs[systemUserID], appID) {
		s.installs[systemUserID] = append(s.installs[systemUserID], appID)
	}
}

// claimIDLocked reserves id for a new object of the given kind, or panics.
func (s *Server) claimIDLocked(method, kind, id string) {
	if !validID(id) {
		panic(fmt.Sprintf("minttest: %s: invalid ID %q: want letters, digits, '-' or '_'", method, id))
	}
	if other, taken := s.ids[id]; taken {
		panic(fmt.Sprintf("minttest: %s: ID %q is already a %s", method, id, other))
	}
	s.ids[id] = kind
}

func (s *Server) mustBusinessLocked(method, id string) *Business {
	b, ok := s.businesses[id]
	if !ok {
		panic(fmt.Sprintf("minttest: %s: unknown business %q", method, id))
	}
	return b
}

func (s *Server) mustSystemUserLocked(method, id string) *SystemUser {
	u, ok := s.systemUsers[id]
	if !ok {
		panic(fmt.Sprintf("minttest: %s: unknown system user %q", method, id))
	}
	return u
}

// validID reports whether id can appear as a path segment unescaped and
// cannot be mistaken for an app token.
func validID(id string) bool {
	if id == "" {
		return false
	}
	for _, r := range id {
		ok := r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_'
		if !ok {
			return false
		}
	}
	return true
}

// takeNextValueLocked returns the next free value MintNextAs queued, or "".
func (s *Server) takeNextValueLocked() string {
	for len(s.nextValues) > 0 {
		v := s.nextValues[0]
		s.nextValues = s.nextValues[1:]
		if _, taken := s.tokenByValue[v]; !taken && v != "" {
			return v
		}
	}
	return ""
}

// MintNextAs makes the next tokens the server issues (by minting, refreshing
// or IssueToken), one per value, carry exactly these values instead of random
// ones. A hostile-Graph test uses it to hand out a real, revocable token that
// holds a newline, a control character or an escape sequence. A value already
// in use, or empty, is skipped.
func (s *Server) MintNextAs(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextValues = append(s.nextValues, values...)
}

// AssignAssets assigns assets (ad accounts, pages, WhatsApp Business
// accounts...) to a system user for one scope, as Business Settings does.
// debug_token then lists their IDs as that scope's target_ids in
// granular_scopes for every token of the system user. It panics on an
// unknown system user or scope.
func (s *Server) AssignAssets(systemUserID, scope string, targetIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustSystemUserLocked("AssignAssets", systemUserID)
	if !s.scopes[scope] {
		panic(fmt.Sprintf("minttest: AssignAssets: unknown scope %q", scope))
	}
	if s.assets == nil {
		s.assets = make(map[string]map[string][]string)
	}
	if s.assets[systemUserID] == nil {
		s.assets[systemUserID] = make(map[string][]string)
	}
	for _, id := range targetIDs {
		if !slices.Contains(s.assets[systemUserID][scope], id) {
			s.assets[systemUserID][scope] = append(s.assets[systemUserID][scope], id)
		}
	}
}
