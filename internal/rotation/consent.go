package rotation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/metamint/metamint/internal/secret"
)

// MintingForTag is the tag on a secret named as minting_token_ref that lists,
// space-separated, the managed secrets allowed to mint with its token: full
// secret names, or name prefixes ending in "/". Without it, anyone who may
// create and tag a secret under the managed prefix could name the admin's
// minting token and a system user of their choice, and have the function mint
// into a secret they read (a confused deputy).
const MintingForTag = "metamint:minting-for"

// ConsentError is a managed secret that names a minting token whose secret
// does not allow it: the tag metamint:minting-for is missing or does not list
// the managed secret. Nothing was minted.
type ConsentError struct{ Failure }

func consentErr(step, arn string, format string, args ...any) error {
	return &ConsentError{Failure{step, arn, fmt.Errorf(format, args...)}}
}

// checkConsent refuses a rotation whose secret names a minting_token_ref that
// has not consented to it: it reads the reference's tags (DescribeSecret, no
// value) and looks for the managed secret's name in MintingForTag. A secret
// without minting_token_ref mints with its own token and needs no consent.
func (r *Rotator) checkConsent(ctx context.Context, rot *rotation, cur *secret.Doc) error {
	ref := cur.MintingTokenRef
	if ref == "" {
		return nil
	}
	name, err := secretName(rot.arn)
	if err != nil {
		return consentErr(rot.step, rot.arn, "checking %s's tag %s: %w", secret.FieldMintingTokenRef, MintingForTag, err)
	}
	desc, err := r.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(ref)})
	if err != nil {
		return referenceErr(rot.step, rot.arn, fmt.Errorf("reading the tags of %s %q (its tag %s): %w", secret.FieldMintingTokenRef, ref, MintingForTag, err))
	}
	var value *string
	for _, t := range desc.Tags {
		if aws.ToString(t.Key) == MintingForTag {
			value = t.Value
		}
	}
	if value == nil {
		return consentErr(rot.step, rot.arn, "the secret %s %q has no tag %s, so it allows no secret to mint with its token; "+
			"tag it with the names (or prefixes ending in /) of the managed secrets that may", secret.FieldMintingTokenRef, ref, MintingForTag)
	}
	if !mintingFor(*value, name) {
		return consentErr(rot.step, rot.arn, "the tag %s of the secret %s %q does not list %q, so this secret may not mint with its token; "+
			"nothing was minted (add the name, or a prefix of it ending in /, to the tag if it should)", MintingForTag, secret.FieldMintingTokenRef, ref, name)
	}
	return nil
}

// mintingFor reports whether the value of MintingForTag lists name: an entry
// equal to it, or an entry ending in "/" that it starts with. An entry without
// the "/" is a full name: "metamint/ads" does not cover "metamint/ads-evil".
func mintingFor(value, name string) bool {
	for _, entry := range strings.Fields(value) {
		if entry == name || (strings.HasSuffix(entry, "/") && strings.HasPrefix(name, entry)) {
			return true
		}
	}
	return false
}

// secretName is the name within a secret's ARN, which Secrets Manager forms
// as arn:partition:secretsmanager:region:account:secret:name-XXXXXX (a
// hyphen and six characters appended to the name).
func secretName(arn string) (string, error) {
	_, rest, ok := strings.Cut(arn, ":secretsmanager:")
	if ok {
		_, rest, ok = strings.Cut(rest, ":secret:")
	}
	if !ok || len(rest) < 8 || rest[len(rest)-7] != '-' {
		return "", errors.New("the managed secret's ARN has no secret name in it")
	}
	return rest[:len(rest)-7], nil
}
