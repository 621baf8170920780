package mint_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// Example mints a system user token against the bundled emulator: install
// the app for the system user, mint an expiring token, then inspect it.
func Example() {
	srv := minttest.NewServer()
	defer srv.Close()
	fx := srv.Seed()

	c, err := mint.NewClient(
		mint.WithBaseURL(srv.URL),
		mint.WithHTTPClient(srv.Client()),
		mint.WithRetry(mint.DefaultRetryPolicy()),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	app := mint.App{ID: fx.AppID, Secret: fx.AppSecret}

	if err = c.InstallApp(ctx, mint.InstallAppRequest{SystemUserID: fx.SystemUserID, App: app, AccessToken: fx.AdminToken}); err != nil {
		log.Fatal(err)
	}
	tok, err := c.CreateAccessToken(ctx, mint.TokenRequest{
		SystemUserID: fx.SystemUserID,
		App:          app,
		AccessToken:  fx.AdminToken,
		Scopes:       []string{"ads_read", "business_management"},
	})
	if err != nil {
		log.Fatal(err)
	}
	info, err := c.DebugToken(ctx, app, tok.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	err = info.Check(mint.Expectation{AppID: fx.AppID, SystemUserID: fx.SystemUserID, Scopes: []string{"ads_read"}})
	fmt.Println("check:", err)
	fmt.Println("type:", info.Type, "valid:", info.IsValid)
	fmt.Println("scopes:", info.Scopes)
	fmt.Println("expires in 60 days:", info.ExpiresAt.Sub(info.IssuedAt).Hours() == 60*24)
	// Output:
	// check: <nil>
	// type: SYSTEM_USER valid: true
	// scopes: [ads_read business_management]
	// expires in 60 days: true
}

// ExampleGraphError shows how a caller reads a Graph refusal: here the app
// is not installed for the system user yet.
func ExampleGraphError() {
	srv := minttest.NewServer()
	defer srv.Close()
	fx := srv.Seed()
	c, _ := mint.NewClient(mint.WithBaseURL(srv.URL), mint.WithHTTPClient(srv.Client()))

	_, err := c.CreateAccessToken(context.Background(), mint.TokenRequest{
		SystemUserID: fx.SystemUserID,
		App:          mint.App{ID: fx.AppID, Secret: fx.AppSecret},
		AccessToken:  fx.AdminToken,
		Scopes:       []string{"ads_read"},
	})
	var gerr *mint.GraphError
	if errors.As(err, &gerr) {
		fmt.Println("code:", gerr.Code, "temporary:", gerr.Temporary())
		fmt.Println(gerr.Hint())
	}
	// Output:
	// code: 200 temporary: false
	// The app is not installed for this system user: install it first (POST /{system-user-id}/applications: install-app in the action, --install-app in the CLI, install_app in a managed secret).
}

// ExampleAppSecretProof computes the proof Graph expects beside a token.
func ExampleAppSecretProof() {
	fmt.Println(mint.AppSecretProof("app-secret", "secret-token"))
	// Output: 680670804b36213ff387db204621f036443aeba22d7209a96acd0b4299fbd0e5
}

// ExampleTokenInfo_MarshalJSON stores what debug_token said about a
// permanent token, in the form metamint inspect --json prints, and reads it
// back.
func ExampleTokenInfo_MarshalJSON() {
	info := &mint.TokenInfo{
		AppID:          "1234",
		Application:    "Ads reporting",
		Type:           "SYSTEM_USER",
		UserID:         "5678",
		IsValid:        true,
		IssuedAt:       time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Scopes:         []string{"ads_read"},
		GranularScopes: []mint.GranularScope{{Scope: "ads_read", TargetIDs: []string{"act_1"}}},
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(b))

	var back mint.TokenInfo
	if err := json.Unmarshal(b, &back); err != nil {
		log.Fatal(err)
	}
	fmt.Println("never expires:", back.NeverExpires(), "issued:", back.IssuedAt)
	// Output:
	// {
	//   "is_valid": true,
	//   "type": "SYSTEM_USER",
	//   "app_id": "1234",
	//   "application": "Ads reporting",
	//   "user_id": "5678",
	//   "scopes": [
	//     "ads_read"
	//   ],
	//   "granular_scopes": [
	//     {
	//       "scope": "ads_read",
	//       "target_ids": [
	//         "act_1"
	//       ]
	//     }
	//   ],
	//   "issued_at": "2026-01-02T03:04:05Z",
	//   "expires_at": "",
	//   "data_access_expires_at": ""
	// }
	// never expires: true issued: 2026-01-02 03:04:05 +0000 UTC
}

// ExampleClient_CreateVerifiedAccessToken installs the app, mints and
// checks a token in one call; a token that failed its check would have
// been revoked before the call returned.
func ExampleClient_CreateVerifiedAccessToken() {
	srv := minttest.NewServer()
	defer srv.Close()
	fx := srv.Seed()
	c, err := mint.NewClient(mint.WithBaseURL(srv.URL), mint.WithHTTPClient(srv.Client()))
	if err != nil {
		log.Fatal(err)
	}
	v, err := c.CreateVerifiedAccessToken(context.Background(), mint.VerifiedTokenRequest{
		TokenRequest: mint.TokenRequest{
			SystemUserID: fx.SystemUserID,
			App:          mint.App{ID: fx.AppID, Secret: fx.AppSecret},
			AccessToken:  fx.AdminToken,
			Scopes:       []string{"ads_read"},
		},
		InstallApp: true,
		Created:    func(token string) error { return nil }, // hide it from logs, save it for clean-up
		Deliver: func(v *mint.VerifiedToken) error {
			return nil // hand it over; an error here revokes it
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("type:", v.Info.Type, "scopes:", v.Info.Scopes, "expires:", !v.ExpiresAt.IsZero())
	// Output:
	// type: SYSTEM_USER scopes: [ads_read] expires: true
}
