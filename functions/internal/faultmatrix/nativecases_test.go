package faultmatrix

import (
	"fmt"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/event"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// What the operator sees in the log of a rotation that finished.
const (
	seesCreated  = "INFO createSecret: new token stored as AWSPENDING"
	seesSet      = "INFO setSecret: nothing to set at the provider, it issued the token"
	seesTested   = "INFO testSecret: pending token passed: the pending token is valid for this integration"
	seesFinished = "INFO finishSecret: new token is AWSCURRENT"
	seesRotation = seesCreated + " … " + seesSet + " … " + seesTested + " … " + seesFinished
	// seesNothingToDo is a step for the version already AWSCURRENT.
	seesNothingToDo = `INFO rotation step: nothing to do: version "$VERSION" is already AWSCURRENT`
	seesMovedAnyway = "INFO finishSecret: the move of AWSCURRENT answered an error, yet the version is AWSCURRENT (a lost answer, or a concurrent delivery)"
)

// nativeCases are the rows of area "rotation protocol": Secrets Manager's
// rotation service delivering the four steps for a token secret, each one
// failing at the provider, at TEST_URL and at Secrets Manager, once (the
// retry with the same version finishes) and for good; steps delivered
// twice, or at once; and the events the steps refuse.
func nativeCases() []matrixCase {
	var list []matrixCase
	add := func(c matrixCase) {
		c.area = "rotation protocol"
		list = append(list, c)
	}
	one := []act{{}}
	retry := []act{{}, {}} // an attempt, then Secrets Manager's retry with the same version
	onceThenRotated := []outcome{failed, rotated}
	forGood := []outcome{failed, failed}
	every := func(f imsemu.Fault, name string) *imsemu.Fault { f.Name = name; return &f }
	bounded := 10 * time.Second // a step's deadline where a case waits for it

	add(matrixCase{name: "rotation", native: &protocol{acts: one}, want: []outcome{rotated}, sees: seesRotation, tokenRequests: 1})
	add(matrixCase{name: "rotation with TEST_URL", native: &protocol{acts: one, testURL: &testURL{}}, want: []outcome{rotated},
		sees: seesCreated + " … " + seesTested + "; TEST_URL answered 204 … " + seesFinished, tokenRequests: 1})
	add(matrixCase{name: "rotation of an added integration", native: &protocol{acts: one, secret: addedSecret}, want: []outcome{rotated},
		sees: seesRotation, tokenRequests: 1})

	// The provider: only createSecret asks it.
	add(matrixCase{name: "createSecret: HTTP 401 once", native: &protocol{acts: retry}, ims: []imsemu.Fault{named(imsemu.Status(401, ""), "HTTP 401")},
		want: onceThenRotated, sees: `createSecret: fetching a token from $TOKEN_URL for client "faultmatrix-client": token endpoint refused the request: HTTP 401 … ` + seesFinished,
		tokenRequests: 2})
	add(matrixCase{name: "createSecret: HTTP 401 for good", native: &protocol{acts: retry}, imsEvery: every(imsemu.Status(401, ""), "HTTP 401"),
		want: forGood, sees: `createSecret: fetching a token from $TOKEN_URL for client "faultmatrix-client": token endpoint refused the request: HTTP 401`,
		tokenRequests: 2})
	add(matrixCase{name: "createSecret: HTTP 503 once", native: &protocol{acts: one}, ims: []imsemu.Fault{named(imsemu.Status(503, ""), "HTTP 503")},
		want: []outcome{retried}, sees: "WARN token request failed, retrying … " + seesFinished, tokenRequests: 2})
	add(matrixCase{name: "createSecret: HTTP 503 until it gives up", native: &protocol{acts: retry}, imsEvery: every(imsemu.Status(503, ""), "HTTP 503"),
		want: forGood, sees: "createSecret: fetching a token from $TOKEN_URL … token endpoint kept failing, gave up; last failure: token endpoint unavailable: HTTP 503",
		tokenRequests: 10})
	add(matrixCase{name: "createSecret: provider hangs past the step's deadline", native: &protocol{acts: retry, integrationTimeout: bounded},
		ims:  []imsemu.Fault{named(imsemu.Hang(), "no answer")},
		want: onceThenRotated, sees: "createSecret: fetching a token from $TOKEN_URL … last failure: token request timed out … " + seesFinished, tokenRequests: 2})

	// Secrets Manager: each call of the protocol, at the step it matters
	// most, failing the step once (a fault the SDK retries must outlast
	// its 3 attempts), and for good.
	for _, at := range []struct {
		call        call
		step, short string
	}{
		{describeSecret, event.StepSet, "DescribeSecret"},
		{readPending, event.StepTest, "pending read"},
		{writePending, event.StepCreate, "pending write"},
		{moveStage, event.StepFinish, "move of AWSCURRENT"},
	} {
		for _, f := range []faultproxy.Fault{faultproxy.Throttling(), faultproxy.InternalServiceError(), faultproxy.AccessDenied()} {
			label := strings.TrimSuffix(f.Type, "Exception")
			failOnce := 1
			if f.Type != "AccessDeniedException" {
				failOnce = 3 // the SDK's attempts
			}
			c := matrixCase{native: &protocol{acts: retry, at: at.step}, sm: ptr(f), smAt: at.call, tokenRequests: 1}
			if at.call == writePending {
				c.tokenRequests = 2 // the token is lost with the write, and the retry fetches another
			}
			c.name, c.smTimes, c.want = fmt.Sprintf("%s: %s at the %s, the step fails once", at.step, label, at.short), failOnce, onceThenRotated
			c.sees = smSees(at.call, f) + " … " + seesFinished
			add(c)
			c.name, c.smTimes, c.want = fmt.Sprintf("%s: %s at the %s, for good", at.step, label, at.short), 0, forGood
			c.sees = smSees(at.call, f)
			add(c)
		}
	}
	// A throttled write the SDK retries within the step.
	for _, at := range []struct {
		call        call
		step, short string
	}{{writePending, event.StepCreate, "pending write"}, {moveStage, event.StepFinish, "move of AWSCURRENT"}} {
		add(matrixCase{name: fmt.Sprintf("%s: Throttling once at the %s", at.step, at.short), native: &protocol{acts: one, at: at.step},
			sm: ptr(faultproxy.Throttling()), smAt: at.call, smTimes: 1, want: []outcome{retried}, sees: seesRotation, tokenRequests: 1})
	}
	add(matrixCase{name: "createSecret: AccessDenied at the credentials read", native: &protocol{acts: retry, at: event.StepCreate},
		sm: ptr(faultproxy.AccessDenied()), smAt: readCredentials, want: forGood,
		sees: `reading credentials secret "app/credentials": … AccessDeniedException`, tokenRequests: none})
	add(matrixCase{name: "finishSecret: AccessDenied at the removal of AWSPENDING", native: &protocol{acts: []act{{}, {kind: deliver, step: event.StepFinish}}, pendingRemovalDenied: true},
		want: []outcome{rotated, noOp},
		sees: "WARN finishSecret: AWSPENDING left on the current version … " + seesFinished + " … " + seesNothingToDo, tokenRequests: 1})

	// A write carried out whose answer is lost: the SDK sends it again.
	add(matrixCase{name: "createSecret: the answer to the pending write lost", native: &protocol{acts: one, lostAnswer: writePending},
		want: []outcome{rotated}, sees: seesRotation, tokenRequests: 1})
	add(matrixCase{name: "finishSecret: the answer to the move of AWSCURRENT lost", native: &protocol{acts: retry, lostAnswer: moveStage},
		want: []outcome{rotated, noOp}, sees: seesFinished + " … " + seesNothingToDo, tokenRequests: 1})

	// TEST_URL: only testSecret asks it.
	add(matrixCase{name: "testSecret: TEST_URL answers 401", native: &protocol{acts: retry, testURL: &testURL{every: &testURL401}},
		want: forGood, sees: "testSecret: GET TEST_URL $TEST_URL with the pending token answered HTTP 401, want 2xx; the pending token is not made current", tokenRequests: 1})
	add(matrixCase{name: "testSecret: TEST_URL answers 503 once", native: &protocol{acts: retry, testURL: &testURL{first: []testAnswer{testURL503}}},
		want: onceThenRotated, sees: "answered HTTP 503, want 2xx … " + seesFinished, tokenRequests: 1})
	add(matrixCase{name: "testSecret: TEST_URL answers 503 for good", native: &protocol{acts: retry, testURL: &testURL{every: &testURL503}},
		want: forGood, sees: "testSecret: GET TEST_URL $TEST_URL with the pending token answered HTTP 503", tokenRequests: 1})
	add(matrixCase{name: "testSecret: TEST_URL hangs", native: &protocol{acts: retry, testURL: &testURL{first: []testAnswer{testURLHang}}},
		want: onceThenRotated, sees: "testSecret: GET TEST_URL $TEST_URL with the pending token: context deadline exceeded … " + seesFinished, tokenRequests: 1})
	add(matrixCase{name: "testSecret: TEST_URL redirects to plain http", native: &protocol{acts: retry, testURL: &testURL{every: &testURLRedirect}},
		want: forGood, sees: "testSecret: GET TEST_URL $TEST_URL with the pending token: refusing a redirect to http://elsewhere.example: https is required", tokenRequests: 1})

	// Duplicate and concurrent delivery.
	for _, step := range []string{event.StepCreate, event.StepSet, event.StepTest, event.StepFinish} {
		add(matrixCase{name: step + " delivered twice", native: &protocol{acts: []act{{twice: step}}}, want: []outcome{rotated},
			sees: map[string]string{
				event.StepCreate: seesCreated + " … INFO createSecret: the pending version already holds a token, nothing written … " + seesFinished,
				event.StepSet:    seesSet + " … " + seesSet,
				event.StepTest:   seesTested + " … " + seesTested,
				event.StepFinish: seesFinished + " … " + seesNothingToDo,
			}[step], tokenRequests: 1})
	}
	add(matrixCase{name: "two createSecret at once", native: &protocol{acts: []act{{kind: together, step: event.StepCreate}, {}}, meet: writePending},
		want: []outcome{staged, rotated}, tokenRequests: 2, sees: seesCreated + " … " + seesCreated + " … " + seesFinished})
	add(matrixCase{name: "two createSecret at once, a version written once", native: &protocol{acts: []act{{kind: together, step: event.StepCreate}, {}}, meet: writePending, writeOnce: true},
		want: []outcome{staged, rotated}, tokenRequests: 2,
		// The two createSecret run at once: their lines come in either order.
		sees: "INFO createSecret: a concurrent delivery stored the pending token first, nothing written … " + seesFinished})
	add(matrixCase{name: "two finishSecret at once", native: &protocol{acts: []act{{atOnce: event.StepFinish}}, meet: moveStage},
		// Both passed the stage check; the second move is refused, finds the
		// version AWSCURRENT, and reports the rotation finished too. The two
		// run at once, so only that delivery's own lines are in order.
		want: []outcome{rotated}, tokenRequests: 1, sees: seesMovedAnyway + " … " + seesFinished})

	// Refusals: nothing is written.
	add(matrixCase{name: "a secret that is not the stack's", native: &protocol{acts: []act{{kind: each}}, secret: foreignSecret},
		want: []outcome{failed}, sees: `secret "app/other" is not a token secret of this function: it is neither TOKEN_SECRET_ID nor named under INTEGRATION_SECRET_PREFIX ""; refusing to rotate it, nothing written`,
		tokenRequests: none})
	add(matrixCase{name: "rotation not enabled", native: &protocol{acts: []act{{kind: each}}, notBegun: true},
		want: []outcome{failed}, sees: `secret "app/token" is not enabled for rotation (DescribeSecret says RotationEnabled false)`, tokenRequests: none})
	add(matrixCase{name: "an unknown version", native: &protocol{acts: []act{{kind: each, version: unknownVersion}}},
		want: []outcome{failed}, sees: `version "$UNKNOWN" has no stage for rotation of secret "app/token"; nothing written`, tokenRequests: none})
	add(matrixCase{name: "the AWSPREVIOUS version", native: &protocol{acts: []act{{}, {kind: each, version: oldVersion}}},
		want: []outcome{rotated, failed}, sees: `version "$OLD" of secret "app/token" is not set as AWSPENDING for rotation (its stages: AWSPREVIOUS); nothing written`, tokenRequests: 1})
	add(matrixCase{name: "a version already AWSCURRENT", native: &protocol{acts: []act{{}, {}}},
		want: []outcome{rotated, noOp}, sees: seesFinished + " … " + seesNothingToDo, tokenRequests: 1})
	for _, pl := range []struct {
		name string
		p    plant
		sees string
	}{
		{"another client", plant{note: "a token for client someone-else", client: "someone-else", scope: scope, life: 24 * time.Hour},
			`is a token for client "someone-else", the credentials are for "faultmatrix-client"`},
		{"another scope", plant{note: "a token with scope openid", client: clientID, scope: "openid", life: 24 * time.Hour},
			`has scope "openid", the integration's is "openid,AdobeID,read_organizations"`},
		{"an expired token", plant{note: "a token that expired 1 h ago", client: clientID, scope: scope, issued: 25 * time.Hour, life: 24 * time.Hour},
			"expired at"},
	} {
		add(matrixCase{name: "a pending value planted: " + pl.name, native: &protocol{acts: retry, planted: ptr(pl.p)}, want: forGood,
			sees: `testSecret: the pending version "$VERSION" ` + pl.sees, tokenRequests: none})
	}
	add(matrixCase{name: "an added integration sharing its credentials secret", native: &protocol{acts: one, secret: sharedSecret},
		want: []outcome{failed}, sees: `credentials secret "app/acme/credentials" backs integrations acme, globex`, tokenRequests: none})
	add(matrixCase{name: "an added integration named like the function's own", native: &protocol{acts: one, secret: ownNameSecret},
		want: []outcome{failed}, sees: `integration "default": the name is taken by the function's own integration (INTEGRATION)`, tokenRequests: none})

	// A key in TEST_URL's (and TOKEN_URL's) query shows nowhere.
	add(matrixCase{name: "testSecret: TEST_URL with a key in its query answers 503", native: &protocol{acts: retry, testURL: &testURL{every: &testURL503}}, urlKey: true,
		want: forGood, sees: "testSecret: GET TEST_URL $TEST_URL with the pending token answered HTTP 503", tokenRequests: 1})
	// Identities: an added integration of another provider keeps its token from the stack's TEST_URL.
	add(matrixCase{name: "an added integration of another provider, TEST_URL set", native: &protocol{acts: one, secret: addedSecret, ownTokenURL: true, testURL: &testURL{}},
		want: []outcome{rotated}, tokenRequests: 1,
		sees: seesCreated + " … INFO testSecret: TEST_URL not used: the integration's credentials secret sets a token_url of its own and no test_url … " + seesFinished})
	return list
}

// smSees is the start of a step's error when call fails with f for good.
func smSees(at call, f faultproxy.Fault) string {
	what := map[call]string{
		describeSecret: `describing secret "app/token"`,
		readPending:    `reading version "$VERSION" (AWSPENDING) of token secret "app/token"`,
		writePending:   `createSecret: token fetched but not stored: writing version "$VERSION" (AWSPENDING) of token secret "app/token"`,
		moveStage:      `finishSecret: moving AWSCURRENT from version "$OLD" to "$VERSION" of token secret "app/token"`,
	}[at]
	return what + ": … " + f.Type
}
