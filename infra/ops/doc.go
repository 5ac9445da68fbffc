// Package ops is the operator's side of a tokenrotator fleet: it adds an
// integration to a deployed stack, sets who reads its token, removes one,
// and forces rotations, with the AWS SDK and nothing else. Command
// integration (infra/ops/cmd/integration, run by make integration-add,
// make integration-readers, make integration-remove and make rotate) is
// its thin main.
//
// An added integration named N is a token secret <prefix>N holding {} until
// its first rotation, tagged with the stack, the name and the credentials
// secret's ARN, whose resource policy names the principals that may read
// it (none until Add or Readers is given some); the credentials secret
// tagged tokenrotator:stack=<stack>, which is what lets the stack's role
// read it; and a CloudWatch alarm <stack>-integration-N-stale that fires
// after a day without a successful rotation of N. The operator never reads
// a secret's value: it cannot print a client secret or a token.
//
//	st, err := ops.ResolveStack(ctx, cloudformation.NewFromConfig(cfg), ops.Stack{Name: "tokenrotator"},
//		ops.OutputFunctionName, ops.OutputSecretPrefix, ops.OutputAlarmTopic)
//	if err != nil { ... } // "stack tokenrotator has no output AlarmTopicArn: run make deploy first"
//	op := ops.New(ops.Config{Stack: st, Secrets: sm, Alarms: cw, Lambda: lambdaClient, Out: os.Stdout})
//	rep, err := op.Add(ctx, "acme", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-AbCdEf")
//	// one line per step on os.Stdout; rep.Integrations[0] is acme's first rotation
//	err = op.Readers(ctx, "acme", []string{"arn:aws:iam::123456789012:role/acme-service"}) // only it reads acme's token
//	rep, err = op.Rotate(ctx, "") // force every integration; a table on os.Stdout
//	err = op.Remove(ctx, "acme")
//
// CreateSigningKey is make signing-key (command signingkey): a KMS key for
// private_key_jwt, tagged for the stack, and what each provider registers
// (SigningKey.Print), its certificate signed through kmssign.
//
// The names and tags it uses come from package integration, which the
// rotator reads too; the stale alarm is the one the fleet design specifies.
package ops
