package imsemu

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// AssertionType is the client_assertion_type of a JWT client assertion
// (RFC 7523 section 2.2), the one the server accepts.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// MaxAssertionAhead is how far ahead of the server's clock an assertion's
// exp may be (Okta refuses more than an hour), and ClockSkew how far ahead
// its iat and nbf may be.
const (
	MaxAssertionAhead = time.Hour
	ClockSkew         = time.Minute
)

// checkAssertion verifies a private_key_jwt request as a provider does
// (RFC 7523 section 3): the client registered a public key (or a
// certificate, which the x5t#S256 or x5t header must name); the
// assertion's alg fits that key and its signature verifies; iss and sub
// are the client id; aud is the client's Audience or the token URL; exp is
// ahead, by at most MaxAssertionAhead; iat and nbf are not ahead by more
// than ClockSkew; the jti was never seen before. It returns the client id
// and the client, or why the request is refused.
func (s *Server) checkAssertion(creds credentials) (string, *client, *refusalCase) {
	refuse := func(format string, args ...any) (string, *client, *refusalCase) {
		return "", nil, &refusalCase{assertionRefused, fmt.Sprintf(format, args...)}
	}
	if creds.assertionType != AssertionType {
		return refuse("client_assertion_type must be %s", AssertionType)
	}
	parts := strings.Split(creds.assertion, ".")
	if len(parts) != 3 {
		return refuse("client_assertion is not a signed JWT")
	}
	var header struct {
		Alg     string `json:"alg"`
		Kid     string `json:"kid"`
		X5tS256 string `json:"x5t#S256"`
		X5t     string `json:"x5t"`
	}
	var claims struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Aud any    `json:"aud"`
		Jti string `json:"jti"`
		Exp *int64 `json:"exp"`
		Nbf *int64 `json:"nbf"`
		Iat *int64 `json:"iat"`
	}
	for i, dst := range []any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, dst) != nil {
			return refuse("client_assertion is not a signed JWT")
		}
	}
	id := claims.Sub
	if creds.id != "" && creds.id != id {
		return refuse("client_id and the assertion's sub differ")
	}
	if id == "" {
		return "", nil, &refusalCase{missingClientID, ""}
	}
	s.mu.Lock()
	client, ok := s.clients[id]
	s.mu.Unlock()
	switch {
	case !ok:
		return "", nil, &refusalCase{unknownClient, id}
	case client.publicKey == nil:
		return "", nil, &refusalCase{authMethodRefused, "private_key_jwt"}
	case client.keyID != "" && header.Kid != client.keyID:
		return refuse("kid %q is not the registered key's", header.Kid)
	}
	if client.certSHA256 != nil {
		enc := base64.RawURLEncoding.EncodeToString
		switch {
		case header.X5tS256 == "" && header.X5t == "":
			return refuse("no x5t#S256 or x5t header names the registered certificate")
		case header.X5tS256 != "" && header.X5tS256 != enc(client.certSHA256):
			return refuse("x5t#S256 %q is not the registered certificate's thumbprint", header.X5tS256)
		case header.X5tS256 == "" && header.X5t != enc(client.certSHA1):
			return refuse("x5t %q is not the registered certificate's thumbprint", header.X5t)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return refuse("client_assertion is not a signed JWT")
	}
	if err := verify(client.publicKey, header.Alg, parts[0]+"."+parts[1], sig); err != nil {
		return refuse("%v", err)
	}
	aud := client.audience
	if aud == "" {
		aud = creds.url
	}
	now := s.now()
	switch {
	case claims.Iss != id:
		return refuse("iss is not the client id")
	case !audienceIs(claims.Aud, aud):
		return refuse("aud is not %s", aud)
	case claims.Exp == nil:
		return refuse("exp is missing")
	case !time.Unix(*claims.Exp, 0).After(now):
		return refuse("the assertion expired")
	case time.Unix(*claims.Exp, 0).After(now.Add(MaxAssertionAhead)):
		return refuse("exp is more than %s ahead", MaxAssertionAhead)
	case claims.Nbf != nil && time.Unix(*claims.Nbf, 0).After(now.Add(ClockSkew)):
		return refuse("nbf is ahead of the server's clock")
	case claims.Iat != nil && time.Unix(*claims.Iat, 0).After(now.Add(ClockSkew)):
		return refuse("iat is ahead of the server's clock")
	case claims.Jti == "":
		return refuse("jti is missing")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for jti, until := range s.jtis {
		if now.After(until) {
			delete(s.jtis, jti)
		}
	}
	if _, seen := s.jtis[id+" "+claims.Jti]; seen {
		return refuse("jti was already used")
	}
	if s.jtis == nil {
		s.jtis = map[string]time.Time{}
	}
	s.jtis[id+" "+claims.Jti] = time.Unix(*claims.Exp, 0)
	return id, client, nil
}

// audienceIs reports whether aud, a string or a list, names want.
func audienceIs(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, v := range a {
			if v == want {
				return true
			}
		}
	}
	return false
}

// verify checks a JWS signature (RFC 7518 section 3) made with alg by the
// private key of pub: RS256 or PS256 for RSA, ES256 for P-256.
func verify(pub crypto.PublicKey, alg, signed string, sig []byte) error {
	digest := sha256.Sum256([]byte(signed))
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "RS256":
			if rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) != nil {
				return errors.New("signature does not verify with the registered key")
			}
			return nil
		case "PS256":
			if rsa.VerifyPSS(k, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) != nil {
				return errors.New("signature does not verify with the registered key")
			}
			return nil
		}
	case *ecdsa.PublicKey:
		if alg == "ES256" && k.Curve == elliptic.P256() {
			if len(sig) != 64 || !ecdsa.Verify(k, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
				return errors.New("signature does not verify with the registered key")
			}
			return nil
		}
	}
	return fmt.Errorf("alg %q does not fit the registered key", alg)
}
