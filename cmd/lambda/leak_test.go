package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/pkg/mint"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// echoingDebugToken is a debug_token answer whose data.error.message
// echoes every secret of the call: the inspected token, the app secret and
// the token's proof.
func echoingDebugToken(w *world, token string) minttest.Fault {
	msg := fmt.Sprintf("Error validating access token %s (app secret %s, proof %s)",
		token, w.fx.AppSecret, mint.AppSecretProof(w.fx.AppSecret, token))
	body, _ := json.Marshal(map[string]any{"data": map[string]any{
		"app_id": w.fx.AppID, "type": "SYSTEM_USER", "application": "metamint", "is_valid": false,
		"scopes": []string{}, "user_id": w.fx.SystemUserID,
		"error": map[string]any{"code": 190, "subcode": 463, "message": msg},
	}})
	return minttest.Fault{Status: http.StatusOK, Body: body, Times: 10}
}

// TestDebugTokenEchoLeaksNothing: Graph's debug_token echoes the managed
// token, the app secret and the proof in data.error.message. None of them
// may reach the logs, the metrics, an error answer or a run's response.
func TestDebugTokenEchoLeaksNothing(t *testing.T) {
	t.Parallel()
	t.Run("direct run", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		token := w.issue(50 * day)
		id := w.putSecret("managed", w.baseFields(token))
		w.srv.FailNext(minttest.EndpointDebugToken, echoingDebugToken(w, token))
		resp, err := w.h.Handle(t.Context(), directEventJSON(false, id))
		checkRunErr(t, resp, err)
		if resp.Summary.Failed != 1 {
			t.Fatalf("summary = %+v; want the secret failed (its managed token is invalid and mints its successor)", *resp.Summary)
		}
		b, _ := json.Marshal(resp)
		text := string(b) + err.Error()
		if !strings.Contains(text, "code 190") {
			t.Errorf("answer = %s; want Graph's code kept", text)
		}
		secrets := []string{token, w.fx.AppSecret, mint.AppSecretProof(w.fx.AppSecret, token)}
		assertNoSecrets(t, "the answer", text, secrets)
		assertNoSecrets(t, "the logs", w.logs.String(), secrets)
		assertNoSecrets(t, "the metrics", w.metrics.String(), secrets)
	})
	t.Run("testSecret of a pending token", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		id := w.putSecret("managed", w.baseFields(w.issue(5*day)))
		token := w.placeholder(id)
		if _, err := w.step(rotation.StepCreate, id, token); err != nil {
			t.Fatalf("createSecret = %v", err)
		}
		pending, _ := w.value(id, token, rotation.StagePending)["access_token"].(string)
		w.srv.FailNext(minttest.EndpointDebugToken, echoingDebugToken(w, pending))
		_, err := w.step(rotation.StepTest, id, token)
		if err == nil || errorType(err) != "TokenCheckError" {
			t.Fatalf("testSecret = %v; want a TokenCheckError", err)
		}
		secrets := []string{pending, w.fx.AppSecret, mint.AppSecretProof(w.fx.AppSecret, pending)}
		assertNoSecrets(t, "the error", err.Error(), secrets)
		assertNoSecrets(t, "the logs", w.logs.String(), secrets)
		// The unusable version is discarded, so it blocks no later rotation.
		if v := w.versionWith(id, rotation.StagePending); v == token {
			t.Errorf("AWSPENDING is still on the unusable version %s", token)
		}
	})
}
