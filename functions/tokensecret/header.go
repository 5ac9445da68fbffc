package tokensecret

import (
	"fmt"
	"net/http"
	"strings"
)

// SetAuthHeader sets tok's headers on r as the Source's Config says:
// "Authorization: Bearer <access token>" always, and the client id in
// Config.APIKeyHeader ("x-api-key" by default) when tok has one, unless
// Config.OmitAPIKey is set. Transport calls it on every request; code that
// takes the token itself with Get can too. A StaticSource uses the defaults,
// as Token.SetAuthHeader does.
func (s *Source) SetAuthHeader(r *http.Request, tok Token) {
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if s.apiKeyHeader != "" && tok.ClientID != "" {
		r.Header.Set(s.apiKeyHeader, tok.ClientID)
	}
}

// clearAuthHeader removes from r the headers SetAuthHeader sets.
func (s *Source) clearAuthHeader(r *http.Request) {
	r.Header.Del("Authorization")
	if s.apiKeyHeader != "" {
		r.Header.Del(s.apiKeyHeader)
	}
}

// checkAPIKeyHeader checks that APIKeyHeader and OmitAPIKey agree and that
// the header can carry the client id without clobbering the token.
func (c Config) checkAPIKeyHeader() error {
	switch {
	case c.APIKeyHeader == "":
		return nil
	case c.OmitAPIKey:
		return fmt.Errorf("APIKeyHeader %q is set but OmitAPIKey is true; set one or the other", c.APIKeyHeader)
	case !validHeaderName(c.APIKeyHeader):
		return fmt.Errorf("APIKeyHeader %q is not a valid header name", c.APIKeyHeader)
	case strings.EqualFold(c.APIKeyHeader, "Authorization"):
		return fmt.Errorf("APIKeyHeader %q would replace the bearer token", c.APIKeyHeader)
	default:
		return nil
	}
}

// apiKeyHeader is the header a Source built from c sends the client id in,
// or "" when it sends none.
func (c Config) apiKeyHeader() string {
	switch {
	case c.OmitAPIKey:
		return ""
	case c.APIKeyHeader == "":
		return DefaultAPIKeyHeader
	default:
		return c.APIKeyHeader
	}
}

// validHeaderName reports whether name is an HTTP field name: one or more
// token characters (RFC 9110 section 5.1).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
