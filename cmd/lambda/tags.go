package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// secretTag is METAMINT_SECRET_TAG: scheduled and direct runs also check
// every secret that carries this tag. "key" matches a tag with that key,
// whatever its value; "key=value" matches a tag with that key and exactly that
// value. Both are case-sensitive and exact: ListSecrets filters match
// prefixes, so its answers are checked again here.
type secretTag struct {
	Key   string
	Value string // "" means any value
}

// Limits of a Secrets Manager tag.
const (
	maxTagKey   = 128
	maxTagValue = 256
)

// parseSecretTag reads "key" or "key=value", split at the first "=".
func parseSecretTag(s string) (*secretTag, error) {
	key, value, hasValue := strings.Cut(s, "=")
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	switch {
	case key == "":
		return nil, errors.New("names no tag key; want key or key=value, such as metamint:managed")
	case hasValue && value == "":
		return nil, errors.New("has an empty value after '='; write the key alone to match the tag whatever its value")
	case len(key) > maxTagKey || len(value) > maxTagValue:
		return nil, fmt.Errorf("is longer than a tag allows (key %d, value %d characters)", maxTagKey, maxTagValue)
	}
	return &secretTag{Key: key, Value: value}, nil
}

func (t secretTag) String() string {
	if t.Value == "" {
		return t.Key
	}
	return t.Key + "=" + t.Value
}

// matches reports whether tags hold t exactly.
func (t secretTag) matches(tags []types.Tag) bool {
	for _, tag := range tags {
		if aws.ToString(tag.Key) == t.Key && (t.Value == "" || aws.ToString(tag.Value) == t.Value) {
			return true
		}
	}
	return false
}

// filters narrows ListSecrets to the secrets that may carry t. Secrets
// Manager ANDs the filters, each a prefix match on any of a secret's tags.
func (t secretTag) filters() []types.Filter {
	f := []types.Filter{{Key: types.FilterNameStringTypeTagKey, Values: []string{t.Key}}}
	if t.Value != "" {
		f = append(f, types.Filter{Key: types.FilterNameStringTypeTagValue, Values: []string{t.Value}})
	}
	return f
}

// maxListPage is the largest page ListSecrets returns.
const maxListPage = 100

// listTagged returns the secrets that carry t, reading every page of
// ListSecrets (secrets scheduled for deletion are left out, as ListSecrets
// does by default).
func listTagged(ctx context.Context, api secretsmanager.ListSecretsAPIClient, t secretTag, pageSize int32) ([]types.SecretListEntry, error) {
	in := &secretsmanager.ListSecretsInput{Filters: t.filters(), MaxResults: aws.Int32(pageSize)}
	var out []types.SecretListEntry
	pages := secretsmanager.NewListSecretsPaginator(api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range page.SecretList {
			if t.matches(e.Tags) && aws.ToString(e.ARN) != "" {
				out = append(out, e)
			}
		}
	}
	return out, nil
}
