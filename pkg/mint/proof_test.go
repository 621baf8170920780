package mint_test

import (
	"testing"
	"time"

	"github.com/metamint/metamint/pkg/mint"
)

// The expected values were computed outside Go, with
//
//	printf '%s' "$msg" | openssl dgst -sha256 -hmac "$key"
//
// which is what Meta's PHP formula hash_hmac('sha256', $token, $secret) gives.
func TestAppSecretProof(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, secret, token, want string
	}{
		{"project vector", "app-secret", "secret-token", "680670804b36213ff387db204621f036443aeba22d7209a96acd0b4299fbd0e5"},
		{"RFC 4231 case 2", "Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"empty token", "key", "", "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := mint.AppSecretProof(tt.secret, tt.token); got != tt.want {
				t.Errorf("AppSecretProof(%q, %q) = %s; want %s", tt.secret, tt.token, got, tt.want)
			}
		})
	}
}

func TestTimedAppSecretProof(t *testing.T) {
	t.Parallel()
	// printf 'secret-token|1700000000' | openssl dgst -sha256 -hmac app-secret
	const want = "325bccc94987f1a311b509c1fffb413896774a42201daf2d90b0ad4ae1263b04"
	proof, ts := mint.TimedAppSecretProof("app-secret", "secret-token", time.Unix(1700000000, 999_000_000))
	if proof != want || ts != "1700000000" {
		t.Errorf("TimedAppSecretProof(app-secret, secret-token, 1700000000.999) = %s, %s; want %s, 1700000000", proof, ts, want)
	}
}

func BenchmarkAppSecretProof(b *testing.B) {
	b.ReportAllocs()
	token := "EAAB" + string(make([]byte, 180))
	for b.Loop() {
		mint.AppSecretProof("0123456789abcdef0123456789abcdef", token)
	}
}
