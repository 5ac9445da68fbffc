package oauthtoken

import (
	"fmt"
	"log/slog"
)

// Credentials are the client's id and secret. The secret never prints:
// String, GoString, Format and LogValue all redact it.
type Credentials struct {
	ClientID     string
	ClientSecret string
}

const redacted = "[REDACTED]"

// String implements fmt.Stringer without the secret.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{ClientID: %q, ClientSecret: %s}", c.ClientID, redacted)
}

// GoString implements fmt.GoStringer without the secret, for %#v.
func (c Credentials) GoString() string { return c.String() }

// Format makes every fmt verb, %+v and %#v included, print String.
func (c Credentials) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue implements slog.LogValuer without the secret.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", c.ClientID), slog.String("client_secret", redacted))
}
