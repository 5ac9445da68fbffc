package faultmatrix

import (
	"fmt"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/event"
)

// staged is a native act that stored a token as the pending version and
// moved nothing: createSecret's outcome on its own.
const staged outcome = "stored as AWSPENDING"

// protocol is a case of area "rotation protocol": instead of delivering a
// Scheduler event, Secrets Manager's rotation service
// (infra/local/rotationservice) begins a rotation of a token secret in
// moto_server, which enables rotation and stages AWSPENDING on a new
// version without a value, and then delivers the rotation's steps as acts
// says, each one an invocation of the handler as functions/rotator wires
// it. The case's IMS faults apply from the start (only createSecret asks
// the provider), its Secrets Manager fault from the first delivery of at.
type protocol struct {
	// acts are what Secrets Manager, or someone, does, in order; the
	// case's want has one outcome per act.
	acts []act
	// at is the step from whose first delivery on the case's Secrets
	// Manager fault applies; empty means from the first step.
	at string
	// secret is the secret rotated; the zero value is the function's own
	// token secret (TOKEN_SECRET_ID).
	secret subject
	// notBegun leaves rotation off: no rotation is begun, and the events
	// name a version id the secret does not have.
	notBegun bool
	// testURL, if set, sets TEST_URL to a server that answers as it says.
	testURL *testURL
	// ownTokenURL gives the added integration's credentials secret a
	// token_url of its own (the stack's provider under another name) and
	// no test_url: TEST_URL, maybe another provider's, must get nothing.
	ownTokenURL bool
	// planted, if set, is a value someone else stored in the rotation's
	// version, staged AWSPENDING, before createSecret.
	planted *plant
	// integrationTimeout, if not zero, bounds each step
	// (rotation.Config.IntegrationTimeout) instead of the default 30 s.
	integrationTimeout time.Duration
	// pendingRemovalDenied answers AccessDenied to the first removal of
	// AWSPENDING, the stage move after AWSCURRENT's.
	pendingRemovalDenied bool
	// writeOnce plays Secrets Manager's rule that a version's value is
	// written once, which moto 5.2.1 does not keep (see onceWritten).
	writeOnce bool
	// meet, if set (writePending or moveStage), makes the first two calls
	// of that write meet: the first waits up to 2 s for the second, which
	// goes on once the first has its answer. Two deliveries at once then
	// both get as far as their write, whatever the timing.
	meet call
	// lostAnswer, if set (writePending or moveStage), is a write whose
	// first call Secrets Manager carries out but whose answer is lost: the
	// SDK gives up on the attempt (rotation.SecretsManagerAttemptTimeout)
	// and sends the same call again.
	lostAnswer call
}

// subject is the secret a native case rotates.
type subject int

const (
	ownSecret     subject = iota // the function's own token secret
	addedSecret                  // the token secret of acme, added under INTEGRATION_SECRET_PREFIX
	foreignSecret                // someone else's secret, neither TOKEN_SECRET_ID nor under the prefix
	sharedSecret                 // acme's, whose credentials secret backs globex too
	ownNameSecret                // a token secret added under the prefix as "default", the function's own integration's name
)

func (s subject) String() string {
	switch s {
	case addedSecret:
		return "the token secret of acme, an added integration"
	case foreignSecret:
		return "app/other, a secret that is not the stack's (neither TOKEN_SECRET_ID nor under INTEGRATION_SECRET_PREFIX)"
	case sharedSecret:
		return "the token secret of acme, an added integration whose credentials secret backs globex too"
	case ownNameSecret:
		return `app/integrations/default, added under INTEGRATION_SECRET_PREFIX with the function's own integration's name`
	}
	return "the function's own token secret"
}

// actKind is what an act delivers.
type actKind int

const (
	// rotate delivers createSecret, setSecret, testSecret and finishSecret
	// in order, stopping at the first that fails: one attempt of Secrets
	// Manager's. A failed rotation is retried whole, from createSecret,
	// with the same version.
	rotate actKind = iota
	// each delivers every step once, whatever the one before did.
	each
	// deliver delivers one step once.
	deliver
	// together delivers one step twice at once, as two Lambda environments.
	together
)

// act is one thing Secrets Manager, or someone, does in a native case.
type act struct {
	kind actKind
	// step is the step of a deliver or together act.
	step string
	// twice, in a rotate act, is a step delivered again right after it
	// succeeds (duplicate delivery).
	twice string
	// atOnce, in a rotate act, is a step delivered twice at once.
	atOnce string
	// version is which version the events name.
	version version
}

// version is the version id a native act's events name.
type version int

const (
	newVersion     version = iota // the rotation's, AWSPENDING on it
	unknownVersion                // one the secret does not have
	oldVersion                    // AWSCURRENT's before the case; AWSPREVIOUS after a rotation
)

func (v version) String() string {
	switch v {
	case unknownVersion:
		return "an unknown version"
	case oldVersion:
		return "the version before ($OLD, now AWSPREVIOUS)"
	}
	return "the rotation's version"
}

// describe renders the act for the table.
func (a act) describe(first bool) string {
	var s string
	switch a.kind {
	case rotate:
		s = "the four steps"
		if !first {
			s = "Secrets Manager's retry, the four steps again"
		}
		if a.twice != "" {
			s += ", " + a.twice + " delivered twice"
		}
		if a.atOnce != "" {
			s += ", " + a.atOnce + " delivered twice at once"
		}
	case each:
		s = "each step once"
	case deliver:
		s = a.step + " delivered again"
	case together:
		s = "two " + a.step + " at once"
	}
	if a.version != newVersion {
		s += " for " + a.version.String()
	}
	return s
}

// plant is a token someone else stored in the rotation's version.
type plant struct {
	note          string // for the table
	client, scope string
	issued, life  time.Duration // issued this long ago, living this long
}

// testURL is how the TEST_URL server answers: first, one answer per
// request, then every for the rest; nil answers normally: 204 to a
// token the provider issued, 401 to any other.
type testURL struct {
	first []testAnswer
	every *testAnswer
}

// testAnswer is one answer of the TEST_URL server.
type testAnswer struct {
	name     string // for the table
	status   int
	hang     bool   // no answer until the client gives up
	redirect string // a Location, answered with 302
}

// The TEST_URL server's faults.
var (
	testURL401      = testAnswer{name: "HTTP 401", status: 401}
	testURL503      = testAnswer{name: "HTTP 503", status: 503}
	testURLHang     = testAnswer{name: "no answer", hang: true}
	testURLRedirect = testAnswer{name: "HTTP 302 to http://elsewhere.example/steal", redirect: "http://elsewhere.example/steal"}
)

func (t *testURL) describe() string {
	s := "TEST_URL set"
	if len(t.first) > 0 {
		var names []string
		for _, a := range t.first {
			names = append(names, a.name)
		}
		s += fmt.Sprintf("; %s to the first %s", strings.Join(names, ", then "), plural(len(t.first), "GET of TEST_URL"))
	}
	if t.every != nil {
		s += "; " + t.every.name + " to every GET of TEST_URL"
	}
	return s
}

// describe is the native part of the table's "injected fault" cell, but
// for the script.
func (p *protocol) describe() []string {
	var parts []string
	if p.secret != ownSecret {
		parts = append(parts, "rotation of "+p.secret.String())
	}
	if p.notBegun {
		parts = append(parts, "rotation not enabled on the secret")
	}
	if p.planted != nil {
		parts = append(parts, "someone else stored the rotation's version, AWSPENDING, before createSecret: "+p.planted.note)
	}
	if p.ownTokenURL {
		parts = append(parts, "its credentials secret sets a token_url of its own and no test_url")
	}
	if p.testURL != nil {
		parts = append(parts, p.testURL.describe())
	}
	if p.integrationTimeout > 0 {
		parts = append(parts, fmt.Sprintf("each step within %s", p.integrationTimeout))
	}
	if p.pendingRemovalDenied {
		parts = append(parts, "AccessDeniedException (HTTP 400) on the first removal of AWSPENDING (UpdateSecretVersionStage)")
	}
	if p.lostAnswer != 0 {
		parts = append(parts, fmt.Sprintf("the answer to the first call of %s lost after Secrets Manager carried it out", p.lostAnswer))
	}
	if p.meet != 0 {
		parts = append(parts, fmt.Sprintf("the first call of %s waits for the second", p.meet))
	}
	if p.writeOnce {
		parts = append(parts, "a version's value written once, as Secrets Manager keeps it (another value: ResourceExistsException)")
	} else if p.meet == writePending {
		parts = append(parts, "moto_server lets the second write replace the version's value")
	}
	return parts
}

// script says, for the table, what Secrets Manager delivers.
func (p *protocol) script() string {
	var acts []string
	for i, a := range p.acts {
		acts = append(acts, a.describe(i == 0 || p.acts[i-1].kind != rotate))
	}
	return "Secrets Manager delivers " + strings.Join(acts, "; then ")
}

// expected renders a native case's outcomes, one per act, for the table.
func (p *protocol) expected(want []outcome) string {
	var s []string
	for i, o := range want {
		if i < len(p.acts) && p.acts[i].kind == each {
			s = append(s, "each step "+string(o))
			continue
		}
		s = append(s, string(o))
	}
	if p.ownTokenURL {
		s = append(s, "TEST_URL got no request")
	}
	return strings.Join(s, ", then ")
}

// eventSteps are the steps an act delivers, in order, before any stops.
func (a act) eventSteps() []string {
	switch a.kind {
	case rotate, each:
		return []string{event.StepCreate, event.StepSet, event.StepTest, event.StepFinish}
	}
	return []string{a.step}
}

func plural(n int, what string) string {
	if n == 1 {
		return what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
