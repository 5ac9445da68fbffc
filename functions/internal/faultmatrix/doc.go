// Package faultmatrix holds no code, only tests: the fault matrix of the
// rotator. One case list (cases_test.go) drives every case through the real
// wiring, as functions/rotator wires it: config.Load, the real
// secretstore over the AWS SDK against moto_server behind a fault proxy
// (infra/local/faultproxy), the real oauthtoken.Fetcher against the IMS
// emulator (infra/local/imsemu), and rotation.Rotator.Handle with a
// Lambda-like deadline.
//
// Each case injects faults on the IMS side (statuses with and without
// Retry-After, slow or hanging answers, resets, an untrusted certificate, a
// redirect, malformed answers), on the Secrets Manager side (each error and
// a timeout at each call), in the event (duplicate delivery), in the
// configuration or in the clock. It then records the outcome (retried to
// success, failed with a clear error, no-op) and checks the invariants:
//
//   - AWSCURRENT holds the last valid token or a newer valid one;
//   - the stored value is always a complete, valid token;
//   - a run writes at most once;
//   - a run ends before its deadline with its own error;
//   - no log line, metric, error or result carries the client secret, in
//     any form a request carries it (form-encoded, in the Basic header's
//     base64, JSON-escaped: the sentinel holds + / = %, a space and
//     non-ASCII, so that each form differs), a token, or a key in the
//     query of TOKEN_URL or TEST_URL, and nothing panics.
//
// The cases of area "fleet" run the function's own integration and added
// ones (INTEGRATION_SECRET_PREFIX), seeded as make integration-add leaves
// them: token secrets created with "{}" and tagged with their credentials
// secret's ARN, each integration a client of its own. A fault aims at one
// integration: at its secrets (the proxy matches the secret id), at a token
// endpoint of its own (token_url in its credentials secret), at its tags or
// values; or at the listing. Each integration then keeps the invariants
// above on its own (one write at most per run; two runs delivered at once:
// two, and a valid token), the run's error names exactly the integrations
// that failed, an integration left fresh or not run costs its provider no
// request, each one run gets one metric line, and every log line about an
// integration carries "integration". A case that needs a short deadline
// per integration, or fewer integrations at once, is wired by wireBounded:
// rotation.NewHandler's wiring with those bounds set, which NewHandler
// leaves at their defaults.
//
// The cases of area "rotation protocol" drive the second engine, Secrets
// Manager's rotation protocol, as Secrets Manager would: the local
// rotation service (infra/local/rotationservice) begins a rotation in
// moto_server, and the four steps, createSecret to finishSecret, are
// delivered to the same handler, each an invocation, stopping at the first
// that fails; a failed rotation is retried whole with the same version.
// A fault hits one step: the provider (only createSecret asks it),
// TEST_URL (testSecret), or one of Secrets Manager's calls, from the step
// it aims at on, once (the retry finishes the rotation) or for good;
// steps are delivered twice, or twice at once; and events the steps must
// refuse are delivered. A tap behind the fault proxy records every write
// that reaches moto. After every act:
//
//   - a plain GetSecretValue returns the last good token: the seeded one
//     until a finishSecret reports the rotation done, then a token the
//     provider issued during the case, for the integration's client;
//   - AWSCURRENT moved at most once per rotation, only by a finishSecret
//     that reports it, with AWSPREVIOUS on the version before;
//   - a step that fails, and so every refusal, sent no PutSecretValue or
//     UpdateSecretVersionStage to Secrets Manager;
//   - a failed step's run metric line counts it for RotationFailedAlarm;
//   - no log line, metric, error or result carries the client secret, a
//     token (planted ones too) or the event's RotationToken.
//
// moto_server is what bounds the matrix's time, so a native case reads
// the rotated secret back only after an act that wrote, and after its last.
//
// The cases of area "private_key_jwt" make the integration a
// private_key_jwt client of the Okta emulator: a KMS key in moto_server,
// reached through the same fault proxy (its calls are AWS JSON 1.1 too),
// signs each assertion, and the emulator verifies it against the key's
// registered public half. Faults hit KMS (a refused or throttled Sign or
// GetPublicKey, a disabled key, a key of the wrong usage or spec), the
// provider's checks (a replayed assertion, its clock ahead or behind beyond
// its leeway, another audience) or the credentials secret (a client secret
// beside the key). A tap in front of the token endpoint records every
// assertion sent: no log line, metric, error or result may carry one, or
// its signature in any encoding.
//
// The cases of area "client-secret rotation" rotate the function's own
// client secret (CLIENT_SECRET_ROTATION=adobe) through the same protocol
// on its credentials secret: the rotation service begins it in
// moto_server, and the four steps, the scheduled retire check and the
// operator's retire-now are delivered to the handler, wired as
// rotation.NewHandler does but with OrphanAge and SwitchGrace at 3 s. The
// IMS emulator serves Adobe's management calls; faults hit them (a refused
// list, add or removal; an add carried out whose answer is lost), the
// token endpoint at testSecret, or one Secrets Manager call on the
// credentials secret (refused, or carried out with its answer lost);
// steps are delivered twice or at once; the refusals (two secrets and no
// client_secret_uuid, org_id missing) and another system using the old
// secret after the switch are played. Each case says what the operator
// sees (errors, result reasons, log lines) and the secrets at the
// emulator and the stages afterwards. After every act: at most two
// secrets at the emulator, AWSCURRENT's uuid among them, the consumers'
// token secret holding a valid token, and no orphan after an act that
// succeeded; once the faults are cleared, AWSCURRENT's client secret
// mints and a token run stores a token. No log line, metric, error or
// result carries a client secret (the old one, in every form, and each new
// one the emulator's add answers carried), a management token or an
// access token.
//
// The case of area "CloudFormation" delivers the custom resource's Create
// (FirstToken, at deploy) with a ResponseURL of its own, which records the
// status reported: SUCCESS, once the retries of an AccessDeniedException
// that IAM propagation explains are over.
//
// The same case list renders the table in this package's README.md, between the markers
// <!-- faults:begin --> and <!-- faults:end -->:
//
//	go test ./functions/internal/faultmatrix            # runs the matrix, checks the table
//	go test ./functions/internal/faultmatrix -update    # rewrites the table
//
// Without moto_server the matrix skips, except under CI=true, where it fails.
package faultmatrix
