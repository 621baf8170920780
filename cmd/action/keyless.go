package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/metamint/metamint/internal/front"
	"github.com/metamint/metamint/internal/pace"
	"github.com/metamint/metamint/internal/secret"
	"github.com/metamint/metamint/pkg/mint"
)

// The keyless path (aws-secret-id): the job reads a Lambda-managed secret
// from AWS Secrets Manager with the credentials the AWS SDK's standard chain
// finds (the AWS_* variables aws-actions/configure-aws-credentials exports,
// which a Docker action inherits), and mints with what it holds. GitHub
// keeps no Meta secret. The SDK's configuration is loaded only on this
// path, so the plain path makes no AWS call and reads no AWS file.

// inAWSSecretID is the input naming the managed secret.
const inAWSSecretID = "aws-secret-id"

// maxSecretIDLen is Secrets Manager's limit on a SecretId (an ARN).
const maxSecretIDLen = 2048

// secretsFunc returns the Secrets Manager client the keyless path reads
// through. The default loads the SDK's configuration; tests pass moto's.
type secretsFunc func(ctx context.Context) (secret.Getter, error)

// defaultSecrets loads the AWS SDK's default configuration (environment,
// shared files, web identity, container and instance credentials) and
// checks what the step needs of it before any call: a region and
// credentials. AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL are
// honoured by the SDK.
func defaultSecrets(ctx context.Context) (secret.Getter, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %s", front.LogLine(err.Error()))
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region: set AWS_REGION (aws-actions/configure-aws-credentials sets it from its aws-region input)")
	}
	if cfg.Credentials == nil {
		return nil, errors.New(noCredentials)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("%s (the SDK said: %s)", noCredentials, front.LogLine(err.Error()))
	}
	return secretsmanager.NewFromConfig(cfg), nil
}

const noCredentials = "no AWS credentials: run aws-actions/configure-aws-credentials before this step " +
	"(with permissions: id-token: write for GitHub's OIDC), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"

// keylessConflicts lists the problems of inputs given beside aws-secret-id
// that can be seen before reading the secret: a Meta secret in GitHub
// beside the managed one, and a malformed secret ID.
func keylessConflicts(in inputs) []string {
	var problems []string
	var given []string
	for _, f := range []struct{ name, value string }{
		{inAppSecret, in.appSecret},
		{inAccessToken, in.accessToken},
		{inMintingAppSecret, in.mintingAppSecret},
	} {
		if f.value != "" {
			given = append(given, f.name)
		}
	}
	if len(given) > 0 {
		problems = append(problems, fmt.Sprintf("input %s is set, and so is %s: the managed secret supplies the app secret and the calling token; "+
			"remove %s (GitHub then holds no Meta secret)", inAWSSecretID, strings.Join(given, " and "), strings.Join(given, " and ")))
	}
	// A name or ARN has neither: a value pasted with another beside it, or
	// with a line break.
	spaceOrControl := func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }
	if strings.ContainsFunc(in.awsSecretID, spaceOrControl) || len(in.awsSecretID) > maxSecretIDLen {
		problems = append(problems, fmt.Sprintf("input %s must be a secret's name or ARN: at most %d characters, no white space or control characters",
			inAWSSecretID, maxSecretIDLen))
	}
	return problems
}

// managed is what a managed secret supplied.
type managed struct {
	doc *secret.Doc
	// tokens are every token the secret and its references hold: the
	// stored token (access_token) and the minting token behind
	// minting_token_ref. The step never outputs them and never revokes
	// them.
	tokens []string
	// current is the managed secret's AWSCURRENT SecretString, as read.
	current string
	// versions are the texts of the versions that may hold a token the
	// step never outputs and never revokes (readVersions).
	versions heldVersions
	// region is the region the step reads Secrets Manager in ("" when
	// the client does not say).
	region string
}

// held returns the tokens the secret holds but caller: the step never
// outputs them and never revokes them.
func (m *managed) held(caller string) []string {
	var out []string
	for _, t := range m.tokens {
		if t != "" && t != caller && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// readManaged reads the managed secret (AWSCURRENT) and parses it with parse
// (secret.Parse; secret.ParseForRevocation in the post step), masking
// every secret value in it the moment it is known, before anything else is
// written. Errors name the secret and the field, never a value.
func readManaged(ctx context.Context, hidden *front.Secrets, sm secret.Getter, id string, parse func(string) (*secret.Doc, error)) (*managed, error) {
	// AWSCURRENT named explicitly, as Resolver does: it is Secrets
	// Manager's default, but moto answers a stage-less read with the
	// version it created last by PutSecretValue, not the one the Lambda's
	// finishSecret made current.
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		return nil, fmt.Errorf("reading the secret %s (GetSecretValue): %s", quoteID(id), awsMessage(err))
	}
	if out.SecretString == nil {
		return nil, fmt.Errorf("the secret %s holds binary data; a metamint managed secret is a JSON SecretString", quoteID(id))
	}
	doc, err := parse(*out.SecretString)
	if err != nil {
		return nil, fmt.Errorf("the secret %s is not a metamint managed secret: %s", quoteID(id), err)
	}
	// The inline values: the app secrets and the managed token.
	hidden.AddKey(doc.AppSecret)
	hidden.AddKey(doc.MintingAppSecret)
	hidden.AddToken(doc.AccessToken)
	return &managed{doc: doc, tokens: []string{doc.AccessToken}, current: *out.SecretString, region: regionOf(sm)}, nil
}

// awsMessage renders an AWS error for the annotation: the error code, the
// service's message and a hint for the common causes.
func awsMessage(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return front.LogLine(err.Error())
	}
	msg := front.LogLine(ae.ErrorCode())
	if m := ae.ErrorMessage(); m != "" {
		msg += ": " + strings.TrimSuffix(front.LogLine(m), ".")
	}
	switch ae.ErrorCode() {
	case "AccessDeniedException", "AccessDenied":
		msg += ". The role needs secretsmanager:GetSecretValue on this secret (deploy/github-oidc.yaml grants it), and kms:Decrypt when the secret uses a customer-managed key"
	case "ResourceNotFoundException":
		msg += ". Check the name or ARN, and that AWS_REGION is the secret's region"
	case "ExpiredTokenException", "ExpiredToken":
		msg += ". The AWS session from configure-aws-credentials has expired: raise its role-duration-seconds"
	case "UnrecognizedClientException", "InvalidSignatureException":
		msg += ". The AWS credentials are not valid"
	case "InvalidRequestException":
		// AWS: "... because it was marked for deletion."; moto: "...
		// currently marked deleted."
		if m := ae.ErrorMessage(); strings.Contains(m, "marked for deletion") || strings.Contains(m, "marked deleted") {
			msg += ". The secret is scheduled for deletion: restore it (aws secretsmanager restore-secret) to read it"
		}
	}
	if secret.Throttled(ae) {
		msg += ". Secrets Manager throttled the read until the step's deadline; the account's GetSecretValue quota is shared by every caller in the region"
	}
	return msg
}

// resolve reads the references of the managed secret and returns inputs
// with what it supplies: app-id, system-user-id and scopes (narrowed by the
// scopes input), the app secret, the minting app's secret and the calling
// token. Each value read is masked before anything else is written.
func (m *managed) resolve(ctx context.Context, hidden *front.Secrets, sm secret.Getter, in inputs) (inputs, error) {
	doc := m.doc
	var problems []string
	for _, id := range []struct{ input, field, given, stored string }{
		{inAppID, secret.FieldAppID, in.appID, doc.AppID},
		{inSystemUserID, secret.FieldSystemUserID, in.systemUserID, doc.SystemUserID},
	} {
		if id.given != "" && id.given != id.stored {
			problems = append(problems, fmt.Sprintf("input %s is %s, but the secret %s has %s %s: they must match (or leave %s empty)",
				id.input, mint.QuoteInput(id.given), quoteID(in.awsSecretID), id.field, id.stored, id.input))
		}
	}
	scopes := doc.Scopes
	if in.scopes != "" {
		want := mint.ParseScopes(in.scopes)
		var outside []string
		for _, s := range want {
			if !slices.Contains(doc.Scopes, s) {
				outside = append(outside, s)
			}
		}
		if len(outside) > 0 {
			problems = append(problems, fmt.Sprintf("input %s: %s not among the secret's scopes (%s): %s may narrow the stored scopes, never widen them",
				inScopes, front.Scopes(outside), front.LogLine(strings.Join(doc.Scopes, ", ")), inScopes))
		}
		scopes = want
	}
	if len(problems) > 0 {
		return in, front.Problems(problems)
	}

	refs := secret.NewResolver(sm)
	appSecret, caller, err := m.readKeys(ctx, hidden, refs, in.awsSecretID)
	if err != nil {
		return in, err
	}
	mintingSecret, err := refs.MintingAppSecret(ctx, doc)
	hidden.AddKey(mintingSecret)
	if err != nil {
		return in, m.refError(in.awsSecretID, err)
	}
	if caller == "" {
		return in, fmt.Errorf("the secret %s holds no %s yet and names no %s: let the Lambda rotate it once, or name a minting token",
			quoteID(in.awsSecretID), secret.FieldAccessToken, secret.FieldMintingTokenRef)
	}
	// Checked here, each named by its field: validate would check them
	// again under the names of inputs the step was not given.
	values := []struct{ field, value string }{
		{appSecretField(doc), appSecret},
		{mintingSecretField(doc), mintingSecret},
		{callerField(doc), caller},
	}
	if err := mint.CheckTokenValue(caller); err != nil {
		return in, fmt.Errorf("the secret %s: the value of %s is not an access token: %s", quoteID(in.awsSecretID), callerField(doc), front.Message(err))
	}
	for _, v := range values {
		// front.SecretShape: white space, a line break, a byte order mark,
		// quotes, a non-ASCII character or more than 4096 bytes; each
		// value is named by its field and never quoted.
		if why := front.SecretShape(v.value); v.value != "" && why != "" {
			return in, fmt.Errorf("the secret %s: the value of %s %s", quoteID(in.awsSecretID), v.field, why)
		}
	}

	in.appID = doc.AppID
	in.systemUserID = doc.SystemUserID
	in.scopes = strings.Join(scopes, ",")
	in.appSecret = appSecret
	in.mintingAppSecret = mintingSecret
	in.accessToken = caller
	if doc.AllowUnlistedScopes && in.allowUnlistedScopes == "" {
		in.allowUnlistedScopes = "true"
	}
	in.hide(hidden) // the app access token
	return in, nil
}

func (m *managed) refError(id string, err error) error {
	var ref *secret.ReferenceError
	if errors.As(err, &ref) {
		// Secrets Manager answers for the secrets of its own region
		// only: an ARN of another names a secret the step cannot read.
		if r := arnRegion(ref.Ref); r != "" && m.region != "" && r != m.region {
			return fmt.Errorf("the secret %s: reading %s %s: %s. The ARN names region %s, but the step reads Secrets Manager in %s (AWS_REGION), "+
				"which reads only its own region's secrets: replicate the secret to %s and name the replica",
				quoteID(id), ref.Field, quoteID(ref.Ref), refCause(ref.Err), front.LogLine(r), front.LogLine(m.region), front.LogLine(m.region))
		}
		if keyed(ref.Ref) {
			return fmt.Errorf("the secret %s: reading %s %s: %s. A secret's name holds no colon: name the secret alone: its name or its ARN, which ends after secret:NAME; "+
				`metamint reads a JSON secret's "app_secret" or "access_token" member itself (a JSON key, version stage or version ID after it, as in ECS's valueFrom, is no SecretId)`,
				quoteID(id), ref.Field, quoteID(ref.Ref), refCause(ref.Err))
		}
		return fmt.Errorf("the secret %s: reading %s %s: %s", quoteID(id), ref.Field, quoteID(ref.Ref), refCause(ref.Err))
	}
	return fmt.Errorf("the secret %s: %s", quoteID(id), front.LogLine(err.Error()))
}

// refCause renders the cause of a failed reference read, AWS errors as
// awsMessage does.
func refCause(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return awsMessage(ae)
	}
	return front.LogLine(err.Error())
}

func appSecretField(d *secret.Doc) string {
	if d.AppSecretRef != "" {
		return secret.FieldAppSecretRef
	}
	return secret.FieldAppSecret
}

func mintingSecretField(d *secret.Doc) string {
	if d.MintingAppSecretRef != "" {
		return secret.FieldMintingAppSecretRef
	}
	return secret.FieldMintingAppSecret
}

func callerField(d *secret.Doc) string {
	if d.MintingTokenRef != "" {
		return secret.FieldMintingTokenRef
	}
	return secret.FieldAccessToken
}

// keylessInputs reads the managed secret named by aws-secret-id and returns
// the inputs it completes, and the token it protects (the stored token).
func keylessInputs(ctx context.Context, in inputs, cfg *config) (inputs, *managed, error) {
	sm, err := cfg.secretsReader(ctx)
	if err != nil {
		return in, nil, fmt.Errorf("%s: %s", inAWSSecretID, err)
	}
	m, err := readManaged(ctx, cfg.hidden, sm, in.awsSecretID, secret.Parse)
	if err != nil {
		return in, nil, err
	}
	in, err = m.resolve(ctx, cfg.hidden, sm, in)
	if err != nil {
		return in, nil, err
	}
	// Before minting, as the post step before revoking: Graph may answer
	// a token one of them holds as the new token.
	if err := m.readVersions(ctx, cfg.hidden, sm, in.awsSecretID); err != nil {
		return in, nil, fmt.Errorf("%s. No token was minted: without it the step cannot tell a new token from one the secret holds", err)
	}
	return in, m, nil
}

// postSecrets is what the post step reads from the managed secret again:
// the app with its secret, and every token the secret and its references
// hold, which it never revokes.
type postSecrets struct {
	app    mint.App
	tokens []string
	// versions are the texts of the versions that may hold the saved
	// token (readVersions).
	versions heldVersions
}

// heldVersion is a version of a secret whose text may hold a token the
// step never outputs and never revokes.
type heldVersion struct {
	id, field, stage, value string
}

// heldVersions are the versions readVersions read: the managed secret's
// AWSCURRENT, AWSPENDING and AWSPREVIOUS, and minting_token_ref's
// AWSPENDING and AWSPREVIOUS.
type heldVersions []heldVersion

// holder says which version holds token anywhere in its text (in any
// field, or in another tool's form), "" when none does.
//
// The main step (refusing Graph's answer) and the post step (refusing the
// saved token) both match this way, on the version's whole text rather
// than on a list of parsed fields: a token another tool stores in a form of
// its own ("Bearer EAA...", a line, a JSON member of its own name) is held
// too, and revoking it breaks whoever mints with it. The rule errs only
// towards keeping a token: a token Graph really made is new random text
// that no version can contain, so only a value that is no real token (a
// broken or hostile answer) can be taken for a held one, and that is
// refused unrevoked and never output.
func (vs heldVersions) holder(token string) string {
	for _, v := range vs {
		if strings.Contains(v.value, token) {
			return fmt.Sprintf("a token the %s version of the secret %s (%s) holds", v.stage, quoteID(v.id), v.field)
		}
	}
	return ""
}

// otherStages are the versions besides AWSCURRENT both steps read: a
// rotation under way stages its token AWSPENDING, and the token it
// replaced is AWSPREVIOUS (still live without revoke_previous, and the
// one a job that read the secret before the rotation mints with).
var otherStages = []string{"AWSPENDING", "AWSPREVIOUS"}

// readVersions sets m.versions: the text of the managed secret's
// AWSCURRENT (read by readManaged), and of the AWSPENDING and AWSPREVIOUS
// versions of the managed secret id and of minting_token_ref. The main
// step reads them before minting and the post step before revoking, both
// through cfg.secretsReader's patient client (a throttle is "not now"). A
// stage no version holds is skipped; any other failed read is an error
// naming the secret and the stage, since a step that cannot tell which
// tokens are held must neither mint nor revoke. Each text is masked
// (hideVersion) the moment it is read, before anything else is written.
func (m *managed) readVersions(ctx context.Context, hidden *front.Secrets, sm secret.Getter, id string) error {
	m.versions = heldVersions{{id, inAWSSecretID, "AWSCURRENT", m.current}}
	refs := []struct{ id, field string }{{id, inAWSSecretID}}
	if m.doc.MintingTokenRef != "" {
		refs = append(refs, struct{ id, field string }{m.doc.MintingTokenRef, secret.FieldMintingTokenRef})
	}
	for _, ref := range refs {
		// AWSCURRENT is read: the managed secret's whole (m.current), and
		// minting_token_ref's token (m.tokens, by readKeys).
		for _, stage := range otherStages {
			out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ref.id), VersionStage: aws.String(stage)})
			if isNotFound(err) {
				continue // no version holds the stage
			}
			if err != nil {
				return fmt.Errorf("reading the %s version of the secret %s (GetSecretValue), to learn which tokens it holds: %s",
					stage, quoteID(ref.id), awsMessage(err))
			}
			hideVersion(hidden, aws.ToString(out.SecretString))
			m.versions = append(m.versions, heldVersion{ref.id, ref.field, stage, aws.ToString(out.SecretString)})
		}
	}
	return nil
}

// postSecret reads the managed secret again for the post step, which gets
// no Meta secret from GitHub: the app secret (app_secret or the value
// behind app_secret_ref), the tokens it holds (access_token and the value
// behind minting_token_ref) and the versions that may hold the job's token
// (readVersions; a failed read is an error: the step cannot tell). It
// masks every value it reads.
func postSecret(ctx context.Context, in inputs, cfg *config) (*postSecrets, error) {
	sm, err := cfg.secretsReader(ctx)
	if err != nil {
		return nil, err
	}
	// Only what revocation needs: a mistake made during the job in a
	// field it does not need keeps no token live.
	m, err := readManaged(ctx, cfg.hidden, sm, in.awsSecretID, secret.ParseForRevocation)
	if err != nil {
		return nil, err
	}
	appSecret, _, err := m.readKeys(ctx, cfg.hidden, secret.NewResolver(sm), in.awsSecretID)
	if err != nil {
		return nil, err
	}
	app := mint.App{ID: m.doc.AppID, Secret: appSecret}
	cfg.hidden.Add(app.AccessToken())
	if err := m.readVersions(ctx, cfg.hidden, sm, in.awsSecretID); err != nil {
		return nil, err
	}
	return &postSecrets{app: app, tokens: m.tokens, versions: m.versions}, nil
}

// minHiddenWord is the shortest word of another tool's version that
// hideVersion masks: tokens and app secrets are longer, and masking a short
// word ("meta", "true") would hide it everywhere in the job's log.
const minHiddenWord = 16

// hideVersion masks the secrets in the text of a version readVersions
// read, before anything else is written: the fields of metamint's form, or
// else each string of another tool's JSON object, or each word of its
// text, that could be a token or a secret. The text itself is never
// written.
func hideVersion(h *front.Secrets, text string) {
	if d, err := secret.ParseForRevocation(text); err == nil {
		h.AddKey(d.AppSecret)
		h.AddKey(d.MintingAppSecret)
		h.AddToken(d.AccessToken)
		return
	}
	words := strings.Fields(text)
	var members map[string]any
	if json.Unmarshal([]byte(text), &members) == nil {
		words = words[:0]
		for _, v := range members {
			if s, ok := v.(string); ok {
				words = append(words, strings.Fields(s)...) // "Bearer EAA..."
			}
		}
	}
	for _, w := range words {
		if len(w) >= minHiddenWord && mint.CheckTokenValue(w) == nil {
			h.AddToken(w)
		}
	}
}

// isNotFound reports whether err is Secrets Manager's
// ResourceNotFoundException: for a read by stage, no version holds it.
func isNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException"
}

// readKeys reads what the main and the post step both need of the managed
// secret: the app secret and the minting token (app_secret or the value
// behind app_secret_ref, access_token or the value behind
// minting_token_ref), hiding each the moment it is read, before anything
// else is written. The minting token joins m.tokens.
func (m *managed) readKeys(ctx context.Context, hidden *front.Secrets, refs *secret.Resolver, id string) (appSecret, minting string, err error) {
	appSecret, err = refs.AppSecret(ctx, m.doc)
	hidden.AddKey(appSecret)
	if err != nil {
		return "", "", m.refError(id, err)
	}
	minting, err = refs.MintingToken(ctx, m.doc)
	hidden.AddToken(minting)
	if err != nil {
		return "", "", m.refError(id, err)
	}
	m.tokens = append(m.tokens, minting)
	return appSecret, minting, nil
}

// quoteID quotes a secret's name or ARN for a message, whole (it is not
// secret, and an ARN is longer than mint.QuoteCut keeps), escaped for one log
// line and cut at Secrets Manager's limit.
func quoteID(id string) string {
	if len(id) > maxSecretIDLen {
		id = id[:maxSecretIDLen]
	}
	return strconv.Quote(front.LogLine(id))
}

// secretsReader returns the keyless path's Secrets Manager reader: cfg's
// client, whose reads a throttle does not fail (patient).
func (cfg *config) secretsReader(ctx context.Context) (secret.Getter, error) {
	sm, err := cfg.secrets(ctx)
	if err != nil {
		return nil, err
	}
	// Only the Pacer's backoff is used, on the step's clock: the step
	// makes a few reads, not a rate of them.
	p := pace.New(1)
	p.Now, p.Sleep = cfg.now, cfg.sleep
	return &patient{Getter: sm, retry: secret.Patient(p)}, nil
}

// patient reads through a Getter, taking a throttle as "not now"
// (secret.Patient, as the Lambda does): it waits a jittered backoff and
// reads again, for as long as ctx's deadline allows a wait. A throttle
// proves the read was not made, so no answer is lost; a post step that gave
// up at the SDK's third attempt would leave the job's token live.
type patient struct {
	secret.Getter
	retry func(*secretsmanager.Options)
}

// GetSecretValue reads with the retry option added to the call's.
func (g *patient) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return g.Getter.GetSecretValue(ctx, in, append(opts, g.retry)...)
}

// arnRegion returns the region of a Secrets Manager secret's ARN
// (arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME), "" when ref is
// no such ARN (a name).
func arnRegion(ref string) string {
	parts := strings.SplitN(ref, ":", 7)
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "secretsmanager" || parts[5] != "secret" {
		return ""
	}
	return parts[3]
}

// keyed reports whether ref has more than a secret's name or ARN: a name
// holds no colon, and an ARN has six (arn:PARTITION:secretsmanager:REGION:
// ACCOUNT:secret:NAME). ECS's valueFrom adds :JSON-KEY:VERSION-STAGE:
// VERSION-ID, which GetSecretValue takes for part of the name.
func keyed(ref string) bool {
	if strings.HasPrefix(ref, "arn:") {
		return strings.Count(ref, ":") > 6
	}
	return strings.Contains(ref, ":")
}

// regionOf returns the region a Getter reads Secrets Manager in, "" when
// it does not say (a Getter other than the SDK's client).
func regionOf(g secret.Getter) string {
	if p, ok := g.(*patient); ok {
		g = p.Getter
	}
	if c, ok := g.(*secretsmanager.Client); ok {
		return c.Options().Region
	}
	return ""
}
