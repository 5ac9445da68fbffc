package faultmatrix

import (
	"fmt"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/integration"
)

// fleet is a case's integrations: the function's own (integration.DefaultName,
// configured by CREDENTIALS_SECRET_ID and TOKEN_SECRET_ID) and size added
// ones, found under INTEGRATION_SECRET_PREFIX as make integration-add leaves
// them: a credentials secret tagged with the stack, and a token secret
// created with "{}", tagged with the credentials secret's ARN, then holding
// a valid token (stored, as for the single-integration cases).
//
// Every integration has its own client at the provider. They all use the
// function's TOKEN_URL, except target when the case has IMS faults or a
// provider shape: target's credentials secret then names, in token_url, a
// token endpoint of its own that has them. The case's Secrets Manager fault
// hits target's secrets, or, at listIntegrations, the listing.
type fleet struct {
	// size is how many integrations are added; they are named from
	// fleetNames, then team-NN.
	size int
	// target is the integration the faults aim at; empty for none.
	target string
	// note says, for the table, what else is wrong with target.
	note string

	// credentials, if set, edits target's credentials secret value.
	credentials func(map[string]any)
	// tokenValue, if not empty, is target's token secret value instead of
	// a valid token.
	tokenValue string
	// untagged leaves the tokenrotator:credentials tag off target's token secret.
	untagged bool
	// credentialsGone deletes target's credentials secret after seeding:
	// "deleted" at once, "scheduled" with a recovery window.
	credentialsGone string
	// ownCredentials tags target's token secret with the ARN of the
	// function's own credentials secret, which CREDENTIALS_SECRET_ID gives
	// by name: a token secret planted to receive the stack's own tokens.
	ownCredentials bool
	// planted puts a token URL where only the credentials secret's value
	// may set one: tokenrotator:token_url tags on both of target's secrets
	// and a token_url field in its token secret's value. It names a server
	// that must get no request.
	planted bool

	// concurrency and integrationTimeout, if not zero, are the run's bounds
	// (rotation.Config), which rotation.NewHandler leaves at their defaults.
	concurrency        int
	integrationTimeout time.Duration
	// overlap delivers the case's events at once, each to its own handler,
	// as Lambda runs overlapping invocations in separate environments.
	overlap bool

	// targetWant and othersWant are target's and every other
	// integration's outcome in each delivery; nil checks none (overlap).
	targetWant, othersWant []outcome
	// targetRequests and othersRequests are how many token requests target
	// and each other integration make in all; 0 means not checked, none
	// means zero.
	targetRequests, othersRequests int
	// othersFirst says every other integration must be done before
	// target's failure is logged: a slow provider holds only its own slot.
	othersFirst bool
}

// fleetNames are the first added integrations' names.
var fleetNames = []string{"acme", "globex", "initech", "umbrella"}

// names returns the fleet's integrations, the function's own first.
func (f *fleet) names() []string {
	names := []string{integration.DefaultName}
	for i := range f.size {
		if i < len(fleetNames) {
			names = append(names, fleetNames[i])
		} else {
			names = append(names, fmt.Sprintf("team-%02d", i+1))
		}
	}
	return names
}

// want returns the outcome integration name must have in delivery i, and
// whether one is checked.
func (f *fleet) want(name string, i int) (outcome, bool) {
	w := f.othersWant
	if name == f.target && f.targetWant != nil {
		w = f.targetWant
	}
	if i >= len(w) {
		return "", false
	}
	return w[i], true
}

// describe is the fleet's part of the table's "injected fault" cell.
func (f *fleet) describe() []string {
	parts := []string{fmt.Sprintf("the function's own integration and %d added", f.size)}
	if f.concurrency > 0 {
		parts = append(parts, fmt.Sprintf("%d at once", f.concurrency))
	}
	if f.integrationTimeout > 0 {
		parts = append(parts, fmt.Sprintf("each within %s", f.integrationTimeout))
	}
	if f.overlap {
		parts = append(parts, "two invocations at once, each in its own environment")
	}
	if f.note != "" {
		parts = append(parts, f.note)
	}
	return parts
}

// expected is the fleet's part of the table's "outcome" cell.
func (f *fleet) expected() string {
	others := fmt.Sprintf("the other %d", f.size)
	if f.target == "" {
		others = fmt.Sprintf("all %d", f.size+1)
	}
	var s []string
	if f.target != "" && f.targetWant != nil {
		s = append(s, f.target+" "+outcomes(f.targetWant))
	}
	if f.othersWant != nil {
		s = append(s, others+" "+outcomes(f.othersWant))
	}
	if f.overlap {
		s = append(s, "each integration ends with a valid token, written at most twice")
	}
	if f.planted {
		s = append(s, "the planted URL got no request")
	}
	if f.othersFirst {
		s = append(s, fmt.Sprintf("%s done before %s gave up", others, f.target))
	}
	return strings.Join(s, ", ")
}
