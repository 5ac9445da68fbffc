package faultmatrix

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/functions/internal/event"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
)

// csInvariants checks what holds in every client-secret case, whatever
// its faults (the leaks of every client secret, old and new, management
// token and access token are checked with every case's, in leaks):
//
//   - after every act, at most two client secrets at the provider, and
//     AWSCURRENT's client_secret_uuid, when it names one, among them;
//   - after every act, the consumers' token secret holds a valid token;
//   - once the faults are gone, AWSCURRENT's client secret mints a token,
//     and a token run stores a new one;
//   - after an act that succeeded, no orphan: every secret added at the
//     provider is held by a version of the credentials secret;
//   - the other system's requests with the old secret, while it is kept,
//     succeed.
func csInvariants(rec record) []string {
	cs := rec.cs
	var bad []string
	for i, a := range cs.acts {
		at := fmt.Sprintf("act %d: ", i+1)
		bad = append(bad, csStateViolations(a.after, at)...)
		if succeeded(rec.deliveries[a.from:a.to]) && strings.Contains(a.after.table, "orphan") {
			bad = append(bad, at+"succeeded, yet left an orphan client secret at the provider: "+a.after.table)
		}
	}
	bad = append(bad, csStateViolations(cs.final.after, "after the case: ")...)
	if cs.final.mint != "" {
		bad = append(bad, "after the case: AWSCURRENT's client secret does not mint a token: "+redact(cs.final.mint, rec))
	}
	if cs.final.tokenRun != "" {
		bad = append(bad, "after the case: the token run "+redact(cs.final.tokenRun, rec))
	}
	for _, e := range cs.useErrs {
		bad = append(bad, "the other system's token request with the old client secret failed: "+redact(e, rec))
	}
	return bad
}

func csStateViolations(s csState, at string) []string {
	var bad []string
	if s.secrets > 2 {
		bad = append(bad, fmt.Sprintf("%s%d client secrets at the provider, want at most 2", at, s.secrets))
	}
	if s.unlisted {
		bad = append(bad, at+"AWSCURRENT names a client_secret_uuid the provider does not list: the current secret was deleted")
	}
	if s.token != "" {
		bad = append(bad, at+"the consumers' token secret "+s.token)
	}
	return bad
}

// csActOutcome classifies an act: failed if a step failed (for two at
// once, if both did); else rotated if finishSecret moved AWSCURRENT, an
// old client secret removed if one was, stored as AWSPENDING for a
// createSecret, else a no-op.
func csActOutcome(kind csActKind, ds []delivery) outcome {
	failedN, done, removed, created := 0, false, false, false
	for _, d := range ds {
		if d.err != nil || d.panicked != "" {
			failedN++
			continue
		}
		done = done || d.res.Rotated
		removed = removed || len(d.res.Removed) > 0
		created = created || d.step == event.StepCreate
	}
	switch {
	case failedN > 0 && (kind != csTogether || failedN == len(ds)):
		return failed
	case done:
		return rotated
	case removed:
		return retired
	case created:
		return staged
	}
	return noOp
}

// csExpectations returns how a client-secret case's record differs from
// what it says: each act's outcome, what the operator sees (errors, each
// delivery's result reason, log lines) and the secrets and stages after.
func csExpectations(c matrixCase, rec record) []string {
	var bad []string
	cs := rec.cs
	if len(cs.acts) != len(c.want) {
		return []string{fmt.Sprintf("acts = %d, want %d", len(cs.acts), len(c.want))}
	}
	for i, a := range cs.acts {
		ds := rec.deliveries[a.from:a.to]
		if got := csActOutcome(c.clientSecret.acts[i].kind, ds); got != c.want[i] {
			bad = append(bad, fmt.Sprintf("act %d outcome = %s, want %s (errors: %s)", i+1, got, c.want[i], errTexts(ds, rec)))
		}
	}
	if text := csSeen(rec); !inOrder(text, c.sees) {
		bad = append(bad, fmt.Sprintf("operator sees %q, want the fragments %q", text, c.sees))
	}
	if got := cs.acts[len(cs.acts)-1].after.table; got != c.clientSecret.after {
		bad = append(bad, fmt.Sprintf("afterwards %q, want %q", got, c.clientSecret.after))
	}
	return bad
}

// csSeen is what the operator sees: each delivery's error or result
// reason, then the log lines, as seen renders them.
func csSeen(rec record) string {
	var parts []string
	for _, d := range rec.deliveries {
		switch {
		case d.err != nil:
			parts = append(parts, errText(d.err, rec))
		case d.res.Reason != "":
			parts = append(parts, d.step+": "+redact(d.res.Reason, rec))
		}
	}
	return strings.Join(append(parts, seen(record{logs: rec.logs, cs: rec.cs, tokenURL: rec.tokenURL, credsID: rec.credsID, tokenID: rec.tokenID,
		issued: rec.issued, faultTok: rec.faultTok})), " | ")
}

// TestClientSecretChecksCatchViolations keeps the client-secret checks
// honest: each record below breaks one of them, from a clean rotation.
func TestClientSecretChecksCatchViolations(t *testing.T) {
	const newSecret = "SENTINEL-new-client-secret-99"
	clean := func() record {
		good := csState{table: "Adobe: new | $OLD AWSPREVIOUS, $VERSION AWSCURRENT", secrets: 1}
		return record{faultTok: []string{newSecret}, cs: &csRecord{
			acts:  []csActRecord{{from: 0, to: 4, after: good}},
			final: csFinal{after: good},
		}, deliveries: []delivery{{step: event.StepCreate}, {step: event.StepSet}, {step: event.StepTest},
			{step: event.StepFinish, res: rotation.Result{Rotated: true, Removed: []string{"u1"}}}, {step: "token run", res: rotation.Result{Rotated: true}}}}
	}
	tests := []struct {
		name   string
		breaks func(*record)
		want   string
	}{
		{"a third secret", func(r *record) { r.cs.acts[0].after.secrets = 3 }, "act 1: 3 client secrets at the provider, want at most 2"},
		{"the current secret deleted", func(r *record) { r.cs.final.after.unlisted = true }, "the current secret was deleted"},
		{"the consumers' token gone", func(r *record) { r.cs.acts[0].after.token = "holds no valid token: empty" }, "act 1: the consumers' token secret holds no valid token"},
		{"AWSCURRENT does not mint", func(r *record) { r.cs.final.mint = "refused: HTTP 401" }, "AWSCURRENT's client secret does not mint"},
		{"no token run after", func(r *record) { r.cs.final.tokenRun = "failed: boom" }, "the token run failed: boom"},
		{"an orphan left by a success", func(r *record) { r.cs.acts[0].after.table = "Adobe: new, orphan | $VERSION AWSCURRENT" }, "left an orphan client secret"},
		{"the other system refused", func(r *record) { r.cs.useErrs = []string{"HTTP 401"} }, "the other system's token request"},
		{"the new secret in a result", func(r *record) { r.deliveries[3].res.Reason = "stored " + newSecret }, "leaked in the delivery 4 result"},
		{"the new secret in the logs", func(r *record) { r.logs = `{"msg":"` + newSecret + `"}` }, "leaked in the logs"},
		{"the old secret in an error", func(r *record) { r.deliveries[0].err = errors.New("x " + clientSecret) }, "leaked in the delivery 1 error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := clean()
			tt.breaks(&rec)
			got := strings.Join(invariants(rec), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("invariants() = %q, want one containing %q", got, tt.want)
			}
			if strings.Contains(got, newSecret) {
				t.Errorf("invariants() = %q quotes secret material", got)
			}
		})
	}
	t.Run("a clean record passes", func(t *testing.T) {
		if got := invariants(clean()); len(got) != 0 {
			t.Errorf("invariants() = %q, want none", got)
		}
	})
	t.Run("outcomes", func(t *testing.T) {
		fail := delivery{err: errors.New("boom")}
		for _, tt := range []struct {
			kind csActKind
			ds   []delivery
			want outcome
		}{
			{csRotate, clean().deliveries[:4], rotated},
			{csRotate, []delivery{{step: event.StepCreate}, fail}, failed},
			{csTogether, []delivery{{step: event.StepCreate}, fail}, staged},
			{csTogether, []delivery{fail, fail}, failed},
			{csRetire, []delivery{{res: rotation.Result{Removed: []string{"u"}}}}, retired},
			{csRetire, []delivery{{}}, noOp},
		} {
			if got := csActOutcome(tt.kind, tt.ds); got != tt.want {
				t.Errorf("csActOutcome(%d, %d deliveries) = %s, want %s", tt.kind, len(tt.ds), got, tt.want)
			}
		}
	})
}
