package oauthtoken

import (
	"fmt"
	"log/slog"
	"time"
)

// Token is a checked access token. AccessToken never prints: String,
// GoString, Format and LogValue all redact it.
type Token struct {
	AccessToken string
	TokenType   string
	// IssuedAt is when the response arrived, by the fetcher's clock.
	IssuedAt time.Time
	// Expiry is IssuedAt plus the token's lifetime (see LifetimeFrom).
	Expiry time.Time
	// DebugID is the response's X-Debug-Id header, if any (not secret).
	DebugID string
	// LifetimeFrom says where the lifetime came from: FromExpiresIn,
	// FromJWT or FromSetting.
	LifetimeFrom string
	// Attempts is how many requests it took, retries included.
	Attempts int
}

// String implements fmt.Stringer without the access token.
func (t Token) String() string {
	return fmt.Sprintf("Token{AccessToken: %s, TokenType: %q, IssuedAt: %s, Expiry: %s}",
		redacted, t.TokenType, t.IssuedAt.Format(time.RFC3339), t.Expiry.Format(time.RFC3339))
}

// GoString implements fmt.GoStringer without the access token.
func (t Token) GoString() string { return t.String() }

// Format makes every fmt verb print String.
func (t Token) Format(f fmt.State, _ rune) { fmt.Fprint(f, t.String()) }

// LogValue implements slog.LogValuer without the access token.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("token_type", t.TokenType),
		slog.Time("issued_at", t.IssuedAt),
		slog.Time("expiry", t.Expiry),
	)
}
