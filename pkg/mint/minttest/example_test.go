package minttest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"time"

	"github.com/metamint/metamint/pkg/mint/minttest"
)

// post sends a form to the emulator and decodes the JSON answer into v.
func post(c *http.Client, target string, form url.Values, v any) {
	resp, err := c.PostForm(target, form)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		log.Fatal(err)
	}
}

// ExampleServer installs the app for a system user, mints an expiring token
// and inspects it, over plain HTTP.
func ExampleServer() {
	srv := minttest.NewServer()
	defer srv.Close()
	fx := srv.Seed()
	c := srv.Client()
	graph := srv.URL + "/v27.0/"

	var installed struct{ Success bool }
	post(c, graph+fx.SystemUserID+"/applications", url.Values{
		"business_app": {fx.AppID},
		"access_token": {fx.AdminToken},
	}, &installed)

	mac := hmac.New(sha256.New, []byte(fx.AppSecret))
	mac.Write([]byte(fx.AdminToken))
	var minted struct {
		AccessToken string `json:"access_token"`
	}
	post(c, graph+fx.SystemUserID+"/access_tokens", url.Values{
		"business_app":                 {fx.AppID},
		"scope":                        {"ads_read,business_management"},
		"set_token_expires_in_60_days": {"true"},
		"appsecret_proof":              {hex.EncodeToString(mac.Sum(nil))},
		"access_token":                 {fx.AdminToken},
	}, &minted)

	resp, err := c.Get(graph + "debug_token?" + url.Values{
		"input_token":  {minted.AccessToken},
		"access_token": {fx.AppID + "|" + fx.AppSecret},
	}.Encode())
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var debug struct {
		Data struct {
			Type      string   `json:"type"`
			UserID    string   `json:"user_id"`
			IsValid   bool     `json:"is_valid"`
			IssuedAt  int64    `json:"issued_at"`
			ExpiresAt int64    `json:"expires_at"`
			Scopes    []string `json:"scopes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&debug); err != nil {
		log.Fatal(err)
	}
	d := debug.Data

	fmt.Println("installed:", installed.Success, srv.Installs(fx.SystemUserID))
	fmt.Println("minted:", srv.Minted())
	fmt.Println("token:", d.Type, d.UserID, d.IsValid, d.Scopes)
	fmt.Println("lifetime:", time.Duration(d.ExpiresAt-d.IssuedAt)*time.Second)
	// Output:
	// installed: true [200000000000002]
	// minted: 1
	// token: SYSTEM_USER 400000000000004 true [ads_read business_management]
	// lifetime: 1440h0m0s
}

// ExampleServer_FailNext makes the next debug_token call fail with a transient
// Graph error, as a retry test would.
func ExampleServer_FailNext() {
	srv := minttest.NewServer()
	defer srv.Close()
	fx := srv.Seed()
	srv.FailNext(minttest.EndpointDebugToken, minttest.Fault{Error: &minttest.Error{
		Message:     "An unexpected error has occurred. Please retry your request later.",
		Code:        2,
		IsTransient: true,
	}})

	target := srv.URL + "/v27.0/debug_token?" + url.Values{
		"input_token":  {fx.AdminToken},
		"access_token": {fx.AppID + "|" + fx.AppSecret},
	}.Encode()
	for range 2 {
		resp, err := srv.Client().Get(target)
		if err != nil {
			log.Fatal(err)
		}
		var body struct {
			Error *struct {
				Code        int  `json:"code"`
				IsTransient bool `json:"is_transient"`
			} `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			log.Fatal(err)
		}
		if body.Error != nil {
			fmt.Println(resp.StatusCode, "code", body.Error.Code, "transient", body.Error.IsTransient)
		} else {
			fmt.Println(resp.StatusCode)
		}
	}
	// Output:
	// 400 code 2 transient true
	// 200
}
