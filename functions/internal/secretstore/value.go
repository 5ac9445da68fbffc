package secretstore

import (
	"fmt"
	"log/slog"
	"time"
)

// TokenValue is the token secret's JSON value. It decodes as is into
// golang.org/x/oauth2.Token. AccessToken never prints: String, GoString,
// Format and LogValue redact it.
type TokenValue struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	Expiry      time.Time `json:"expiry"`
	IssuedAt    time.Time `json:"issued_at"`
	ClientID    string    `json:"client_id"`
	Scope       string    `json:"scope"`
	// TokenParams is the TOKEN_PARAMS the token was requested with, in
	// canonical query form; absent when there were none. Not secret.
	TokenParams string `json:"token_params,omitempty"`
}

// String implements fmt.Stringer without the access token.
func (v TokenValue) String() string {
	return fmt.Sprintf("TokenValue{AccessToken: [REDACTED], TokenType: %q, Expiry: %s, IssuedAt: %s, ClientID: %q, Scope: %q, TokenParams: %q}",
		v.TokenType, v.Expiry.Format(time.RFC3339), v.IssuedAt.Format(time.RFC3339), v.ClientID, v.Scope, v.TokenParams)
}

// GoString implements fmt.GoStringer without the access token.
func (v TokenValue) GoString() string { return v.String() }

// Format makes every fmt verb print String.
func (v TokenValue) Format(f fmt.State, _ rune) { fmt.Fprint(f, v.String()) }

// LogValue implements slog.LogValuer without the access token.
func (v TokenValue) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Time("expiry", v.Expiry), slog.Time("issued_at", v.IssuedAt),
		slog.String("client_id", v.ClientID), slog.String("scope", v.Scope),
		slog.String("token_params", v.TokenParams),
	)
}

// Current is what the token secret holds now.
type Current struct {
	// Value is the stored token; meaningful only when Problem is empty.
	Value TokenValue
	// VersionID is the AWSCURRENT version, empty when the secret has no value.
	VersionID string
	// Problem says why the stored value is no usable token ("no value yet",
	// "holds no token (placeholder)", "expiry is missing", ...); empty when
	// it is one. It never quotes the value.
	Problem string
}
