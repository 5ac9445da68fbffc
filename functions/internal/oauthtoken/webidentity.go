package oauthtoken

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// WebIdentityAuth authenticates the client with a JWT that a third party
// issues to the workload, sent as the client assertion (RFC 7523 section
// 2.2) as JWTAuth's is: aws_web_identity, where AWS STS issues it
// (sts:GetWebIdentityToken) and Entra ID's workload identity federation
// accepts it. Token is asked for a new JWT for each attempt, retries
// included, and none is kept. No client secret is sent.
type WebIdentityAuth struct {
	// Token returns a new JWT for the workload. Its errors must quote no
	// token.
	Token func(ctx context.Context) (string, error)
	// Logger receives one Info line per JWT fetched, with its iss, sub,
	// aud and exp claims (the provider matches the first three against its
	// federated credential), never the JWT or its signature; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Authenticate implements ClientAuth: it fetches a new JWT.
func (a WebIdentityAuth) Authenticate(ctx context.Context, creds Credentials, _ string) (Authentication, error) {
	if creds.ClientID == "" {
		return Authentication{}, errors.New("client_id is required")
	}
	if creds.ClientSecret != "" {
		return Authentication{}, errors.New("aws_web_identity sends no client secret, yet one is set: remove one of them")
	}
	if a.Token == nil {
		return Authentication{}, errors.New("no web identity token source is configured")
	}
	jwt, err := a.Token(ctx)
	if err != nil {
		return Authentication{}, fmt.Errorf("fetching the web identity token: %w", err)
	}
	claims, err := readClaims(jwt)
	if err != nil {
		return Authentication{}, fmt.Errorf("the web identity token: %w", err)
	}
	log := a.Logger
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "web identity token fetched", "iss", claims.Iss, "sub", claims.Sub,
		"aud", claims.aud(), "exp", claims.exp())
	return Authentication{
		Form:  url.Values{"client_assertion_type": {AssertionType}, "client_assertion": {jwt}},
		Scrub: assertionForms(jwt),
	}, nil
}

// tokenClaims are the claims of a web identity JWT that are logged.
type tokenClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud any    `json:"aud"` // a string or a list
	Exp *int64 `json:"exp"`
}

// aud returns the aud claim, its values comma-joined when it is a list.
func (c tokenClaims) aud() string {
	switch a := c.Aud.(type) {
	case string:
		return a
	case []any:
		var out []string
		for _, v := range a {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return strings.Join(out, ",")
	}
	return ""
}

// exp returns the exp claim in RFC 3339, "" when there is none.
func (c tokenClaims) exp() string {
	if c.Exp == nil {
		return ""
	}
	return time.Unix(*c.Exp, 0).UTC().Format(time.RFC3339)
}

// readClaims reads the claims of a compact JWS without verifying it: the
// provider verifies it. Its errors quote nothing of the token.
func readClaims(jwt string) (tokenClaims, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || parts[2] == "" {
		return tokenClaims{}, errors.New("is not a signed JWT (three base64url parts)")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return tokenClaims{}, errors.New("is not a signed JWT: its claims are not base64url")
	}
	var c tokenClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		return tokenClaims{}, errors.New("is not a signed JWT: its claims are not a JSON object")
	}
	return c, nil
}
