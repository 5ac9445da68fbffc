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
//   - no log line, metric, error or result carries the client secret or a
//     token, and nothing panics.
//
// The same case list renders the table in README.md, between the markers
// <!-- faults:begin --> and <!-- faults:end -->:
//
//	go test ./functions/internal/faultmatrix            # runs the matrix, checks the table
//	go test ./functions/internal/faultmatrix -update    # rewrites the table
//
// Without moto_server the matrix skips, except under CI=true, where it fails.
package faultmatrix
