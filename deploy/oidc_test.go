package deploy_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Parameter values of a github-oidc.yaml stack under test.
const (
	testOwner    = "octo-org"
	testRepo     = "octo-repo"
	testProvider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
	testKey      = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

// testSecrets are a managed secret and the three secrets it references.
var testSecrets = []string{
	"arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamint/ads-AbCdEf",
	"arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamint-refs/app-secret-GhIjKl",
	"arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamint-refs/admin-token-MnOpQr",
	"arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamint-refs/minting-app-secret-StUvWx",
}

// renderOIDC renders github-oidc.yaml with the required parameters and
// values on top.
func renderOIDC(t *testing.T, values map[string]string) (map[string]any, error) {
	t.Helper()
	all := map[string]string{"GitHubOwner": testOwner, "GitHubRepository": testRepo}
	all["SecretArns"] = strings.Join(testSecrets, ",")
	for k, v := range values {
		all[k] = v
	}
	return render(t, loadTemplate(t, oidcTemplate), all)
}

// role returns the rendered role's properties.
func role(t *testing.T, stack map[string]any) map[string]any {
	t.Helper()
	r := pathAs[map[string]any](t, stack, "Resources", "SecretReaderRole")
	if r["Type"] != "AWS::IAM::Role" {
		t.Fatalf("SecretReaderRole.Type = %v; want AWS::IAM::Role", r["Type"])
	}
	return pathAs[map[string]any](t, r, "Properties")
}

// TestOIDCTrust checks the role's trust policy for each way of narrowing
// the token's sub claim: exactly one statement, AssumeRoleWithWebIdentity
// by GitHub's provider, audience sts.amazonaws.com, and the subject.
func TestOIDCTrust(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		values  map[string]string
		wantSub string
		wantErr string
	}{
		{name: "neither branch nor environment", wantErr: "rule SubjectRequired"},
		{name: "whole repository refused by default", values: map[string]string{"AllowWholeRepository": "false"}, wantErr: "rule SubjectRequired"},
		{name: "any job of the repository, opted in", values: map[string]string{"AllowWholeRepository": "true"}, wantSub: "repo:octo-org/octo-repo:*"},
		{name: "opt-in value not a boolean", values: map[string]string{"AllowWholeRepository": "yes", "GitHubBranch": "main"}, wantErr: "AllowWholeRepository"},
		{name: "branch", values: map[string]string{"GitHubBranch": "main"}, wantSub: "repo:octo-org/octo-repo:ref:refs/heads/main"},
		{name: "branch with a slash", values: map[string]string{"GitHubBranch": "release/v1"}, wantSub: "repo:octo-org/octo-repo:ref:refs/heads/release/v1"},
		{name: "environment", values: map[string]string{"GitHubEnvironment": "production"}, wantSub: "repo:octo-org/octo-repo:environment:production"},
		{name: "branch and environment", values: map[string]string{"GitHubBranch": "main", "GitHubEnvironment": "production"}, wantErr: "rule OneSubjectNarrowing"},
		{name: "wildcard branch", values: map[string]string{"GitHubBranch": "*"}, wantErr: "GitHubBranch"},
		{name: "branch pattern", values: map[string]string{"GitHubBranch": "release/*"}, wantErr: "GitHubBranch"},
		{name: "wildcard environment", values: map[string]string{"GitHubEnvironment": "prod*"}, wantErr: "GitHubEnvironment"},
		{name: "wildcard owner", values: map[string]string{"GitHubOwner": "*"}, wantErr: "GitHubOwner"},
		{name: "owner and repository in one", values: map[string]string{"GitHubOwner": "octo-org/octo-repo"}, wantErr: "GitHubOwner"},
		{name: "wildcard repository", values: map[string]string{"GitHubRepository": "octo-*"}, wantErr: "GitHubRepository"},
		{name: "no owner", values: map[string]string{"GitHubOwner": ""}, wantErr: "GitHubOwner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stack, err := renderOIDC(t, tt.values)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("render(%v) = %v; want an error naming %s", tt.values, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("render(%v) = %v", tt.values, err)
			}
			want := []map[string]any{{
				"Sid":       "GitHubActionsOidc",
				"Effect":    "Allow",
				"Principal": map[string]any{"Federated": map[string]any{"Ref": "GitHubOidcProvider"}},
				"Action":    "sts:AssumeRoleWithWebIdentity",
				"Condition": map[string]any{
					"StringEquals": map[string]any{"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
					"StringLike":   map[string]any{"token.actions.githubusercontent.com:sub": tt.wantSub},
				},
			}}
			got := statements(t, role(t, stack)["AssumeRolePolicyDocument"])
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("render(%v) trust policy (-want +got):\n%s", tt.values, diff)
			}
		})
	}
}

// TestOIDCProvider checks that the stack creates GitHub's OIDC provider
// when no ARN is given, and otherwise trusts the given one and creates none.
func TestOIDCProvider(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		provider     string
		wantResource any
		wantTrusted  any
		wantErr      bool
	}{
		{
			name: "create",
			wantResource: map[string]any{
				"Type":      "AWS::IAM::OIDCProvider",
				"Condition": "CreateOidcProvider",
				// No ThumbprintList: IAM trusts GitHub's certificate through its
				// own CA library.
				"Properties": map[string]any{
					"Url":          "https://token.actions.githubusercontent.com",
					"ClientIdList": []any{"sts.amazonaws.com"},
				},
			},
			wantTrusted: map[string]any{"Ref": "GitHubOidcProvider"},
		},
		{name: "reuse", provider: testProvider, wantTrusted: testProvider},
		{name: "another issuer", provider: "arn:aws:iam::123456789012:oidc-provider/gitlab.com", wantErr: true},
		{name: "wildcard", provider: "arn:aws:iam::123456789012:oidc-provider/*", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stack, err := renderOIDC(t, map[string]string{"OidcProviderArn": tt.provider, "GitHubEnvironment": "production"})
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "OidcProviderArn") {
					t.Fatalf("render(OidcProviderArn=%q) = %v; want the parameter refused", tt.provider, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("render(OidcProviderArn=%q) = %v", tt.provider, err)
			}
			resources := as[map[string]any](t, stack["Resources"], "Resources")
			if diff := cmp.Diff(tt.wantResource, resources["GitHubOidcProvider"]); diff != "" {
				t.Errorf("render(OidcProviderArn=%q) GitHubOidcProvider (-want +got):\n%s", tt.provider, diff)
			}
			trust := statements(t, role(t, stack)["AssumeRolePolicyDocument"])
			if diff := cmp.Diff(tt.wantTrusted, path(t, trust[0], "Principal", "Federated")); diff != "" {
				t.Errorf("render(OidcProviderArn=%q) trusted provider (-want +got):\n%s", tt.provider, diff)
			}
			if diff := cmp.Diff(tt.wantTrusted, path(t, stack, "Outputs", "OidcProviderArn", "Value")); diff != "" {
				t.Errorf("render(OidcProviderArn=%q) output OidcProviderArn (-want +got):\n%s", tt.provider, diff)
			}
			if got := path(t, stack, "Outputs", "RoleArn", "Value"); !cmp.Equal(got, map[string]any{"Fn::GetAtt": []any{"SecretReaderRole", "Arn"}}) {
				t.Errorf("output RoleArn = %v; want the role's ARN", got)
			}
		})
	}
}

// TestOIDCPolicy checks least privilege: GetSecretValue on exactly the
// listed secrets, kms:Decrypt only with a key and only through Secrets
// Manager in the stack's region, nothing else, no wildcard.
func TestOIDCPolicy(t *testing.T) {
	t.Parallel()
	read := map[string]any{
		"Sid":      "ReadSecrets",
		"Effect":   "Allow",
		"Action":   []any{"secretsmanager:GetSecretValue"},
		"Resource": anySlice(testSecrets),
	}
	decrypt := map[string]any{
		"Sid":       "DecryptSecrets",
		"Effect":    "Allow",
		"Action":    []any{"kms:Decrypt"},
		"Resource":  testKey,
		"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
	}
	tests := []struct {
		name    string
		key     string
		want    []map[string]any
		wantErr bool
	}{
		{name: "aws/secretsmanager key", want: []map[string]any{read}},
		{name: "customer managed key", key: testKey, want: []map[string]any{read, decrypt}},
		{name: "key alias", key: "arn:aws:kms:eu-west-1:123456789012:alias/metamint", wantErr: true},
		{name: "wildcard key", key: "arn:aws:kms:eu-west-1:123456789012:key/*", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stack, err := renderOIDC(t, map[string]string{"KmsKeyArn": tt.key, "GitHubEnvironment": "production"})
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "KmsKeyArn") {
					t.Fatalf("render(KmsKeyArn=%q) = %v; want the parameter refused", tt.key, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("render(KmsKeyArn=%q) = %v", tt.key, err)
			}
			props := role(t, stack)
			for k := range props {
				switch k {
				case "Description", "MaxSessionDuration", "AssumeRolePolicyDocument", "Policies":
				default: // ManagedPolicyArns, PermissionsBoundary... would grant more
					t.Errorf("role property %s: want only the inline policy to grant anything", k)
				}
			}
			policies := as[[]any](t, props["Policies"], "role Policies")
			if len(policies) != 1 {
				t.Fatalf("role has %d inline policies; want 1", len(policies))
			}
			got := statements(t, path(t, policies[0], "PolicyDocument"))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("render(KmsKeyArn=%q) policy (-want +got):\n%s", tt.key, diff)
			}
			// Whatever the statements, no action or resource is a wildcard.
			for _, s := range got {
				for _, k := range []string{"Action", "Resource"} {
					for _, v := range asList(s[k]) {
						if str, ok := v.(string); !ok || strings.ContainsAny(str, "*?") {
							t.Errorf("statement %v: %s %v is not one exact name", s["Sid"], k, v)
						}
					}
				}
				if s["Effect"] != "Allow" || s["NotAction"] != nil || s["NotResource"] != nil {
					t.Errorf("statement %v: want Allow with Action and Resource", s["Sid"])
				}
			}
		})
	}
	p := pathAs[map[string]any](t, loadTemplate(t, oidcTemplate), "Parameters", "SecretArns")
	desc, _ := p["Description"].(string) // none is "", which names nothing
	if p["Type"] != "CommaDelimitedList" || p["Default"] != nil ||
		!strings.Contains(desc, "app_secret_ref") || !strings.Contains(desc, "minting_token_ref") ||
		!strings.Contains(desc, "minting_app_secret_ref") {
		t.Errorf("SecretArns = %v; want a required CommaDelimitedList whose description names the referenced secrets", p)
	}
	for _, bad := range []string{
		"*",
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:*",
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamint/*",
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamint/ads-??????",
		"metamint/ads",
		testSecrets[0] + ",", // an empty item
		// A name without the six characters Secrets Manager appends names
		// no secret in IAM: the job would be denied at its first read.
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamint/ads",
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamint/ads-AbCdE",
	} {
		if _, err := renderOIDC(t, map[string]string{"SecretArns": bad, "GitHubEnvironment": "production"}); err == nil || !strings.Contains(err.Error(), "SecretArns") {
			t.Errorf("render(SecretArns=%q) = %v; want the parameter refused", bad, err)
		}
	}
}

// anySlice is s as a decoded template holds it.
func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}
