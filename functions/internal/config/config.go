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
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
)

// The environment variables the rotator reads.
const (
	EnvCredentialsSecretID     = "CREDENTIALS_SECRET_ID"
	EnvTokenSecretID           = "TOKEN_SECRET_ID"
	EnvTokenURL                = "TOKEN_URL"
	EnvScope                   = "SCOPE"
	EnvTokenAuth               = "TOKEN_AUTH"
	EnvMinTokenAge             = "MIN_TOKEN_AGE"
	EnvTokenParams             = "TOKEN_PARAMS"
	EnvTokenLifetime           = "TOKEN_LIFETIME"
	EnvTestURL                 = "TEST_URL"
	EnvSigningKey              = "SIGNING_KEY"
	EnvSigningAlg              = "SIGNING_ALG"
	EnvAssertionAudience       = "ASSERTION_AUDIENCE"
	EnvSigningKeyID            = "SIGNING_KEY_ID"
	EnvSigningCertSHA256       = "SIGNING_CERT_SHA256"
	EnvSigningCertSHA1         = "SIGNING_CERT_SHA1"
	EnvWebIdentityAudience     = "WEB_IDENTITY_AUDIENCE"
	EnvWebIdentityAlg          = "WEB_IDENTITY_ALG"
	EnvIntegration             = "INTEGRATION"
	EnvIntegrationSecretPrefix = "INTEGRATION_SECRET_PREFIX"
	EnvClientSecretRotation    = "CLIENT_SECRET_ROTATION"
	EnvManagementURL           = "MANAGEMENT_URL"
)

// EnvRefreshAfter is MIN_TOKEN_AGE's old name, which read like "refresh
// hourly". It is still read, and refresh_after per integration, wherever
// the new name is not set; a run logs that it is deprecated.
const EnvRefreshAfter = "REFRESH_AFTER"

// renamed maps each old variable name still read to the name that
// replaced it.
var renamed = map[string]string{EnvRefreshAfter: EnvMinTokenAge}

// oldName returns the old name still read for the variable name, or "".
func oldName(name string) string {
	for old, n := range renamed {
		if n == name {
			return old
		}
	}
	return ""
}

// deprecated is the sentence a run logs for an old name it read.
func deprecated(old, name string) string {
	return fmt.Sprintf("%s is deprecated: it is read as %s, which means the same (the least age before a normal run replaces a token); rename it", old, name)
}

// Defaults for the optional variables.
const (
	DefaultTokenURL    = "https://ims-na1.adobelogin.com/ims/token/v3"
	DefaultScope       = "openid,AdobeID,read_organizations"
	DefaultTokenAuth   = AuthBody
	DefaultMinTokenAge = time.Hour
	// DefaultManagementURL is the Adobe I/O Management API's base URL.
	DefaultManagementURL = "https://api.adobe.io"
)

// The CLIENT_SECRET_ROTATION values: how an integration's client secret
// is rotated when Secrets Manager rotates its credentials secret.
const (
	// RotationNone rotates no client secret; unset means it too.
	RotationNone = "none"
	// RotationAdobe rotates it through Adobe's I/O Management API.
	RotationAdobe = "adobe"
)

// TokenAuth says how the client authenticates at the token endpoint.
type TokenAuth string

const (
	// AuthBody sends client_id and client_secret as form fields, as IMS wants.
	AuthBody TokenAuth = "body"
	// AuthBasic sends them in an HTTP Basic header (RFC 6749 section 2.3.1).
	AuthBasic TokenAuth = "basic"
	// AuthPrivateKeyJWT sends a JWT signed by SIGNING_KEY, a KMS key, and
	// no client secret (RFC 7523 section 2.2).
	AuthPrivateKeyJWT TokenAuth = "private_key_jwt"
	// AuthAWSWebIdentity sends a JWT that AWS STS issues for the function's
	// role (sts:GetWebIdentityToken) as the client assertion, and no client
	// secret: Entra ID workload identity federation.
	AuthAWSWebIdentity TokenAuth = "aws_web_identity"
)

// DefaultWebIdentityAudience is the aud of the STS JWT when
// WEB_IDENTITY_AUDIENCE is unset: the audience Entra ID's federated
// identity credentials expect.
const DefaultWebIdentityAudience = "api://AzureADTokenExchange"

// The WEB_IDENTITY_ALG values: how STS signs the JWT.
const (
	// AlgES384 is ECDSA on P-384 with SHA-384; RS256 (AlgRS256) is the other.
	AlgES384 = "ES384"
)

// The SIGNING_ALG values, for an RSA signing key; a P-256 key signs ES256.
const (
	AlgRS256 = "RS256"
	AlgPS256 = "PS256"
)

// Names returns every variable Load reads, in a fixed order.
func Names() []string {
	return []string{EnvCredentialsSecretID, EnvTokenSecretID, EnvTokenURL, EnvScope, EnvTokenAuth, EnvMinTokenAge,
		EnvTokenParams, EnvTokenLifetime, EnvTestURL, EnvSigningKey, EnvSigningAlg, EnvAssertionAudience, EnvSigningKeyID,
		EnvSigningCertSHA256, EnvSigningCertSHA1, EnvWebIdentityAudience, EnvWebIdentityAlg, EnvIntegration,
		EnvIntegrationSecretPrefix, EnvClientSecretRotation, EnvManagementURL}
}

// ProviderNames returns the variables that make up a Provider, in a fixed
// order. Each can also be set per integration, in the credentials secret,
// under its SettingKey.
func ProviderNames() []string {
	return []string{EnvTokenURL, EnvScope, EnvTokenAuth, EnvMinTokenAge, EnvTokenParams, EnvTokenLifetime, EnvTestURL,
		EnvSigningKey, EnvSigningAlg, EnvAssertionAudience, EnvSigningKeyID, EnvSigningCertSHA256, EnvSigningCertSHA1,
		EnvWebIdentityAudience, EnvWebIdentityAlg, EnvClientSecretRotation, EnvManagementURL}
}

// SettingKey is the credentials secret's JSON field that sets the variable
// env for one integration: its name in lower case ("token_url" for TOKEN_URL).
func SettingKey(env string) string { return strings.ToLower(env) }

// Provider holds the settings of one integration's token request and
// refresh: the function's environment gives the defaults, and each
// integration's credentials secret may override them (Overlay).
type Provider struct {
	// TokenURL is the OAuth2 token endpoint: https, or http on a loopback host.
	TokenURL string
	// Scope is sent as is in the form field "scope": comma-separated for
	// IMS, space-separated for most other providers; empty sends none.
	Scope string
	// TokenAuth says where the client credentials go in the token request.
	TokenAuth TokenAuth
	// MinTokenAge is the age from which a normal run replaces the stored
	// token; a quarter of the token's lifetime, when shorter, wins (see
	// package rotation).
	MinTokenAge time.Duration
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
	// TestURL, used only by the rotation protocol's testSecret step, is a
	// URL that a pending token must be able to GET with a 2xx before it
	// becomes current: https, or http on a loopback host. Empty means no
	// such request; the pending value is still checked.
	TestURL string
	// TestURLWithheld is true when TestURL is empty although the
	// environment sets TEST_URL: the integration's credentials secret sets a
	// token_url of its own and no test_url, and the environment's TEST_URL
	// may belong to another provider, which must never get its token. False
	// means TestURL is as configured.
	TestURLWithheld bool
	// SigningKey is the ARN of the KMS key, or of its alias, that signs the
	// client assertion of private_key_jwt; empty for the other methods.
	SigningKey string
	// SigningAlg is RS256 or PS256 for an RSA signing key; empty means
	// RS256. A P-256 key signs ES256 whatever it says.
	SigningAlg string
	// AssertionAudience is the assertion's aud claim; empty means TokenURL
	// (some providers want their issuer).
	AssertionAudience string
	// SigningKeyID is the assertion's kid header, where the provider
	// registered a JWK; empty sends none.
	SigningKeyID string
	// SigningCertSHA256 and SigningCertSHA1 are the registered
	// certificate's thumbprints in lower-case hex, sent as the x5t#S256 and
	// x5t headers (Entra ID); empty sends none.
	SigningCertSHA256, SigningCertSHA1 string
	// WebIdentityAudience is the aud that aws_web_identity asks STS to put
	// in its JWT; empty means DefaultWebIdentityAudience.
	WebIdentityAudience string
	// WebIdentityAlg is how STS signs that JWT, RS256 or ES384; empty means
	// RS256.
	WebIdentityAlg string
	// ClientSecretRotation is RotationAdobe when a rotation of the
	// credentials secret rotates the client secret through Adobe's I/O
	// Management API; empty means no client-secret rotation. An
	// integration with a token_url of its own does not inherit the
	// environment's: it names another provider.
	ClientSecretRotation string
	// ManagementURL is the I/O Management API's base URL: https, or http
	// on a loopback host; empty means DefaultManagementURL. Like
	// ClientSecretRotation, not inherited by an integration with a
	// token_url of its own.
	ManagementURL string
}

// Config is the rotator's validated configuration: the integration the
// environment names, the defaults of every integration's settings, and
// where the other integrations are found.
type Config struct {
	// Integration is the name of the integration the environment
	// configures (CREDENTIALS_SECRET_ID and TOKEN_SECRET_ID);
	// integration.DefaultName unless INTEGRATION is set.
	Integration string
	// CredentialsSecretID names the secret holding client_id and
	// client_secret; empty only when IntegrationSecretPrefix is set and the
	// environment configures no integration of its own.
	CredentialsSecretID string
	// TokenSecretID names the secret the token is written to; empty exactly
	// when CredentialsSecretID is.
	TokenSecretID string
	// IntegrationSecretPrefix is the name prefix of the token secrets of
	// the integrations added with make integration-add; empty means the
	// function keeps only the environment's integration.
	IntegrationSecretPrefix string
	// Provider holds the defaults of every integration's settings.
	Provider
	// Deprecations says, one sentence each, which old variable names the
	// environment used (REFRESH_AFTER): the handler logs them.
	Deprecations []string
}

// Params returns TokenParams decoded, nil when there are none.
func (p Provider) Params() url.Values {
	if p.TokenParams == "" {
		return nil
	}
	v, _ := url.ParseQuery(p.TokenParams) // Load or Overlay checked it
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
		Integration:             get(EnvIntegration, integration.DefaultName),
		CredentialsSecretID:     get(EnvCredentialsSecretID, ""),
		TokenSecretID:           get(EnvTokenSecretID, ""),
		IntegrationSecretPrefix: get(EnvIntegrationSecretPrefix, ""),
		Provider: Provider{
			TokenURL:    DefaultTokenURL,
			Scope:       DefaultScope,
			TokenAuth:   DefaultTokenAuth,
			MinTokenAge: DefaultMinTokenAge,
		},
	}
	if err := integration.CheckName(cfg.Integration); err != nil {
		bad(EnvIntegration, "%v", err)
	}
	fleet := cfg.IntegrationSecretPrefix != ""
	switch {
	case cfg.CredentialsSecretID == "" && cfg.TokenSecretID == "" && fleet:
		// Only the integrations found under the prefix.
	case cfg.CredentialsSecretID == "":
		bad(EnvCredentialsSecretID, "required: the name or ARN of the secret holding client_id and client_secret")
		if cfg.TokenSecretID == "" {
			bad(EnvTokenSecretID, "required: the name or ARN of the secret the token is written to")
		}
	case cfg.TokenSecretID == "":
		bad(EnvTokenSecretID, "required: the name or ARN of the secret the token is written to")
	case cfg.CredentialsSecretID == cfg.TokenSecretID:
		bad(EnvTokenSecretID, "must name another secret than %s: the token would overwrite the credentials", EnvCredentialsSecretID)
	}
	if fleet {
		if strings.ContainsFunc(cfg.IntegrationSecretPrefix, unicode.IsControl) || !strings.HasSuffix(cfg.IntegrationSecretPrefix, "/") {
			bad(EnvIntegrationSecretPrefix, "%q must be a secret name prefix ending in /, such as tokenrotator/integrations/", cfg.IntegrationSecretPrefix)
		}
		if cfg.TokenSecretID != "" && strings.HasPrefix(secretName(cfg.TokenSecretID), cfg.IntegrationSecretPrefix) {
			bad(EnvTokenSecretID, "must not name a secret under %s %q (by name or ARN): those names belong to added integrations", EnvIntegrationSecretPrefix, cfg.IntegrationSecretPrefix)
		}
	}
	for _, name := range ProviderNames() {
		v := get(name, "")
		if old := oldName(name); old != "" {
			switch ov := get(old, ""); {
			case ov == "":
			case v != "" && v != ov:
				bad(old, "%q and %s %q are both set: %s is %s's deprecated name; set %s only", ov, name, v, old, name, name)
				continue
			default:
				v = ov
				cfg.Deprecations = append(cfg.Deprecations, deprecated(old, name))
			}
		}
		if v != "" {
			if err := cfg.Provider.set(name, v); err != nil {
				bad(name, "%v", err)
			}
		}
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration:\n%w", errors.Join(errs...))
	}
	return cfg, nil
}

// secretName is the name part of a secret id: id itself, or what follows
// ":secret:" in an ARN (with the 6-character suffix of a full ARN, which
// a prefix check does not mind).
func secretName(id string) string {
	if _, name, ok := strings.Cut(id, ":secret:"); ok && strings.HasPrefix(id, "arn:") {
		return name
	}
	return id
}

// Overlay returns p with the settings that an integration's credentials
// secret carries: the fields named by SettingKey ("token_url", "scope",
// ...), each a JSON string; other fields are ignored. An empty "scope",
// "token_params" or "test_url" means none; any other empty field means p's
// value. An integration whose "token_url" is not p's and that sets no
// "test_url" gets none (TestURLWithheld): p's may be another provider's,
// and a token goes to no other provider; nor p's ASSERTION_AUDIENCE, whose
// default, the token URL, then applies. The error names every bad field
// and quotes no value of a field it does not know.
func (p Provider) Overlay(fields map[string]json.RawMessage) (Provider, error) {
	defaults := p
	var errs []error
	for _, name := range ProviderNames() {
		key := SettingKey(name)
		raw, ok := fields[key]
		if old := oldName(name); old != "" {
			oldRaw, oldOK := fields[SettingKey(old)]
			switch {
			case !oldOK:
			case ok && string(oldRaw) != string(raw):
				errs = append(errs, fmt.Errorf("fields %q and %q are both set: %q is %q's deprecated name; set %q only", SettingKey(old), key, SettingKey(old), key, key))
				continue
			default:
				raw, ok = oldRaw, true
			}
		}
		if !ok {
			continue
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			errs = append(errs, fmt.Errorf("field %q (%s for this integration) must be a string", key, name))
			continue
		}
		v = strings.TrimSpace(v)
		if v == "" {
			switch name {
			case EnvScope:
				p.Scope = ""
			case EnvTokenParams:
				p.TokenParams = ""
			case EnvTestURL:
				p.TestURL = ""
			case EnvClientSecretRotation:
				p.ClientSecretRotation = ""
			}
			continue
		}
		if err := p.set(name, v); err != nil {
			errs = append(errs, fmt.Errorf("field %q (%s for this integration): %w", key, name, err))
		}
	}
	if len(errs) == 0 && p.TokenAuth == AuthPrivateKeyJWT && p.SigningKey == "" {
		errs = append(errs, fmt.Errorf("%s is %s but no %s (field %q) names the KMS key that signs the assertion",
			EnvTokenAuth, AuthPrivateKeyJWT, EnvSigningKey, SettingKey(EnvSigningKey)))
	}
	if len(errs) > 0 {
		return Provider{}, errors.Join(errs...)
	}
	if _, own := fields[SettingKey(EnvTestURL)]; !own && p.TokenURL != defaults.TokenURL && p.TestURL != "" {
		p.TestURL, p.TestURLWithheld = "", true
	}
	if _, own := fields[SettingKey(EnvAssertionAudience)]; !own && p.TokenURL != defaults.TokenURL {
		p.AssertionAudience = "" // the environment's names another provider: this one's token URL
	}
	if p.TokenURL != defaults.TokenURL {
		// The environment's client-secret rotation is another provider's.
		if _, own := fields[SettingKey(EnvClientSecretRotation)]; !own {
			p.ClientSecretRotation = ""
		}
		if _, own := fields[SettingKey(EnvManagementURL)]; !own {
			p.ManagementURL = ""
		}
	}
	return p, nil
}

// DeprecatedFields says, one sentence each, which old setting names
// (refresh_after) an integration's credentials secret fields use.
func DeprecatedFields(fields map[string]json.RawMessage) []string {
	var out []string
	for old, name := range renamed {
		if _, ok := fields[SettingKey(old)]; ok {
			out = append(out, deprecated(SettingKey(old), SettingKey(name)))
		}
	}
	return out
}

// set parses the value v of the Provider variable name into p: the one
// place where each setting is checked, for the environment and for the
// credentials secret alike.
func (p *Provider) set(name, v string) error {
	switch name {
	case EnvTokenURL:
		if err := checkURL(v); err != nil {
			return err
		}
		p.TokenURL = v
	case EnvTestURL:
		if err := checkURL(v); err != nil {
			return err
		}
		p.TestURL = v
	case EnvScope:
		// Spaces are allowed: IMS joins scopes with commas, most other
		// providers with spaces, and the value is sent as is.
		if err := noControl(v); err != nil {
			return err
		}
		p.Scope = v
	case EnvTokenAuth:
		switch a := TokenAuth(v); a {
		case AuthBody, AuthBasic, AuthPrivateKeyJWT, AuthAWSWebIdentity:
			p.TokenAuth = a
		default:
			return fmt.Errorf("%q is not one of %q, %q, %q or %q", v, AuthBody, AuthBasic, AuthPrivateKeyJWT, AuthAWSWebIdentity)
		}
	case EnvSigningKey:
		if !kmsKeyARN.MatchString(v) {
			return fmt.Errorf("%q is not the ARN of a KMS key or alias, such as arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab or arn:aws:kms:eu-west-1:111122223333:alias/tokenrotator", v)
		}
		p.SigningKey = v
	case EnvSigningAlg:
		if v != AlgRS256 && v != AlgPS256 {
			return fmt.Errorf("%q is not one of %q or %q (a P-256 key signs ES256 without this setting)", v, AlgRS256, AlgPS256)
		}
		p.SigningAlg = v
	case EnvAssertionAudience:
		if err := noControl(v); err != nil {
			return err
		}
		p.AssertionAudience = v
	case EnvWebIdentityAudience:
		if err := noControl(v); err != nil {
			return err
		}
		p.WebIdentityAudience = v
	case EnvWebIdentityAlg:
		if v != AlgRS256 && v != AlgES384 {
			return fmt.Errorf("%q is not one of %q or %q, the algorithms STS signs with", v, AlgRS256, AlgES384)
		}
		p.WebIdentityAlg = v
	case EnvSigningKeyID:
		if err := noControl(v); err != nil {
			return err
		}
		if len(v) > 256 {
			return fmt.Errorf("is %d bytes long, at most 256", len(v))
		}
		p.SigningKeyID = v
	case EnvSigningCertSHA256:
		h, err := thumbprint(v, 32)
		if err != nil {
			return err
		}
		p.SigningCertSHA256 = h
	case EnvSigningCertSHA1:
		h, err := thumbprint(v, 20)
		if err != nil {
			return err
		}
		p.SigningCertSHA1 = h
	case EnvClientSecretRotation:
		switch v {
		case RotationAdobe:
			p.ClientSecretRotation = v
		case RotationNone:
			p.ClientSecretRotation = ""
		default:
			return fmt.Errorf("%q is not %q or %q (or empty, for none)", v, RotationAdobe, RotationNone)
		}
	case EnvManagementURL:
		if err := checkURL(v); err != nil {
			return err
		}
		p.ManagementURL = v
	case EnvMinTokenAge:
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			return fmt.Errorf("%q is not a Go duration such as 1h or 90m", v)
		case d <= 0:
			return fmt.Errorf("%q must be above zero", v)
		}
		p.MinTokenAge = d
	case EnvTokenParams:
		params, err := parseTokenParams(v)
		if err != nil {
			return err
		}
		p.TokenParams = params.Encode()
	case EnvTokenLifetime:
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			return fmt.Errorf("%q is not a Go duration such as 1h or 90m", v)
		case d < oauthtoken.MinLifetime || d > oauthtoken.MaxLifetime:
			return fmt.Errorf("%q is outside %s to %s, the lifetimes this rotator keeps fresh", v, oauthtoken.MinLifetime, oauthtoken.MaxLifetime)
		}
		p.TokenLifetime = d
	default:
		return fmt.Errorf("not a provider setting")
	}
	return nil
}

// kmsKeyARN matches the ARN of a KMS key or alias.
var kmsKeyARN = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key/[A-Za-z0-9-]{1,64}|alias/[A-Za-z0-9/_-]{1,250})$`)

// thumbprint parses a certificate thumbprint of size bytes in hex, with or
// without colons between the bytes, as portals show them; it returns lower
// hex.
func thumbprint(v string, size int) (string, error) {
	h := strings.ToLower(strings.ReplaceAll(v, ":", ""))
	if b, err := hex.DecodeString(h); err != nil || len(b) != size {
		return "", fmt.Errorf("%q is not a thumbprint of %d bytes in hex (%d hex digits, colons allowed)", v, size, 2*size)
	}
	return h, nil
}

// CheckClientSecret says whether a credentials secret that has a client
// secret (or has none) suits p: private_key_jwt and aws_web_identity send
// none, so a secret beside them is ambiguous; the other methods need one.
func (p Provider) CheckClientSecret(has bool) error {
	switch {
	case p.SendsNoSecret() && has:
		return fmt.Errorf(`holds a "client_secret", but %s is %s, which sends none: ambiguous, remove the client_secret (or choose another %s)`,
			SettingKey(EnvTokenAuth), p.TokenAuth, SettingKey(EnvTokenAuth))
	case !p.SendsNoSecret() && !has:
		return errors.New(`field "client_secret" is missing`)
	}
	return nil
}

// SendsNoSecret reports whether p's client authentication is an assertion
// (private_key_jwt, aws_web_identity), which sends no client secret.
func (p Provider) SendsNoSecret() bool {
	return p.TokenAuth == AuthPrivateKeyJWT || p.TokenAuth == AuthAWSWebIdentity
}

// reservedParams are the form fields the rotator sets itself: TOKEN_PARAMS
// may not replace them, so that the credentials and the grant always come
// from where they are configured.
var reservedParams = []string{"grant_type", "client_id", "client_secret", "client_assertion", "client_assertion_type", "scope"}

// noControl refuses a value holding a control character, naming the
// character and its byte offset.
func noControl(v string) error {
	if i := strings.IndexFunc(v, unicode.IsControl); i >= 0 {
		return fmt.Errorf("must not contain control characters, found %q at byte %d", v[i], i)
	}
	return nil
}

// parseTokenParams parses TOKEN_PARAMS, a URL query string such as
// "audience=https://api.example.com/" (a key may repeat). It refuses a
// reserved field, an empty key and control characters, raw or escaped.
func parseTokenParams(raw string) (url.Values, error) {
	if err := noControl(raw); err != nil {
		return nil, err
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

// CheckURL is checkURL for the packages that take a URL from settings
// config validated elsewhere, such as the provider's management API.
func CheckURL(raw string) error { return checkURL(raw) }

// checkURL accepts an absolute https URL, or http on a loopback host
// (localhost, 127.0.0.0/8, ::1) for local emulators: the token URL gets
// the client secret, the test URL a token. There is no setting that turns
// TLS verification off. Its errors show the URL as ShowURL does.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a URL")
	}
	shown := ShowURL(raw)
	if u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL with a host", shown)
	}
	if u.User != nil {
		return fmt.Errorf("must not carry user information; credentials come from the credentials secret")
	}
	if u.Fragment != "" {
		return fmt.Errorf("%q must not have a fragment", shown)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%q: https is required (plain http is allowed only for loopback hosts)", shown)
	default:
		return fmt.Errorf("%q: scheme %q is not supported, https is required", shown, u.Scheme)
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
