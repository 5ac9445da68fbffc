package faultmatrix

import (
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// malformedToken is the start of a token secret value cut short; it must
// appear nowhere.
const malformedToken = "SENTINEL-cut-token-0123456789"

// fleetCases are the rows of area "fleet": the function's own integration
// and added ones in one run, one of them broken, and what the others see
// of it (nothing).
func fleetCases() []matrixCase {
	one := []outcome{rotated}
	each := func(c matrixCase) matrixCase { c.area = "fleet"; return c }
	refusedSecret := func(m map[string]any) { m["client_secret"] = wrongSecret }
	plainHTTP := func(m map[string]any) {
		m[config.SettingKey(config.EnvTokenURL)] = "http://ims.example/ims/token/v3"
	}
	list := []matrixCase{
		{name: "old tokens, 5 integrations", want: one, sees: "INFO [acme] new token stored … INFO run finished",
			fleet: &fleet{size: 4, othersWant: one, othersRequests: 1}},
		{name: "duplicate delivery, 21 integrations", deliveries: 2, want: []outcome{rotated, noOp},
			sees:  "INFO run finished … INFO [team-20] token fresh, nothing written",
			fleet: &fleet{size: 20, othersWant: []outcome{rotated, noOp}, othersRequests: 1}},
		{name: "one integration's client secret wrong", want: []outcome{failed},
			sees: `1 of 5 integrations failed (4 rotated, 0 fresh; nothing was written for the failed ones); acme: fetching a token from $TOKEN_URL for client "faultmatrix-acme": token endpoint refused the request: HTTP 400: invalid_client`,
			fleet: &fleet{size: 4, target: "acme", note: "acme's credentials secret holds a client secret its provider refuses", credentials: refusedSecret,
				targetWant: []outcome{failed}, othersWant: one, targetRequests: 1, othersRequests: 1}},
		{name: "one credentials secret deleted", want: []outcome{failed},
			sees: `1 of 5 integrations failed … acme: reading credentials secret "app/acme/credentials": … ResourceNotFoundException`,
			fleet: &fleet{size: 4, target: "acme", note: "acme's credentials secret deleted", credentialsGone: "deleted",
				targetWant: []outcome{failed}, othersWant: one, targetRequests: none, othersRequests: 1}},
		{name: "one credentials secret scheduled for deletion", want: []outcome{failed},
			sees: `1 of 5 integrations failed … acme: reading credentials secret "app/acme/credentials": … InvalidRequestException`,
			fleet: &fleet{size: 4, target: "acme", note: "acme's credentials secret scheduled for deletion (7-day recovery window)", credentialsGone: "scheduled",
				targetWant: []outcome{failed}, othersWant: one, targetRequests: none, othersRequests: 1}},
		{name: "access denied on one credentials secret", want: []outcome{failed}, sm: ptr(faultproxy.AccessDenied()), smAt: readCredentials,
			sees:  `1 of 5 integrations failed … acme: reading credentials secret "app/acme/credentials": … AccessDeniedException`,
			fleet: &fleet{size: 4, target: "acme", targetWant: []outcome{failed}, othersWant: one, targetRequests: none, othersRequests: 1}},
		{name: "one stored token malformed", stored: storedFresh, want: one,
			sees: "INFO [acme] token fetched: the stored value is not a JSON object … INFO [acme] new token stored",
			fleet: &fleet{size: 4, target: "acme", note: "acme's token secret holds a value cut short", tokenValue: `{"access_token":"` + malformedToken,
				targetWant: one, othersWant: []outcome{noOp}, targetRequests: 1, othersRequests: none}},
		{name: "one integration just added", stored: storedFresh, want: one,
			sees: "INFO [acme] token fetched: the token secret holds no token yet (placeholder) … INFO [acme] new token stored",
			fleet: &fleet{size: 4, target: "acme", note: `acme's token secret holds "{}", as make integration-add leaves it`, tokenValue: "{}",
				targetWant: one, othersWant: []outcome{noOp}, targetRequests: 1, othersRequests: none}},
		{name: "one provider hangs past the integration's deadline", want: []outcome{failed}, imsEvery: ptr(named(imsemu.Hang(), "no answer")),
			sees:  "1 of 7 integrations failed (6 rotated, 0 fresh; nothing was written for the failed ones); acme: fetching a token from $ACME_TOKEN_URL … gave up (the next attempt, due in … would end after the deadline); last failure: token request timed out",
			fleet: &fleet{size: 6, target: "acme", concurrency: 3, integrationTimeout: 10 * time.Second, othersFirst: true, targetWant: []outcome{failed}, othersWant: one, targetRequests: 1, othersRequests: 1}},
		{name: "one provider answers 503 once", want: one, ims: []imsemu.Fault{named(imsemu.Status(503, ""), "HTTP 503")},
			sees:  "WARN [acme] token request failed, retrying … INFO [acme] new token stored",
			fleet: &fleet{size: 4, target: "acme", targetWant: []outcome{retried}, othersWant: one, targetRequests: 2, othersRequests: 1}},
		{name: "one token secret without the credentials tag", want: []outcome{failed},
			sees: `1 of 5 integrations failed … acme: token secret "app/integrations/acme" has no tokenrotator:credentials tag naming its credentials secret (make integration-add sets it)`,
			fleet: &fleet{size: 4, target: "acme", note: "acme's token secret lacks the tokenrotator:credentials tag", untagged: true,
				targetWant: []outcome{failed}, othersWant: one, targetRequests: none, othersRequests: 1}},
		{name: "token_url over plain http in one credentials secret", want: []outcome{failed},
			sees: `1 of 5 integrations failed … acme: credentials secret "app/acme/credentials": field "token_url" (TOKEN_URL for this integration): "http://ims.example/ims/token/v3": https is required`,
			fleet: &fleet{size: 4, target: "acme", note: `acme's credentials secret sets "token_url": "http://ims.example/ims/token/v3"`, credentials: plainHTTP,
				targetWant: []outcome{failed}, othersWant: one, targetRequests: none, othersRequests: 1}},
		{name: "token URL planted in tags and the token secret", want: one, sees: "INFO [acme] new token stored",
			fleet: &fleet{size: 4, target: "acme", planted: true,
				note:       "tokenrotator:token_url tags on acme's token and credentials secrets, and token_url in its token secret's value, name another server; its credentials secret sets none",
				targetWant: one, othersWant: one, targetRequests: 1, othersRequests: 1}},
		{name: "ListSecrets denied", want: []outcome{failed}, sm: ptr(faultproxy.AccessDenied()), smAt: listIntegrations,
			sees:  `finding the added integrations failed, so they were not run: listing the token secrets named "app/integrations/*": … AccessDeniedException`,
			fleet: &fleet{size: 4, target: "default", targetWant: one, othersWant: []outcome{notRun}, targetRequests: 1, othersRequests: none}},
		{name: "ListSecrets throttled once", want: one, sm: ptr(faultproxy.Throttling()), smAt: listIntegrations, smTimes: 1,
			sees:  "INFO run finished",
			fleet: &fleet{size: 4, othersWant: one, othersRequests: 1}},
		{name: "one integration's write throttled", want: []outcome{failed}, sm: ptr(faultproxy.Throttling()), smAt: writeToken,
			sees:  `1 of 5 integrations failed … acme: token fetched but not stored, the stored token is unchanged: writing token secret "app/integrations/acme": … ThrottlingException`,
			fleet: &fleet{size: 4, target: "acme", targetWant: []outcome{failed}, othersWant: one, targetRequests: 1, othersRequests: 1}},
		{name: "one integration's write throttled once", want: one, sm: ptr(faultproxy.Throttling()), smAt: writeToken, smTimes: 1,
			sees:  "INFO [acme] new token stored",
			fleet: &fleet{size: 4, target: "acme", targetWant: []outcome{retried}, othersWant: one, targetRequests: 1, othersRequests: 1}},
		{name: "second run after a partial failure", deliveries: 2, want: []outcome{failed, rotated},
			ims: []imsemu.Fault{named(imsemu.Status(401, ""), "HTTP 401")},
			// Only one integration's lines are in order: the integrations run at once.
			sees: `acme: fetching a token from $ACME_TOKEN_URL … HTTP 401 … INFO [acme] token fetched … INFO [acme] new token stored`,
			fleet: &fleet{size: 4, target: "acme", targetWant: []outcome{failed, rotated}, othersWant: []outcome{rotated, noOp},
				targetRequests: 2, othersRequests: 1}},
		{name: "one integration forced", stored: storedFresh, event: `{"force": true, "integration": "acme"}`, want: one,
			sees:  "INFO [acme] token fetched: forced … INFO [acme] new token stored",
			fleet: &fleet{size: 4, target: "acme", targetWant: one, othersWant: []outcome{notRun}, targetRequests: 1, othersRequests: none}},
		{name: "token_url in the event", stored: storedFresh, want: []outcome{failed}, noRequest: true,
			event: `{"force": true, "integration": "acme", "token_url": "https://elsewhere.example/steal"}`,
			sees:  "event has unknown field(s) token_url",
			fleet: &fleet{size: 4, target: "acme", othersWant: []outcome{notRun}, targetRequests: none, othersRequests: none}},
		{name: "two runs of 21 integrations at once", deliveries: 2, want: []outcome{rotated, rotated}, sees: "INFO run finished … INFO run finished",
			fleet: &fleet{size: 20, overlap: true}},

		// Identities: one secret, spelt two ways.
		{name: "a token secret planted on the function's own credentials", want: []outcome{failed},
			sees: `1 of 5 integrations failed (4 rotated, 0 fresh; nothing was written for the failed ones); acme: credentials secret "arn:` +
				` … :secret:app/credentials-` + ` … is the function's own integration's (default, CREDENTIALS_SECRET_ID): a credentials secret may back one integration only, so acme is not run`,
			fleet: &fleet{size: 4, target: "acme", ownCredentials: true,
				note:       "acme's token secret tagged with the ARN of the function's own credentials secret, which CREDENTIALS_SECRET_ID gives by name",
				targetWant: []outcome{failed}, othersWant: one, targetRequests: none, othersRequests: 1}},
	}
	for i := range list {
		list[i] = each(list[i])
	}
	return list
}

func ptr[T any](v T) *T { return &v }
