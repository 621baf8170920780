// Package deploy holds metamint's CloudFormation templates, not Go code:
// template.yaml (AWS SAM: the Lambda, its schedules, log group and alarms)
// and github-oidc.yaml (an IAM role GitHub Actions jobs assume through
// GitHub's OIDC provider to read the managed secrets). Its tests, in package
// deploy_test, lint both with cfn-lint and check what they grant and wire.
package deploy
