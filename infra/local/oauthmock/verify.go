package oauthmock

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// Claims are the parts of an access token's payload the server sets.
type Claims struct {
	// Issuer is iss: Server.URL for the server's own tokens.
	Issuer string
	// IssuedAt, NotBefore and Expiry are iat, nbf and exp.
	IssuedAt, NotBefore, Expiry time.Time
	// Scope is the scope claim, as the request sent it.
	Scope string
	// Audience is aud, one entry per aud form field; nil without one.
	Audience []string
}

// Verify checks that token is a JWT this server signed, with one of the
// keys it publishes at JWKSPath, and returns its claims. It checks no
// time: tests compare the claims themselves. Errors never quote the token.
func (s *Server) Verify(ctx context.Context, token string) (Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, fmt.Errorf("the token has %d dot-separated parts, want 3 (a JWS)", len(parts))
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodePart(parts[0], &header); err != nil {
		return Claims{}, fmt.Errorf("decoding the token header: %w", err)
	}
	if header.Alg != "RS256" {
		return Claims{}, fmt.Errorf("the token is signed with %q, want RS256", header.Alg)
	}
	key, err := s.publicKey(ctx, header.Kid)
	if err != nil {
		return Claims{}, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return Claims{}, fmt.Errorf("decoding the token signature: %w", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
		return Claims{}, fmt.Errorf("checking the token signature with key %.12s…: %w", header.Kid, err)
	}
	var payload struct {
		Iss   string          `json:"iss"`
		Iat   int64           `json:"iat"`
		Nbf   int64           `json:"nbf"`
		Exp   int64           `json:"exp"`
		Scope string          `json:"scope"`
		Aud   json.RawMessage `json:"aud"`
	}
	if err := decodePart(parts[1], &payload); err != nil {
		return Claims{}, fmt.Errorf("decoding the token payload: %w", err)
	}
	c := Claims{
		Issuer: payload.Iss, Scope: payload.Scope,
		IssuedAt: time.Unix(payload.Iat, 0).UTC(), NotBefore: time.Unix(payload.Nbf, 0).UTC(), Expiry: time.Unix(payload.Exp, 0).UTC(),
	}
	if c.Audience, err = audience(payload.Aud); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// publicKey fetches the server's key set and returns the RSA key kid.
func (s *Server) publicKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+JWKSPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the key set: %w", err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid, Kty, N, E string
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, fmt.Errorf("decoding the key set: %w", err)
	}
	for _, k := range set.Keys {
		if k.Kid != kid || k.Kty != "RSA" {
			continue
		}
		n, errN := base64.RawURLEncoding.DecodeString(k.N)
		e, errE := base64.RawURLEncoding.DecodeString(k.E)
		if err := errors.Join(errN, errE); err != nil {
			return nil, fmt.Errorf("decoding key %.12s…: %w", kid, err)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	}
	return nil, fmt.Errorf("the server publishes no RSA key %.12s…", kid)
}

// decodePart decodes one base64url JSON part of a JWS.
func decodePart(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// audience reads aud, a string or an array of strings.
func audience(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("the token's aud is neither a string nor an array of strings")
	}
	return many, nil
}
