package ghsecretstest_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"golang.org/x/crypto/nacl/box"

	"github.com/metamint/metamint/internal/ghsecrets/ghsecretstest"
)

const token = "ghs_standinTOKEN"

// put sends a raw PUT of a repository secret, as GitHub documents it.
func put(t *testing.T, s *ghsecretstest.Server, keyID, encrypted string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"encrypted_value": encrypted, "key_id": keyID})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, s.URL+"/repos/o/r/actions/secrets/NAME", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestServerOpensOnlyWhatWasSealedToItsKey: the stand-in stores a value
// sealed to the key it handed out, and answers 422 to a stale key ID, a
// value sealed to another key, and bytes that are no sealed box.
func TestServerOpensOnlyWhatWasSealedToItsKey(t *testing.T) {
	t.Parallel()
	seal := func(pub *[32]byte, v string) string {
		b, err := box.SealAnonymous(nil, []byte(v), pub, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	other, _, err := box.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		keyID  func(id string) string
		value  func(pub *[32]byte) string
		status int
	}{
		{"sealed to its key", func(id string) string { return id }, func(pub *[32]byte) string { return seal(pub, "v1") }, http.StatusCreated},
		{"stale key ID", func(string) string { return "old-key" }, func(pub *[32]byte) string { return seal(pub, "v1") }, http.StatusUnprocessableEntity},
		{"sealed to another key", func(id string) string { return id }, func(*[32]byte) string { return seal(other, "v1") }, http.StatusUnprocessableEntity},
		{"not a sealed box", func(id string) string { return id }, func(*[32]byte) string { return base64.StdEncoding.EncodeToString([]byte("plain text value")) }, http.StatusUnprocessableEntity},
		{"not base64", func(id string) string { return id }, func(*[32]byte) string { return "v1" }, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := ghsecretstest.NewServer()
			t.Cleanup(s.Close)
			s.AddRepo("o/r")
			s.AddToken(token, ghsecretstest.SecretsWrite)
			id, key := s.PublicKey(ghsecretstest.RepoScope("o/r"))
			raw, err := base64.StdEncoding.DecodeString(key)
			if err != nil || len(raw) != 32 {
				t.Fatalf("PublicKey() key = %q; want 32 bytes of base64", key)
			}
			var pub [32]byte
			copy(pub[:], raw)
			if got := put(t, s, tt.keyID(id), tt.value(&pub)); got != tt.status {
				t.Fatalf("PUT = %d; want %d", got, tt.status)
			}
			got, ok := s.Secret(ghsecretstest.RepoScope("o/r"), "NAME")
			if stored := tt.status == http.StatusCreated; ok != stored || (stored && got.Value != "v1") {
				t.Errorf("stored = %v (value ok %v); want %v", ok, got.Value == "v1", stored)
			}
		})
	}
}
