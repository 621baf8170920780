package mint_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/pkg/mint"
)

// fullInfo is a TokenInfo with every field set, its times in UTC.
func fullInfo() mint.TokenInfo {
	return mint.TokenInfo{
		AppID:               "200000000000002",
		Application:         "Metamint <Test> App",
		Type:                "SYSTEM_USER",
		UserID:              "400000000000004",
		IsValid:             false,
		IssuedAt:            time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		ExpiresAt:           time.Date(2026, 3, 3, 3, 4, 5, 0, time.UTC),
		DataAccessExpiresAt: time.Date(2026, 4, 2, 3, 4, 5, 0, time.UTC),
		Scopes:              []string{"ads_read", "business_management"},
		GranularScopes: []mint.GranularScope{
			{Scope: "ads_read", TargetIDs: []string{"act_1", "act_2"}},
			{Scope: "business_management"},
		},
		Error: &mint.TokenError{Code: 190, Subcode: 463, Message: "Error validating access token: Session has expired"},
	}
}

const fullInfoJSON = `{"is_valid":false,"type":"SYSTEM_USER","app_id":"200000000000002",` +
	`"application":"Metamint \u003cTest\u003e App","user_id":"400000000000004",` +
	`"scopes":["ads_read","business_management"],` +
	`"granular_scopes":[{"scope":"ads_read","target_ids":["act_1","act_2"]},{"scope":"business_management","target_ids":[]}],` +
	`"issued_at":"2026-01-02T03:04:05Z","expires_at":"2026-03-03T03:04:05Z","data_access_expires_at":"2026-04-02T03:04:05Z",` +
	`"error":{"code":190,"subcode":463,"message":"Error validating access token: Session has expired"}}`

// neverInfo never expires, has no data access expiry, and nil lists.
func neverInfo() mint.TokenInfo {
	return mint.TokenInfo{
		AppID:    "200000000000002",
		Type:     "SYSTEM_USER",
		UserID:   "400000000000004",
		IsValid:  true,
		IssuedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

const neverInfoJSON = `{"is_valid":true,"type":"SYSTEM_USER","app_id":"200000000000002","application":"",` +
	`"user_id":"400000000000004","scopes":[],"granular_scopes":[],` +
	`"issued_at":"2026-01-02T03:04:05Z","expires_at":"","data_access_expires_at":""}`

func TestTokenInfoMarshalJSON(t *testing.T) {
	t.Parallel()
	cet := time.FixedZone("CET", 3600)
	zoned := neverInfo()
	zoned.IssuedAt = time.Date(2026, 1, 2, 4, 4, 5, 0, cet)
	zoned.ExpiresAt = time.Date(2026, 3, 3, 4, 4, 5, 500_000_000, cet)
	tests := []struct {
		name string
		info mint.TokenInfo
		want string
	}{
		{name: "full", info: fullInfo(), want: fullInfoJSON},
		{name: "never expires, nil lists", info: neverInfo(), want: neverInfoJSON},
		{name: "zero value", info: mint.TokenInfo{}, want: `{"is_valid":false,"type":"","app_id":"","application":"","user_id":"",` +
			`"scopes":[],"granular_scopes":[],"issued_at":"","expires_at":"","data_access_expires_at":""}`},
		{name: "times in another zone, fraction kept", info: zoned,
			want: strings.Replace(neverInfoJSON, `"expires_at":""`, `"expires_at":"2026-03-03T03:04:05.5Z"`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.info)
			if err != nil || string(got) != tt.want {
				t.Errorf("json.Marshal(TokenInfo) = %s, %v; want %s", got, err, tt.want)
			}
			// A *TokenInfo, as DebugToken returns, encodes the same.
			got, err = json.Marshal(&tt.info)
			if err != nil || string(got) != tt.want {
				t.Errorf("json.Marshal(*TokenInfo) = %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

// TestTokenInfoMarshalJSONPastYear9999: a time past year 9999, which only a
// broken debug_token answer holds (Unix seconds are not bounded), is written
// as metamint inspect --json always wrote it, not refused; reading it back
// is refused, naming the field.
func TestTokenInfoMarshalJSONPastYear9999(t *testing.T) {
	t.Parallel()
	info := neverInfo()
	info.ExpiresAt = time.Unix(300_000_000_000, 0).UTC()
	want := strings.Replace(neverInfoJSON, `"expires_at":""`, `"expires_at":"11476-08-15T05:20:00Z"`, 1)
	got, err := json.Marshal(info)
	if err != nil || string(got) != want {
		t.Fatalf("json.Marshal(year 11476) = %s, %v; want %s", got, err, want)
	}
	var back mint.TokenInfo
	if err := json.Unmarshal(got, &back); err == nil || !strings.Contains(err.Error(), "expires_at") {
		t.Errorf("json.Unmarshal(year 11476) = %v; want an error naming expires_at", err)
	}
}

// sameTime compares times by instant and location, which cmp's use of
// time.Time.Equal alone would not.
var sameTime = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location() == b.Location() })

func TestTokenInfoJSONRoundTrip(t *testing.T) {
	t.Parallel()
	fraction := fullInfo()
	fraction.IssuedAt = fraction.IssuedAt.Add(123456789 * time.Nanosecond)
	tests := []struct {
		name string
		info mint.TokenInfo
	}{
		{name: "full", info: fullInfo()},
		{name: "never expires, nil lists", info: neverInfo()},
		{name: "zero value", info: mint.TokenInfo{}},
		{name: "fractional seconds", info: fraction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.info)
			if err != nil {
				t.Fatalf("json.Marshal(%+v) = %v", tt.info, err)
			}
			var got mint.TokenInfo
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("json.Unmarshal(%s) = %v", b, err)
			}
			if diff := cmp.Diff(tt.info, got, sameTime); diff != "" {
				t.Errorf("json.Unmarshal(json.Marshal(info)) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTokenInfoUnmarshalJSONInUTC: a time written with an offset is read
// back as the same instant, in UTC.
func TestTokenInfoUnmarshalJSONInUTC(t *testing.T) {
	t.Parallel()
	in := strings.Replace(neverInfoJSON, `"expires_at":""`, `"expires_at":"2026-03-03T05:04:05+02:00"`, 1)
	var got mint.TokenInfo
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatalf("json.Unmarshal(%s) = %v", in, err)
	}
	want := time.Date(2026, 3, 3, 3, 4, 5, 0, time.UTC)
	if diff := cmp.Diff(want, got.ExpiresAt, sameTime); diff != "" {
		t.Errorf("ExpiresAt mismatch (-want +got):\n%s", diff)
	}
}

func TestTokenInfoUnmarshalJSONRefusesMalformedTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		field string
		value string
	}{
		{name: "words", field: "issued_at", value: `"yesterday"`},
		{name: "month 13", field: "expires_at", value: `"2026-13-01T00:00:00Z"`},
		{name: "no zone", field: "data_access_expires_at", value: `"2026-01-02T03:04:05"`},
		{name: "unix seconds as text", field: "expires_at", value: `"1767225600"`},
		// debug_token's wire form: Unix seconds, 0 for never.
		{name: "unix seconds", field: "expires_at", value: `0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := strings.Replace(fullInfoJSON, `"`+tt.field+`":"`, `"`+tt.field+`":`+tt.value+`,"was":"`, 1)
			got := fullInfo()
			err := json.Unmarshal([]byte(in), &got)
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("json.Unmarshal(%s = %s) = %v; want an error naming %s", tt.field, tt.value, err, tt.field)
			}
		})
	}
}

// TestTokenInfoUnmarshalJSONNull keeps encoding/json's convention: null
// leaves the value as it is.
func TestTokenInfoUnmarshalJSONNull(t *testing.T) {
	t.Parallel()
	got := fullInfo()
	if err := json.Unmarshal([]byte("null"), &got); err != nil {
		t.Fatalf("json.Unmarshal(null) = %v", err)
	}
	if diff := cmp.Diff(fullInfo(), got, sameTime); diff != "" {
		t.Errorf("json.Unmarshal(null) changed the TokenInfo (-want +got):\n%s", diff)
	}
}

// TestDebugTokenJSONRoundTrip encodes what DebugToken decoded from
// debug_token's wire form (Unix seconds) and reads it back.
func TestDebugTokenJSONRoundTrip(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.install(t)
	w.srv.AssignAssets(w.fx.SystemUserID, "ads_read", "act_1", "act_2")
	tok := w.mint(t, w.request("ads_read", "business_management"))
	info, err := w.c.DebugToken(t.Context(), w.app, tok.AccessToken)
	if err != nil {
		t.Fatalf("DebugToken() error = %v", err)
	}
	if info.IssuedAt.IsZero() || info.ExpiresAt.IsZero() || len(info.TargetsOf("ads_read")) != 2 {
		t.Fatalf("DebugToken() = %+v; want issue and expiry times and the assets of ads_read", info)
	}
	b, err := json.Marshal(info)
	if err != nil {
		t.Fatalf("json.Marshal(DebugToken()) = %v", err)
	}
	var got mint.TokenInfo
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("json.Unmarshal(%s) = %v", b, err)
	}
	if diff := cmp.Diff(*info, got, sameTime); diff != "" {
		t.Errorf("round trip of DebugToken() mismatch (-want +got):\n%s", diff)
	}
}
