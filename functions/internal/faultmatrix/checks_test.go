package faultmatrix

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/event"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// TestInvariantChecksCatchViolations keeps the matrix honest: each record
// below breaks one invariant, and the checks must say so.
func TestInvariantChecksCatchViolations(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	value := func(tok string) string {
		b, _ := json.Marshal(secretstore.TokenValue{AccessToken: tok, TokenType: "bearer", IssuedAt: now,
			Expiry: now.Add(24 * time.Hour), ClientID: clientID, Scope: scope})
		return string(b)
	}
	old := snapshot{current: "v1", versions: 1, value: value("SENTINEL-seeded-token-99")}
	issued := imsemu.Issued{AccessToken: "SENTINEL-issued-token-99"}
	good := snapshot{current: "v2", previous: "v1", versions: 2, value: value(issued.AccessToken)}
	rotatedOK := delivery{res: rotation.Result{Rotated: true, VersionID: "v2"}, before: old, after: good, issued: []imsemu.Issued{issued}, putsOut: 1}
	failedOK := delivery{err: errors.New("reading credentials secret: boom"), before: old, after: old}
	// A private_key_jwt assertion as sent: its signature (base64url of
	// assertionRaw) is a credential as the whole is.
	assertionRaw := []byte("SENTINEL-signature-bytes-0123456789abcdef")
	assertionSig := base64.RawURLEncoding.EncodeToString(assertionRaw)
	assertion := "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJmYXVsdG1hdHJpeC1jbGllbnQifQ." + assertionSig

	tests := []struct {
		name string
		d    delivery
		logs string
		want string
	}{
		{"partial write", func() delivery { d := rotatedOK; d.after.value = `{"access_token":"SENTINEL-issued`; return d }(), "", "no valid token"},
		{"failed run changed the secret", func() delivery { d := failedOK; d.after = good; return d }(), "", "wrote nothing changed the secret"},
		{"two writes", func() delivery { d := rotatedOK; d.putsOut = 2; return d }(), "", "2 PutSecretValue calls"},
		{"stored token is not the issued one", func() delivery {
			d := rotatedOK
			d.issued = []imsemu.Issued{{AccessToken: "other-token-000"}}
			return d
		}(), "", "not the last token issued"},
		{"past the deadline", func() delivery { d := failedOK; d.took = deadline; return d }(), "", "past its"},
		{"bare context error", func() delivery { d := failedOK; d.err = fmt.Errorf("%w", context.DeadlineExceeded); return d }(), "", "bare context error"},
		{"panic", func() delivery { d := failedOK; d.panicked = "boom"; return d }(), "", "panic: boom"},
		{"client secret in the logs", failedOK, `{"msg":"` + clientSecret + `"}`, "leaked in the logs"},
		{"client secret form-encoded in the logs", failedOK, `{"msg":"client_secret=SENTINEL%2Bclient%2Fsecret%3Df4%2541u1t+%C3%A9%F0%9F%98%80"}`, "leaked in the logs"},
		{"client secret form-encoded, lower case, %20", failedOK, `{"msg":"client_secret=SENTINEL%2bclient%2fsecret%3df4%2541u1t%20%c3%a9%f0%9f%98%80"}`, "leaked in the logs"},
		{"Basic header in an error", func() delivery {
			d := failedOK
			d.err = errors.New("echo: Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":SENTINEL%2Bclient%2Fsecret%3Df4%2541u1t+%C3%A9%F0%9F%98%80")))
			return d
		}(), "", "leaked in the delivery 1 error"},
		{"JSON-escaped client secret in a result", func() delivery {
			d := failedOK
			d.res.Reason = `{"client_secret":"SENTINEL+client\/secret=f4%41u1t \u00e9\ud83d\ude00"}`
			return d
		}(), "", "leaked in the delivery 1 result"},
		{"the URL's key in the logs", failedOK, `{"msg":"GET https://api.example.com/me?key=` + urlKey + `"}`, "leaked in the logs"},
		{"issued token in an error", func() delivery { d := rotatedOK; d.err = errors.New("x " + issued.AccessToken); return d }(), "", "leaked in the delivery 1 error"},
		{"seeded token in a result", func() delivery { d := rotatedOK; d.res.Reason = "SENTINEL-seeded-token-99"; return d }(), "", "leaked in the delivery 1 result"},
		{"an assertion in an error", func() delivery { d := failedOK; d.err = errors.New("refused " + assertion); return d }(), "", "leaked in the delivery 1 error"},
		{"an assertion's signature in the logs", failedOK, `{"msg":"sig ` + assertionSig + `"}`, "leaked in the logs"},
		{"an assertion's signature, standard base64, in a result", func() delivery {
			d := failedOK
			d.res.Reason = "sig " + base64.StdEncoding.EncodeToString(assertionRaw)
			return d
		}(), "", "leaked in the delivery 1 result"},
		{"an assertion's signature, hex, in the logs", failedOK, `{"msg":"sig ` + hex.EncodeToString(assertionRaw) + `"}`, "leaked in the logs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := record{deliveries: []delivery{tt.d}, logs: tt.logs, seeded: "SENTINEL-seeded-token-99", issued: []imsemu.Issued{issued},
				assertions: []string{assertion}}
			got := strings.Join(invariants(rec), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("invariants() = %q, want one containing %q", got, tt.want)
			}
			if strings.Contains(got, clientSecret) || strings.Contains(got, issued.AccessToken) || strings.Contains(got, assertionSig) {
				t.Errorf("invariants() = %q quotes secret material", got)
			}
		})
	}
	t.Run("clean records pass", func(t *testing.T) {
		for _, d := range []delivery{rotatedOK, failedOK} {
			rec := record{deliveries: []delivery{d}, seeded: "SENTINEL-seeded-token-99", issued: []imsemu.Issued{issued}}
			if got := invariants(rec); len(got) != 0 {
				t.Errorf("invariants() = %q, want none", got)
			}
		}
	})
}

func TestInOrder(t *testing.T) {
	tests := []struct {
		text, fragments string
		want            bool
	}{
		{"a b c", "a … c", true},
		{"a b c", "c … a", false},
		{"a b c", "b", true},
		{"a b c", "d", false},
	}
	for _, tt := range tests {
		if got := inOrder(tt.text, tt.fragments); got != tt.want {
			t.Errorf("inOrder(%q, %q) = %v, want %v", tt.text, tt.fragments, got, tt.want)
		}
	}
}

// TestFleetChecksCatchViolations keeps the fleet checks honest: each record
// below breaks one of them, from a clean run in which the function's own
// integration rotated and acme failed.
func TestFleetChecksCatchViolations(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	value := func(client, tok string) string {
		b, _ := json.Marshal(secretstore.TokenValue{AccessToken: tok, TokenType: "bearer", IssuedAt: now,
			Expiry: now.Add(24 * time.Hour), ClientID: client, Scope: scope})
		return string(b)
	}
	acme := member{name: "acme", client: clientOf("acme"), secret: secretOf("acme"), tokenID: "arn:token:acme", credsID: "arn:creds:acme", seeded: "SENTINEL-seeded-acme"}
	own := member{name: "default", client: clientID, secret: clientSecret, tokenID: "fm/99/token", credsID: "fm/99/credentials", seeded: "SENTINEL-seeded-own"}
	issued := imsemu.Issued{AccessToken: "SENTINEL-issued-own", ClientID: clientID}
	ownBefore := snapshot{current: "v1", versions: 1, value: value(clientID, own.seeded)}
	ownAfter := snapshot{current: "v2", previous: "v1", versions: 2, value: value(clientID, issued.AccessToken)}
	acmeState := snapshot{current: "a1", versions: 2, value: value(acme.client, acme.seeded)}
	metricLine := func(name string, failed int) string {
		return fmt.Sprintf(`{"Integration":%q,"RotationFailed":%d}`, name, failed)
	}
	clean := func() record {
		d := delivery{
			res: rotation.Result{Rotated: true, Integrations: []rotation.Result{
				{Integration: "acme", Error: "boom"}, {Integration: "default", Rotated: true, VersionID: "v2"}}},
			err:     errors.New("1 of 2 integrations failed (1 rotated, 0 fresh; nothing was written for the failed ones); acme: boom"),
			metrics: strings.Join([]string{metricLine("default", 0), metricLine("acme", 1), `{"IntegrationsFailed":1}`}, "\n"),
		}
		d.members = []memberDelivery{
			{res: &d.res.Integrations[1], before: ownBefore, after: ownAfter, requests: 1, gets: 2, puts: 1, putsOut: 1, issued: []imsemu.Issued{issued}},
			{res: &d.res.Integrations[0], before: acmeState, after: acmeState, requests: 1, gets: 2},
		}
		return record{fleet: &fleet{size: 1, target: "acme", targetWant: []outcome{failed}, othersWant: []outcome{rotated}},
			members: []member{own, acme}, deliveries: []delivery{d},
			logs: `{"msg":"new token stored","integration":"default","token_secret_id":"fm/99/token"}` + "\n" + `{"msg":"run finished with failures"}`}
	}
	tests := []struct {
		name   string
		breaks func(*record)
		want   string
	}{
		{"an integration written twice", func(r *record) { r.deliveries[0].members[0].putsOut = 2 }, "default: 2 PutSecretValue calls"},
		{"a failed integration's secret changed", func(r *record) {
			r.deliveries[0].members[1].after = snapshot{current: "a2", versions: 3, value: acmeState.value}
		}, "acme: a run that wrote nothing changed the secret"},
		{"another client's token", func(r *record) { r.deliveries[0].members[1].after.value = value("faultmatrix-globex", acme.seeded) }, `AWSCURRENT is for client "faultmatrix-globex"`},
		{"a log line without its integration", func(r *record) { r.logs += "\n" + `{"msg":"token fetched"}` }, `"token fetched" carries no "integration"`},
		{"a log line naming another integration", func(r *record) {
			r.logs += "\n" + `{"msg":"token fetched","integration":"default","token_secret_id":"arn:token:acme"}`
		}, `says integration "default" for the token secret of "acme"`},
		{"the error leaves a failure out", func(r *record) { r.deliveries[0].err = errors.New("1 of 2 integrations failed") }, "acme: failed, but the run's error does not name it"},
		{"the error names a success", func(r *record) { r.deliveries[0].err = errors.New("x; acme: boom; default: boom") }, "default: rotated, but the run's error names it as failed"},
		{"a fresh integration asked the provider", func(r *record) {
			r.deliveries[0].members[0].res.Rotated = false
			r.deliveries[0].members[0].after = ownBefore
			r.fleet.othersWant = []outcome{noOp}
		}, "default: no-op, yet made 1 token requests"},
		{"a metric line missing", func(r *record) {
			r.deliveries[0].metrics = metricLine("default", 0) + "\n" + `{"IntegrationsFailed":1}`
		}, "acme: 0 metric lines, want 1"},
		{"a failure counted as a success", func(r *record) {
			r.deliveries[0].metrics = strings.Replace(r.deliveries[0].metrics, metricLine("acme", 1), metricLine("acme", 0), 1)
		}, "acme: failed with a clear error, but its metric line says RotationFailed = 0"},
		{"the wrong outcome", func(r *record) { r.fleet.targetWant = []outcome{rotated} }, "acme: outcome = failed with a clear error, want rotated"},
		{"an acme secret in the logs", func(r *record) { r.logs += "\n" + `{"msg":"` + acme.secret + `","integration":"acme"}` }, "leaked in the logs"},
		{"two runs at once, three writes", func(r *record) {
			r.fleet.overlap = true
			r.deliveries = append(r.deliveries, r.deliveries[0])
			r.deliveries[0].members[0].putsOut = 3
		}, "default: 3 PutSecretValue calls reached Secrets Manager, 1 -> 2 versions; want at most 2 writes"},
		{"two runs at once, a token nobody issued", func(r *record) {
			r.fleet.overlap = true
			r.deliveries = append(r.deliveries, r.deliveries[0])
			r.deliveries[0].members[0].after.value = value(clientID, "SENTINEL-other-token")
		}, "default: AWSCURRENT is neither the seeded token nor one issued during the runs"},
	}
	check := func(rec record) string {
		c := matrixCase{want: make([]outcome, len(rec.deliveries)), fleet: rec.fleet}
		for i := range c.want {
			c.want[i] = failed
		}
		return strings.Join(append(invariants(rec), fleetExpectations(c, rec)...), "\n")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := clean()
			tt.breaks(&rec)
			got := check(rec)
			if !strings.Contains(got, tt.want) {
				t.Errorf("checks = %q, want one containing %q", got, tt.want)
			}
			if strings.Contains(got, acme.secret) || strings.Contains(got, issued.AccessToken) {
				t.Errorf("checks = %q quote secret material", got)
			}
		})
	}
	t.Run("a clean record passes", func(t *testing.T) {
		if got := check(clean()); got != "" {
			t.Errorf("checks = %q, want none", got)
		}
	})
}

// TestNativeChecksCatchViolations keeps the rotation protocol's checks
// honest: each record below breaks one of them, from a clean rotation.
func TestNativeChecksCatchViolations(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	value := func(tok string) string {
		b, _ := json.Marshal(secretstore.TokenValue{AccessToken: tok, TokenType: "bearer", IssuedAt: now,
			Expiry: now.Add(24 * time.Hour), ClientID: clientID, Scope: scope})
		return string(b)
	}
	const seeded, arn = "SENTINEL-seeded-native-99", "arn:token"
	issued := imsemu.Issued{AccessToken: "SENTINEL-issued-native-99", ClientID: clientID}
	succeededLine := `{"Integration":"default","RotationSucceeded":1,"RotationFailed":0}`
	failedLine := `{"RotationSucceeded":0,"RotationFailed":1}`
	put := write{target: faultproxy.PutSecretValue, secretID: arn, version: "v2", stage: "AWSPENDING", status: 200}
	move := write{target: faultproxy.UpdateSecretVersionStage, secretID: arn, version: "v2", removeFrom: "v1", stage: "AWSCURRENT", status: 200}
	drop := write{target: faultproxy.UpdateSecretVersionStage, secretID: arn, removeFrom: "v2", stage: "AWSPENDING", status: 200}
	clean := func() record {
		nr := &nativeRecord{subject: nativeSubject{arn: arn, client: clientID}, version: "v2", old: "v1", begun: 1,
			initial:  stageSnapshot{stages: map[string][]string{"v1": {"AWSCURRENT"}, "v2": {"AWSPENDING"}}, current: "v1", value: value(seeded)},
			testURLs: []string{issued.AccessToken}}
		nr.acts = []actRecord{{from: 0, to: 4, after: stageSnapshot{stages: map[string][]string{"v1": {"AWSPREVIOUS"}, "v2": {"AWSCURRENT"}},
			current: "v2", value: value(issued.AccessToken), pending: value(issued.AccessToken)}}}
		return record{native: nr, seeded: seeded, issued: []imsemu.Issued{issued}, deliveries: []delivery{
			{step: event.StepCreate, writes: []write{put}, tokenRequests: 1, issued: []imsemu.Issued{issued}},
			{step: event.StepSet},
			{step: event.StepTest},
			{step: event.StepFinish, res: rotation.Result{Rotated: true}, writes: []write{move, drop}, metrics: succeededLine},
		}}
	}
	// failing makes the record's testSecret fail and the rotation stop there.
	failing := func(r *record) {
		r.deliveries = r.deliveries[:3]
		r.deliveries[2].err, r.deliveries[2].metrics = errors.New("testSecret: boom"), failedLine
		a := &r.native.acts[0]
		a.to = 3
		a.after = r.native.initial
		a.after.pending = value(issued.AccessToken)
	}
	tests := []struct {
		name   string
		breaks func(*record)
		want   string
	}{
		{"a failed step wrote", func(r *record) {
			failing(r)
			r.deliveries[2].writes = []write{move}
		}, "the step failed, yet sent secretsmanager.UpdateSecretVersionStage"},
		{"a failed act moved AWSCURRENT", func(r *record) {
			failing(r)
			r.native.acts[0].after.current, r.native.acts[0].after.value = "v2", value(issued.AccessToken)
		}, "no step reported a rotation, yet a plain read returns version v2"},
		{"AWSCURRENT moved twice", func(r *record) { r.deliveries[3].writes = []write{move, move, drop} }, "AWSCURRENT moved 2 times in 1 rotations begun"},
		{"AWSCURRENT moved by testSecret", func(r *record) { r.deliveries[2].writes = []write{move} }, "AWSCURRENT moved, yet the step reports no rotation"},
		{"a write to another secret", func(r *record) {
			w := put
			w.secretID = "arn:other"
			r.deliveries[0].writes = []write{w}
		}, "on another secret than the one rotated"},
		{"setSecret reports a rotation", func(r *record) { r.deliveries[1].res.Rotated = true }, "setSecret: reports a rotation"},
		{"the rotation left AWSCURRENT elsewhere", func(r *record) { r.native.acts[0].after.current = "v1" }, "the rotation finished, yet a plain read returns version v1"},
		{"AWSPREVIOUS missing", func(r *record) { r.native.acts[0].after.stages["v1"] = nil }, "want AWSPREVIOUS"},
		{"AWSCURRENT a token nobody issued", func(r *record) {
			v := value("SENTINEL-other-native-99")
			r.native.acts[0].after.value, r.native.acts[0].after.pending = v, v
		}, "AWSCURRENT is no token the provider issued"},
		{"AWSCURRENT another client's", func(r *record) { r.native.subject.client = "faultmatrix-acme" }, `is for client "faultmatrix-client"`},
		{"TEST_URL got another token", func(r *record) { r.native.testURLs = []string{seeded} }, "TEST_URL received a bearer token the provider did not issue"},
		{"TEST_URL got a token it must not", func(r *record) { r.native.noTestURL = true }, "TEST_URL received 1 requests, want none"},
		{"a failed step out of the alarm's sight", func(r *record) {
			failing(r)
			r.deliveries[2].metrics = ""
		}, "1 failed, but the run metric lines counting failures say RotationFailed []"},
		{"a success counted as failed", func(r *record) { r.deliveries[1].metrics = failedLine }, "succeeded, but 1 metric lines count it failed"},
		{"a rotation without its metric", func(r *record) { r.deliveries[3].metrics = "" }, "no metric line of its integration says RotationSucceeded 1"},
		{"two finishSecret at once, two moves", func(r *record) {
			r.deliveries[3].atOnce = 2
			r.deliveries = append(r.deliveries, r.deliveries[3])
			r.deliveries[3].writes = []write{move, move, drop}
			r.deliveries[4].writes = r.deliveries[3].writes
			r.native.acts[0].to = 5
		}, "AWSCURRENT moved 2 times in 1 rotations begun"},
		{"the rotation token in the logs", func(r *record) {
			r.faultTok = []string{"SENTINEL-rotation-token"}
			r.logs = `{"msg":"SENTINEL-rotation-token"}`
		}, "leaked in the logs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := clean()
			tt.breaks(&rec)
			got := strings.Join(invariants(rec), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("invariants() = %q, want one containing %q", got, tt.want)
			}
			if strings.Contains(got, issued.AccessToken) || strings.Contains(got, seeded) {
				t.Errorf("invariants() = %q quotes secret material", got)
			}
		})
	}
	t.Run("clean records pass", func(t *testing.T) {
		rec := clean()
		if got := invariants(rec); len(got) != 0 {
			t.Errorf("invariants() = %q, want none", got)
		}
		failing(&rec)
		if got := invariants(rec); len(got) != 0 {
			t.Errorf("invariants() of a failed rotation = %q, want none", got)
		}
	})
}

func TestActOutcome(t *testing.T) {
	put := write{target: faultproxy.PutSecretValue, status: 200}
	tests := []struct {
		name string
		ds   []delivery
		want outcome
	}{
		{"a step failed", []delivery{{writes: []write{put}}, {err: errors.New("boom")}}, failed},
		{"rotated", []delivery{{writes: []write{put}}, {res: rotation.Result{Rotated: true}}}, rotated},
		{"rotated after a faulted call", []delivery{{faulted: 1}, {res: rotation.Result{Rotated: true}}}, retried},
		{"rotated after a token request retried", []delivery{{tokenRequests: 2, issued: []imsemu.Issued{{}}}, {res: rotation.Result{Rotated: true}}}, retried},
		{"stored the pending token", []delivery{{writes: []write{put}}}, staged},
		{"a write moto refused", []delivery{{writes: []write{{target: faultproxy.PutSecretValue, status: 400}}}}, noOp},
		{"nothing to do", []delivery{{}, {}}, noOp},
	}
	for _, tt := range tests {
		if got := actOutcome(tt.ds); got != tt.want {
			t.Errorf("%s: actOutcome() = %s, want %s", tt.name, got, tt.want)
		}
	}
}
