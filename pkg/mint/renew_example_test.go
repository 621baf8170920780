package mint_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// ExampleClient_RenewAccessToken refreshes a system user token that expires
// in ten days, and gets a new one that debug_token proved is its renewal:
// the same app, system user and scopes, and a later expiry.
func ExampleClient_RenewAccessToken() {
	srv := minttest.NewServer()
	defer srv.Close()
	fx := srv.Seed()
	srv.InstallApp(fx.SystemUserID, fx.AppID)
	old := srv.IssueToken(minttest.TokenSpec{UserID: fx.SystemUserID, AppID: fx.AppID,
		Scopes: []string{"ads_read"}, ExpiresAt: srv.Now().Add(10 * 24 * time.Hour)})

	c, err := mint.NewClient(mint.WithBaseURL(srv.URL), mint.WithHTTPClient(srv.Client()))
	if err != nil {
		log.Fatal(err)
	}
	rn, err := c.RenewAccessToken(context.Background(), mint.RenewRequest{
		RefreshRequest: mint.RefreshRequest{App: mint.App{ID: fx.AppID, Secret: fx.AppSecret}, AccessToken: old},
		// Hide the new token from logs here, before anything else happens.
		Refreshed: func(string) error { return nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("new token:", rn.AccessToken != old)
	fmt.Println("same system user:", rn.Info.UserID == rn.Previous.UserID)
	fmt.Println("expires later:", rn.ExpiresAt.After(rn.Previous.ExpiresAt))
	// Output:
	// new token: true
	// same system user: true
	// expires later: true
}
