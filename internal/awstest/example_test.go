package awstest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/metamint/metamint/internal/awstest"
)

// A PutSecretValue whose every attempt moto commits but whose answers are
// lost: the caller sees an error, and must read back to learn the write
// happened.
func ExampleProxy_afterCommit() {
	ctx := context.Background()
	moto, err := awstest.StartMoto(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer moto.Close()
	proxy, err := awstest.StartProxy(moto.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer proxy.Close()

	sm := awstest.SecretsManager(proxy.URL)
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("example"), SecretString: aws.String("v1")}); err != nil {
		fmt.Println(err)
		return
	}
	lost := proxy.Inject(awstest.Fault{Op: "PutSecretValue", Stage: awstest.AfterCommit, Times: 3})
	token := "00000000-0000-4000-a000-000000000001"
	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String("example"), ClientRequestToken: aws.String(token), SecretString: aws.String("v2"),
	})
	var ae smithy.APIError
	if errors.As(err, &ae) {
		fmt.Println("PutSecretValue:", ae.ErrorCode())
	}
	fmt.Println("attempts:", proxy.Calls("PutSecretValue"), "lost:", lost.Hits())

	got, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("example"), VersionId: aws.String(token)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stored:", aws.ToString(got.SecretString))
	// Output:
	// PutSecretValue: InternalServiceError
	// attempts: 3 lost: 3
	// stored: v2
}
