package rotation

import "testing"

func TestMintingFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		value  string
		secret string
		want   bool
	}{
		{name: "full name", value: "metamint/ads", secret: "metamint/ads", want: true},
		{name: "one of several", value: "metamint/x  metamint/ads metamint/y", secret: "metamint/ads", want: true},
		{name: "prefix", value: "metamint/team/", secret: "metamint/team/ads", want: true},
		{name: "prefix, deeper", value: "metamint/", secret: "metamint/team/ads", want: true},
		{name: "a full name is no prefix", value: "metamint/ads", secret: "metamint/ads-evil", want: false},
		{name: "a name without / is no prefix", value: "metamint/team", secret: "metamint/team/ads", want: false},
		{name: "a prefix covers no neighbour", value: "metamint/team/", secret: "metamint/team-evil/ads", want: false},
		{name: "the prefix itself", value: "metamint/team/", secret: "metamint/team/", want: true},
		{name: "not listed", value: "metamint/other", secret: "metamint/ads", want: false},
		{name: "empty", value: "", secret: "metamint/ads", want: false},
		{name: "spaces only", value: "   ", secret: "metamint/ads", want: false},
		{name: "no wildcard", value: "*", secret: "metamint/ads", want: false},
		{name: "case matters", value: "Metamint/ads", secret: "metamint/ads", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := mintingFor(tt.value, tt.secret); got != tt.want {
				t.Errorf("mintingFor(%q, %q) = %v; want %v", tt.value, tt.secret, got, tt.want)
			}
		})
	}
}

func TestSecretName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		arn, want string
		wantErr   bool
	}{
		{arn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:metamint/ads-AbCdEf", want: "metamint/ads"},
		{arn: "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:a-b-c-AbCdEf", want: "a-b-c"},
		{arn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x:y-AbCdEf", want: "x:y"},
		{arn: "metamint/ads", wantErr: true},
		{arn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ads", wantErr: true},
		{arn: "arn:aws:s3:::bucket-AbCdEf", wantErr: true},
	}
	for _, tt := range tests {
		got, err := secretName(tt.arn)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("secretName(%q) = %q, %v; want %q (error %v)", tt.arn, got, err, tt.want, tt.wantErr)
		}
	}
}
