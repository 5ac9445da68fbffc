// Package templatecheck holds only tests: they read template.yaml, the single
// deployable description, and hold it to the facts the code and the contract
// depend on, so that a template edit cannot quietly break them:
//
//   - RotatorFunction's environment names exactly config.Names();
//   - every IAM statement names no wildcard action and no "*" resource, and
//     names only the two secrets, the optional KMS keys and the stack's own
//     log group, queue and function; put is granted on the token secret only;
//   - TokenReaderPolicy is read-only;
//   - the schedule defaults to rate(23 hours);
//   - the stale-token alarm watches the metric package metrics writes;
//   - cfn-lint finds nothing.
//
// It sits under functions/internal because it imports the packages that
// own the names (config, metrics), which are internal to functions/.
// Run it with go test ./functions/internal/templatecheck (make test does).
// The template is parsed with gopkg.in/yaml.v3; CloudFormation's short-form
// tags (!Ref, !GetAtt, !Sub, ...) become their long forms ({"Ref": ...},
// {"Fn::GetAtt": [...]}) so that tests see what CloudFormation sees.
package templatecheck
