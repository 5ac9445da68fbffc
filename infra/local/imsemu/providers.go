package imsemu

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// dialect is how one provider words its refusals and lays out its answers.
type dialect struct {
	// refuse words a refusal; nil means imsRefusal.
	refuse func(refusalCase) refusal
	// errorBody lays out a refusal; nil means oauthErrorBody.
	errorBody func(r refusal, debugID string, now time.Time) []field
	// answer lays out a token answer.
	answer func(g grant) []field
	// claims are the JWT claims beyond those jwt always sets; nil means none.
	claims func(g grant) []field
	// opaque makes an opaque access token; nil means newToken.
	opaque func() string
}

// dialectFor returns the dialect of the profile called name; IMS's for a
// name it does not know.
func dialectFor(name string) dialect {
	switch name {
	case "auth0":
		return dialect{refuse: auth0Refusal, answer: func(g grant) []field {
			return []field{{"access_token", g.token}, {"token_type", "Bearer"}, {"expires_in", g.lifetime}}
		}}
	case "entra-v2":
		return dialect{refuse: entraRefusal, errorBody: entraErrorBody, answer: func(g grant) []field {
			return []field{{"token_type", "Bearer"}, {"expires_in", g.lifetime}, {"ext_expires_in", g.lifetime}, {"access_token", g.token}}
		}, claims: func(g grant) []field {
			if g.scope == "" {
				return nil
			}
			return []field{{"aud", strings.TrimSuffix(g.scope, "/.default")}}
		}}
	case "entra-v1":
		return dialect{refuse: entraRefusal, errorBody: entraErrorBody, answer: func(g grant) []field {
			life := strconv.FormatInt(g.lifetime, 10)
			return []field{{"token_type", "Bearer"}, {"expires_in", life}, {"ext_expires_in", life},
				{"expires_on", unixString(g.now.Add(time.Duration(g.lifetime) * time.Second))}, {"not_before", unixString(g.now)},
				{"resource", g.form.Get("resource")}, {"access_token", g.token}}
		}}
	case "cognito":
		return dialect{refuse: cognitoRefusal, errorBody: cognitoErrorBody, answer: func(g grant) []field {
			return []field{{"access_token", g.token}, {"expires_in", g.lifetime}, {"token_type", "Bearer"}}
		}, claims: func(grant) []field { return []field{{"token_use", "access"}} }}
	case "okta":
		return dialect{refuse: oktaRefusal, answer: func(g grant) []field {
			return []field{{"token_type", "Bearer"}, {"expires_in", g.lifetime}, {"access_token", g.token}, {"scope", g.scope}}
		}}
	case "keycloak":
		// The answer's scope is the client's default scopes ("profile email")
		// plus those asked for; the types of refresh_expires_in and
		// not-before-policy are UNCONFIRMED (numbers here, as client DTOs
		// declare them).
		return dialect{answer: func(g grant) []field {
			return []field{{"access_token", g.token}, {"expires_in", g.lifetime}, {"refresh_expires_in", int64(0)},
				{"token_type", "Bearer"}, {"not-before-policy", int64(0)}, {"scope", scopeValues([]string{"profile", "email"}, g.scope)}}
		}}
	case "salesforce":
		return dialect{refuse: salesforceRefusal, answer: salesforceAnswer, opaque: salesforceToken}
	}
	return dialect{answer: func(g grant) []field {
		return []field{{"access_token", g.token}, {"token_type", "bearer"}, {"expires_in", g.lifetime}}
	}}
}

// oauthErrorBody is RFC 6749's error answer: error, and error_description
// when there is one.
func oauthErrorBody(r refusal, _ string, _ time.Time) []field {
	fields := []field{{"error", r.code}}
	if r.description != "" {
		fields = append(fields, field{"error_description", r.description})
	}
	return fields
}

// auth0Refusal: the missing audience is documented; the rest is worded as
// IMS does, Auth0's error bodies being UNCONFIRMED.
func auth0Refusal(c refusalCase) refusal {
	switch c.reason {
	case missingField:
		if c.detail == "audience" {
			return refusal{status: http.StatusForbidden, code: "access_denied",
				description: "No audience parameter was provided, and no default audience has been configured"}
		}
	case scopeNotAllowed:
		// UNCONFIRMED wording.
		return refusal{status: http.StatusForbidden, code: "access_denied",
			description: "Client has not been granted scopes: " + strings.ReplaceAll(c.detail, ",", " ")}
	}
	return imsRefusal(c)
}

// entraRefusal words a refusal with Entra's AADSTS numbers. The error body's
// fields are documented; the numbers and texts come from Entra's error code
// reference and are UNCONFIRMED here.
func entraRefusal(c refusalCase) refusal {
	if r, ok := federatedWording(c); ok {
		return r
	}
	r := func(status int, code string, aadsts int, format string, args ...any) refusal {
		return refusal{status: status, code: code, aadsts: aadsts, description: fmt.Sprintf(format, args...)}
	}
	const mustContain = "The request body must contain the following parameter: '%s'."
	switch c.reason {
	case badContentType, badForm, missingGrant:
		return r(400, "invalid_request", 900144, mustContain, "grant_type")
	case otherGrant:
		return r(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'.", c.detail)
	case authMethodRefused, credentialsTwice:
		return r(400, "invalid_request", 9002313, "Invalid request. Request is malformed or invalid.")
	case missingClientID:
		return r(400, "invalid_request", 900144, mustContain, "client_id")
	case unknownClient:
		return r(400, "unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory.", c.detail)
	case missingSecret:
		return r(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	case wrongSecret:
		return r(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", c.detail)
	case missingField:
		return r(400, "invalid_request", 900144, mustContain, c.detail)
	case missingScope:
		return r(400, "invalid_request", 900144, mustContain, "scope")
	case badScopeShape:
		if len(strings.Fields(c.detail)) > 1 {
			return r(400, "invalid_scope", 70011, "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", c.detail)
		}
		return r(400, "invalid_scope", 1002012, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", c.detail)
	case scopeNotAllowed:
		return r(400, "invalid_resource", 500011, "The resource principal named %s was not found in the tenant.", c.detail)
	}
	return imsRefusal(c)
}

// entraErrorBody is Entra's documented error answer: error,
// error_description ("AADSTSnnn: … Trace ID: … Correlation ID: …
// Timestamp: …"), error_codes, timestamp, trace_id, correlation_id.
func entraErrorBody(r refusal, debugID string, now time.Time) []field {
	stamp := now.UTC().Format("2006-01-02 15:04:05Z")
	correlation := newDebugID()
	desc := fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", r.aadsts, r.description, debugID, correlation, stamp)
	return []field{{"error", r.code}, {"error_description", desc}, {"error_codes", []int{r.aadsts}},
		{"timestamp", stamp}, {"trace_id", debugID}, {"correlation_id", correlation},
		{"error_uri", fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", r.aadsts)}}
}

// cognitoRefusal: Cognito's token endpoint answers 400 with an error code
// only (its documentation's error example); the codes are IMS's, but for an
// unknown client or a bad secret, which are invalid_client.
func cognitoRefusal(c refusalCase) refusal {
	r := imsRefusal(c)
	if c.reason == unknownClient || c.reason == wrongSecret || c.reason == missingSecret {
		r.code = "invalid_client"
	}
	return r
}

// cognitoErrorBody is {"error": code}, without a description.
func cognitoErrorBody(r refusal, _ string, _ time.Time) []field {
	return []field{{"error", r.code}}
}

// oktaClientAuthFailed is Okta's answer to a client that did not
// authenticate the way it is set up to.
const oktaClientAuthFailed = "Client authentication failed. Either the client or the client authentication method is unsupported."

// oktaRefusal: the failed client authentication and the missing scope are
// documented; a scope the server does not know is UNCONFIRMED wording.
func oktaRefusal(c refusalCase) refusal {
	switch c.reason {
	case authMethodRefused, missingClientID, unknownClient, missingSecret, wrongSecret:
		return refusal{status: http.StatusUnauthorized, code: "invalid_client", description: oktaClientAuthFailed}
	case missingScope:
		return refusal{status: http.StatusBadRequest, code: "invalid_scope",
			description: "The authorization server resource does not have any configured default scopes, 'scope' must be provided."}
	case scopeNotAllowed:
		return refusal{status: http.StatusBadRequest, code: "invalid_scope",
			description: "One or more scopes are not configured for the authorization server resource."}
	}
	return imsRefusal(c)
}

// salesforceRefusal uses Salesforce's OAuth error codes (from its help
// pages; UNCONFIRMED here), all with HTTP 400.
func salesforceRefusal(c refusalCase) refusal {
	r := func(code, description string) refusal {
		return refusal{status: http.StatusBadRequest, code: code, description: description}
	}
	switch c.reason {
	case missingGrant, otherGrant:
		return r("unsupported_grant_type", "grant type not supported")
	case unknownClient, missingClientID:
		return r("invalid_client_id", "client identifier invalid")
	case authMethodRefused, missingSecret, wrongSecret:
		return r("invalid_client", "invalid client credentials")
	}
	return imsRefusal(c)
}

// Salesforce's ids: an org (00D…) and the integration user (005…), the same
// for every server.
const (
	salesforceOrg  = "00D000000000001EAA"
	salesforceUser = "005000000000001AAA"
)

// salesforceAnswer has no expires_in: Salesforce states none.
func salesforceAnswer(g grant) []field {
	sig := make([]byte, 32)
	_, _ = rand.Read(sig)
	return []field{{"access_token", g.token}, {"signature", base64.StdEncoding.EncodeToString(sig)}, {"scope", "api"},
		{"instance_url", "https://example.my.salesforce.com"},
		{"id", "https://login.salesforce.com/id/" + salesforceOrg + "/" + salesforceUser}, {"token_type", "Bearer"},
		{"issued_at", strconv.FormatInt(g.now.UnixMilli(), 10)}}
}

// salesforceToken is an opaque session id: the org id, "!", random text.
func salesforceToken() string {
	return salesforceOrg[:15] + "!" + newToken()
}
