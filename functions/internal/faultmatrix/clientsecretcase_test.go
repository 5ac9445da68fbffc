package faultmatrix

import (
	"fmt"
	"strings"

	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// retired is a client-secret act that removed an old client secret at the
// provider and moved nothing.
const retired outcome = "old client secret removed"

// csRotation is a case of area "client-secret rotation": Secrets Manager's
// rotation service (infra/local/rotationservice) begins a rotation of the
// function's own credentials secret, whose integration has
// CLIENT_SECRET_ROTATION=adobe and the IMS emulator's management calls at
// MANAGEMENT_URL, and the acts deliver its steps, or the retire events, to
// the handler (see clientsecretrig_test.go). The faults apply from the
// first delivery of at on.
type csRotation struct {
	acts []csAct
	// noUUID seeds the credentials without client_secret_uuid, as a user
	// creates them before a first rotation; noOrgID without org_id.
	noUUID, noOrgID bool
	// other registers a second client secret at the provider before the case.
	other bool
	// mgmt are answers queued for the management calls, one per matching call.
	mgmt []imsemu.ManagementFault
	// mgmtEvery answers every matching management call.
	mgmtEvery *imsemu.ManagementFault
	// token are answers queued at the token endpoint, one per request.
	token []imsemu.Fault
	// sm is a fault on the credentials secret's calls (a ListSecrets
	// rule names no secret).
	sm *faultproxy.Rule
	// at is the step from whose first delivery the faults apply; empty:
	// from the first act.
	at string
	// after is the secrets at the provider and the credentials secret's
	// stages once the acts are done, as csState renders them.
	after string
}

// csActKind is what a client-secret act delivers.
type csActKind int

const (
	// csRotate delivers the four steps in order, stopping at the first
	// that fails; again, it is Secrets Manager's retry with the same version.
	csRotate csActKind = iota
	// csTogether delivers the steps before one once each, then that
	// one twice at once.
	csTogether
	// csRetire delivers {"client_secrets": "retire"}, the scheduled check.
	csRetire
	// csRetireNow delivers the operator's {"client_secrets": "retire-now"}.
	csRetireNow
)

// csAct is one thing Secrets Manager, the schedule or the operator does.
type csAct struct {
	kind csActKind
	// step is a csTogether act's step; twice, in a csRotate act, a step
	// delivered again right after it succeeds.
	step, twice string
	// wait waits csBound first: the orphan age and the switch grace.
	wait bool
	// oldUsed: another system mints a token with the old client secret,
	// during finishSecret's retirement (after the switch, within the
	// grace) in a csRotate act, or just before the act otherwise.
	oldUsed bool
}

func (a csAct) describe(first bool) string {
	var s string
	switch a.kind {
	case csRotate:
		s = "the four steps"
		if !first {
			s = "Secrets Manager's retry, the four steps again"
		}
		if a.twice != "" {
			s += ", " + a.twice + " delivered twice"
		}
		if a.oldUsed {
			s += "; another system mints a token with the old client secret during finishSecret"
		}
	case csTogether:
		s = "two " + a.step + " at once"
		if a.step != "createSecret" {
			s = "the steps before it, then two " + a.step + " at once"
		}
	case csRetire:
		s = `the scheduled check {"client_secrets": "retire"}`
		if a.oldUsed {
			s = "another system mints a token with the old client secret; then " + s
		}
	case csRetireNow:
		s = `the operator's {"client_secrets": "retire-now", "integration": "default"}`
	}
	if a.wait {
		s = "after the orphan age and the switch grace, " + s
	}
	return s
}

// describe is the table's "injected fault" cell.
func (p *csRotation) describe() string {
	parts := []string{"CLIENT_SECRET_ROTATION=adobe; the credentials secret names org_id, credential_id and the client secret's uuid"}
	switch {
	case p.noOrgID:
		parts[0] = "CLIENT_SECRET_ROTATION=adobe; the credentials secret lacks org_id"
	case p.noUUID:
		parts[0] = "CLIENT_SECRET_ROTATION=adobe; the credentials secret names no client_secret_uuid"
	}
	if p.other {
		parts = append(parts, "a second client secret at the provider")
	}
	var faults []string
	for _, f := range p.mgmt {
		faults = append(faults, mgmtFaultName(f)+" to the first "+mgmtCall(f.Method))
	}
	if p.mgmtEvery != nil {
		faults = append(faults, mgmtFaultName(*p.mgmtEvery)+" to every "+mgmtCall(p.mgmtEvery.Method))
	}
	for _, f := range p.token {
		faults = append(faults, f.Name+" to the first token request")
	}
	if p.sm != nil {
		n := "every try"
		if p.sm.Times == 1 {
			n = "the first try"
		} else if p.sm.Times > 1 {
			n = fmt.Sprintf("the first %d tries", p.sm.Times)
		}
		faults = append(faults, fmt.Sprintf("%s on %s of %s", p.sm.Fault, n, strings.TrimPrefix(p.sm.Target, "secretsmanager.")))
	}
	if len(faults) > 0 {
		s := strings.Join(faults, "; ")
		if p.at != "" {
			s += ", from " + p.at + " on"
		}
		parts = append(parts, s)
	}
	var acts []string
	for i, a := range p.acts {
		acts = append(acts, a.describe(i == 0 || p.acts[i-1].kind != csRotate))
	}
	return strings.Join(append(parts, "delivered: "+strings.Join(acts, "; then ")), "; ")
}

// expected is the table's outcome cell: one outcome per act, then the
// secrets and stages afterwards.
func (p *csRotation) expected(want []outcome) string {
	var s []string
	for i, o := range want {
		if p.acts[i].kind == csTogether && o != failed {
			o = "one of the two " + o
		}
		s = append(s, string(o))
	}
	return strings.Join(s, ", then ") + "; afterwards " + p.after
}

func mgmtFaultName(f imsemu.ManagementFault) string {
	if f.CarriedOut {
		return "carried out, then " + f.Fault.Name
	}
	return f.Fault.Name
}

func mgmtCall(method string) string {
	switch method {
	case "GET":
		return "list (GET)"
	case "POST":
		return "add (POST)"
	case "DELETE":
		return "removal (DELETE)"
	}
	return "management call"
}
