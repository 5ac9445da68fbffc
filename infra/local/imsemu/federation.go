package imsemu

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"
)

// FederatedCredential is a federated identity credential on an Entra
// application (workload identity federation): a JWT from Issuer whose sub
// is Subject and whose aud holds one of Audiences authenticates the
// application, as the client assertion, with no secret or key of its own.
type FederatedCredential struct {
	// Issuer is the external issuer's URL, matched exactly against iss;
	// its OIDC discovery (Issuer + "/.well-known/openid-configuration")
	// names the JWKS the signature is verified with.
	Issuer string
	// Subject is matched exactly against sub.
	Subject string
	// Audiences are the aud values accepted; Entra's documented value is
	// api://AzureADTokenExchange.
	Audiences []string
}

// The reasons a federated assertion is refused (detail: the value that
// matched no credential, or why).
const (
	federatedIssuer   reason = iota + 100 // detail: the iss
	federatedSubject                      // detail: the sub
	federatedAudience                     // detail: the aud
	federatedTime                         // detail: why
	federatedKeys                         // detail: why the issuer's keys could not be read
	federatedInvalid                      // detail: why (alg, signature)
)

// federatedClient returns the client a federated assertion authenticates,
// when the profile takes them (Entra) and the request names, in client_id,
// a client with federated credentials, and the assertion's iss is not that
// client id (a client's own private_key_jwt has iss = sub = client id).
func (s *Server) federatedClient(creds credentials) (*client, bool) {
	if !s.profile.Federation || creds.id == "" {
		return nil, false
	}
	s.mu.Lock()
	c, ok := s.clients[creds.id]
	s.mu.Unlock()
	if !ok || len(c.federated) == 0 {
		return nil, false
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	parts := strings.Split(creds.assertion, ".")
	if len(parts) != 3 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(raw, &claims) != nil || claims.Iss == creds.id {
		return nil, false
	}
	return c, true
}

// checkFederated verifies a federated assertion as Entra does, in the
// order its errors suggest: a federated credential of the client whose
// issuer is iss, then whose subject is sub, then whose audiences hold one
// of aud; exp ahead and nbf, iat not ahead (ClockSkew); alg RS256, ES256
// or ES384 with the kid's key from the issuer's JWKS, read through its
// discovery document, and the signature verifying. The jti is not checked
// for replay: Entra documents no replay check for external tokens, which
// are reused within their life (UNCONFIRMED).
func (s *Server) checkFederated(creds credentials, c *client) *refusalCase {
	refuse := func(r reason, format string, args ...any) *refusalCase {
		return &refusalCase{r, fmt.Sprintf(format, args...)}
	}
	if creds.assertionType != AssertionType {
		return refuse(assertionRefused, "client_assertion_type must be %s", AssertionType)
	}
	parts := strings.Split(creds.assertion, ".")
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var claims struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Aud any    `json:"aud"`
		Exp *int64 `json:"exp"`
		Nbf *int64 `json:"nbf"`
		Iat *int64 `json:"iat"`
	}
	for i, dst := range []any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, dst) != nil {
			return refuse(assertionRefused, "client_assertion is not a signed JWT")
		}
	}
	fics := slices.DeleteFunc(slices.Clone(c.federated), func(f FederatedCredential) bool { return f.Issuer != claims.Iss })
	if len(fics) == 0 {
		return refuse(federatedIssuer, "%s", claims.Iss)
	}
	fics = slices.DeleteFunc(fics, func(f FederatedCredential) bool { return f.Subject != claims.Sub })
	if len(fics) == 0 {
		return refuse(federatedSubject, "%s", claims.Sub)
	}
	if !slices.ContainsFunc(fics, func(f FederatedCredential) bool {
		return slices.ContainsFunc(f.Audiences, func(a string) bool { return audienceIs(claims.Aud, a) })
	}) {
		return refuse(federatedAudience, "%v", claims.Aud)
	}
	now := s.now()
	switch {
	case claims.Exp == nil:
		return refuse(federatedTime, "it has no exp")
	case !time.Unix(*claims.Exp, 0).After(now.Add(-ClockSkew)):
		return refuse(federatedTime, "it expired at %s", time.Unix(*claims.Exp, 0).UTC().Format(time.RFC3339))
	case claims.Nbf != nil && time.Unix(*claims.Nbf, 0).After(now.Add(ClockSkew)):
		return refuse(federatedTime, "its nbf is ahead of the server's clock")
	case claims.Iat != nil && time.Unix(*claims.Iat, 0).After(now.Add(ClockSkew)):
		return refuse(federatedTime, "its iat is ahead of the server's clock")
	}
	keys, err := s.issuerKeys(claims.Iss)
	if err != nil {
		return refuse(federatedKeys, "%v", err)
	}
	pub, ok := keys[header.Kid]
	if !ok {
		return refuse(federatedInvalid, "the issuer's JWKS has no key %q", header.Kid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return refuse(federatedInvalid, "the signature is not base64url")
	}
	if err := verifyExternal(pub, header.Alg, parts[0]+"."+parts[1], sig); err != nil {
		return refuse(federatedInvalid, "%v", err)
	}
	return nil
}

// issuerKeys reads an issuer's signing keys, by kid, through its discovery
// document and JWKS, as Entra does (no cache: each assertion reads them).
func (s *Server) issuerKeys(issuer string) (map[string]crypto.PublicKey, error) {
	get := func(u string, v any) error {
		res, err := s.httpClient.Get(u)
		if err != nil {
			return fmt.Errorf("GET %s: %w", u, err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: HTTP %d", u, res.StatusCode)
		}
		if err := json.NewDecoder(http.MaxBytesReader(nil, res.Body, maxForm)).Decode(v); err != nil {
			return fmt.Errorf("GET %s: not JSON: %w", u, err)
		}
		return nil
	}
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := get(strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, err
	}
	if disc.Issuer != issuer || disc.JWKSURI == "" {
		return nil, fmt.Errorf("the discovery document names issuer %q and jwks_uri %q", disc.Issuer, disc.JWKSURI)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := get(disc.JWKSURI, &set); err != nil {
		return nil, err
	}
	num := func(v string) *big.Int {
		b, _ := base64.RawURLEncoding.DecodeString(v)
		return new(big.Int).SetBytes(b)
	}
	keys := map[string]crypto.PublicKey{}
	for _, k := range set.Keys {
		switch {
		case k["kty"] == "RSA":
			keys[k["kid"]] = &rsa.PublicKey{N: num(k["n"]), E: int(num(k["e"]).Int64())}
		case k["kty"] == "EC" && k["crv"] == "P-256":
			if pub, err := ecKey(elliptic.P256(), k["x"], k["y"]); err == nil {
				keys[k["kid"]] = pub
			}
		case k["kty"] == "EC" && k["crv"] == "P-384":
			if pub, err := ecKey(elliptic.P384(), k["x"], k["y"]); err == nil {
				keys[k["kid"]] = pub
			}
		}
	}
	return keys, nil
}

// ecKey parses a JWK's EC point (RFC 7518 section 6.2.1): x and y,
// base64url, each the curve's size.
func ecKey(curve elliptic.Curve, x, y string) (*ecdsa.PublicKey, error) {
	size := (curve.Params().BitSize + 7) / 8
	xb, err1 := base64.RawURLEncoding.DecodeString(x)
	yb, err2 := base64.RawURLEncoding.DecodeString(y)
	if err1 != nil || err2 != nil || len(xb) != size || len(yb) != size {
		return nil, errors.New("not an EC point of the curve's size")
	}
	return ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, xb...), yb...))
}

// verifyExternal checks a JWS signature made with alg by an external
// issuer's key: RS256, ES256 or ES384 (which algorithms Entra takes from
// external issuers is UNCONFIRMED; these are the ones STS and common
// issuers sign with).
func verifyExternal(pub crypto.PublicKey, alg, signed string, sig []byte) error {
	bad := errors.New("the signature does not verify with the issuer's key")
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg == "RS256" {
			d := sha256.Sum256([]byte(signed))
			if rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) != nil {
				return bad
			}
			return nil
		}
	case *ecdsa.PublicKey:
		var d []byte
		switch {
		case alg == "ES256" && k.Curve == elliptic.P256():
			h := sha256.Sum256([]byte(signed))
			d = h[:]
		case alg == "ES384" && k.Curve == elliptic.P384():
			h := sha512.Sum384([]byte(signed))
			d = h[:]
		default:
			return fmt.Errorf("alg %q does not fit the issuer's key", alg)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size || !ecdsa.Verify(k, d, new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])) {
			return bad
		}
		return nil
	}
	return fmt.Errorf("alg %q does not fit the issuer's key", alg)
}

// federatedWording words the federated refusals for Entra; the numbers and
// texts come from Entra's error code reference and are UNCONFIRMED here.
func federatedWording(c refusalCase) (refusal, bool) {
	r := func(aadsts int, format string, args ...any) (refusal, bool) {
		return refusal{status: http.StatusUnauthorized, code: "invalid_client", aadsts: aadsts, description: fmt.Sprintf(format, args...)}, true
	}
	const check = " Please check your federated identity credential Subject, Audience and Issuer against the presented assertion."
	switch c.reason {
	case federatedIssuer:
		return r(700211, "No matching federated identity record found for presented assertion issuer '%s'."+check, c.detail)
	case federatedSubject:
		return r(700213, "No matching federated identity record found for presented assertion subject '%s'."+check, c.detail)
	case federatedAudience:
		return r(700212, "No matching federated identity record found for presented assertion audience '%s'."+check, c.detail)
	case federatedTime:
		return r(700024, "Client assertion is not within its valid time range: %s.", c.detail)
	case federatedKeys:
		return r(50166, "Request to External OIDC endpoint failed: %s.", c.detail)
	case federatedInvalid:
		return r(700027, "Client assertion failed signature validation: %s.", c.detail)
	}
	return refusal{}, false
}
