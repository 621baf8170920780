package ghsecrets

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"

	"github.com/metamint/metamint/pkg/mint"
)

// Target is one GitHub Actions secret: a repository's (Repo), an
// environment's (Repo and Environment) or an organization's (Org).
type Target struct {
	Name        string // the secret's name, such as META_ADMIN_TOKEN
	Repo        string // "owner/name"; for repository and environment secrets
	Environment string // the environment's name; with Repo
	Org         string // the organization's login; without Repo
}

var (
	secretNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	repoRE       = regexp.MustCompile(`^[A-Za-z0-9-][A-Za-z0-9._-]*/[A-Za-z0-9._-]+$`)
	orgRE        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)
)

// Check reports what is wrong with t before any call: a secret name GitHub
// would refuse, a malformed repository or organization, or a target that is
// both an organization's and a repository's.
func (t Target) Check() error {
	var problems []string
	switch {
	case !secretNameRE.MatchString(t.Name) || len(t.Name) > 255:
		problems = append(problems, "the secret name must be letters, digits and underscores, not starting with a digit")
	case strings.HasPrefix(strings.ToUpper(t.Name), "GITHUB_"):
		problems = append(problems, "a secret name must not start with GITHUB_")
	}
	switch {
	case t.Org != "" && (t.Repo != "" || t.Environment != ""):
		problems = append(problems, "a secret is an organization's or a repository's (or its environment's), not both")
	case t.Org != "":
		if !orgRE.MatchString(t.Org) || len(t.Org) > 39 {
			problems = append(problems, "the organization must be a GitHub login (letters, digits and hyphens)")
		}
	case t.Repo == "":
		problems = append(problems, "the repository (owner/name) is not set")
	case !repoRE.MatchString(t.Repo) || len(t.Repo) > 140 || strings.HasSuffix(t.Repo, "/.") || strings.HasSuffix(t.Repo, "/.."):
		problems = append(problems, "the repository must be owner/name")
	}
	if t.Org == "" && t.Environment != "" && (len(t.Environment) > 255 || strings.ContainsFunc(t.Environment, func(r rune) bool { return r < ' ' || r == 0x7f }) ||
		t.Environment == "." || t.Environment == "..") {
		// "." and ".." are dot segments of the URL path, which whoever
		// normalizes it resolves.
		problems = append(problems, `the environment name must be at most 255 characters without control characters, and not "." or ".."`)
	}
	if len(problems) > 0 {
		return errors.New("ghsecrets: " + strings.Join(problems, "; "))
	}
	return nil
}

// kind names where the secret lives.
func (t Target) kind() string {
	switch {
	case t.Org != "":
		return "organization"
	case t.Environment != "":
		return "environment"
	}
	return "repository"
}

// Where describes the secret's home for a message: "repository
// owner/name", "environment \"prod\" of owner/name" or "organization org".
// The environment name is quoted (it may hold any printable text).
func (t Target) Where() string {
	switch t.kind() {
	case "organization":
		return "organization " + t.Org
	case "environment":
		return "environment " + strconv.Quote(t.Environment) + " of " + t.Repo
	}
	return "repository " + t.Repo
}

// String describes the secret, such as "repository secret NAME of
// owner/name".
func (t Target) String() string {
	switch t.kind() {
	case "organization":
		return "organization secret " + t.Name + " of " + t.Org
	case "environment":
		return "secret " + t.Name + " of environment " + strconv.Quote(t.Environment) + " in " + t.Repo
	}
	return "repository secret " + t.Name + " of " + t.Repo
}

// Permission names what a token needs to write the secret, as GitHub's REST
// documentation names it for fine-grained tokens and GitHub Apps:
// repository "Secrets" (write); for an environment secret also repository
// "Environments" (write); organization "Secrets" (write).
func (t Target) Permission() string {
	switch t.kind() {
	case "organization":
		return `the "Secrets" organization permission (write) (a GitHub App: organization_secrets: write)`
	case "environment":
		return `the "Secrets" and "Environments" repository permissions (write) (a GitHub App: secrets: write, environments: write)`
	}
	return `the "Secrets" repository permission (write) (a GitHub App: secrets: write)`
}

// base returns the escaped path of the target's secrets collection.
func (t Target) base() (path, route string) {
	switch t.kind() {
	case "organization":
		return "/orgs/" + url.PathEscape(t.Org) + "/actions/secrets", "/orgs/{org}/actions/secrets"
	case "environment":
		return "/repos/" + t.Repo + "/environments/" + url.PathEscape(t.Environment) + "/secrets",
			"/repos/{owner}/{repo}/environments/{environment_name}/secrets"
	}
	return "/repos/" + t.Repo + "/actions/secrets", "/repos/{owner}/{repo}/actions/secrets"
}

// PublicKey is the key GitHub seals a target's secrets to.
type PublicKey struct {
	KeyID string
	Key   [32]byte
}

// PublicKey reads the public key of t's repository, environment or
// organization: GET .../secrets/public-key. It is the first call of a
// renewal, so a token without the permission fails here, before anything
// else happens.
//
// See https://docs.github.com/rest/actions/secrets#get-a-repository-public-key.
func (c *Client) PublicKey(ctx context.Context, t Target) (*PublicKey, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	path, route := t.base()
	var out struct {
		KeyID string `json:"key_id"`
		Key   string `json:"key"`
	}
	if err := c.do(ctx, request{method: "GET", route: route + "/public-key", path: path + "/public-key", target: t}, &out); err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(out.Key)
	if err != nil || len(raw) != 32 || out.KeyID == "" || len(out.KeyID) > 256 {
		return nil, fmt.Errorf("ghsecrets: GET %s/public-key: GitHub's answer holds no 32-byte base64 key and key ID", route)
	}
	// A low-order point (all zeros, say) gives every box sealed to it a
	// key anyone can compute; libsodium's crypto_box_seal refuses it, but
	// box.SealAnonymous does not. Any scalar tells: X25519 then fails.
	if _, err = curve25519.X25519(curve25519.Basepoint, raw); err != nil {
		return nil, fmt.Errorf("ghsecrets: GET %s/public-key: GitHub's key is a low-order point: a value sealed to it could be opened by anyone", route)
	}
	k := &PublicKey{KeyID: out.KeyID}
	copy(k.Key[:], raw)
	return k, nil
}

// Seal encrypts value to key as libsodium's crypto_box_seal does (an
// anonymous sealed box: only the holder of the private key opens it) and
// returns it base64-encoded, as GitHub's encrypted_value.
func Seal(key *PublicKey, value string) (string, error) {
	sealed, err := box.SealAnonymous(nil, []byte(value), &key.Key, rand.Reader)
	if err != nil {
		return "", fmt.Errorf("ghsecrets: sealing the value: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// Visibility values of an organization secret.
const (
	VisibilityAll      = "all"
	VisibilityPrivate  = "private"
	VisibilitySelected = "selected"
)

// OrgSecret is what a write keeps of an organization secret: which
// repositories may use it.
type OrgSecret struct {
	Visibility string
	// SelectedRepositoryIDs are the repositories of a "selected" secret.
	SelectedRepositoryIDs []int64
}

// maxRepoPages bounds the pages of selected repositories read (100 each).
const maxRepoPages = 100

// OrgSecret reads an organization secret's visibility and, when it is
// "selected", its repositories: GET /orgs/{org}/actions/secrets/{name} and
// GET /orgs/{org}/actions/secrets/{name}/repositories. A write must send
// them again, or the secret would change who may read it.
//
// See https://docs.github.com/rest/actions/secrets#get-an-organization-secret.
func (c *Client) OrgSecret(ctx context.Context, t Target) (*OrgSecret, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	if t.Org == "" {
		return nil, errors.New("ghsecrets: not an organization secret")
	}
	path, route := t.base()
	var meta struct {
		Visibility string `json:"visibility"`
	}
	err := c.do(ctx, request{method: "GET", route: route + "/{secret_name}", path: path + "/" + t.Name, target: t}, &meta)
	if err != nil {
		return nil, err
	}
	s := &OrgSecret{Visibility: meta.Visibility}
	switch meta.Visibility {
	case VisibilityAll, VisibilityPrivate:
		return s, nil
	case VisibilitySelected:
	default:
		return nil, fmt.Errorf("ghsecrets: GET %s/{secret_name}: GitHub answered visibility %s, which this client does not know; refusing to change it",
			route, mint.QuoteCut(c.scrub(meta.Visibility)))
	}
	for page := 1; page <= maxRepoPages; page++ {
		var list struct {
			TotalCount   int `json:"total_count"`
			Repositories []struct {
				ID int64 `json:"id"`
			} `json:"repositories"`
		}
		q := "?per_page=100&page=" + strconv.Itoa(page)
		err := c.do(ctx, request{method: "GET", route: route + "/{secret_name}/repositories", path: path + "/" + t.Name + "/repositories" + q, target: t}, &list)
		if err != nil {
			return nil, err
		}
		for _, r := range list.Repositories {
			s.SelectedRepositoryIDs = append(s.SelectedRepositoryIDs, r.ID)
		}
		if len(list.Repositories) == 0 || len(s.SelectedRepositoryIDs) >= list.TotalCount {
			// A write sends the list: one short (or with repeats) would
			// change who may use the secret.
			if n := len(s.SelectedRepositoryIDs); n != list.TotalCount {
				return nil, fmt.Errorf("ghsecrets: GET %s/{secret_name}/repositories: GitHub listed %d repositories of the %d it counts; refusing to change who may use the secret",
					route, n, list.TotalCount)
			}
			return s, nil
		}
	}
	return nil, fmt.Errorf("ghsecrets: the organization secret %s has more than %d selected repositories", t.Name, maxRepoPages*100)
}

// Updated reads when t was last written: GET .../secrets/{secret_name},
// its updated_at, as GitHub wrote it but without the token (scrub): an
// opaque stamp, for a message too; only whether it changed matters, so an
// unexpected format never fails the call, but a missing one does. found
// is false when the secret does not exist (404). A writer that read it
// before deciding reads it again before writing: a change means someone
// else wrote the secret in between (GitHub offers no conditional write).
//
// See https://docs.github.com/rest/actions/secrets#get-a-repository-secret.
func (c *Client) Updated(ctx context.Context, t Target) (stamp string, found bool, err error) {
	if err = t.Check(); err != nil {
		return "", false, err
	}
	path, route := t.base()
	var meta struct {
		UpdatedAt string `json:"updated_at"`
	}
	err = c.do(ctx, request{method: "GET", route: route + "/{secret_name}", path: path + "/" + t.Name, target: t}, &meta)
	var aerr *APIError
	if errors.As(err, &aerr) && aerr.StatusCode == http.StatusNotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if meta.UpdatedAt == "" {
		// Two empty stamps would compare equal whatever was written.
		return "", false, fmt.Errorf("ghsecrets: GET %s/{secret_name}: GitHub's answer holds no updated_at", route)
	}
	return c.scrub(meta.UpdatedAt), true, nil
}

// PutSecret seals value to key and writes it as t:
// PUT /repos/{owner}/{repo}/actions/secrets/{secret_name},
// PUT /repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}
// or PUT /orgs/{org}/actions/secrets/{secret_name}. For an organization
// secret, org (from OrgSecret) is sent again so its visibility and
// repositories stay as they were; it is required then.
//
// A refusal (4xx) is an *APIError: nothing was stored. An error matching
// ErrNoAnswer leaves the outcome unknown. PutSecret never sends a write
// again that may have been carried out; a rate-limited one was not, and is
// sent again after the wait (see Client).
//
// See https://docs.github.com/rest/actions/secrets#create-or-update-a-repository-secret.
func (c *Client) PutSecret(ctx context.Context, t Target, key *PublicKey, value string, org *OrgSecret) error {
	return c.PutSecretIf(ctx, t, key, value, org, nil)
}

// PutSecretIf is PutSecret, but calls unchanged (when not nil) before it
// sends a rate-limited write again, after the wait: a writer that must not
// overwrite a write made by someone else meanwhile checks for one there.
// An error from unchanged ends the write, unsent, and is returned as is.
func (c *Client) PutSecretIf(ctx context.Context, t Target, key *PublicKey, value string, org *OrgSecret, unchanged func(context.Context) error) error {
	if err := t.Check(); err != nil {
		return err
	}
	if key == nil {
		return errors.New("ghsecrets: no public key")
	}
	if t.Org != "" && org == nil {
		return errors.New("ghsecrets: an organization secret needs its visibility (OrgSecret) to be kept")
	}
	sealed, err := Seal(key, value)
	if err != nil {
		return err
	}
	body := map[string]any{"encrypted_value": sealed, "key_id": key.KeyID}
	if org != nil && t.Org != "" {
		body["visibility"] = org.Visibility
		if org.Visibility == VisibilitySelected {
			ids := org.SelectedRepositoryIDs
			if ids == nil {
				ids = []int64{}
			}
			body["selected_repository_ids"] = ids
		}
	}
	path, route := t.base()
	return c.do(ctx, request{method: "PUT", route: route + "/{secret_name}", path: path + "/" + t.Name, body: body, target: t, write: true, again: unchanged}, nil)
}
