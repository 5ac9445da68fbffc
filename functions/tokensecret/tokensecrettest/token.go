package tokensecrettest

import (
	"encoding/json"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
)

// NewToken returns a bearer token issued at issued that lasts lifetime, with
// the scope the rotator asks for by default.
func NewToken(accessToken, clientID string, issued time.Time, lifetime time.Duration) tokensecret.Token {
	return tokensecret.Token{
		AccessToken: accessToken,
		TokenType:   "bearer",
		Expiry:      issued.Add(lifetime).UTC().Truncate(time.Second),
		IssuedAt:    issued.UTC().Truncate(time.Second),
		ClientID:    clientID,
		Scope:       "openid,AdobeID,read_organizations",
	}
}

// SecretString renders tok as the rotator writes it into the token secret,
// access token included: test data for Client.Put or a real secret.
func SecretString(tok tokensecret.Token) string {
	b, _ := json.Marshal(struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		Expiry      string `json:"expiry"`
		IssuedAt    string `json:"issued_at"`
		ClientID    string `json:"client_id"`
		Scope       string `json:"scope"`
	}{
		AccessToken: tok.AccessToken,
		TokenType:   tok.TokenType,
		Expiry:      tok.Expiry.UTC().Format(time.RFC3339),
		IssuedAt:    tok.IssuedAt.UTC().Format(time.RFC3339),
		ClientID:    tok.ClientID,
		Scope:       tok.Scope,
	})
	return string(b)
}

// Placeholder is what the token secret holds before the first rotation.
const Placeholder = `{}`
