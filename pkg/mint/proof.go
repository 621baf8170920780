package mint

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// AppSecretProof returns the appsecret_proof for accessToken: the lowercase hex
// HMAC-SHA256 of the token keyed by the app secret, exactly as Meta's PHP
// formula hash_hmac('sha256', $access_token, $app_secret) computes it.
//
// Graph checks the proof against the secret of the app the calling token
// belongs to. It is a pure function and does no I/O.
//
// See https://developers.facebook.com/docs/graph-api/securing-requests.
func AppSecretProof(appSecret, accessToken string) string {
	return hmacHex(appSecret, accessToken)
}

// TimedAppSecretProof returns the time-stamped appsecret_proof for accessToken
// at t, and the appsecret_time value to send beside it. The proof is the hex
// HMAC-SHA256 of "token|unixtime" keyed by the app secret. Graph treats such a
// proof as expired 5 minutes after t, so compute one per request.
//
// See https://developers.facebook.com/docs/facebook-login/security/.
func TimedAppSecretProof(appSecret, accessToken string, t time.Time) (proof, appsecretTime string) {
	appsecretTime = strconv.FormatInt(t.Unix(), 10)
	return hmacHex(appSecret, accessToken+"|"+appsecretTime), appsecretTime
}

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
