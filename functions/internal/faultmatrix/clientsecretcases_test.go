package faultmatrix

import (
	"net/http"

	"github.com/tokenrotator/tokenrotator/functions/internal/event"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// What the operator sees of a client-secret rotation that finished.
const (
	seesCSCreated  = "INFO createSecret: new client secret stored as AWSPENDING"
	seesCSTested   = "INFO testSecret: the pending client secret mints a token (not kept)"
	seesCSFinished = "INFO finishSecret: the new client secret is AWSCURRENT"
	seesCSRetired  = "INFO client secrets: retired an old client secret, unused since the switch … INFO client secrets: retirement done, only the current client secret is left"
	seesCSRotation = seesCSCreated + " … " + seesCSTested + " … " + seesCSFinished + " … " + seesCSRetired
	// The secrets at the provider and the stages after a rotation, and
	// after one that stopped before finishSecret.
	csRotated   = "Adobe: new | $OLD AWSPREVIOUS, $VERSION AWSCURRENT"
	csUntouched = "Adobe: old | $OLD AWSCURRENT, $VERSION AWSPENDING"
	csStaged    = "Adobe: old, new | $OLD AWSCURRENT, $VERSION AWSPENDING"
	csKept      = "Adobe: old, new | $OLD AWSPREVIOUS, $VERSION AWSCURRENT"
)

// clientSecretCases are the rows of area "client-secret rotation": the
// four steps rotating the function's own client secret at the IMS
// emulator's management API, each call failing at the provider and at
// Secrets Manager (a lost answer too), steps delivered twice and at once,
// the refusals, a credential another system shares, and the operator's
// retire-now.
func clientSecretCases() []matrixCase {
	var list []matrixCase
	add := func(name string, p *csRotation, want []outcome, sees string) {
		list = append(list, matrixCase{name: name, area: "client-secret rotation", clientSecret: p, want: want, sees: sees})
	}
	one := []csAct{{}}
	retry := []csAct{{}, {}}
	again := []csAct{{}, {wait: true}} // the retry after the orphan age
	onceThenRotated := []outcome{failed, rotated}
	mgmt := func(method, name string, status int) imsemu.ManagementFault {
		return imsemu.ManagementFault{Method: method, Fault: named(imsemu.Status(status, ""), name)}
	}
	smOnce := func(target string, f faultproxy.Fault) *faultproxy.Rule {
		return &faultproxy.Rule{Target: target, Fault: f, Times: 1}
	}

	add("client secret rotated", &csRotation{acts: one, after: csRotated}, []outcome{rotated}, seesCSRotation)
	add("client secret rotated, first rotation: no client_secret_uuid yet", &csRotation{acts: one, noUUID: true, after: csRotated},
		[]outcome{rotated}, seesCSRotation)

	// The provider.
	add("Adobe refuses the list", &csRotation{acts: retry, mgmtEvery: ptr(mgmt(http.MethodGet, "HTTP 403", 403)), after: csUntouched},
		[]outcome{failed, failed}, "createSecret: adobe management API: listing client secrets: refused: HTTP 403")
	add("Adobe refuses the add once", &csRotation{acts: retry, mgmt: []imsemu.ManagementFault{mgmt(http.MethodPost, "HTTP 503", 503)}, after: csRotated},
		onceThenRotated, "createSecret: adobe management API: adding a client secret: unavailable: HTTP 503: the add's outcome is unknown; list the secrets again before adding … "+seesCSRotation)
	add("Adobe's answer to the add lost", &csRotation{acts: again, after: csRotated, mgmt: []imsemu.ManagementFault{
		{Method: http.MethodPost, Fault: imsemu.Fault{Name: "connection reset", Reset: true}, CarriedOut: true}}},
		onceThenRotated, "createSecret: … (the retry lists the secrets again and removes the orphan) … INFO createSecret: removed an orphan client secret … "+seesCSRotation)
	add("testSecret: the pending secret does not mint", &csRotation{acts: retry, at: event.StepTest, after: csRotated,
		token: []imsemu.Fault{named(imsemu.Status(401, ""), "HTTP 401")}},
		onceThenRotated, "testSecret: minting a token with the pending client secret \"$NEW_UUID\" at $TOKEN_URL: … AWSCURRENT stays")
	add("Adobe refuses the old secret's removal", &csRotation{acts: []csAct{{}, {kind: csRetire}}, after: csRotated,
		mgmt: []imsemu.ManagementFault{mgmt(http.MethodDelete, "HTTP 403", 403)}},
		[]outcome{failed, retired}, "retiring the old client secret: adobe management API: removing client secret $OLD_UUID: refused: HTTP 403 … "+seesCSRetired)

	// Secrets Manager.
	add("PutSecretValue refused", &csRotation{acts: retry, sm: smOnce(faultproxy.PutSecretValue, faultproxy.AccessDenied()), after: csRotated},
		onceThenRotated, "createSecret: client secret added but not stored: … AccessDeniedException … (client secret \"$ADDED_UUID\", just added, removed again)")
	add("PutSecretValue's answer lost", &csRotation{acts: one, sm: smOnce(faultproxy.PutSecretValue, faultproxy.LostAnswer()), after: csRotated},
		[]outcome{rotated}, seesCSCreated+" … "+seesCSFinished)
	add("the switch tag refused", &csRotation{acts: retry, at: event.StepFinish, sm: smOnce(faultproxy.TagResource, faultproxy.AccessDenied()), after: csRotated},
		onceThenRotated, "finishSecret: marking the switch before it: … AccessDeniedException … AWSCURRENT stays")
	add("the stage move refused", &csRotation{acts: retry, at: event.StepFinish, sm: smOnce(faultproxy.UpdateSecretVersionStage, faultproxy.AccessDenied()), after: csRotated},
		onceThenRotated, "finishSecret: … AccessDeniedException")
	add("the stage move's answer lost", &csRotation{acts: one, at: event.StepFinish, sm: smOnce(faultproxy.UpdateSecretVersionStage, faultproxy.LostAnswer()), after: csRotated},
		[]outcome{rotated}, "INFO finishSecret: the move of AWSCURRENT answered an error, yet the version is AWSCURRENT (a lost answer, or a concurrent delivery) … "+seesCSRetired)

	// Deliveries.
	add("client secret: createSecret delivered twice", &csRotation{acts: []csAct{{twice: event.StepCreate}}, after: csRotated},
		[]outcome{rotated}, "createSecret: the pending version already holds a new client secret: nothing added")
	add("client secret: two createSecret at once", &csRotation{acts: []csAct{{kind: csTogether, step: event.StepCreate}, {}}, after: csRotated},
		[]outcome{staged, rotated}, seesCSCreated+" … INFO createSecret: the pending version already holds a new client secret, nothing added … "+seesCSFinished)
	add("client secret: two finishSecret at once", &csRotation{acts: []csAct{{kind: csTogether, step: event.StepFinish}}, after: csRotated},
		[]outcome{rotated}, seesCSFinished+" … "+seesCSRetired)

	// Refusals: nothing is added.
	add("two secrets at Adobe, no client_secret_uuid", &csRotation{acts: one, noUUID: true, other: true, after: "Adobe: old, other | $OLD AWSCURRENT, $VERSION AWSPENDING"},
		[]outcome{failed}, "createSecret: nothing added: … set client_secret_uuid … delete the other secret in the Adobe Developer Console")
	add("org_id missing", &csRotation{acts: one, noOrgID: true, after: csUntouched},
		[]outcome{failed}, `createSecret: credentials secret "app/credentials", version "$OLD" (AWSCURRENT): field "org_id" is missing: the client-secret rotation needs it`)

	// Another system shares the credential; the operator's retire-now.
	add("the old secret used after the switch by another system", &csRotation{acts: []csAct{{oldUsed: true}, {kind: csRetire, wait: true, oldUsed: true}}, after: csKept},
		[]outcome{rotated, failed}, "finishSecret: the old client secret is kept until the next check: used within the grace after the switch … "+
			`another system shares the credential; it is kept: move that system to the current secret, then delete "$OLD_UUID" in the Adobe Developer Console`)
	add("retire-now after a leak", &csRotation{acts: []csAct{{oldUsed: true}, {kind: csRetireNow}}, after: csRotated},
		[]outcome{rotated, retired}, "removed 1 client secret(s); only the current one is left")
	return list
}
