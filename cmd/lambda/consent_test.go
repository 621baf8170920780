package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metamint/metamint/internal/rotation"
	"github.com/metamint/metamint/pkg/mint/minttest"
)

// TestMintingConsent enrols secrets that name an admin's minting token whose
// secret lists, in its tag metamint:minting-for, some managed secrets and not
// others. A listed secret (by full name, or under a prefix ending in /)
// mints; any other mints nothing and fails naming the tag, in a run (counted
// in Failed) and as a rotation event. Without the check, whoever may create a
// secret under the managed prefix has the admin's token mint into it.
func TestMintingConsent(t *testing.T) {
	t.Parallel()
	noTag := "\x00" // the minting token's secret carries no tag at all
	tests := []struct {
		name   string
		tag    string // the tag's value; each "~" is this case's own prefix
		secret string // the managed secret's name under the prefix
		want   bool   // it may mint
	}{
		{name: "listed by name", tag: "~ads", secret: "ads", want: true},
		{name: "listed among others", tag: "~x  ~ads ~y/", secret: "ads", want: true},
		{name: "under a listed prefix", tag: "~team/", secret: "team/ads", want: true},
		{name: "not listed", tag: "~other ~ads-old", secret: "ads"},
		{name: "a name is no prefix of its neighbour", tag: "~team", secret: "team-evil"},
		{name: "a name without / covers nothing below it", tag: "~team", secret: "team/ads"},
		{name: "a prefix covers no neighbour", tag: "~team/", secret: "team-evil/ads"},
		{name: "no tag", tag: noTag, secret: "ads"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			var ref string
			if tt.tag == noTag {
				ref = w.putRaw("refs/admin-token", w.fx.AdminToken)
			} else {
				ref = w.putTagged("refs/admin-token", w.fx.AdminToken,
					map[string]string{rotation.MintingForTag: strings.ReplaceAll(tt.tag, "~", w.prefix)})
			}
			f := w.baseFields("")
			f["minting_token_ref"] = ref
			id := w.putSecret(tt.secret, f)
			before := w.stages(id)

			resp, err := w.h.Handle(t.Context(), directEventJSON(false, id))
			checkRunErr(t, resp, err)
			if len(resp.Results) != 1 {
				t.Fatalf("results = %+v; want one", resp.Results)
			}
			res := resp.Results[0]
			if tt.want {
				if res.Status != rotation.StatusRotated || w.srv.Minted() != 1 || resp.Summary.Failed != 0 {
					t.Fatalf("run = %+v, %d minted; want rotated, one token minted", res, w.srv.Minted())
				}
				// The rotation-event path passes the check too.
				token := w.placeholder(id)
				if _, err = w.step(rotation.StepCreate, id, token); err != nil {
					t.Errorf("createSecret of a listed secret = %v", err)
				}
				return
			}
			if res.Status != rotation.StatusFailed || res.ErrorType != "ConsentError" || !strings.Contains(res.Error, rotation.MintingForTag) {
				t.Errorf("run result = %+v; want failed with a ConsentError naming %s", res, rotation.MintingForTag)
			}
			if resp.Summary.Failed != 1 || !strings.Contains(w.metrics.String(), `"Failed":1`) {
				t.Errorf("summary %+v, metrics %s; want the secret counted in Failed", resp.Summary, w.metrics.String())
			}
			token := w.placeholder(id)
			_, err = w.step(rotation.StepCreate, id, token)
			var cerr *rotation.ConsentError
			if !errors.As(err, &cerr) || !strings.Contains(err.Error(), rotation.MintingForTag) || !strings.Contains(err.Error(), ref) {
				t.Errorf("createSecret = %v; want a ConsentError naming %s and the minting token's secret", err, rotation.MintingForTag)
			}
			if got := w.srv.Minted(); got != 0 {
				t.Errorf("%d tokens minted; want none", got)
			}
			if got := graphCalls(w.srv); got[minttest.EndpointAccessTokens]+got[minttest.EndpointApplications] != 0 {
				t.Errorf("Graph calls %v; want none that makes a token or installs the app", got)
			}
			w.endRotation(id, token)
			if diff := cmp.Diff(before, w.stages(id)); diff != "" {
				t.Errorf("stages after the refusals changed (-before +after):\n%s", diff)
			}
		})
	}
}

// TestMintingConsentBootstrap runs the check in the shipped bootstrap under
// aws-lambda-rie: a direct run over a listed and an unlisted secret mints
// for the listed one alone and fails naming the other, and a rotation event
// for the unlisted one fails with a ConsentError.
func TestMintingConsentBootstrap(t *testing.T) {
	w := newWorld(t)
	ref := w.putTagged("refs/admin-token", w.fx.AdminToken, map[string]string{rotation.MintingForTag: w.prefix + "team/"})
	enrol := func(name string) string {
		f := w.baseFields("")
		f["minting_token_ref"] = ref
		return w.putSecret(name, f)
	}
	listed, unlisted := enrol("team/ads"), enrol("team-evil/ads")
	r := startRIE(t, map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": motoURL(t),
		"METAMINT_GRAPH_API_URL":           w.srv.URL,
	})
	inv := r.invoke(directEventJSON(false, listed, unlisted))
	if inv.ErrorType != "RunFailedError" || !strings.Contains(inv.ErrorMessage, "1 of 2 secrets failed") ||
		!strings.Contains(inv.ErrorMessage, unlisted+" (ConsentError)") {
		t.Fatalf("run = %s %q; want a RunFailedError naming the unlisted secret's ConsentError", inv.ErrorType, inv.ErrorMessage)
	}
	if got := w.srv.Minted(); got != 1 {
		t.Errorf("%d tokens minted; want 1, for the listed secret", got)
	}
	if w.versionWith(listed, rotation.StagePrevious) == "" {
		t.Errorf("the listed secret was not rotated: %v", w.stages(listed))
	}
	inv = r.invoke(rotationEvent(rotation.StepCreate, unlisted, w.placeholder(unlisted)))
	if inv.ErrorType != "ConsentError" || !strings.Contains(inv.ErrorMessage, rotation.MintingForTag) {
		t.Errorf("createSecret of the unlisted secret = %s %q; want a ConsentError naming %s", inv.ErrorType, inv.ErrorMessage, rotation.MintingForTag)
	}
	if got := w.srv.Minted(); got != 1 {
		t.Errorf("%d tokens minted after the refused rotation; want still 1", got)
	}
	// The refusal names the tag, the reference and the secret, never a
	// token: the admin's token is among the canaries.
	assertNoSecrets(t, "rie output", r.Output(), append(secretsOf(w.srv, w.fx), w.fx.AdminToken))
	if t.Failed() {
		t.Logf("rie output:\n%s", r.Output())
	}
}
