package mint_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/metamint/metamint/pkg/mint"
)

// cannedTransport answers every request with the same body, without a
// network, so a benchmark measures the client's own work: validation, proof,
// form and URL encoding, headers, body reading and decoding.
func cannedTransport(status int, body string) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			_, err := io.Copy(io.Discard, r.Body)
			r.Body.Close()
			if err != nil {
				return nil, err
			}
		}
		return &http.Response{
			StatusCode: status,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(body)),
			Request:    r,
		}, nil
	})
}

func benchClient(b *testing.B, status int, body string) *mint.Client {
	b.Helper()
	c, err := mint.NewClient(mint.WithHTTPClient(&http.Client{Transport: cannedTransport(status, body)}))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkCreateAccessTokenEncoding is one token creation with the network
// taken out: request validation, proof, encoding and response decoding.
func BenchmarkCreateAccessTokenEncoding(b *testing.B) {
	c := benchClient(b, 200, `{"access_token":"`+strings.Repeat("E", 180)+`"}`)
	r := tokenRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.CreateAccessToken(b.Context(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDebugTokenDecoding is one debug_token call with the network taken
// out, dominated by decoding Graph's token data.
func BenchmarkDebugTokenDecoding(b *testing.B) {
	c := benchClient(b, 200, `{"data":{"app_id":"2000","type":"SYSTEM_USER","application":"App","data_access_expires_at":0,"expires_at":1900000000,"is_valid":true,"issued_at":1890000000,"scopes":["ads_read","business_management","catalog_management"],"granular_scopes":[{"scope":"ads_read"}],"user_id":"4000"}}`)
	app := mint.App{ID: "2000", Secret: canarySecret}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.DebugToken(b.Context(), app, canaryMinted); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGraphErrorDecoding is one failed call: the Graph error body and
// usage headers decoded into a *GraphError, secrets redacted.
func BenchmarkGraphErrorDecoding(b *testing.B) {
	c := benchClient(b, 400, `{"error":{"message":"Error validating access token: Session has expired on Saturday, 01-Jun-24 23:09:47 PDT.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AzV2bQ4WuVhE7Kt0iZqX1kP"}}`)
	r := tokenRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.CreateAccessToken(b.Context(), r); err == nil {
			b.Fatal("want an error")
		}
	}
}

func BenchmarkParseUsage(b *testing.B) {
	h := http.Header{
		"X-App-Usage":               {`{"call_count":28,"total_time":25,"total_cputime":25}`},
		"X-Business-Use-Case-Usage": {`{"1234567890":[{"type":"ads_management","call_count":95,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":3}]}`},
	}
	b.ReportAllocs()
	for b.Loop() {
		mint.ParseUsage(h)
	}
}
