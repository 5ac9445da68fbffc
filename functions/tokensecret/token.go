package tokensecret

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// redacted stands in for an access token in every printed form of a Token.
const redacted = "REDACTED"

// Token is one token as the rotator stored it in the token secret.
//
// Printing a Token (fmt with any verb, String, GoString, slog, or
// encoding/json) never shows AccessToken: it is replaced by "REDACTED".
// Read the field itself only to put it on the wire, as SetAuthHeader does.
type Token struct {
	// AccessToken is the bearer token. It is a secret.
	AccessToken string
	// TokenType is the token type, "bearer".
	TokenType string
	// Expiry is when the token stops working.
	Expiry time.Time
	// IssuedAt is when the rotator obtained the token; zero if the secret
	// does not say.
	IssuedAt time.Time
	// ClientID is the OAuth client the token was issued to. Adobe APIs want
	// it in the x-api-key header; other APIs need not see it (see
	// Config.OmitAPIKey).
	ClientID string
	// Scope is the comma-separated scope the token was issued for.
	Scope string
	// Version is the Secrets Manager version id the token was read from;
	// empty when the source does not know it.
	Version string
}

// SetAuthHeader sets the two headers Adobe APIs need on r:
// "Authorization: Bearer <access token>" and "x-api-key: <client id>"
// (the latter only when ClientID is set). It always uses x-api-key; to
// follow Config.APIKeyHeader and Config.OmitAPIKey, as Transport does, call
// Source.SetAuthHeader instead.
func (t Token) SetAuthHeader(r *http.Request) {
	r.Header.Set("Authorization", "Bearer "+t.AccessToken)
	if t.ClientID != "" {
		r.Header.Set("X-Api-Key", t.ClientID)
	}
}

// OAuth2 returns the token as a golang.org/x/oauth2 Token.
func (t Token) OAuth2() *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: "Bearer", Expiry: t.Expiry}
}

// String describes the token without its access token.
func (t Token) String() string {
	var b strings.Builder
	b.WriteString("tokensecret.Token{access_token: ")
	b.WriteString(redacted)
	fmt.Fprintf(&b, ", token_type: %s, client_id: %s, scope: %s, expiry: %s",
		t.TokenType, t.ClientID, t.Scope, t.Expiry.UTC().Format(time.RFC3339))
	if !t.IssuedAt.IsZero() {
		fmt.Fprintf(&b, ", issued_at: %s", t.IssuedAt.UTC().Format(time.RFC3339))
	}
	if t.Version != "" {
		fmt.Fprintf(&b, ", version: %s", t.Version)
	}
	b.WriteString("}")
	return b.String()
}

// GoString is String, so that %#v hides the access token too.
func (t Token) GoString() string { return t.String() }

// Format writes String for every verb, so that no fmt verb (%v, %+v, %#v,
// %s, %q, %x, ...) prints the access token.
func (t Token) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", t.String())
		return
	}
	_, _ = f.Write([]byte(t.String()))
}

// LogValue gives slog the token's attributes with the access token redacted.
func (t Token) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("access_token", redacted),
		slog.String("token_type", t.TokenType),
		slog.String("client_id", t.ClientID),
		slog.String("scope", t.Scope),
		slog.Time("expiry", t.Expiry),
	}
	if t.Version != "" {
		attrs = append(attrs, slog.String("version", t.Version))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON encodes the token in the secret's field names with the access
// token redacted, so that a Token returned from a handler or logged as JSON
// cannot leak.
func (t Token) MarshalJSON() ([]byte, error) {
	w := wireToken{
		AccessToken: redacted,
		TokenType:   t.TokenType,
		Expiry:      t.Expiry.UTC().Format(time.RFC3339),
		ClientID:    t.ClientID,
		Scope:       t.Scope,
	}
	if !t.IssuedAt.IsZero() {
		w.IssuedAt = t.IssuedAt.UTC().Format(time.RFC3339)
	}
	return json.Marshal(w)
}

// wireToken is the token secret's JSON.
type wireToken struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	Expiry      string `json:"expiry"`
	IssuedAt    string `json:"issued_at,omitempty"`
	ClientID    string `json:"client_id"`
	Scope       string `json:"scope"`
}

// ParseSecret decodes a token secret's SecretString. It returns an error
// wrapping ErrNoToken for the placeholder the secret holds before the first
// rotation ({} or an empty access_token), and one wrapping ErrMalformed when
// the value is not a token secret. No error message contains the value.
func ParseSecret(secretString string) (Token, error) {
	var w wireToken
	if err := json.Unmarshal([]byte(secretString), &w); err != nil {
		return Token{}, fmt.Errorf("%w: %s", ErrMalformed, describeJSONError(err))
	}
	if w.AccessToken == "" {
		return Token{}, ErrNoToken
	}
	if !strings.EqualFold(w.TokenType, "bearer") {
		return Token{}, fmt.Errorf("%w: token_type is %q, want bearer", ErrMalformed, w.TokenType)
	}
	expiry, err := time.Parse(time.RFC3339, w.Expiry)
	if err != nil {
		return Token{}, fmt.Errorf("%w: expiry %q is not an RFC 3339 time", ErrMalformed, w.Expiry)
	}
	t := Token{
		AccessToken: w.AccessToken,
		TokenType:   w.TokenType,
		Expiry:      expiry,
		ClientID:    w.ClientID,
		Scope:       w.Scope,
	}
	if w.IssuedAt != "" {
		if t.IssuedAt, err = time.Parse(time.RFC3339, w.IssuedAt); err != nil {
			return Token{}, fmt.Errorf("%w: issued_at %q is not an RFC 3339 time", ErrMalformed, w.IssuedAt)
		}
	}
	return t, nil
}

// describeJSONError says what is wrong with a JSON value without quoting it:
// encoding/json's messages can carry pieces of the input.
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong JSON type", typ.Field)
	default:
		return "not a JSON object"
	}
}
