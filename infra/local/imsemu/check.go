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

// oauthError is an OAuth error answer: its error code and description.
type oauthError struct {
	code, description string
}

// check validates a token request as IMS does, in IMS's order: the form,
// the grant type, the client id, the client secret, the scope.
func (s *Server) check(req Request, creds credentials, parseErr error) *oauthError {
	mt, _, _ := mime.ParseMediaType(req.ContentType)
	if mt != "application/x-www-form-urlencoded" {
		return &oauthError{"invalid_request", "Content-Type must be application/x-www-form-urlencoded"}
	}
	if parseErr != nil {
		return &oauthError{"invalid_request", parseErr.Error()}
	}
	grant := req.Form.Get("grant_type")
	switch {
	case grant == "":
		return &oauthError{"invalid_request", "missing grant_type parameter"}
	case grant != "client_credentials":
		return &oauthError{"unsupported_grant_type", fmt.Sprintf("unsupported grant_type %q", grant)}
	case creds.inForm && creds.inHeader:
		return &oauthError{"invalid_request", "client credentials in both the Authorization header and the body"}
	case creds.id == "":
		return &oauthError{"invalid_request", "missing client_id parameter"}
	}
	s.mu.Lock()
	client, ok := s.clients[creds.id]
	s.mu.Unlock()
	switch {
	case !ok:
		return &oauthError{"invalid_client", "invalid client_id parameter"}
	case creds.secret == "":
		return &oauthError{"invalid_request", "missing client_secret parameter"}
	case !secretMatches(client.Secrets, creds.secret):
		return &oauthError{"invalid_client", "invalid client_secret parameter"}
	}
	scope := req.Form.Get("scope")
	if scope == "" {
		return &oauthError{"invalid_request", "missing scope parameter"}
	}
	if bad := unknownScopes(scope, client.Scopes); len(bad) > 0 {
		return &oauthError{"invalid_scope", fmt.Sprintf("invalid scope (%s)", strings.Join(bad, ","))}
	}
	return nil
}

// secretMatches compares in constant time against every valid secret.
func secretMatches(valid []string, got string) bool {
	match := 0
	for _, v := range valid {
		match |= subtle.ConstantTimeCompare([]byte(v), []byte(got))
	}
	return match == 1
}

// unknownScopes returns the comma-separated scopes not in allowed; an empty
// allowed list allows every scope.
func unknownScopes(scope string, allowed []string) []string {
	if len(allowed) == 0 {
		return nil
	}
	var bad []string
	for sc := range strings.SplitSeq(scope, ",") {
		sc = strings.TrimSpace(sc)
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
