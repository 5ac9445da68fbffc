package oauthtoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"time"
)

// AssertionType is the client_assertion_type of a JWT client assertion
// (RFC 7523 section 2.2).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionLifetime is how far ahead of its iat an assertion expires: the
// most providers accept (Entra and Okta refuse longer ones).
const AssertionLifetime = 5 * time.Minute

// ContextSigner is a crypto.Signer that can also sign within a context (a
// KMS key): JWTAuth uses SignContext when the signer has it.
type ContextSigner interface {
	crypto.Signer
	SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

// JWTAuth authenticates the client with a JWT it signs with its private key
// (private_key_jwt: RFC 7523 section 2.2, OpenID Connect Core section 9).
// The claims are iss = sub = client_id, aud, a random jti for each
// assertion (each attempt gets a new one), iat, nbf and exp
// AssertionLifetime later. The algorithm follows the key: RS256, or PS256
// when PSS is set, for RSA; ES256 for P-256. No client secret is sent.
type JWTAuth struct {
	// Key returns the signing key; it is called for each assertion, so it
	// may load the key once and cache it. Signing goes through
	// crypto.Signer (ContextSigner when the key has it).
	Key func(ctx context.Context) (crypto.Signer, error)
	// PSS signs with an RSA key as PS256 instead of RS256.
	PSS bool
	// Audience is the aud claim; empty means the token URL.
	Audience string
	// KeyID is the kid header, where the provider registered a JWK; empty
	// sends none.
	KeyID string
	// CertSHA256 and CertSHA1 are the registered certificate's thumbprints
	// (the DER's SHA-256 and SHA-1), sent as the x5t#S256 and x5t headers;
	// empty sends none.
	CertSHA256, CertSHA1 []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the jti's source; nil means crypto/rand.
	Rand io.Reader
}

// Authenticate implements ClientAuth: it signs a new assertion.
func (a JWTAuth) Authenticate(ctx context.Context, creds Credentials, tokenURL string) (Authentication, error) {
	if creds.ClientID == "" {
		return Authentication{}, errors.New("client_id is required")
	}
	if creds.ClientSecret != "" {
		return Authentication{}, errors.New("private_key_jwt sends no client secret, yet one is set: remove one of them")
	}
	if a.Key == nil {
		return Authentication{}, errors.New("no signing key is configured")
	}
	jwt, err := a.Assertion(ctx, creds.ClientID, tokenURL)
	if err != nil {
		return Authentication{}, err
	}
	return Authentication{
		Form:  url.Values{"client_assertion_type": {AssertionType}, "client_assertion": {jwt}},
		Scrub: assertionForms(jwt),
	}, nil
}

// Assertion returns a new signed assertion for clientID at tokenURL. Its
// errors quote no assertion and no signature.
func (a JWTAuth) Assertion(ctx context.Context, clientID, tokenURL string) (string, error) {
	key, err := a.Key(ctx)
	if err != nil {
		return "", fmt.Errorf("loading the signing key: %w", err)
	}
	alg, opts, err := algorithm(key.Public(), a.PSS)
	if err != nil {
		return "", err
	}
	header := map[string]string{"alg": alg, "typ": "JWT"}
	if a.KeyID != "" {
		header["kid"] = a.KeyID
	}
	if len(a.CertSHA256) > 0 {
		header["x5t#S256"] = base64.RawURLEncoding.EncodeToString(a.CertSHA256)
	}
	if len(a.CertSHA1) > 0 {
		header["x5t"] = base64.RawURLEncoding.EncodeToString(a.CertSHA1)
	}
	r := a.Rand
	if r == nil {
		r = rand.Reader
	}
	jti := make([]byte, 16)
	if _, err := io.ReadFull(r, jti); err != nil {
		return "", fmt.Errorf("making the assertion's jti: %w", err)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	iat := now().Unix()
	aud := a.Audience
	if aud == "" {
		aud = tokenURL
	}
	claims := struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Aud string `json:"aud"`
		Jti string `json:"jti"`
		Iat int64  `json:"iat"`
		Nbf int64  `json:"nbf"`
		Exp int64  `json:"exp"`
	}{clientID, clientID, aud, base64.RawURLEncoding.EncodeToString(jti), iat, iat, iat + int64(AssertionLifetime/time.Second)}
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("encoding the assertion's header: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding the assertion's claims: %w", err)
	}
	signed := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(signed))
	var sig []byte
	if cs, ok := key.(ContextSigner); ok {
		sig, err = cs.SignContext(ctx, digest[:], opts)
	} else {
		sig, err = key.Sign(rand.Reader, digest[:], opts)
	}
	if err != nil {
		return "", fmt.Errorf("signing the client assertion (%s): %w", alg, err)
	}
	if alg == "ES256" {
		if sig, err = jwsECDSA(sig, 32); err != nil {
			return "", fmt.Errorf("signing the client assertion (%s): %w", alg, err)
		}
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// algorithm returns the JWS alg for pub and the options to sign a SHA-256
// digest with it.
func algorithm(pub crypto.PublicKey, pss bool) (string, crypto.SignerOpts, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", nil, fmt.Errorf("the signing key is RSA with %d bits, want at least 2048", k.N.BitLen())
		}
		if pss {
			return "PS256", &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}, nil
		}
		return "RS256", crypto.SHA256, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", nil, fmt.Errorf("the signing key is ECDSA on %s, want P-256 (ES256)", k.Curve.Params().Name)
		}
		if pss {
			return "", nil, errors.New("PS256 needs an RSA key, the signing key is P-256 (ES256)")
		}
		return "ES256", crypto.SHA256, nil
	default:
		return "", nil, fmt.Errorf("the signing key is a %T, want RSA or P-256", pub)
	}
}

// jwsECDSA converts an ASN.1 DER ECDSA signature, as crypto.Signer and
// KMS return it, into JWS's r||s, each size bytes (RFC 7518 section 3.4).
func jwsECDSA(der []byte, size int) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) > 0 || rs.R == nil || rs.S == nil || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 {
		return nil, errors.New("the signature is not an ASN.1 ECDSA signature")
	}
	if rs.R.BitLen() > 8*size || rs.S.BitLen() > 8*size {
		return nil, errors.New("the signature is too long for the curve")
	}
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}

// assertionForms returns the forms of an assertion an endpoint may echo: as
// is, its signature alone, and form-encoded (a JWT has no byte that
// url.QueryEscape changes, but a proxy may).
func assertionForms(jwt string) []string {
	forms := []string{jwt, url.QueryEscape(jwt)}
	for i := len(jwt) - 1; i >= 0; i-- {
		if jwt[i] == '.' {
			forms = append(forms, jwt[i+1:])
			break
		}
	}
	return forms
}
