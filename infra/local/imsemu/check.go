package imsemu

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// reason is why a token request is refused, before a profile words it.
type reason int

const (
	badContentType reason = iota
	badForm               // detail: the parse error
	missingGrant
	otherGrant        // detail: the grant type
	authMethodRefused // detail: "client_secret_basic" or "client_secret_post"
	credentialsTwice
	missingClientID
	unknownClient // detail: the client id
	missingSecret // detail: the client id
	wrongSecret   // detail: the client id
	missingField  // detail: the field's name
	missingScope
	badScopeShape    // detail: the scope
	scopeNotAllowed  // detail: the values not allowed, comma-joined
	assertionRefused // detail: why (never the assertion)
)

// refusalCase is a reason with its detail.
type refusalCase struct {
	reason reason
	detail string
}

// refusal is a worded refusal: the HTTP status, the OAuth error and its
// description.
type refusal struct {
	status      int
	code        string
	description string
	// aadsts is Entra's error number (AADSTSnnn), zero elsewhere.
	aadsts int
}

// check validates a token request in IMS's order: the form, the grant type,
// the client's authentication, the client id, the client secret, the
// required fields, the scope. It returns nil when the request is good.
func (s *Server) check(req Request, creds credentials, parseErr error) *refusalCase {
	refuse := func(r reason, detail string) *refusalCase { return &refusalCase{r, detail} }
	mt, _, _ := mime.ParseMediaType(req.ContentType)
	if mt != "application/x-www-form-urlencoded" {
		return refuse(badContentType, "")
	}
	if parseErr != nil {
		return refuse(badForm, parseErr.Error())
	}
	grant := req.Form.Get("grant_type")
	switch {
	case grant == "":
		return refuse(missingGrant, "")
	case grant != "client_credentials":
		return refuse(otherGrant, grant)
	case creds.assertionType != "" || creds.assertion != "":
		switch {
		case s.profile.Auth&AuthPrivateKeyJWT == 0:
			return refuse(authMethodRefused, "private_key_jwt")
		case creds.inHeader || creds.secret != "":
			return refuse(assertionRefused, "a client secret came with it")
		}
		if fc, ok := s.federatedClient(creds); ok {
			if c := s.checkFederated(creds, fc); c != nil {
				return c
			}
			return s.checkFields(req, fc.scopes)
		}
		_, client, c := s.checkAssertion(creds)
		if c != nil {
			return c
		}
		return s.checkFields(req, client.scopes)
	case creds.inHeader && s.profile.Auth&AuthBasic == 0:
		return refuse(authMethodRefused, "client_secret_basic")
	case req.SecretInForm && s.profile.Auth&AuthBody == 0:
		return refuse(authMethodRefused, "client_secret_post")
	case creds.inForm && creds.inHeader:
		return refuse(credentialsTwice, "")
	case creds.id == "":
		return refuse(missingClientID, "")
	}
	s.mu.Lock()
	client, ok := s.clients[creds.id]
	var scopes []string
	matched := -1
	if ok {
		scopes = client.scopes
		matched = secretIndex(client.secrets, creds.secret)
		if matched >= 0 && creds.secret != "" {
			client.secrets[matched].lastUsed = s.now()
		}
	}
	s.mu.Unlock()
	switch {
	case !ok:
		return refuse(unknownClient, creds.id)
	case creds.secret == "":
		return refuse(missingSecret, creds.id)
	case matched < 0:
		return refuse(wrongSecret, creds.id)
	}
	return s.checkFields(req, scopes)
}

// checkFields checks the profile's required fields and the scope against
// the client's allowed scopes.
func (s *Server) checkFields(req Request, scopes []string) *refusalCase {
	for _, f := range s.profile.Require {
		if req.Form.Get(f) == "" {
			return &refusalCase{missingField, f}
		}
	}
	return s.checkScope(req.Form.Get("scope"), scopes)
}

// checkScope applies the profile's scope rules and the client's allowed
// scopes.
func (s *Server) checkScope(scope string, allowed []string) *refusalCase {
	if scope == "" {
		if s.profile.ScopeRequired {
			return &refusalCase{missingScope, ""}
		}
		return nil
	}
	values := splitScope(scope, s.profile.ScopeSeparator)
	if sfx := s.profile.ScopeSuffix; sfx != "" && (len(values) != 1 || !strings.HasSuffix(values[0], sfx)) {
		return &refusalCase{badScopeShape, scope}
	}
	if bad := unknownScopes(values, allowed); len(bad) > 0 {
		return &refusalCase{scopeNotAllowed, strings.Join(bad, ",")}
	}
	return nil
}

// imsRefusal words a refusal as IMS does, always with HTTP 400.
func imsRefusal(c refusalCase) refusal {
	r := func(code, description string) refusal {
		return refusal{status: http.StatusBadRequest, code: code, description: description}
	}
	switch c.reason {
	case badContentType:
		return r("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
	case badForm:
		return r("invalid_request", c.detail)
	case missingGrant:
		return r("invalid_request", "missing grant_type parameter")
	case otherGrant:
		return r("unsupported_grant_type", fmt.Sprintf("unsupported grant_type %q", c.detail))
	case authMethodRefused:
		return r("invalid_client", fmt.Sprintf("client authentication method %s is not allowed", c.detail))
	case credentialsTwice:
		return r("invalid_request", "client credentials in both the Authorization header and the body")
	case missingClientID:
		return r("invalid_request", "missing client_id parameter")
	case unknownClient:
		return r("invalid_client", "invalid client_id parameter")
	case missingSecret:
		return r("invalid_request", "missing client_secret parameter")
	case wrongSecret:
		return r("invalid_client", "invalid client_secret parameter")
	case missingField:
		return r("invalid_request", fmt.Sprintf("missing %s parameter", c.detail))
	case missingScope:
		return r("invalid_request", "missing scope parameter")
	case badScopeShape, scopeNotAllowed:
		return r("invalid_scope", fmt.Sprintf("invalid scope (%s)", c.detail))
	case assertionRefused:
		return r("invalid_client", "client assertion refused: "+c.detail)
	}
	return r("invalid_request", "invalid request")
}

// secretIndex compares in constant time against every valid secret and
// returns the index of the one got matches, or -1.
func secretIndex(valid []secret, got string) int {
	found := -1
	for i, v := range valid {
		if subtle.ConstantTimeCompare([]byte(v.value), []byte(got)) == 1 {
			found = i
		}
	}
	return found
}

// splitScope splits a scope field on sep, trimming spaces; an empty sep
// splits on spaces.
func splitScope(scope, sep string) []string {
	if sep == "" {
		return strings.Fields(scope)
	}
	var out []string
	for sc := range strings.SplitSeq(scope, sep) {
		out = append(out, strings.TrimSpace(sc))
	}
	return out
}

// unknownScopes returns the values not in allowed; an empty allowed list
// allows every scope.
func unknownScopes(values, allowed []string) []string {
	if len(allowed) == 0 {
		return nil
	}
	var bad []string
	for _, sc := range values {
		if !slices.Contains(allowed, sc) {
			bad = append(bad, sc)
		}
	}
	return bad
}

// basicAuth reads an Authorization: Basic header, undoing the form
// encoding RFC 6749 section 2.3.1 asks clients to apply to both parts.
func basicAuth(r *http.Request) (user, pass string, ok bool) {
	h := r.Header.Get("Authorization")
	const prefix = "Basic "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	return unescape(user), unescape(pass), true
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
