// Package templatecheck holds only tests: they read template.yaml, the single
// deployable description, and hold it to the facts the code and the contract
// depend on, so that a template edit cannot quietly break them:
//
//   - RotatorFunction's environment names exactly config.Names(), and its
//     INTEGRATION is integration.DefaultName;
//   - every IAM statement names no wildcard action, and names only the two
//     secrets, the optional KMS keys and the stack's own log group, queue
//     and function, but for the wildcards the integrations need: the
//     function reads secrets of any name tagged with the stack
//     (integration.TagStack), reads and writes the token secrets under
//     INTEGRATION_SECRET_PREFIX tagged so too, and lists secrets, the one
//     action on "*", with a comment saying why; no statement reads, writes
//     or describes every secret without that tag;
//   - TokenReaderPolicy is read-only; IntegrationTokenReaderPolicy grants no
//     secret and denies every Secrets Manager write on the integration
//     secrets; no statement that reads a secret depends on a value a session
//     sets (a principal tag, a SAML attribute, a user name, ...);
//   - with that policy and the resource policy make integration-readers puts
//     on a token secret (ops.ReaderPolicy), a small evaluator of IAM's
//     documented rules (iameval_test.go) finds that a principal reads exactly
//     the token secrets that list it, whatever tags its session carries, and
//     finds the hole in the tag-based grant the template had before
//     (readers_test.go);
//   - readers in other accounts (ReaderAccounts, ReaderOrgPath): the token
//     secret's resource policy allows only secretsmanager:GetSecretValue,
//     only to those accounts and to the principals of other accounts under
//     that path, and exists only when one is set; the key the stack then
//     creates (unless TokenKmsKeyArn names one) lets them only kms:Decrypt
//     through Secrets Manager; the token secret, the rotator's role, the
//     reader policies and output TokenKmsKeyArn all use the one key, and the
//     role no other (crossaccount_test.go, which decides the template's
//     conditions for each choice of the parameters);
//   - the function's Timeout covers 1,000 integrations due at once;
//   - the schedule defaults to rate(23 hours), and is the resource SAM
//     generated from the ScheduleV2 event it replaced;
//   - RotationEngine picks one engine: the Scheduler schedule and its role,
//     or Secrets Manager's rotation schedule on the token secret, after the
//     permission (aws:SourceAccount, no SourceArn) and the first token; the
//     native schedule's default keeps a 24-hour token valid through one
//     whole failed window; the native engine adds DescribeSecret and
//     UpdateSecretVersionStage on the stack's token secrets and nothing
//     else; reserved concurrency fits each engine; nothing refers to a
//     resource the chosen engine leaves out (engine_test.go,
//     enginegap_test.go);
//   - ClientSecretRotation adobe adds the client-secret rotator: the same
//     program and settings as RotatorFunction (CLIENT_SECRET_ROTATION adobe),
//     invoked by Secrets Manager of this account (aws:SourceAccount) for
//     the stack's credentials secret on a schedule that meets Security
//     Hub's 90 days through a failed rotation, and by the retire check; the
//     evaluator finds that its role writes exactly the stack's credentials
//     secrets (its own and those tagged with the stack), no token secret,
//     and tags them only with the switch tag, and that the token rotator's
//     role writes no credentials secret (clientsecret_test.go);
//   - the stale-token and failed-rotation alarms watch the metrics package
//     metrics writes;
//   - the dashboard graphs only metrics the function writes, with the
//     dimension sets it writes them with, per integration through SEARCH;
//     its AWS metrics are the stack's queue and function; its alarm widget
//     lists exactly each engine's alarms; its time-left line sits at the
//     stale alarms' 24 hours (dashboard_test.go);
//   - cfn-lint finds nothing;
//   - the docs' tables hold to the code (docs_test.go): the top-level
//     README's parameter table names every parameter once, in its
//     ParameterGroups group, with the template's default, and its output
//     table every output; the rotator's configuration table
//     (functions/rotator/README.md) names exactly config.Names() and the
//     per-integration fields; and each check fails on a broken copy.
//
// It sits under functions/internal because it imports the packages that
// own the names (config, metrics, rotation), which are internal to
// functions/, and the public package integration.
// Run it with go test ./functions/internal/templatecheck (make test does).
// The template is parsed with gopkg.in/yaml.v3; CloudFormation's short-form
// tags (!Ref, !GetAtt, !Sub, ...) become their long forms ({"Ref": ...},
// {"Fn::GetAtt": [...]}) so that tests see what CloudFormation sees.
package templatecheck
