// Package config reads and validates the rotator's settings from its
// environment, in one place.
//
//	cfg, err := config.Load(os.Getenv)
//	if err != nil {
//		// err names every bad variable at once.
//	}
//
// The variable names are constants here and nowhere else: the function reads
// them through Load, and the tests that check template.yaml read them through
// Names.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
)

// The environment variables the rotator reads.
const (
	EnvCredentialsSecretID = "CREDENTIALS_SECRET_ID"
	EnvTokenSecretID       = "TOKEN_SECRET_ID"
	EnvTokenURL            = "TOKEN_URL"
	EnvScope               = "SCOPE"
	EnvTokenAuth           = "TOKEN_AUTH"
	EnvRefreshAfter        = "REFRESH_AFTER"
	EnvTokenParams         = "TOKEN_PARAMS"
	EnvTokenLifetime       = "TOKEN_LIFETIME"
)

// Defaults for the optional variables.
const (
	DefaultTokenURL     = "https://ims-na1.adobelogin.com/ims/token/v3"
	DefaultScope        = "openid,AdobeID,read_organizations"
	DefaultTokenAuth    = AuthBody
	DefaultRefreshAfter = time.Hour
)

// TokenAuth says how the client authenticates at the token endpoint.
type TokenAuth string

const (
	// AuthBody sends client_id and client_secret as form fields, as IMS wants.
	AuthBody TokenAuth = "body"
	// AuthBasic sends them in an HTTP Basic header (RFC 6749 section 2.3.1).
	AuthBasic TokenAuth = "basic"
)

// Names returns every variable Load reads, in a fixed order.
func Names() []string {
	return []string{EnvCredentialsSecretID, EnvTokenSecretID, EnvTokenURL, EnvScope, EnvTokenAuth, EnvRefreshAfter,
		EnvTokenParams, EnvTokenLifetime}
}

// Config is the rotator's validated configuration.
type Config struct {
	// CredentialsSecretID names the secret holding client_id and client_secret.
	CredentialsSecretID string
	// TokenSecretID names the secret the token is written to.
	TokenSecretID string
	// TokenURL is the OAuth2 token endpoint: https, or http on a loopback host.
	TokenURL string
	// Scope is sent as is in the form field "scope": comma-separated for
	// IMS, space-separated for most other providers.
	Scope string
	// TokenAuth says where the client credentials go in the token request.
	TokenAuth TokenAuth
	// RefreshAfter is the age from which a normal run replaces the stored
	// token; a quarter of the token's lifetime, when shorter, wins (see
	// package rotation).
	RefreshAfter time.Duration
	// TokenParams holds the extra form fields of the token request (such as
	// audience or resource) in canonical form: url.Values.Encode, keys
	// sorted, repeated keys in their given order. Empty means none. The
	// token secret stores it, so that a run can tell a token made with
	// other fields. Params decodes it.
	TokenParams string
	// TokenLifetime is the lifetime assumed for a token whose answer has
	// neither expires_in nor a JWT access token with exp; zero means such
	// an answer is refused.
	TokenLifetime time.Duration
}

// Params returns TokenParams decoded, nil when there are none.
func (c Config) Params() url.Values {
	if c.TokenParams == "" {
		return nil
	}
	v, _ := url.ParseQuery(c.TokenParams) // Load checked it
	return v
}

// Load reads the configuration through getenv (os.Getenv in production).
// Unset or empty optional variables take their defaults. The error, if any,
// names every bad variable, one per line.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}

	cfg := Config{
		CredentialsSecretID: get(EnvCredentialsSecretID, ""),
		TokenSecretID:       get(EnvTokenSecretID, ""),
		TokenURL:            get(EnvTokenURL, DefaultTokenURL),
		Scope:               get(EnvScope, DefaultScope),
		TokenAuth:           TokenAuth(get(EnvTokenAuth, string(DefaultTokenAuth))),
		RefreshAfter:        DefaultRefreshAfter,
	}
	if cfg.CredentialsSecretID == "" {
		bad(EnvCredentialsSecretID, "required: the name or ARN of the secret holding client_id and client_secret")
	}
	if cfg.TokenSecretID == "" {
		bad(EnvTokenSecretID, "required: the name or ARN of the secret the token is written to")
	}
	if cfg.CredentialsSecretID != "" && cfg.CredentialsSecretID == cfg.TokenSecretID {
		bad(EnvTokenSecretID, "must name another secret than %s: the token would overwrite the credentials", EnvCredentialsSecretID)
	}
	if err := checkTokenURL(cfg.TokenURL); err != nil {
		bad(EnvTokenURL, "%v", err)
	}
	// Spaces are allowed: IMS joins scopes with commas, most other providers
	// with spaces, and the value is sent as is.
	if i := strings.IndexFunc(cfg.Scope, unicode.IsControl); i >= 0 {
		bad(EnvScope, "must not contain control characters, found %q at byte %d", cfg.Scope[i], i)
	}
	switch cfg.TokenAuth {
	case AuthBody, AuthBasic:
	default:
		bad(EnvTokenAuth, "%q is not one of %q or %q", string(cfg.TokenAuth), AuthBody, AuthBasic)
	}
	if v := get(EnvRefreshAfter, ""); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad(EnvRefreshAfter, "%q is not a Go duration such as 1h or 90m", v)
		case d <= 0:
			bad(EnvRefreshAfter, "%q must be above zero", v)
		default:
			cfg.RefreshAfter = d
		}
	}
	if v := get(EnvTokenParams, ""); v != "" {
		params, err := parseTokenParams(v)
		if err != nil {
			bad(EnvTokenParams, "%v", err)
		} else {
			cfg.TokenParams = params.Encode()
		}
	}
	if v := get(EnvTokenLifetime, ""); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad(EnvTokenLifetime, "%q is not a Go duration such as 1h or 90m", v)
		case d < oauthtoken.MinLifetime || d > oauthtoken.MaxLifetime:
			bad(EnvTokenLifetime, "%q is outside %s to %s, the lifetimes this rotator keeps fresh", v, oauthtoken.MinLifetime, oauthtoken.MaxLifetime)
		default:
			cfg.TokenLifetime = d
		}
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration:\n%w", errors.Join(errs...))
	}
	return cfg, nil
}

// reservedParams are the form fields the rotator sets itself: TOKEN_PARAMS
// may not replace them, so that the credentials and the grant always come
// from where they are configured.
var reservedParams = []string{"grant_type", "client_id", "client_secret", "scope"}

// parseTokenParams parses TOKEN_PARAMS, a URL query string such as
// "audience=https://api.example.com/" (a key may repeat). It refuses a
// reserved field, an empty key and control characters, raw or escaped.
func parseTokenParams(raw string) (url.Values, error) {
	if i := strings.IndexFunc(raw, unicode.IsControl); i >= 0 {
		return nil, fmt.Errorf("must not contain control characters, found %q at byte %d", raw[i], i)
	}
	params, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("is not a URL query string such as audience=https://api.example.com/ (%v)", err)
	}
	for key, values := range params {
		if key == "" {
			return nil, errors.New("has a field without a name; want name=value pairs joined with &")
		}
		for _, r := range reservedParams {
			if strings.EqualFold(key, r) {
				return nil, fmt.Errorf("must not set %q: the rotator sets it (scope comes from %s, the client from the credentials secret)", key, EnvScope)
			}
		}
		for _, s := range append([]string{key}, values...) {
			if strings.ContainsFunc(s, unicode.IsControl) {
				return nil, fmt.Errorf("field %q must not contain control characters once decoded", key)
			}
		}
	}
	return params, nil
}

// checkTokenURL accepts an absolute https URL, or http on a loopback host
// (localhost, 127.0.0.0/8, ::1) for local emulators. There is no setting
// that turns TLS verification off.
func checkTokenURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL with a host", raw)
	}
	if u.User != nil {
		return fmt.Errorf("must not carry user information; credentials come from the credentials secret")
	}
	if u.Fragment != "" {
		return fmt.Errorf("%q must not have a fragment", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%q: https is required (plain http is allowed only for loopback hosts)", raw)
	default:
		return fmt.Errorf("%q: scheme %q is not supported, https is required", raw, u.Scheme)
	}
}

// IsLoopback reports whether host is localhost or a loopback IP address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
