package front

import (
	"errors"
	"fmt"
	"strings"

	"github.com/metamint/metamint/pkg/mint"
)

// Values are what a person gave a front end to mint a token or call Graph,
// trimmed. A value left "" was not given: Check passes over it, and each
// front end says itself which values it requires.
type Values struct {
	AppID, SystemUserID, BusinessID          string
	AppSecret, MintingAppSecret, AccessToken string
	Scopes                                   string // commas and/or white space
	GraphURL, GraphVersion                   string // "" for the defaults
	AllowUnlisted, Permanent                 bool
}

// Names are how a front end names each value in its messages: an input of
// the action ("input app-id"), a flag ("--app-id") or an environment
// variable of the CLI ("METAMINT_APP_SECRET").
type Names struct {
	AppID, SystemUserID, BusinessID          string
	AppSecret, MintingAppSecret, AccessToken string
	Scopes, GraphURL, GraphVersion           string
	// AllowUnlisted says how to send a scope missing from mint's list
	// anyway: "set allow-unlisted-scopes: true", "pass --allow-unlisted-scopes".
	AllowUnlisted string
}

// Plan is Values checked: the token request and where to send it.
type Plan struct {
	Token mint.TokenRequest
	// Unlisted are the scopes missing from mint's list, sent because
	// AllowUnlisted was set: a front end warns of them (Warning).
	Unlisted []string
	// GraphURL and Version are checked and never "".
	GraphURL, Version string
}

// Check checks every value given, before any call, and returns every
// problem at once, each naming its value. A secret is never quoted.
func (v Values) Check(n Names) (*Plan, []string) {
	p := &Plan{Token: mint.TokenRequest{
		SystemUserID:        v.SystemUserID,
		App:                 mint.App{ID: v.AppID, Secret: v.AppSecret},
		AccessToken:         v.AccessToken,
		MintingAppSecret:    v.MintingAppSecret,
		AllowUnlistedScopes: v.AllowUnlisted,
		Permanent:           v.Permanent,
	}}
	var problems []string
	for _, id := range [][2]string{{n.AppID, v.AppID}, {n.SystemUserID, v.SystemUserID}, {n.BusinessID, v.BusinessID}} {
		if id[1] != "" && !mint.IsGraphID(id[1]) {
			problems = append(problems, id[0]+" must be a numeric Graph ID (digits only)")
		}
	}
	for _, s := range [][2]string{{n.AppSecret, v.AppSecret}, {n.AccessToken, v.AccessToken}, {n.MintingAppSecret, v.MintingAppSecret}} {
		if why := SecretShape(s[1]); s[1] != "" && why != "" {
			problems = append(problems, s[0]+" "+why)
		}
	}
	if v.Scopes != "" {
		var err error
		p.Token.Scopes, p.Unlisted, err = ParseScopes(v.Scopes, v.AllowUnlisted)
		var unlisted *mint.UnlistedScopeError
		switch {
		case errors.As(err, &unlisted):
			problems = append(problems, fmt.Sprintf("%s: %s not on the list of supported system user scopes; "+
				"check the spelling, or %s if Meta added it recently", n.Scopes, Scopes(unlisted.Scopes), n.AllowUnlisted))
		case err != nil:
			problems = append(problems, n.Scopes+": "+Message(err))
		}
	}
	var err error
	if p.GraphURL, err = GraphURL(v.GraphURL); err != nil {
		problems = append(problems, n.GraphURL+": "+Message(err))
	}
	if p.Version, err = GraphVersion(v.GraphVersion); err != nil {
		problems = append(problems, n.GraphVersion+": "+Message(err))
	}
	return p, problems
}

// Warning is what a front end warns of before minting with p, followed by
// why: the unlisted scopes it sends anyway. It is "" when there are none.
func (p *Plan) Warning() string {
	if len(p.Unlisted) == 0 {
		return ""
	}
	return Scopes(p.Unlisted) + " not on metamint's list of supported system user scopes; sending anyway"
}

// Client builds the Graph client for p (NewClient); opts win.
func (p *Plan) Client(opts ...mint.Option) (*mint.Client, error) {
	return NewClient(p.GraphURL, p.Version, opts...)
}

// SecretShape says why v cannot be an app secret or a token, or returns
// "". Every secret metamint reads is printable ASCII without spaces
// (mint.CheckTokenValue); what else a value holds came from the file,
// paste or secret store it was taken from, and sending it would only earn
// a misleading Graph error. The value is never quoted.
func SecretShape(v string) string {
	switch {
	case strings.HasPrefix(v, "\ufeff"):
		return "starts with a byte order mark (U+FEFF): save the file it comes from without one"
	case len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0]:
		return "is wrapped in quotes, which are not part of the value: remove them"
	case strings.ContainsAny(v, "\r\n"):
		return "contains a line break: give one value alone"
	case mint.CheckTokenValue(v) != nil:
		return "contains white space, a control or a non-ASCII character, or more than 4096 bytes: pass the value alone"
	}
	return ""
}

// RFC6750Syntax says in words what IsBearerToken accepts.
const RFC6750Syntax = "RFC 6750: letters, digits and -._~+/, then ="

// IsBearerToken reports whether s has the syntax RFC 6750 gives a Bearer
// token (b64token): letters, digits, "-", ".", "_", "~", "+" and "/", then
// any number of "=". None of them is special to a shell or in a workflow's
// ${{ }}, which the runner substitutes into a script before the shell reads
// it: a token a front end hands on (an action output, a GitHub secret) has
// this syntax, however hostile the Graph that answered it.
func IsBearerToken(s string) bool {
	body := strings.TrimRight(s, "=")
	return body != "" && strings.Trim(body, b64tokenChars) == ""
}

const b64tokenChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"

// CheckHandOver reports why a new token Graph answered must not be handed
// on (an action output, standard output, a GitHub secret), nil when it may:
// it must be a Bearer token (IsBearerToken). Every front end checks a token
// with it before it hands it on.
func CheckHandOver(token string) error {
	if !IsBearerToken(token) {
		return fmt.Errorf("the new token Graph answered is not a Bearer token (%s), and a later step may put it in a script; refusing it", RFC6750Syntax)
	}
	return nil
}

// Problems lists every problem of a person's values, one a line.
type Problems []string

func (p Problems) Error() string { return strings.Join(p, "\n") }
