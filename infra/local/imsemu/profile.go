package imsemu

import (
	"fmt"
	"strings"
)

// Profile is one provider's token endpoint, as its documentation describes
// it: where it listens, which requests it refuses, and how it answers.
// Profiles and ProfileNamed give the documented ones; change a field of a
// copy to vary one (a test of the JWT exp fallback may set JWT on IMS, for
// instance).
//
// The zero Profile (no Name, no Path) is the IMS profile.
type Profile struct {
	// Name names the provider: "ims", "auth0", "entra-v2", "entra-v1",
	// "cognito", "okta", "keycloak" or "salesforce". It also selects the
	// shape of answers and errors; a name not in that list gets IMS's.
	Name string
	// Path is the token path. Each {placeholder} segment matches exactly one
	// non-empty path segment, e.g. "/{tenant}/oauth2/v2.0/token".
	Path string
	// Auth says where clients may put their credentials; zero means
	// AuthBasic|AuthBody.
	Auth AuthMethods
	// Require names form fields a request must carry besides grant_type,
	// the credentials and scope, such as Auth0's audience or Entra v1's
	// resource. Empty requires none.
	Require []string
	// ScopeRequired refuses requests without a scope field.
	ScopeRequired bool
	// ScopeSeparator splits the scope field into the values checked against
	// Client.Scopes; empty means a space, as in RFC 6749 section 3.3.
	ScopeSeparator string
	// ScopeSuffix, if not empty, requires the scope to be exactly one value
	// ending in it, as Entra v2 requires "/.default".
	ScopeSuffix string
	// ExpiresIn is the lifetime of issued tokens in seconds when
	// Config.ExpiresIn is zero; zero means DefaultExpiresIn.
	ExpiresIn int64
	// Federation accepts, from a client with federated credentials
	// (Client.Federated), an external issuer's JWT as the client assertion,
	// verified against that issuer's JWKS (Entra ID workload identity
	// federation; see checkFederated).
	Federation bool
	// JWT makes access tokens JWTs (HS256 with a key random per Server, so
	// nobody can verify them) whose exp claim is the issue time plus the
	// lifetime; false makes them opaque.
	JWT bool
}

// AuthMethods is a set of client authentication methods.
type AuthMethods uint8

const (
	// AuthBasic is client_secret_basic: an Authorization: Basic header.
	AuthBasic AuthMethods = 1 << iota
	// AuthBody is client_secret_post: client_id and client_secret form fields.
	AuthBody
	// AuthPrivateKeyJWT is private_key_jwt: a JWT signed by the client's
	// key, in client_assertion (RFC 7523), checked by checkAssertion.
	AuthPrivateKeyJWT
)

// Profiles returns every documented profile, IMS first. The slice and its
// profiles are the caller's to change.
func Profiles() []Profile {
	return []Profile{
		{Name: "ims", Path: TokenPath, Auth: AuthBasic | AuthBody, ScopeRequired: true, ScopeSeparator: ",",
			ExpiresIn: DefaultExpiresIn},
		{Name: "auth0", Path: "/oauth/token", Auth: AuthBasic | AuthBody | AuthPrivateKeyJWT, Require: []string{"audience"},
			ExpiresIn: 86400, JWT: true},
		{Name: "entra-v2", Path: "/{tenant}/oauth2/v2.0/token", Auth: AuthBasic | AuthBody | AuthPrivateKeyJWT, ScopeRequired: true,
			ScopeSuffix: "/.default", ExpiresIn: 3599, JWT: true, Federation: true},
		{Name: "entra-v1", Path: "/{tenant}/oauth2/token", Auth: AuthBasic | AuthBody | AuthPrivateKeyJWT, Require: []string{"resource"},
			ExpiresIn: 3599, JWT: true, Federation: true},
		{Name: "cognito", Path: "/oauth2/token", Auth: AuthBasic | AuthBody, ExpiresIn: 3600, JWT: true},
		// Okta's default method for a client is client_secret_basic; a client
		// set to client_secret_post would be Auth: AuthBody. Okta, Auth0,
		// Entra ID and Keycloak also take private_key_jwt.
		{Name: "okta", Path: "/oauth2/default/v1/token", Auth: AuthBasic | AuthPrivateKeyJWT, ScopeRequired: true, ExpiresIn: 3600, JWT: true},
		// 300 s is Keycloak's default realm accessTokenLifespan.
		{Name: "keycloak", Path: "/realms/{realm}/protocol/openid-connect/token", Auth: AuthBasic | AuthBody | AuthPrivateKeyJWT,
			ExpiresIn: 300, JWT: true},
		// Salesforce documents the credentials in the body; HTTP Basic appears
		// only in a Postman collection (UNCONFIRMED), so this profile refuses
		// it. The lifetime is the org's session timeout, which the answer does
		// not state; 7200 s is Salesforce's default of two hours (UNCONFIRMED).
		// Its tokens are opaque ("00D…!…"); whether they can be JWTs is
		// UNCONFIRMED.
		{Name: "salesforce", Path: "/services/oauth2/token", Auth: AuthBody, ExpiresIn: 7200},
	}
}

// ProfileNamed returns the documented profile called name, and false when
// there is none.
func ProfileNamed(name string) (Profile, bool) {
	for _, p := range Profiles() {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// resolve returns the profile a Server runs: IMS for the zero profile,
// defaults filled in, the path checked.
func (p Profile) resolve() (Profile, error) {
	if p.Name == "" && p.Path == "" {
		p, _ = ProfileNamed("ims")
	}
	if p.Auth == 0 {
		p.Auth = AuthBasic | AuthBody
	}
	if p.ExpiresIn == 0 {
		p.ExpiresIn = DefaultExpiresIn
	}
	if err := checkPattern(p.Path); err != nil {
		return p, fmt.Errorf("profile %q: %w", p.Name, err)
	}
	return p, nil
}

// checkPattern accepts a path that starts with a slash and whose
// placeholders each fill a whole segment.
func checkPattern(pattern string) error {
	if !strings.HasPrefix(pattern, "/") {
		return fmt.Errorf("path %q does not start with /", pattern)
	}
	for seg := range strings.SplitSeq(pattern[1:], "/") {
		inner, isPlaceholder := placeholder(seg)
		if strings.ContainsAny(seg, "{}") && (!isPlaceholder || inner == "" || strings.ContainsAny(inner, "{}")) {
			return fmt.Errorf("path %q: segment %q is not a {placeholder}", pattern, seg)
		}
	}
	return nil
}

// matchPath reports whether path matches pattern, each {placeholder}
// segment of pattern matching one non-empty segment of path.
func matchPath(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, seg := range ps {
		if _, ok := placeholder(seg); ok {
			if xs[i] == "" {
				return false
			}
			continue
		}
		if seg != xs[i] {
			return false
		}
	}
	return true
}

// placeholder returns the name inside a {name} segment.
func placeholder(seg string) (string, bool) {
	if len(seg) >= 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}
