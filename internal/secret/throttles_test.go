package secret

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/metamint/metamint/internal/clock"
	"github.com/metamint/metamint/internal/pace"
)

// TestResendFromTheStart: each resend of a throttled write hands the layers
// below (the payload hash, the signature, the transport) the request body
// from its start. moto checks no signature, so this drives the middleware
// alone: next reads the body, as the transport does, and is answered
// ThrottlingException twice.
func TestResendFromTheStart(t *testing.T) {
	t.Parallel()
	p := pace.New(25)
	c := clock.NewFake(time.Now())
	p.Now, p.Sleep, p.Rand = c.Now, c.Sleep, func() float64 { return 0.5 }
	body := `{"SecretId":"s","ClientRequestToken":"t","SecretString":"{\"v\":1}"}`
	req, ok := smithyhttp.NewStackRequest().(*smithyhttp.Request)
	if !ok {
		t.Fatal("smithyhttp.NewStackRequest() is not a *smithyhttp.Request")
	}
	req, err := req.SetStream(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	next := middleware.FinalizeHandlerFunc(func(_ context.Context, in middleware.FinalizeInput) (middleware.FinalizeOutput, middleware.Metadata, error) {
		r, ok := in.Request.(*smithyhttp.Request)
		if !ok {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, errors.New("the request is not a *smithyhttp.Request")
		}
		b, err := io.ReadAll(r.GetStream())
		if err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
		seen = append(seen, string(b))
		if len(seen) <= 2 {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
		}
		return middleware.FinalizeOutput{}, middleware.Metadata{}, nil
	})
	ctx := awsmiddleware.SetOperationName(t.Context(), "PutSecretValue")
	if _, _, err := (&patient{p: p, paced: []string{"PutSecretValue"}}).HandleFinalize(ctx, middleware.FinalizeInput{Request: req}, next); err != nil {
		t.Fatalf("HandleFinalize() throttled twice = %v; want success", err)
	}
	if want := []string{body, body, body}; !slices.Equal(seen, want) {
		t.Errorf("bodies the layers below read: %q; want the whole body 3 times", seen)
	}
}
