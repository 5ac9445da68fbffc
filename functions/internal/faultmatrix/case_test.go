package faultmatrix

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// outcome is what a run did, as the table states it.
type outcome string

const (
	rotated outcome = "rotated"
	retried outcome = "retried to success"
	noOp    outcome = "no-op"
	failed  outcome = "failed with a clear error"
	// notRun is an integration a fleet run never got to: untouched, no
	// request made for it.
	notRun outcome = "not run"
)

// stored is the token secret's value before the case's first run. Every
// case starts from a valid token, so that "untouched" can be checked.
type stored int

const (
	storedOld     stored = iota // valid, 2 h old: a normal run (MIN_TOKEN_AGE 1h) replaces it
	storedFresh                 // valid, 10 min old: a normal run leaves it
	storedExpired               // issued 25 h ago, expired 1 h ago
	storedFuture                // issued_at 2 h ahead of the clock (skew)
)

func (s stored) String() string {
	switch s {
	case storedFresh:
		return "stored token 10 min old"
	case storedExpired:
		return "stored token expired 1 h ago"
	case storedFuture:
		return "stored issued_at 2 h in the future"
	}
	return "stored token 2 h old"
}

// call is a Secrets Manager call of a run.
type call int

const (
	readCredentials call = iota + 1
	readToken
	writeToken
	// listIntegrations is a fleet run's listing of the added integrations.
	listIntegrations
	// The rotation protocol's calls on the rotated secret (area "rotation protocol").
	describeSecret
	readPending
	writePending
	moveStage
	// The KMS calls of a private_key_jwt run (area "private_key_jwt").
	readPublicKey
	signAssertion
)

func (c call) String() string {
	switch c {
	case readCredentials:
		return "the credentials read (GetSecretValue)"
	case readToken:
		return "the stored-token read (GetSecretValue)"
	case writeToken:
		return "the write after the fetch (PutSecretValue)"
	case listIntegrations:
		return "the listing of the added integrations (ListSecrets)"
	case describeSecret:
		return "the token secret's DescribeSecret"
	case readPending:
		return "the pending version's read (GetSecretValue)"
	case writePending:
		return "the pending write (PutSecretValue)"
	case moveStage:
		return "the move of AWSCURRENT (UpdateSecretVersionStage)"
	case readPublicKey:
		return "the signing key's read (KMS GetPublicKey)"
	case signAssertion:
		return "the assertion's signing (KMS Sign)"
	}
	return fmt.Sprintf("call(%d)", int(c))
}

// none stands for zero in count fields whose zero value means "not checked".
const none = -1

// Event payloads.
const (
	scheduled = `{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.scheduler","resources":["arn:aws:scheduler:us-east-1:123456789012:schedule/default/tokenrotator"],"detail":"{}"}`
	forced    = `{"force": true}`
)

// cfnCreate is CloudFormation's Create of the custom resource FirstToken;
// responseURL stands for the case's recording server.
const (
	responseURL = "$RESPONSE_URL"
	cfnCreate   = `{"RequestType":"Create","ResponseURL":"` + responseURL + `","StackId":"stack","RequestId":"1","LogicalResourceId":"FirstToken"}`
)

// credentialsPlaceholder, as an env value, stands for the credentials secret's id.
const credentialsPlaceholder = "{credentials}"

// matrixCase is one row of the matrix. The zero value of every field but
// name, area, want and sees means "no fault there, nothing more checked".
type matrixCase struct {
	name string
	// area is where the fault is: IMS, Secrets Manager, event, config or clock.
	area string

	// ims are answers queued at the token endpoint, one per request;
	// imsEvery answers every request after them.
	ims      []imsemu.Fault
	imsEvery *imsemu.Fault
	// redirect answers every token request with this redirect status,
	// pointing at another server, which must get no request.
	redirect int
	// tls serves the token endpoint over https with an untrusted certificate.
	tls bool
	// provider, if set, shapes every answer of the token endpoint as some
	// provider's (form-encoded, JWT tokens, no expires_in, another
	// lifetime); providerNote says how, for the table.
	provider     func(*imsemu.Config)
	providerNote string

	// sm, if set, is the Secrets Manager fault, at smAt, for the first
	// smTimes matching calls (0: every one).
	sm      *faultproxy.Fault
	smAt    call
	smTimes int

	// env overrides the function's environment; "" unsets a variable and
	// credentialsPlaceholder stands for the credentials secret's id.
	env map[string]string
	// stored is the token secret's value before the first run.
	stored stored
	// event is the payload; empty means a Scheduler event.
	event string
	// deliveries is how many times the event is delivered; 0 means 1.
	deliveries int

	// want is the outcome of each delivery.
	want []outcome
	// sees is what the operator sees: fragments, separated by " … ", that
	// appear in this order in the error or, for a run that succeeds, in
	// the log lines, rendered "LEVEL message: reason". Secret ids read
	// app/credentials and app/token, the token endpoint $TOKEN_URL.
	sees string
	// tokenRequests is how many requests the token endpoint must get in
	// all; 0 means not checked, none means zero.
	tokenRequests int
	// noRequest says no call at all may reach Secrets Manager or the token endpoint.
	noRequest bool
	// minTook is the least time the first delivery must take (Retry-After honoured).
	minTook time.Duration
	// fleet, if set, runs the function's own integration and added ones,
	// and aims the faults above at one of them (see fleet).
	fleet *fleet
	// native, if set, drives Secrets Manager's rotation protocol instead of
	// delivering the event: want then has one outcome per act (see protocol).
	native *protocol
	// reported, if set, is the status each delivery must report to the
	// ResponseURL of a custom-resource event (responseURL in event stands
	// for a server of the case's that records the reports).
	reported string

	// signing, if set, makes the integration a private_key_jwt client
	// whose assertions a KMS key signs (see pkjwtrig_test.go).
	signing *signing

	// clientSecret, if set, rotates the function's own credentials
	// secret's client secret instead of delivering the event: want then
	// has one outcome per act (see csRotation).
	clientSecret *csRotation

	// urlKey puts a key in TOKEN_URL's query, and in TEST_URL's when the
	// case sets one: ?key=<urlKey>, which must show nowhere.
	urlKey bool

	// stsDown, if set, is the status the STS stand-in (infra/local/stsemu)
	// answers every GetWebIdentityToken with; the case's credentials secret
	// then holds no client_secret, as aws_web_identity wants.
	stsDown int

	// gap, if set, says which invariant the production code breaks in this
	// case, and how. The case then passes only while the gap is there, so
	// that fixing it forces the mark, and the table, to be updated.
	gap string
}

// payload returns the case's event.
func (c matrixCase) payload() string {
	if c.event == "" {
		return scheduled
	}
	return c.event
}

// times returns how many deliveries the case makes; for a native case,
// how many acts.
func (c matrixCase) times() int {
	if c.native != nil {
		return len(c.native.acts)
	}
	if c.clientSecret != nil {
		return len(c.clientSecret.acts)
	}
	return max(c.deliveries, 1)
}

// injected describes the case's faults and setup for the table.
func (c matrixCase) injected() string {
	if c.clientSecret != nil {
		return c.clientSecret.describe()
	}
	var parts []string
	if c.native != nil {
		parts = append(parts, c.native.describe()...)
	}
	if c.fleet != nil {
		parts = append(parts, c.fleet.describe()...)
	}
	if c.signing != nil {
		parts = append(parts, c.signing.describe()...)
	}
	for _, name := range sortedKeys(c.env) {
		switch v := c.env[name]; v {
		case "":
			parts = append(parts, name+" unset")
		case credentialsPlaceholder:
			parts = append(parts, name+" = CREDENTIALS_SECRET_ID")
		default:
			parts = append(parts, fmt.Sprintf("%s=%s", name, strings.Trim(strconv.Quote(v), `"`)))
		}
	}
	if c.stored != storedOld {
		parts = append(parts, c.stored.String())
	}
	if c.event != "" {
		parts = append(parts, "event "+c.event)
	}
	if c.times() > 1 && c.native == nil {
		what := "the same Scheduler event"
		if c.event != "" {
			what = "the same event"
		}
		parts = append(parts, fmt.Sprintf("%s delivered %d times", what, c.times()))
	}
	if c.providerNote != "" {
		parts = append(parts, c.providerNote)
	}
	var ims []string
	for _, f := range c.ims {
		ims = append(ims, f.Name)
	}
	switch len(ims) {
	case 0:
	case 1:
		parts = append(parts, ims[0]+" to the first request"+c.atTarget())
	default:
		parts = append(parts, strings.Join(ims, ", then ")+fmt.Sprintf(" to the first %d requests", len(ims))+c.atTarget())
	}
	if c.imsEvery != nil {
		parts = append(parts, c.imsEvery.Name+" to every request"+c.atTarget())
	}
	if c.stsDown != 0 {
		parts = append(parts, fmt.Sprintf("credentials secret without client_secret, STS answering HTTP %d to every GetWebIdentityToken", c.stsDown))
	}
	if c.redirect != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d redirect to another host", c.redirect))
	}
	if c.tls {
		parts = append(parts, "TOKEN_URL https, certificate not trusted")
	}
	if c.urlKey {
		urls := "TOKEN_URL"
		if c.native != nil && c.native.testURL != nil {
			urls = "TOKEN_URL and TEST_URL"
		}
		parts = append(parts, urls+" with ?key=SENTINEL in the query")
	}
	if c.sm != nil {
		n := "every try"
		if c.smTimes == 1 {
			n = "the first try"
		} else if c.smTimes > 1 {
			n = fmt.Sprintf("the first %d tries", c.smTimes)
		}
		part := fmt.Sprintf("%s on %s of %s", c.sm, n, c.smAt)
		if c.fleet != nil && c.smAt != listIntegrations {
			part += " of " + c.fleet.target
		}
		if c.native != nil && c.native.at != "" {
			part += ", from " + c.native.at + " on"
		}
		parts = append(parts, part)
	}
	if c.native != nil {
		parts = append(parts, c.native.script())
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// atTarget says, for a fleet case, whose token endpoint the IMS faults hit.
func (c matrixCase) atTarget() string {
	if c.fleet == nil {
		return ""
	}
	return " at " + c.fleet.target + "'s token endpoint"
}

// expected renders want, and the gap if any, for the table.
func (c matrixCase) expected() string {
	out := outcomes(c.want)
	if c.native != nil {
		out = c.native.expected(c.want)
	}
	if c.clientSecret != nil {
		out = c.clientSecret.expected(c.want)
	}
	if c.fleet != nil {
		out = "run " + out + "; " + c.fleet.expected()
	}
	switch {
	case c.minTook > 0:
		out += fmt.Sprintf(", after at least %s", c.minTook)
	case c.noRequest:
		out += "; no request sent"
	case c.redirect != 0:
		out += "; the redirect target got no request"
	case c.tls:
		out += "; no token request sent"
	}
	if c.reported != "" {
		out += "; " + c.reported + " reported to CloudFormation"
	}
	if c.gap != "" {
		out += " — **invariant broken:** " + c.gap
	}
	return out
}

// outcomes renders one outcome per delivery.
func outcomes(want []outcome) string {
	var s []string
	for _, o := range want {
		s = append(s, string(o))
	}
	return strings.Join(s, ", then ")
}
