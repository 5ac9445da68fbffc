package faultmatrix

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// What the operator sees in the log after a good run.
const (
	seesStored   = "INFO new token stored"
	seesRetrying = "WARN token request failed, retrying … INFO new token stored"
	seesFresh    = "INFO token fresh, nothing written"
)

// cases is the matrix: every row of the fault table in this package's README, in its order.
func cases() []matrixCase {
	var list []matrixCase
	add := func(c ...matrixCase) { list = append(list, c...) }

	// The runs without a fault, for reference.
	add(
		matrixCase{name: "normal run, old token", area: "event", want: []outcome{rotated}, sees: seesStored, tokenRequests: 1},
		matrixCase{name: "normal run, fresh token", area: "event", stored: storedFresh, want: []outcome{noOp}, sees: seesFresh, tokenRequests: none},
		matrixCase{name: "forced run, fresh token", area: "event", stored: storedFresh, event: forced, want: []outcome{rotated}, sees: seesStored, tokenRequests: 1},
		matrixCase{name: "duplicate delivery", area: "event", deliveries: 2, want: []outcome{rotated, noOp},
			sees: seesStored + " … " + seesFresh, tokenRequests: 1},
	)

	// IMS: each status once, with and without Retry-After, then a token.
	for _, code := range []int{400, 401, 403, 404, 408, 429, 500, 502, 503, 504} {
		for _, ra := range []string{"", "1"} {
			f := imsemu.Status(code, ra)
			f.Name = fmt.Sprintf("HTTP %d", code)
			name := fmt.Sprintf("HTTP %d", code)
			var minTook time.Duration
			if ra != "" {
				f.Name += " with Retry-After: " + ra
				name += " + Retry-After"
			}
			c := matrixCase{name: name, area: "IMS", ims: []imsemu.Fault{f}}
			if code == http.StatusTooManyRequests || code >= 500 {
				if ra != "" {
					minTook = time.Second
				}
				c.want, c.sees, c.tokenRequests, c.minTook = []outcome{retried}, seesRetrying, 2, minTook
			} else {
				c.want, c.tokenRequests = []outcome{failed}, 1
				c.sees = fmt.Sprintf("token endpoint refused the request: HTTP %d: invalid_request (emulated HTTP %d)", code, code)
			}
			add(c)
		}
	}
	every := func(f imsemu.Fault, name string) *imsemu.Fault { f.Name = name; return &f }
	add(
		matrixCase{name: "HTTP 503 forever", area: "IMS", imsEvery: every(imsemu.Status(503, ""), "HTTP 503"), want: []outcome{failed},
			sees: "token endpoint kept failing, gave up; last failure: token endpoint unavailable: HTTP 503: server_error … after 5 attempts", tokenRequests: 5},
		matrixCase{name: "HTTP 429, Retry-After past the deadline", area: "IMS", imsEvery: every(imsemu.Status(429, "120"), "HTTP 429 with Retry-After: 120"),
			want: []outcome{failed}, sees: "gave up (the next attempt, due in 2m0s, would end after the deadline)", tokenRequests: 1},
		matrixCase{name: "slow headers", area: "IMS", ims: []imsemu.Fault{named(imsemu.SlowHeaders(3*time.Second), "headers after 3 s")},
			want: []outcome{rotated}, sees: seesStored, tokenRequests: 1, minTook: 3 * time.Second},
		matrixCase{name: "slow body", area: "IMS", ims: []imsemu.Fault{named(imsemu.SlowBody(20*time.Millisecond), "body at 1 byte per 20 ms")},
			want: []outcome{rotated}, sees: seesStored, tokenRequests: 1, minTook: time.Second},
		matrixCase{name: "slow body past the deadline", area: "IMS", imsEvery: every(imsemu.SlowBody(300*time.Millisecond), "body at 1 byte per 300 ms"),
			want: []outcome{failed}, sees: "gave up (the next attempt, due in … would end after the deadline); last failure: token request timed out", tokenRequests: 1},
		matrixCase{name: "hang past the deadline", area: "IMS", imsEvery: every(imsemu.Hang(), "no answer"),
			want: []outcome{failed}, sees: "gave up (the next attempt, due in … would end after the deadline); last failure: token request timed out", tokenRequests: 1},
		matrixCase{name: "connection reset once", area: "IMS", ims: []imsemu.Fault{named(imsemu.ConnectionReset(), "TCP reset")},
			want: []outcome{retried}, sees: seesRetrying, tokenRequests: 2},
		matrixCase{name: "connection reset forever", area: "IMS", imsEvery: every(imsemu.ConnectionReset(), "TCP reset"),
			want: []outcome{failed}, sees: "gave up; last failure: token request failed", tokenRequests: 5},
		matrixCase{name: "untrusted certificate", area: "IMS", tls: true, want: []outcome{failed},
			sees: "token endpoint's TLS certificate is not trusted", tokenRequests: none},
		matrixCase{name: "redirect 307", area: "IMS", redirect: http.StatusTemporaryRedirect, want: []outcome{failed},
			sees: "redirect refused: token endpoint redirected to https://elsewhere.example/steal; the credentials are only ever sent to TOKEN_URL", tokenRequests: none},
		matrixCase{name: "redirect 302", area: "IMS", redirect: http.StatusFound, want: []outcome{failed},
			sees: "redirect refused: token endpoint redirected to", tokenRequests: none},
	)

	// IMS: every malformed answer, once; none is retried.
	body := func(name, b string) imsemu.Fault {
		return imsemu.Fault{Name: name, Status: http.StatusOK, Body: []byte(b)}
	}
	const tok = `"access_token":"SENTINEL-malformed-token-0123456789"`
	for _, m := range []struct {
		name  string
		fault imsemu.Fault
		sees  string
	}{
		{"not JSON", named(imsemu.NotJSON(), "200 with an HTML page"), "token response refused: HTTP 200: cannot parse json"},
		{"no access_token", named(imsemu.NoAccessToken(), "200 without access_token"), "token response refused: HTTP 200: server response missing access_token"},
		{"blank access_token", body("200 with access_token \"  \"", `{"access_token":"  ","token_type":"bearer","expires_in":86399}`), "token response refused: access_token is empty"},
		{"error in a 200", named(imsemu.ErrorIn200(), "200 with an OAuth error body"), "token response refused: it carries an OAuth error: HTTP 200: server_error"},
		{"no expires_in", named(imsemu.NoExpiresIn(), "200 without expires_in, opaque token"), "token response refused: the answer has no expires_in and the access token is not a JWT with exp; set TOKEN_LIFETIME"},
		{"expires_in 0", named(imsemu.ZeroExpiresIn(), "200 with expires_in 0"), "token response refused: expires_in is 0"},
		{"expires_in negative", body("200 with expires_in -5", `{`+tok+`,"token_type":"bearer","expires_in":-5}`), "token response refused: expires_in is -5"},
		{"expires_in a fraction", body("200 with expires_in 1.5", `{`+tok+`,"token_type":"bearer","expires_in":1.5}`), "token response refused: HTTP 200: cannot parse json"},
		{"token_type mac", named(imsemu.TokenType("mac"), "200 with token_type mac"), `token response refused: token_type is "mac", want bearer`},
		{"no token_type", body("200 without token_type", `{`+tok+`,"expires_in":86399}`), "token response refused: token_type is missing, want bearer"},
		{"body of 4 MB", named(imsemu.HugeBody(4<<20), "200 of 4 MB"), "token response refused: body larger than 65536 bytes"},
	} {
		add(matrixCase{name: "malformed: " + m.name, area: "IMS", ims: []imsemu.Fault{m.fault}, want: []outcome{failed}, sees: m.sees, tokenRequests: 1})
	}

	// IMS: a gateway that echoes the refused request, client secret and
	// all (clientSecret holds + / = %, a space and non-ASCII, so every
	// form differs), and a key in TOKEN_URL's query: none shows anywhere.
	echo := func(status int) imsemu.Fault {
		return named(imsemu.EchoRequest(status), fmt.Sprintf("HTTP %d whose error_description echoes the request (body and headers)", status))
	}
	add(
		matrixCase{name: "gateway echoes the request, body auth", area: "IMS", ims: []imsemu.Fault{echo(400)}, want: []outcome{failed},
			sees: "token endpoint refused the request: HTTP 400: invalid_request (POST /ims/token/v3 body client_id=faultmatrix-client&client_secret=[REDACTED]&grant_type=client_credentials", tokenRequests: 1},
		matrixCase{name: "gateway echoes the request, basic auth", area: "IMS", env: map[string]string{config.EnvTokenAuth: "basic"},
			ims: []imsemu.Fault{echo(401)}, want: []outcome{failed},
			sees: "token endpoint refused the request: HTTP 401: invalid_request (POST /ims/token/v3 body grant_type=client_credentials … headers … Authorization: Basic [REDACTED];", tokenRequests: 1},
		matrixCase{name: "TOKEN_URL with a key in its query, HTTP 400", area: "IMS", urlKey: true, ims: []imsemu.Fault{named(imsemu.Status(400, ""), "HTTP 400")},
			want: []outcome{failed}, sees: `fetching a token from $TOKEN_URL for client "faultmatrix-client": token endpoint refused the request: HTTP 400`, tokenRequests: 1},
	)

	// Providers: the answer shapes and lifetimes of providers other than IMS.
	jwtNoExpiresIn := func(c *imsemu.Config) {
		c.Profile, _ = imsemu.ProfileNamed("ims")
		c.Profile.JWT, c.OmitExpiresIn = true, true
	}
	add(
		matrixCase{name: "form-encoded answer", area: "provider", provider: func(c *imsemu.Config) { c.FormAnswer = true },
			providerNote: "every answer form-encoded (expires_in=86399)", want: []outcome{rotated}, sees: seesStored, tokenRequests: 1},
		matrixCase{name: "JWT without expires_in", area: "provider", provider: jwtNoExpiresIn,
			providerNote: "JWT access tokens with exp, no expires_in", want: []outcome{rotated}, sees: seesStored, tokenRequests: 1},
		matrixCase{name: "opaque token without expires_in, TOKEN_LIFETIME set", area: "provider", env: map[string]string{config.EnvTokenLifetime: "2h"},
			provider: func(c *imsemu.Config) { c.OmitExpiresIn = true }, providerNote: "opaque tokens, no expires_in",
			want: []outcome{rotated}, sees: seesStored, tokenRequests: 1},
		matrixCase{name: "opaque token without expires_in", area: "provider",
			provider: func(c *imsemu.Config) { c.OmitExpiresIn = true }, providerNote: "opaque tokens, no expires_in", want: []outcome{failed},
			sees: "token response refused: the answer has no expires_in and the access token is not a JWT with exp; set TOKEN_LIFETIME … or have the provider send expires_in", tokenRequests: 1},
		matrixCase{name: "10-minute token", area: "provider", provider: func(c *imsemu.Config) { c.ExpiresIn = 600 },
			providerNote: "expires_in 600", want: []outcome{failed},
			sees: "token response refused: the token lives 10m0s (from expires_in), less than the 20m0s this rotator keeps fresh", tokenRequests: 1},
		matrixCase{name: "Entra-style 429, plain text, Retry-After: 60", area: "provider", ims: []imsemu.Fault{named(imsemu.EntraThrottled(), "HTTP 429, text/plain \"Too Many Requests\", Retry-After: 60")},
			want: []outcome{failed}, sees: "gave up (the next attempt, due in 1m0s, would end after the deadline); last failure: token endpoint unavailable: HTTP 429",
			tokenRequests: 1},
		matrixCase{name: "TOKEN_PARAMS changed since the stored token", area: "provider", stored: storedFresh,
			env: map[string]string{config.EnvTokenParams: "audience=https://api.example.com/"}, want: []outcome{rotated},
			sees: `INFO token fetched: the stored token was made with token parameters "", TOKEN_PARAMS is "audience=https%3A%2F%2Fapi.example.com%2F" … ` + seesStored, tokenRequests: 1},
	)

	// Client authentication (auth): what the user sees when what authenticates the client fails.
	add(
		matrixCase{name: "STS unavailable (aws_web_identity)", area: "auth", stsDown: http.StatusServiceUnavailable,
			env: map[string]string{config.EnvTokenAuth: "aws_web_identity"}, want: []outcome{failed}, tokenRequests: none,
			sees: `token request not sent: fetching the web identity token: sts:GetWebIdentityToken (audience "api://AzureADTokenExchange", RS256): HTTP 503 ServiceUnavailable: Service is unable to handle request. (after 3 attempts)`},
	)

	// Secrets Manager: each error, and a timeout, at each call, every time.
	for _, f := range []faultproxy.Fault{
		faultproxy.Throttling(), faultproxy.InternalServiceError(), faultproxy.AccessDenied(),
		faultproxy.ResourceNotFound(), faultproxy.DecryptionFailure(), faultproxy.Timeout(),
	} {
		for _, at := range []call{readCredentials, readToken, writeToken} {
			add(smCase(f, at, 0))
		}
	}
	// Secrets Manager: a transient fault at each call, which the SDK retries.
	for _, f := range []faultproxy.Fault{faultproxy.Throttling(), faultproxy.InternalServiceError(), faultproxy.Timeout()} {
		for _, at := range []call{readCredentials, readToken, writeToken} {
			add(smCase(f, at, 1))
		}
	}

	// A "no value" answer to the token read is taken for a secret without
	// a value yet (secretstore.ReadToken): even a fresh token is replaced.
	nf := smCase(faultproxy.ResourceNotFound(), readToken, 0)
	nf.name, nf.stored, nf.tokenRequests = nf.name+", fresh token", storedFresh, 1
	add(nf)

	// Configuration: every variable invalid in turn.
	for _, v := range []struct {
		name, value, sees string
	}{
		{config.EnvCredentialsSecretID, "", "CREDENTIALS_SECRET_ID: required"},
		{config.EnvTokenSecretID, "", "TOKEN_SECRET_ID: required"},
		{config.EnvTokenSecretID, credentialsPlaceholder, "TOKEN_SECRET_ID: must name another secret than CREDENTIALS_SECRET_ID"},
		{config.EnvTokenURL, "http://ims.example/ims/token/v3", `TOKEN_URL: "http://ims.example/ims/token/v3": https is required`},
		{config.EnvTokenURL, "ims-na1.adobelogin.com/ims/token/v3", "TOKEN_URL: \"ims-na1.adobelogin.com/ims/token/v3\" is not an absolute URL with a host"},
		{config.EnvScope, "openid\nAdobeID", "SCOPE: must not contain control characters"},
		{config.EnvTokenAuth, "digest", `TOKEN_AUTH: "digest" is not one of "body", "basic", "private_key_jwt" or "aws_web_identity"`},
		{config.EnvMinTokenAge, "soon", `MIN_TOKEN_AGE: "soon" is not a Go duration`},
		{config.EnvMinTokenAge, "0s", `MIN_TOKEN_AGE: "0s" must be above zero`},
		{config.EnvTokenParams, "audience=a&client_secret=x", `TOKEN_PARAMS: must not set "client_secret"`},
		{config.EnvTokenParams, "audience=a%0Ab", `TOKEN_PARAMS: field "audience" must not contain control characters once decoded`},
		{config.EnvTokenLifetime, "10m", `TOKEN_LIFETIME: "10m" is outside 20m0s to 168h0m0s`},
		{config.EnvTestURL, "http://api.example.com/me", `TEST_URL: "http://api.example.com/me": https is required`},
		{config.EnvSigningKey, "my-key", `SIGNING_KEY: "my-key" is not the ARN of a KMS key or alias`},
		{config.EnvSigningAlg, "HS256", `SIGNING_ALG: "HS256" is not one of "RS256" or "PS256"`},
		{config.EnvSigningKeyID, "a\nb", `SIGNING_KEY_ID: must not contain control characters`},
		{config.EnvSigningCertSHA256, "zz", `SIGNING_CERT_SHA256: "zz" is not a thumbprint of 32 bytes in hex`},
		{config.EnvSigningCertSHA1, "abc", `SIGNING_CERT_SHA1: "abc" is not a thumbprint of 20 bytes in hex`},
		{config.EnvWebIdentityAudience, "a\nb", `WEB_IDENTITY_AUDIENCE: must not contain control characters`},
		{config.EnvWebIdentityAlg, "PS256", `WEB_IDENTITY_ALG: "PS256" is not one of "RS256" or "ES384", the algorithms STS signs with`},
		{config.EnvClientSecretRotation, "okta", `CLIENT_SECRET_ROTATION: "okta" is not "adobe" or "none" (or empty, for none)`},
		{config.EnvManagementURL, "http://api.adobe.io", `MANAGEMENT_URL: "http://api.adobe.io": https is required`},
		{config.EnvIntegration, "Acme", `INTEGRATION: integration name "Acme" is not valid`},
		{config.EnvIntegrationSecretPrefix, "app-integrations", `INTEGRATION_SECRET_PREFIX: "app-integrations" must be a secret name prefix ending in /`},
	} {
		name := fmt.Sprintf("%s %q", v.name, v.value)
		if v.value == "" {
			name = v.name + " unset"
		} else if v.value == credentialsPlaceholder {
			name = v.name + " = credentials"
		}
		add(matrixCase{name: name, area: "config", env: map[string]string{v.name: v.value},
			want: []outcome{failed}, sees: "invalid configuration: " + v.sees, noRequest: true})
	}
	// Identities: a secret named by ARN is checked as its name is.
	add(matrixCase{name: "TOKEN_SECRET_ID an ARN under INTEGRATION_SECRET_PREFIX", area: "config",
		env: map[string]string{config.EnvIntegrationSecretPrefix: "app/integrations/",
			config.EnvTokenSecretID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/integrations/acme-AbCdEf"},
		want: []outcome{failed}, noRequest: true,
		sees: `invalid configuration: TOKEN_SECRET_ID: must not name a secret under INTEGRATION_SECRET_PREFIX "app/integrations/" (by name or ARN)`})

	// The old name of MIN_TOKEN_AGE is still read: a 2-hour-old token is
	// left alone under REFRESH_AFTER=48h (a quarter of its 24 hours, 6 h,
	// comes first) as under MIN_TOKEN_AGE; two names that disagree are
	// refused.
	add(
		matrixCase{name: "REFRESH_AFTER, MIN_TOKEN_AGE's old name", area: "config", env: map[string]string{config.EnvRefreshAfter: "48h"},
			want: []outcome{noOp}, sees: "WARN deprecated setting … " + seesFresh, tokenRequests: none},
		matrixCase{name: "REFRESH_AFTER and MIN_TOKEN_AGE disagree", area: "config", env: map[string]string{config.EnvRefreshAfter: "2h", config.EnvMinTokenAge: "3h"},
			want: []outcome{failed}, noRequest: true,
			sees: `invalid configuration: REFRESH_AFTER: "2h" and MIN_TOKEN_AGE "3h" are both set: REFRESH_AFTER is MIN_TOKEN_AGE's deprecated name; set MIN_TOKEN_AGE only`},
	)

	// Clock.
	add(
		matrixCase{name: "stored token expired", area: "clock", stored: storedExpired, env: map[string]string{config.EnvMinTokenAge: "48h"},
			want: []outcome{rotated}, sees: "INFO token fetched: the stored token expired at … " + seesStored, tokenRequests: 1},
		matrixCase{name: "issued_at in the future", area: "clock", stored: storedFuture,
			want: []outcome{rotated}, sees: "INFO token fetched: the stored issued_at … is more than 5m0s in the future (clock skew) … " + seesStored, tokenRequests: 1},
		matrixCase{name: "expires_in absurd", area: "clock",
			ims:  []imsemu.Fault{body("200 with expires_in 99999999999", `{`+tok+`,"token_type":"bearer","expires_in":99999999999}`)},
			want: []outcome{failed}, sees: "token response refused: expires_in is 99999999999 s, more than the 168h0m0s this rotator accepts", tokenRequests: 1},
	)

	// private_key_jwt: KMS, the provider's checks of the assertion, the credentials secret.
	add(pkjwtCases()...)

	// CloudFormation: the custom resource FirstToken, at deploy.
	add(matrixCase{name: "FirstToken: AccessDenied twice at the credentials read", area: "CloudFormation",
		event: cfnCreate, sm: ptr(faultproxy.AccessDenied()), smAt: readCredentials, smTimes: 2,
		want: []outcome{retried}, reported: "SUCCESS", tokenRequests: 1, minTook: 3 * time.Second,
		sees: "WARN custom resource: Secrets Manager denied access, retrying … WARN custom resource: Secrets Manager denied access, retrying … " +
			seesStored + " … INFO custom resource: reported SUCCESS"})

	// Fleets: the function's own integration and added ones, one broken.
	add(fleetCases()...)

	// Secrets Manager's rotation protocol: the four steps, their faults and refusals.
	add(nativeCases()...)

	// The client-secret rotation: the four steps on the credentials secret, at Adobe's management API.
	add(clientSecretCases()...)
	return list
}

// smCase is a Secrets Manager fault at one call, for the first times
// tries (0: every try).
func smCase(f faultproxy.Fault, at call, times int) matrixCase {
	short := map[call]string{readCredentials: "credentials read", readToken: "token read", writeToken: "write"}[at]
	label := strings.TrimSuffix(f.Type, "Exception")
	if f.Timeout {
		label = "timeout"
	}
	c := matrixCase{name: fmt.Sprintf("%s at the %s", label, short), area: "Secrets Manager", sm: &f, smAt: at, smTimes: times}
	if times > 0 {
		c.name = fmt.Sprintf("%s once at the %s", label, short)
	}
	prefix := map[call]string{
		readCredentials: `reading credentials secret "app/credentials": `,
		readToken:       `reading token secret "app/token": `,
		writeToken:      `token fetched but not stored, the stored token is unchanged: writing token secret "app/token": `,
	}[at]
	switch {
	case f.Timeout && times == 0:
		// Each attempt is bounded (rotation.SecretsManagerAttemptTimeout)
		// and each call, the SDK's retries included, too
		// (secretstore.CallTimeout): a call that never answers fails the run
		// in time, while one lost answer is retried.
		c.want, c.sees = []outcome{failed}, prefix+"no answer from Secrets Manager in time"
	case times > 0:
		c.want, c.sees = []outcome{retried}, seesStored
	case f.Type == "ResourceNotFoundException" && at == readToken:
		c.want, c.sees = []outcome{rotated}, "INFO token fetched: the token secret has no value yet … "+seesStored
	case f.Type == "ThrottlingException" || f.Type == "InternalServiceError":
		c.want, c.sees = []outcome{failed}, prefix+"… exceeded maximum number of attempts, 3, … "+f.Type+": "+f.Message
	default:
		c.want, c.sees = []outcome{failed}, prefix+"… "+f.Type+": "+f.Message
	}
	if at == readCredentials && times == 0 {
		c.tokenRequests = none
	}
	return c
}

// named renames a fault for the table.
func named(f imsemu.Fault, name string) imsemu.Fault {
	f.Name = name
	return f
}
