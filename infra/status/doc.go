// Package status is make status: one screen on a tokenrotator stack, from
// read-only AWS calls, that says whether every integration's token will
// outlive its next run. Command status (infra/status/cmd/status) is its thin
// main.
//
// For each integration (the stack's own, default, then every token secret
// under IntegrationSecretPrefix) it shows the token's age and time to expiry
// (from the token secret's expiry and issued_at: the access token is never
// kept, let alone printed), the bound on its next run, the check's verdict,
// its last run (the latest minute with a RotationSucceeded or RotationFailed
// datapoint, dimensions FunctionName and Integration), its rotation engine
// and its AWSCURRENT and AWSPREVIOUS version ids. Then the stack's alarms in
// ALARM and the dead-letter queue's depth, and a last line with the verdict:
// "all 3 tokens outlive the next run", or
// "1 of 3 tokens expires before the next run: acme (expired 5m ago)".
//
//	st, err := status.Resolve(ctx, cloudformation.NewFromConfig(cfg), status.Stack{Stack: ops.Stack{Name: "tokenrotator"}})
//	if err != nil { ... } // "stack tokenrotator has no output TokenSecretArn: run make deploy first"
//	cw := cloudwatch.NewFromConfig(cfg)
//	ok, err := status.Write(ctx, os.Stdout, status.Config{Stack: st, Secrets: secretsmanager.NewFromConfig(cfg),
//		Metrics: cw, Alarms: cw, Queues: sqs.NewFromConfig(cfg)})
//	// err: the screen could not be made; !ok: some token does not outlive its next run
//
// The next run of an integration rotated by EventBridge Scheduler comes at
// most one interval of the stack's rate(...) Schedule after its last run
// (forced runs only make that bound later, so it stays safe), or one
// interval from now when no run was seen in the window; of one rotated by
// Secrets Manager, by its NextRotationDate, else its last rotation plus the
// rotation rules' interval and window.
package status
