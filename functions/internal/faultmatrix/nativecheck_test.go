package faultmatrix

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/event"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// nativeInvariants checks what holds in every native case, whatever its
// faults:
//
//   - a plain read (AWSCURRENT) returns the last good token after every
//     act: the one before the case until a finishSecret reports the
//     rotation done, then the rotation's, a token the provider issued
//     during the case, for the integration's client and scope, unexpired;
//   - AWSCURRENT moves at most once per rotation begun, only by a
//     finishSecret that reports it, and AWSPREVIOUS then holds the
//     version before;
//   - a step that fails sends no write (PutSecretValue,
//     UpdateSecretVersionStage) to Secrets Manager, and no step writes to
//     another secret than the one rotated;
//   - a value this rotator stored in the rotation's version is a token the
//     provider issued during the case, for the integration's client;
//   - TEST_URL receives no token but those the provider issued;
//   - a step that fails writes one run metric line with RotationFailed 1,
//     which the stack's RotationFailedAlarm sums; one that succeeds, none
//     with RotationFailed above 0; a finished rotation, its integration's
//     line with RotationSucceeded 1.
func nativeInvariants(rec record) []string {
	nr := rec.native
	var bad []string
	before, moves := nr.initial, 0
	for i, a := range nr.acts {
		ds := rec.deliveries[a.from:a.to]
		rotated := false
		for j := 0; j < len(ds); {
			group := ds[j : j+max(ds[j].atOnce, 1)] // steps delivered at once share their writes and metric lines
			j += len(group)
			bad = append(bad, nr.stepViolations(group, fmt.Sprintf("act %d: %s: ", i+1, group[0].step))...)
			for _, w := range group[0].writes {
				if w.movesCurrent() {
					moves++
				}
			}
			for _, d := range group {
				rotated = rotated || (d.err == nil && d.res.Rotated)
			}
		}
		bad = append(bad, nr.stateViolations(before, a.after, rotated, rec.issued, fmt.Sprintf("act %d: ", i+1))...)
		before = a.after
	}
	if moves > nr.begun {
		bad = append(bad, fmt.Sprintf("AWSCURRENT moved %d times in %d rotations begun, want at most one move each", moves, nr.begun))
	}
	if nr.noTestURL && len(nr.testURLs) > 0 {
		bad = append(bad, fmt.Sprintf("TEST_URL received %d requests, want none: the integration has a token_url of its own and no test_url", len(nr.testURLs)))
	}
	for _, token := range nr.testURLs {
		if !slices.ContainsFunc(rec.issued, func(i imsemu.Issued) bool { return i.AccessToken == token }) {
			bad = append(bad, "TEST_URL received a bearer token the provider did not issue")
			break
		}
	}
	return bad
}

// stepViolations checks the writes and metric lines of a step, or of the
// same step delivered at once, against what the deliveries reported.
func (nr *nativeRecord) stepViolations(group []delivery, at string) []string {
	var bad []string
	failedN, rotatedN := 0, 0
	for _, d := range group {
		failedStep := d.err != nil || d.panicked != ""
		if failedStep {
			failedN++
		} else if d.res.Rotated {
			rotatedN++
		}
		if d.res.Rotated && (d.step != event.StepFinish || failedStep) {
			bad = append(bad, fmt.Sprintf("%sreports a rotation (failed: %v)", at, failedStep))
		}
	}
	for _, w := range group[0].writes {
		switch {
		case failedN == len(group):
			bad = append(bad, fmt.Sprintf("%sthe step failed, yet sent %s (stage %s) to Secrets Manager, which answered %d", at, w.target, w.stage, w.status))
		case w.ok() && w.secretID != nr.subject.arn:
			bad = append(bad, fmt.Sprintf("%s%s on another secret than the one rotated", at, w.target))
		case w.movesCurrent() && rotatedN == 0:
			bad = append(bad, fmt.Sprintf("%sAWSCURRENT moved, yet the step reports no rotation", at))
		case w.movesCurrent() && w.version != nr.version:
			bad = append(bad, fmt.Sprintf("%sAWSCURRENT moved to %s, not to the rotation's version", at, w.version))
		}
	}
	return append(bad, stepMetricViolations(group[0].metrics, failedN, rotatedN, at)...)
}

// stepMetricViolations checks the metric lines of steps of which failedN
// failed and rotatedN finished a rotation: one run line with RotationFailed
// 1 per failure, none counting a failure otherwise, and a line of the
// integration with RotationSucceeded 1 for a finished rotation.
func stepMetricViolations(lines string, failedN, rotatedN int, at string) []string {
	var runFailed []float64
	succeeded, failedLines := false, 0
	for line := range strings.SplitSeq(lines, "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		f, _ := l[metrics.RotationFailed].(float64)
		if f > 0 {
			failedLines++
		}
		if _, ok := l[metrics.DimensionIntegration]; ok {
			succeeded = succeeded || l[metrics.RotationSucceeded] == 1.0
		} else if f > 0 {
			runFailed = append(runFailed, f)
		}
	}
	var bad []string
	switch {
	case failedN > 0 && (len(runFailed) != failedN || slices.ContainsFunc(runFailed, func(f float64) bool { return f != 1 })):
		bad = append(bad, fmt.Sprintf("%s%d failed, but the run metric lines counting failures say %s %v, want one 1 each", at, failedN, metrics.RotationFailed, runFailed))
	case failedN == 0 && failedLines > 0:
		bad = append(bad, fmt.Sprintf("%ssucceeded, but %d metric lines count it failed", at, failedLines))
	case rotatedN > 0 && !succeeded:
		bad = append(bad, fmt.Sprintf("%sfinished the rotation, but no metric line of its integration says %s 1", at, metrics.RotationSucceeded))
	}
	return bad
}

// stateViolations checks the rotated secret from before an act to after it.
func (nr *nativeRecord) stateViolations(before, after stageSnapshot, rotated bool, issued []imsemu.Issued, at string) []string {
	var bad []string
	if !rotated {
		if after.current != before.current || after.value != before.value {
			bad = append(bad, fmt.Sprintf("%sno step reported a rotation, yet a plain read returns version %s, not %s, or another value",
				at, after.current, before.current))
		}
	} else {
		if after.current != nr.version {
			bad = append(bad, fmt.Sprintf("%sthe rotation finished, yet a plain read returns version %s", at, after.current))
		}
		if !slices.Contains(after.stages[before.current], secretstore.StagePrevious) {
			bad = append(bad, fmt.Sprintf("%sthe version before the rotation has stages %v, want AWSPREVIOUS", at, after.stages[before.current]))
		}
	}
	if nr.subject.client == "" {
		return bad // a foreign secret: unchanged is all
	}
	if problem := nr.tokenProblem(after.value, issued, after.current == nr.version); problem != "" {
		bad = append(bad, at+"AWSCURRENT "+problem)
	}
	if after.pending != before.pending && after.pending != "" {
		if problem := nr.tokenProblem(after.pending, issued, true); problem != "" {
			bad = append(bad, at+"the rotation's version, as stored by the step, "+problem)
		}
	}
	return bad
}

// tokenProblem says what is wrong with value as the integration's token:
// one the provider issued during the case (minted) or the one seeded.
func (nr *nativeRecord) tokenProblem(value string, issued []imsemu.Issued, minted bool) string {
	v, problem := secretstore.ParseToken(value)
	switch {
	case problem != "":
		return "is no valid token: " + problem
	case v.ClientID != nr.subject.client || v.Scope != scope:
		return fmt.Sprintf("is for client %q, scope %q; want %q, %q", v.ClientID, v.Scope, nr.subject.client, scope)
	case !v.Expiry.After(time.Now()):
		return "has expired"
	case minted && !slices.ContainsFunc(issued, func(i imsemu.Issued) bool { return i.AccessToken == v.AccessToken && i.ClientID == v.ClientID }):
		return "is no token the provider issued to the integration's client during the case"
	}
	return ""
}

// outcome classifies an act by its deliveries: failed if a step failed;
// rotated if finishSecret made the rotation's version current, retried to
// success if a call or token request was retried on the way; stored as
// AWSPENDING if createSecret wrote and nothing moved; else a no-op.
func actOutcome(ds []delivery) outcome {
	var done, retriedOnce, stored bool
	for _, d := range ds {
		if d.err != nil || d.panicked != "" {
			return failed
		}
		done = done || d.res.Rotated
		retriedOnce = retriedOnce || d.faulted > 0 || d.tokenRequests > len(d.issued)
		for _, w := range d.writes {
			stored = stored || (w.ok() && w.target == faultproxy.PutSecretValue)
		}
	}
	switch {
	case done && retriedOnce:
		return retried
	case done:
		return rotated
	case stored:
		return staged
	}
	return noOp
}

// nativeExpectations returns how a native case's record differs from what
// it says: each act's outcome (an act of kind each fails only if every
// step fails), what the operator sees, and token requests.
func nativeExpectations(c matrixCase, rec record) []string {
	var bad []string
	nr := rec.native
	if len(nr.acts) != len(c.want) {
		return []string{fmt.Sprintf("acts = %d, want %d", len(nr.acts), len(c.want))}
	}
	for i, a := range nr.acts {
		ds := rec.deliveries[a.from:a.to]
		if got := actOutcome(ds); got != c.want[i] {
			bad = append(bad, fmt.Sprintf("act %d outcome = %s, want %s (errors: %s)", i+1, got, c.want[i], errTexts(ds, rec)))
		}
		if c.native.acts[i].kind == each && c.want[i] == failed {
			for _, d := range ds {
				if d.err == nil {
					bad = append(bad, fmt.Sprintf("act %d: %s succeeded, want every step refused", i+1, d.step))
				}
			}
		}
	}
	if text := seen(rec); !inOrder(text, c.sees) {
		bad = append(bad, fmt.Sprintf("operator sees %q, want the fragments %q", text, c.sees))
	}
	switch {
	case c.tokenRequests == none && rec.requests != 0:
		bad = append(bad, fmt.Sprintf("token requests = %d, want 0", rec.requests))
	case c.tokenRequests > 0 && rec.requests != c.tokenRequests:
		bad = append(bad, fmt.Sprintf("token requests = %d, want %d", rec.requests, c.tokenRequests))
	}
	return bad
}

func errTexts(ds []delivery, rec record) string {
	var s []string
	for _, d := range ds {
		if d.err != nil {
			s = append(s, d.step+": "+errText(d.err, rec))
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}

// aliases makes a native case's ids canonical in what the operator sees:
// the secrets' ARNs as in the single-integration rows, $VERSION for the
// rotation's version, $OLD for AWSCURRENT's before it, $UNKNOWN for a
// version the secret does not have, $TEST_URL.
func (nr *nativeRecord) aliases() [][2]string {
	pairs := append([][2]string(nil), nr.subject.aliases...)
	return append(pairs, [2]string{nr.version, "$VERSION"}, [2]string{nr.old, "$OLD"}, [2]string{nr.unknown, "$UNKNOWN"})
}
