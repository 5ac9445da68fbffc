package config

import (
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func base() map[string]string {
	return map[string]string{EnvCredentialsSecretID: "creds", EnvTokenSecretID: "token"}
}

func TestLoadDefaults(t *testing.T) {
	got, err := Load(env(base()))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	want := Config{Integration: "default", CredentialsSecretID: "creds", TokenSecretID: "token", Provider: Provider{
		TokenURL: DefaultTokenURL, Scope: DefaultScope, TokenAuth: AuthBody, MinTokenAge: time.Hour}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load() = %+v, want %+v", got, want)
	}
}

// TestRefreshAfterStillRead holds the rename of REFRESH_AFTER to
// MIN_TOKEN_AGE: the old name is read where the new one is not set, with
// a deprecation to log, and two values that disagree are refused.
func TestRefreshAfterStillRead(t *testing.T) {
	for _, tt := range []struct {
		name      string
		set       map[string]string
		want      time.Duration
		deprecate bool
		wantErr   string
	}{
		{"new name", map[string]string{EnvMinTokenAge: "2h"}, 2 * time.Hour, false, ""},
		{"old name alone", map[string]string{EnvRefreshAfter: "2h"}, 2 * time.Hour, true, ""},
		{"both, the same", map[string]string{EnvRefreshAfter: "2h", EnvMinTokenAge: "2h"}, 2 * time.Hour, true, ""},
		{"both, not the same", map[string]string{EnvRefreshAfter: "2h", EnvMinTokenAge: "3h"}, 0, false,
			`REFRESH_AFTER: "2h" and MIN_TOKEN_AGE "3h" are both set: REFRESH_AFTER is MIN_TOKEN_AGE's deprecated name; set MIN_TOKEN_AGE only`},
		{"old name, bad value", map[string]string{EnvRefreshAfter: "soon"}, 0, false, `MIN_TOKEN_AGE: "soon" is not a Go duration`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			maps.Copy(m, tt.set)
			got, err := Load(env(m))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.MinTokenAge != tt.want {
				t.Fatalf("Load() = %v, %v; want MinTokenAge %v", got.MinTokenAge, err, tt.want)
			}
			if deprecated := len(got.Deprecations) == 1 && strings.Contains(got.Deprecations[0], "REFRESH_AFTER is deprecated: it is read as MIN_TOKEN_AGE"); deprecated != tt.deprecate {
				t.Errorf("Deprecations = %q, want one for REFRESH_AFTER: %v", got.Deprecations, tt.deprecate)
			}
		})
	}
	p := Provider{MinTokenAge: time.Hour}
	old := map[string]json.RawMessage{"refresh_after": json.RawMessage(`"30m"`)}
	if got, err := p.Overlay(old); err != nil || got.MinTokenAge != 30*time.Minute {
		t.Errorf("Overlay(refresh_after 30m) = %v, %v; want 30m", got.MinTokenAge, err)
	}
	if d := DeprecatedFields(old); len(d) != 1 || !strings.Contains(d[0], `refresh_after is deprecated: it is read as min_token_age`) {
		t.Errorf("DeprecatedFields(refresh_after) = %q, want one sentence", d)
	}
	if d := DeprecatedFields(map[string]json.RawMessage{"min_token_age": json.RawMessage(`"30m"`)}); d != nil {
		t.Errorf("DeprecatedFields(min_token_age) = %q, want none", d)
	}
	both := map[string]json.RawMessage{"refresh_after": json.RawMessage(`"30m"`), "min_token_age": json.RawMessage(`"2h"`)}
	if _, err := p.Overlay(both); err == nil || !strings.Contains(err.Error(), `fields "refresh_after" and "min_token_age" are both set`) {
		t.Errorf("Overlay(both, not the same) error = %v, want both named", err)
	}
}

func TestLoadAcceptsEverySetting(t *testing.T) {
	m := base()
	m[EnvTokenURL] = "http://127.0.0.1:8443/ims/token/v3"
	m[EnvScope] = "openid email" // space-separated, as most providers want
	m[EnvTokenAuth] = "basic"
	m[EnvMinTokenAge] = "90m"
	got, err := Load(env(m))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if got.TokenURL != m[EnvTokenURL] || got.Scope != "openid email" || got.TokenAuth != AuthBasic || got.MinTokenAge != 90*time.Minute {
		t.Errorf("Load() = %+v, want the settings given", got)
	}
}

func TestLoadNamesTheBadVariable(t *testing.T) {
	tests := []struct {
		name, variable, value, want string
	}{
		{"credentials missing", EnvCredentialsSecretID, "", "required"},
		{"token secret missing", EnvTokenSecretID, "", "required"},
		{"same secret twice", EnvTokenSecretID, "creds", "another secret"},
		{"http on a public host", EnvTokenURL, "http://ims-na1.adobelogin.com/ims/token/v3", "https is required"},
		{"other scheme", EnvTokenURL, "ftp://example.com/token", "https is required"},
		{"relative URL", EnvTokenURL, "/ims/token/v3", "absolute URL"},
		{"user info", EnvTokenURL, "https://user:pw@example.com/token", "user information"},
		{"not a URL", EnvTokenURL, "https://exa mple.com/%zz", "not a URL"},
		{"newline in scope", EnvScope, "openid\nAdobeID", "control characters"},
		{"unknown auth", EnvTokenAuth, "header", `"header" is not one of`},
		{"not a duration", EnvMinTokenAge, "an hour", "not a Go duration"},
		{"zero duration", EnvMinTokenAge, "0s", "above zero"},
		{"negative duration", EnvMinTokenAge, "-1h", "above zero"},
		{"params set client_secret", EnvTokenParams, "audience=a&client_secret=x", `must not set "client_secret"`},
		{"params set client_id", EnvTokenParams, "client_id=other", `must not set "client_id"`},
		{"params set grant_type", EnvTokenParams, "grant_type=password", `must not set "grant_type"`},
		{"params set scope", EnvTokenParams, "scope=openid", `must not set "scope"`},
		{"params set Scope in another case", EnvTokenParams, "Scope=openid", `must not set "Scope"`},
		{"params with a raw newline", EnvTokenParams, "audience=a\nb", "control characters"},
		{"params with an escaped newline", EnvTokenParams, "audience=a%0Ab", "control characters once decoded"},
		{"params with a bad escape", EnvTokenParams, "audience=%zz", "not a URL query string"},
		{"params with a semicolon", EnvTokenParams, "audience=a;resource=b", "not a URL query string"},
		{"params with an empty name", EnvTokenParams, "=x", "without a name"},
		{"lifetime not a duration", EnvTokenLifetime, "2 hours", "not a Go duration"},
		{"lifetime 10 minutes", EnvTokenLifetime, "10m", "outside 20m0s to 168h0m0s"},
		{"lifetime 15 minutes, under one write per 10 minutes with room", EnvTokenLifetime, "15m", "outside 20m0s to 168h0m0s"},
		{"lifetime 8 days", EnvTokenLifetime, "192h", "outside"},
		{"test url plain http", EnvTestURL, "http://api.example.com/ping", "https is required"},
		{"test url relative", EnvTestURL, "/ping", "absolute URL"},
		{"test url with user info", EnvTestURL, "https://u:p@api.example.com/", "user information"},
		{"signing key not an ARN", EnvSigningKey, "1234abcd-12ab-34cd-56ef-1234567890ab", "not the ARN of a KMS key or alias"},
		{"signing key of another service", EnvSigningKey, "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x", "not the ARN of a KMS key"},
		{"signing alg ES256", EnvSigningAlg, "ES256", `"ES256" is not one of "RS256" or "PS256"`},
		{"audience with a newline", EnvAssertionAudience, "https://a\nb", "control characters"},
		{"key id with a newline", EnvSigningKeyID, "k\n1", "control characters"},
		{"key id too long", EnvSigningKeyID, strings.Repeat("k", 257), "at most 256"},
		{"sha256 thumbprint too short", EnvSigningCertSHA256, strings.Repeat("ab", 20), "not a thumbprint of 32 bytes"},
		{"sha1 thumbprint not hex", EnvSigningCertSHA1, strings.Repeat("zz", 20), "not a thumbprint of 20 bytes"},
		{"params set client_assertion", EnvTokenParams, "client_assertion=x", `must not set "client_assertion"`},
		{"web identity audience with a newline", EnvWebIdentityAudience, "api://a\nb", "control characters"},
		{"web identity alg PS256", EnvWebIdentityAlg, "PS256", `"PS256" is not one of "RS256" or "ES384"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			m[tt.variable] = tt.value
			_, err := Load(env(m))
			if err == nil {
				t.Fatalf("Load() error = nil, want one naming %s", tt.variable)
			}
			if !strings.Contains(err.Error(), tt.variable+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() error = %q, want it to name %s and say %q", err, tt.variable, tt.want)
			}
		})
	}
}

func TestLoadNamesEveryBadVariableAtOnce(t *testing.T) {
	_, err := Load(env(map[string]string{EnvTokenURL: "http://example.com", EnvTokenAuth: "x", EnvMinTokenAge: "soon"}))
	if err == nil {
		t.Fatal("Load() error = nil, want one naming five variables")
	}
	for _, name := range []string{EnvCredentialsSecretID, EnvTokenSecretID, EnvTokenURL, EnvTokenAuth, EnvMinTokenAge} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("Load() error = %q, want it to name %s", err, name)
		}
	}
}

func TestLoadTokenParams(t *testing.T) {
	tests := []struct{ in, want string }{
		{"audience=https://api.example.com/", "audience=https%3A%2F%2Fapi.example.com%2F"},
		{"resource=b&audience=a", "audience=a&resource=b"},
		{"resource=x&resource=a", "resource=x&resource=a"},
		{"organization=org_1&audience=https%3A%2F%2Fapi%2F", "audience=https%3A%2F%2Fapi%2F&organization=org_1"},
	}
	for _, tt := range tests {
		m := base()
		m[EnvTokenParams] = tt.in
		got, err := Load(env(m))
		if err != nil {
			t.Fatalf("Load(TOKEN_PARAMS=%s) error = %v", tt.in, err)
		}
		if got.TokenParams != tt.want {
			t.Errorf("Load(TOKEN_PARAMS=%s).TokenParams = %q, want %q", tt.in, got.TokenParams, tt.want)
		}
		if got.Params().Encode() != tt.want {
			t.Errorf("Params() = %q, want %q", got.Params().Encode(), tt.want)
		}
	}
	if p := (Config{}).Params(); p != nil {
		t.Errorf("Params() of no TOKEN_PARAMS = %v, want nil", p)
	}
}

func TestLoadTokenLifetime(t *testing.T) {
	for in, want := range map[string]time.Duration{"20m": 20 * time.Minute, "2h": 2 * time.Hour, "168h": 7 * 24 * time.Hour} {
		m := base()
		m[EnvTokenLifetime] = in
		got, err := Load(env(m))
		if err != nil || got.TokenLifetime != want {
			t.Errorf("Load(TOKEN_LIFETIME=%s) = %v, %v; want %v", in, got.TokenLifetime, err, want)
		}
	}
}

func TestLoopbackHostsMayUseHTTP(t *testing.T) {
	for _, u := range []string{"http://localhost:1/t", "http://127.0.0.1:1/t", "http://127.9.9.9/t", "http://[::1]:1/t"} {
		m := base()
		m[EnvTokenURL] = u
		if _, err := Load(env(m)); err != nil {
			t.Errorf("Load(TOKEN_URL=%s) error = %v, want nil", u, err)
		}
	}
}

func TestTestURL(t *testing.T) {
	m := base()
	m[EnvTestURL] = "https://api.example.com/ping"
	cfg, err := Load(env(m))
	if err != nil || cfg.TestURL != "https://api.example.com/ping" {
		t.Fatalf("Load(TEST_URL=...) = %q, %v; want the URL", cfg.TestURL, err)
	}
	for _, tt := range []struct{ field, want string }{
		{`"https://other.example.com/me"`, "https://other.example.com/me"},
		{`""`, ""}, // an integration turns the environment's test off
	} {
		p, err := cfg.Provider.Overlay(map[string]json.RawMessage{"test_url": json.RawMessage(tt.field)})
		if err != nil || p.TestURL != tt.want {
			t.Errorf("Overlay(test_url=%s) = %q, %v; want %q", tt.field, p.TestURL, err, tt.want)
		}
	}
	if _, err := cfg.Provider.Overlay(map[string]json.RawMessage{"test_url": json.RawMessage(`"http://example.com/"`)}); err == nil ||
		!strings.Contains(err.Error(), `field "test_url" (TEST_URL for this integration)`) {
		t.Errorf("Overlay(plain-http test_url) error = %v, want one naming the field", err)
	}
}

func TestNamesListsEveryVariable(t *testing.T) {
	got := strings.Join(Names(), ",")
	want := "CREDENTIALS_SECRET_ID,TOKEN_SECRET_ID,TOKEN_URL,SCOPE,TOKEN_AUTH,MIN_TOKEN_AGE,TOKEN_PARAMS,TOKEN_LIFETIME," +
		"TEST_URL,SIGNING_KEY,SIGNING_ALG,ASSERTION_AUDIENCE,SIGNING_KEY_ID,SIGNING_CERT_SHA256,SIGNING_CERT_SHA1," +
		"WEB_IDENTITY_AUDIENCE,WEB_IDENTITY_ALG," +
		"INTEGRATION,INTEGRATION_SECRET_PREFIX,CLIENT_SECRET_ROTATION,MANAGEMENT_URL"
	if got != want {
		t.Errorf("Names() = %s, want %s", got, want)
	}
}

func TestLoadIntegrations(t *testing.T) {
	m := base()
	m[EnvIntegration] = "adobe-main"
	m[EnvIntegrationSecretPrefix] = "tokenrotator/integrations/"
	got, err := Load(env(m))
	if err != nil || got.Integration != "adobe-main" || got.IntegrationSecretPrefix != "tokenrotator/integrations/" {
		t.Fatalf("Load() = %+v, %v; want integration adobe-main with the prefix", got, err)
	}
	// With a prefix, the environment may configure no integration of its own.
	got, err = Load(env(map[string]string{EnvIntegrationSecretPrefix: "s/integrations/"}))
	if err != nil || got.CredentialsSecretID != "" || got.TokenSecretID != "" {
		t.Errorf("Load(prefix only) = %+v, %v; want no own integration and no error", got, err)
	}
}

func TestLoadRefusesBadIntegrationSettings(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"bad name":             {map[string]string{EnvIntegration: "Acme"}, EnvIntegration + ": integration name"},
		"prefix without slash": {map[string]string{EnvIntegrationSecretPrefix: "s-integrations"}, EnvIntegrationSecretPrefix + `: "s-integrations" must be`},
		"token under prefix":   {map[string]string{EnvIntegrationSecretPrefix: "s/i/", EnvTokenSecretID: "s/i/x"}, EnvTokenSecretID + ": must not name a secret under"},
		"token ARN under prefix": {map[string]string{EnvIntegrationSecretPrefix: "s/i/", EnvTokenSecretID: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s/i/x-AbCdEf"},
			EnvTokenSecretID + ": must not name a secret under"},
		"token partial ARN under prefix": {map[string]string{EnvIntegrationSecretPrefix: "s/i/", EnvTokenSecretID: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s/i/x"},
			EnvTokenSecretID + ": must not name a secret under"},
		"only the token secret": {map[string]string{EnvIntegrationSecretPrefix: "s/i/", EnvCredentialsSecretID: ""}, EnvCredentialsSecretID + ": required"},
	} {
		m := base()
		for k, v := range tc.env {
			m[k] = v
		}
		_, err := Load(env(m))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Load() error = %v, want it to contain %q", name, err, tc.want)
		}
	}
}

// TestLoadTokenSecretBesideThePrefix: a token secret whose name only looks
// like the prefix, by name or ARN, is the stack's own and is accepted.
func TestLoadTokenSecretBesideThePrefix(t *testing.T) {
	for _, id := range []string{"s/token", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s/token-AbCdEf", "s/ix"} {
		m := base()
		m[EnvIntegrationSecretPrefix], m[EnvTokenSecretID] = "s/i/", id
		if _, err := Load(env(m)); err != nil {
			t.Errorf("Load(TOKEN_SECRET_ID=%s) error = %v, want none", id, err)
		}
	}
}

// TestOverlayTestURLStaysWithItsProvider: an integration with a token_url
// of its own does not inherit the environment's TEST_URL, which may be
// another provider's; it keeps a test_url it sets, and the environment's
// TOKEN_URL spelt out again is the same provider.
func TestOverlayTestURLStaysWithItsProvider(t *testing.T) {
	m := base()
	m[EnvTestURL] = "https://ims.example/me"
	cfg, err := Load(env(m))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		fields   map[string]string
		want     string
		withheld bool
	}{
		{"no token_url", map[string]string{}, "https://ims.example/me", false},
		{"the stack's token_url", map[string]string{"token_url": DefaultTokenURL}, "https://ims.example/me", false},
		{"its own token_url", map[string]string{"token_url": "https://tenant.example/oauth/token"}, "", true},
		{"its own token_url and test_url", map[string]string{"token_url": "https://tenant.example/oauth/token", "test_url": "https://api.tenant.example/me"},
			"https://api.tenant.example/me", false},
		{"its own token_url, test_url empty", map[string]string{"token_url": "https://tenant.example/oauth/token", "test_url": ""}, "", false},
	} {
		fields := map[string]json.RawMessage{}
		for k, v := range tc.fields {
			fields[k], _ = json.Marshal(v)
		}
		p, err := cfg.Provider.Overlay(fields)
		if err != nil || p.TestURL != tc.want || p.TestURLWithheld != tc.withheld {
			t.Errorf("%s: Overlay() = TestURL %q, TestURLWithheld %v, %v; want %q, %v", tc.name, p.TestURL, p.TestURLWithheld, err, tc.want, tc.withheld)
		}
	}
	// Without a TEST_URL in the environment there is nothing to withhold.
	if p, err := loadBase(t).Provider.Overlay(map[string]json.RawMessage{"token_url": json.RawMessage(`"https://tenant.example/oauth/token"`)}); err != nil || p.TestURL != "" || p.TestURLWithheld {
		t.Errorf("Overlay(token_url) without TEST_URL = %q, %v, %v; want nothing withheld", p.TestURL, p.TestURLWithheld, err)
	}
}

func loadBase(t *testing.T) Config {
	t.Helper()
	cfg, err := Load(env(base()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestOverlay(t *testing.T) {
	def, err := Load(env(base()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := def.Provider.Overlay(map[string]json.RawMessage{
		"token_url":      json.RawMessage(`"https://tenant.example/oauth/token"`),
		"scope":          json.RawMessage(`""`),
		"token_auth":     json.RawMessage(`"basic"`),
		"token_params":   json.RawMessage(`"audience=https://api.example/"`),
		"token_lifetime": json.RawMessage(`"2h"`),
		"refresh_after":  json.RawMessage(`""`),
		"unrelated":      json.RawMessage(`{"x": 1}`),
	})
	want := Provider{TokenURL: "https://tenant.example/oauth/token", Scope: "", TokenAuth: AuthBasic, MinTokenAge: time.Hour,
		TokenParams: "audience=https%3A%2F%2Fapi.example%2F", TokenLifetime: 2 * time.Hour}
	if err != nil || got != want {
		t.Errorf("Overlay() = %+v, %v; want %+v", got, err, want)
	}
	if same, err := def.Provider.Overlay(nil); err != nil || same != def.Provider {
		t.Errorf("Overlay(nil) = %+v, %v; want the defaults unchanged", same, err)
	}
}

func TestOverlayRefusesBadFields(t *testing.T) {
	def, _ := Load(env(base()))
	_, err := def.Provider.Overlay(map[string]json.RawMessage{
		"token_url":    json.RawMessage(`"http://evil.example/token"`),
		"token_auth":   json.RawMessage(`42`),
		"token_params": json.RawMessage(`"client_secret=x"`),
	})
	if err == nil {
		t.Fatal("Overlay() error = nil, want one naming each bad field")
	}
	for _, want := range []string{`field "token_url" (TOKEN_URL for this integration)`, `field "token_auth" (TOKEN_AUTH for this integration) must be a string`,
		`field "token_params" (TOKEN_PARAMS for this integration): must not set "client_secret"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Overlay() error = %v, want it to contain %q", err, want)
		}
	}
}

const testKeyARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func TestLoadPrivateKeyJWTSettings(t *testing.T) {
	m := base()
	m[EnvTokenAuth] = "private_key_jwt"
	m[EnvSigningKey] = "arn:aws:kms:eu-west-1:111122223333:alias/tokenrotator"
	m[EnvSigningAlg] = "PS256"
	m[EnvAssertionAudience] = "https://login.example.com/tenant/v2.0"
	m[EnvSigningKeyID] = "key-2026"
	m[EnvSigningCertSHA256] = strings.Repeat("AB:", 31) + "AB"
	m[EnvSigningCertSHA1] = strings.Repeat("0f", 20)
	got, err := Load(env(m))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	p := got.Provider
	if p.TokenAuth != AuthPrivateKeyJWT || p.SigningKey != m[EnvSigningKey] || p.SigningAlg != "PS256" ||
		p.AssertionAudience != m[EnvAssertionAudience] || p.SigningKeyID != "key-2026" ||
		p.SigningCertSHA256 != strings.Repeat("ab", 32) || p.SigningCertSHA1 != strings.Repeat("0f", 20) {
		t.Errorf("Load() = %+v, want the settings given, thumbprints in lower-case hex", p)
	}
}

func TestOverlayPrivateKeyJWT(t *testing.T) {
	cfg, err := Load(env(base()))
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Provider.Overlay(map[string]json.RawMessage{
		"token_auth": json.RawMessage(`"private_key_jwt"`), "signing_key": json.RawMessage(`"` + testKeyARN + `"`),
		"signing_key_id": json.RawMessage(`"kid-1"`),
	})
	if err != nil || p.TokenAuth != AuthPrivateKeyJWT || p.SigningKey != testKeyARN || p.SigningKeyID != "kid-1" {
		t.Fatalf("Overlay() = %+v, %v; want private_key_jwt with the key and kid", p, err)
	}
	_, err = cfg.Provider.Overlay(map[string]json.RawMessage{"token_auth": json.RawMessage(`"private_key_jwt"`)})
	if err == nil || !strings.Contains(err.Error(), "TOKEN_AUTH is private_key_jwt but no SIGNING_KEY (field \"signing_key\")") {
		t.Errorf("Overlay(private_key_jwt without a key) error = %v, want one naming the missing key", err)
	}
	_, err = cfg.Provider.Overlay(map[string]json.RawMessage{"signing_cert_sha1": json.RawMessage(`"abc"`)})
	if err == nil || !strings.Contains(err.Error(), `field "signing_cert_sha1" (SIGNING_CERT_SHA1 for this integration)`) {
		t.Errorf("Overlay(bad thumbprint) error = %v, want one naming the field", err)
	}
}

func TestLoadWebIdentitySettings(t *testing.T) {
	m := base()
	m[EnvTokenAuth] = "aws_web_identity"
	cfg, err := Load(env(m))
	if err != nil || cfg.TokenAuth != AuthAWSWebIdentity || cfg.WebIdentityAudience != "" || cfg.WebIdentityAlg != "" {
		t.Fatalf("Load(aws_web_identity) = %+v, %v; want it with the default audience and alg (empty)", cfg.Provider, err)
	}
	p, err := cfg.Provider.Overlay(map[string]json.RawMessage{
		"web_identity_audience": json.RawMessage(`"api://contoso-federation"`), "web_identity_alg": json.RawMessage(`"ES384"`)})
	if err != nil || p.WebIdentityAudience != "api://contoso-federation" || p.WebIdentityAlg != AlgES384 {
		t.Errorf("Overlay() = %+v, %v; want the integration's audience and ES384", p, err)
	}
	_, err = cfg.Provider.Overlay(map[string]json.RawMessage{"web_identity_alg": json.RawMessage(`"RS512"`)})
	if err == nil || !strings.Contains(err.Error(), `field "web_identity_alg" (WEB_IDENTITY_ALG for this integration): "RS512" is not one of "RS256" or "ES384"`) {
		t.Errorf("Overlay(RS512) error = %v, want one naming the field and the two algorithms", err)
	}
}

func TestCheckClientSecret(t *testing.T) {
	jwt := Provider{TokenAuth: AuthPrivateKeyJWT, SigningKey: testKeyARN}
	for _, tt := range []struct {
		name string
		p    Provider
		has  bool
		want string
	}{
		{"body with a secret", Provider{TokenAuth: AuthBody}, true, ""},
		{"basic without one", Provider{TokenAuth: AuthBasic}, false, `field "client_secret" is missing`},
		{"private_key_jwt without one", jwt, false, ""},
		{"private_key_jwt with one", jwt, true, `holds a "client_secret", but token_auth is private_key_jwt, which sends none: ambiguous`},
		{"aws_web_identity without one", Provider{TokenAuth: AuthAWSWebIdentity}, false, ""},
		{"aws_web_identity with one", Provider{TokenAuth: AuthAWSWebIdentity}, true, `holds a "client_secret", but token_auth is aws_web_identity, which sends none: ambiguous`},
	} {
		err := tt.p.CheckClientSecret(tt.has)
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: CheckClientSecret() = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestOverlayAudienceStaysWithItsProvider(t *testing.T) {
	m := base()
	m[EnvAssertionAudience] = "https://issuer.example/"
	cfg, err := Load(env(m))
	if err != nil {
		t.Fatal(err)
	}
	own := json.RawMessage(`"https://other.example/token"`)
	if p, err := cfg.Provider.Overlay(map[string]json.RawMessage{"token_url": own}); err != nil || p.AssertionAudience != "" {
		t.Errorf("Overlay(own token_url) = %q, %v; want no audience (the token URL is the default)", p.AssertionAudience, err)
	}
	p, err := cfg.Provider.Overlay(map[string]json.RawMessage{"token_url": own, "assertion_audience": json.RawMessage(`"https://other.example/"`)})
	if err != nil || p.AssertionAudience != "https://other.example/" {
		t.Errorf("Overlay(own token_url and audience) = %q, %v; want its own", p.AssertionAudience, err)
	}
	if p, err := cfg.Provider.Overlay(nil); err != nil || p.AssertionAudience != "https://issuer.example/" {
		t.Errorf("Overlay(nothing) = %q, %v; want the environment's", p.AssertionAudience, err)
	}
}
