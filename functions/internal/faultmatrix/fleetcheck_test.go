package faultmatrix

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// fleetInvariants checks the invariants of every case for each integration
// of a fleet: its token secret's state after each delivery, at most one
// write per run (two runs at once: at most two, and a valid token), and a
// log in which every line about an integration names it.
func fleetInvariants(rec record) []string {
	var bad []string
	if rec.fleet.overlap {
		bad = append(bad, overlapViolations(rec)...)
	} else {
		for i, d := range rec.deliveries {
			for j, m := range rec.members {
				md := d.members[j]
				at := fmt.Sprintf("delivery %d, %s: ", i+1, m.name)
				wrote, version := false, ""
				if md.res != nil {
					wrote, version = md.res.Error == "" && md.res.Rotated, md.res.VersionID
				}
				for _, v := range stateViolations(md.before, md.after, wrote, version, md.issued, m.client) {
					bad = append(bad, at+v)
				}
				if md.putsOut > 1 {
					bad = append(bad, fmt.Sprintf("%s%d PutSecretValue calls reached Secrets Manager, want at most 1", at, md.putsOut))
				}
			}
		}
	}
	return append(bad, unnamedLines(rec)...)
}

// overlapViolations checks runs delivered at once: each integration ends
// with a valid token for its client, the seeded one or one issued during
// the runs, written at most once per run.
func overlapViolations(rec record) []string {
	var bad []string
	runs := len(rec.deliveries)
	d := rec.deliveries[0] // the runs share their counters and snapshots
	for j, m := range rec.members {
		md := d.members[j]
		v, problem := secretstore.ParseToken(md.after.value)
		switch {
		case problem != "":
			bad = append(bad, fmt.Sprintf("%s: AWSCURRENT is no valid token: %s", m.name, problem))
		case v.ClientID != m.client:
			bad = append(bad, fmt.Sprintf("%s: AWSCURRENT is for client %q, want %q", m.name, v.ClientID, m.client))
		case v.AccessToken != m.seeded && !issuedIn(md, v.AccessToken):
			bad = append(bad, fmt.Sprintf("%s: AWSCURRENT is neither the seeded token nor one issued during the runs", m.name))
		case !v.Expiry.After(time.Now()):
			bad = append(bad, fmt.Sprintf("%s: the stored token has already expired", m.name))
		}
		if md.putsOut > runs || md.after.versions-md.before.versions > runs {
			bad = append(bad, fmt.Sprintf("%s: %d PutSecretValue calls reached Secrets Manager, %d -> %d versions; want at most %d writes",
				m.name, md.putsOut, md.before.versions, md.after.versions, runs))
		}
	}
	return bad
}

func issuedIn(md memberDelivery, token string) bool {
	for _, i := range md.issued {
		if i.AccessToken == token {
			return true
		}
	}
	return false
}

// runLine says whether a log message is about a whole run, or the
// invocation, rather than one integration.
func runLine(msg string) bool {
	switch msg {
	case "run started", "run finished", "run finished with failures", "progress",
		"event refused, nothing done", "rotator not started":
		return true
	}
	return false
}

// unnamedLines returns the log lines about one integration that do not
// carry its name in "integration", once per message.
func unnamedLines(rec record) []string {
	names := map[string]string{} // token secret id -> integration
	for _, m := range rec.members {
		names[m.tokenID] = m.name
	}
	var bad []string
	seenMsg := map[string]bool{}
	for line := range strings.SplitSeq(rec.logs, "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		msg, _ := l["msg"].(string)
		if runLine(msg) || seenMsg[msg] {
			continue
		}
		name, _ := l["integration"].(string)
		id, hasID := l["token_secret_id"].(string)
		switch {
		case name == "":
			bad = append(bad, fmt.Sprintf("the log line %q carries no \"integration\"", msg))
		case hasID && names[id] != name:
			bad = append(bad, fmt.Sprintf("the log line %q says integration %q for the token secret of %q", msg, name, names[id]))
		default:
			continue
		}
		seenMsg[msg] = true
	}
	return bad
}

// fleetExpectations returns how a fleet case's record differs from what
// it says: each integration's outcome, a run error that names exactly the
// failed integrations, no token request for an integration left fresh or
// not run, one metric line per integration run, token requests, and which
// integrations finished first.
func fleetExpectations(c matrixCase, rec record) []string {
	var bad []string
	f := c.fleet
	for i, d := range rec.deliveries {
		for j, m := range rec.members {
			md := d.members[j]
			at := fmt.Sprintf("delivery %d, %s: ", i+1, m.name)
			got := md.outcome()
			if want, ok := f.want(m.name, i); ok && !f.overlap && got != want {
				bad = append(bad, fmt.Sprintf("%soutcome = %s, want %s (error: %s)", at, got, want, resultError(md, rec)))
			}
			named := d.err != nil && strings.Contains(d.err.Error(), "; "+m.name+": ")
			if got == failed && !named {
				bad = append(bad, at+"failed, but the run's error does not name it")
			}
			if got != failed && named {
				bad = append(bad, fmt.Sprintf("%s%s, but the run's error names it as failed", at, got))
			}
			if !f.overlap && (got == noOp || got == notRun) && md.requests > 0 {
				bad = append(bad, fmt.Sprintf("%s%s, yet made %d token requests", at, got, md.requests))
			}
			if got == notRun && md.gets+md.puts > 0 {
				bad = append(bad, fmt.Sprintf("%snot run, yet %d calls on its secrets", at, md.gets+md.puts))
			}
		}
		if !f.overlap {
			for _, v := range metricViolations(d, rec.members) {
				bad = append(bad, fmt.Sprintf("delivery %d: %s", i+1, v))
			}
		}
	}
	bad = append(bad, requestViolations(f, rec)...)
	if f.othersFirst {
		bad = append(bad, finishOrder(f.target, rec)...)
	}
	return bad
}

func resultError(md memberDelivery, rec record) string {
	if md.res == nil || md.res.Error == "" {
		return "none"
	}
	return redact(md.res.Error, rec)
}

// requestViolations compares each integration's token requests in all
// deliveries with the case's counts.
func requestViolations(f *fleet, rec record) []string {
	var bad []string
	for j, m := range rec.members {
		n := 0
		for _, d := range rec.deliveries {
			n += d.members[j].requests
			if f.overlap {
				break // the runs share their counters
			}
		}
		want := f.othersRequests
		if m.name == f.target {
			want = f.targetRequests
		}
		switch {
		case want == none && n != 0:
			bad = append(bad, fmt.Sprintf("%s: token requests = %d, want 0", m.name, n))
		case want > 0 && n != want:
			bad = append(bad, fmt.Sprintf("%s: token requests = %d, want %d", m.name, n, want))
		}
	}
	return bad
}

// metricViolations checks a run's metric lines: one per integration run,
// failed exactly when it failed, none for one not run, and one for the
// run, counting the failures (a failed listing counts as one); none at
// all for a run refused before it started.
func metricViolations(d delivery, members []member) []string {
	perIntegration := map[string][]map[string]any{}
	var runs []map[string]any
	for line := range strings.SplitSeq(d.metrics, "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		if name, ok := l[metrics.DimensionIntegration].(string); ok {
			perIntegration[name] = append(perIntegration[name], l)
		} else {
			runs = append(runs, l)
		}
	}
	var bad []string
	failures, notRuns := 0, 0 // notRuns: a targeted run, a failed listing or a refused event
	for j, m := range members {
		got := d.members[j].outcome()
		lines := perIntegration[m.name]
		switch {
		case got == notRun && len(lines) != 0:
			bad = append(bad, fmt.Sprintf("%s: not run, yet %d metric lines", m.name, len(lines)))
		case got == notRun:
			notRuns++
		case len(lines) != 1:
			bad = append(bad, fmt.Sprintf("%s: %d metric lines, want 1", m.name, len(lines)))
		case (lines[0][metrics.RotationFailed] == 1.0) != (got == failed):
			bad = append(bad, fmt.Sprintf("%s: %s, but its metric line says %s = %v", m.name, got, metrics.RotationFailed, lines[0][metrics.RotationFailed]))
		}
		if got == failed {
			failures++
		}
	}
	want := failures
	if d.err != nil && strings.Contains(d.err.Error(), "finding the added integrations failed") {
		want++
	}
	if d.err != nil && notRuns == len(members) {
		return bad // refused before it ran: no metrics at all
	}
	if len(runs) != 1 || runs[0][metrics.IntegrationsFailed] != float64(want) {
		bad = append(bad, fmt.Sprintf("run metric lines %v, want one with %s = %d", runs, metrics.IntegrationsFailed, want))
	}
	return bad
}

// finishOrder checks that every integration but target logged its last
// line before target's failure.
func finishOrder(target string, rec record) []string {
	last := map[string]int{}
	failedAt := -1
	for i, line := range strings.Split(rec.logs, "\n") {
		var l struct{ Msg, Integration string }
		if json.Unmarshal([]byte(line), &l) != nil || l.Integration == "" {
			continue
		}
		last[l.Integration] = i
		if l.Integration == target && l.Msg == "rotation failed, nothing written" && failedAt < 0 {
			failedAt = i
		}
	}
	if failedAt < 0 {
		return []string{target + " logged no failure"}
	}
	var bad []string
	for _, m := range rec.members {
		if m.name != target && last[m.name] > failedAt {
			bad = append(bad, fmt.Sprintf("%s was still at work after %s gave up", m.name, target))
		}
	}
	return bad
}

// aliases makes a fleet's ids, URLs and secrets canonical in what the
// operator sees (a native case's too, nativeRecord.aliases): app/integrations/NAME for a token secret,
// app/NAME/credentials for a credentials secret, $NAME_TOKEN_URL for an
// integration's own token endpoint. ARNs come before the prefix they hold.
func aliases(rec record) [][2]string {
	var pairs [][2]string
	if rec.native != nil {
		pairs = rec.native.aliases()
	}
	if rec.cs != nil {
		pairs = append(pairs, rec.cs.names...)
	}
	for _, m := range rec.members {
		if m.name == integration.DefaultName {
			continue // app/credentials, app/token and $TOKEN_URL
		}
		pairs = append(pairs, [2]string{m.tokenID, "app/integrations/" + m.name}, [2]string{m.credsID, "app/" + m.name + "/credentials"},
			[2]string{m.secret, "[SECRET]"}, [2]string{m.seeded, "[SECRET]"})
		if m.tokenURL != "" {
			pairs = append(pairs, [2]string{m.tokenURL, "$" + strings.ToUpper(m.name) + "_TOKEN_URL"})
		}
	}
	if rec.fleet != nil {
		pairs = append(pairs, [2]string{rec.prefix, "app/integrations/"}, [2]string{wrongSecret, "[SECRET]"}, [2]string{malformedToken, "[SECRET]"})
	}
	return pairs
}
