package templatecheck

import (
	"maps"
	"regexp"
	"slices"
	"testing"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
)

// TestEverySettingRenewsTheFirstToken holds that each parameter that reaches
// the function's environment also reaches FirstToken's properties (but
// MIN_TOKEN_AGE and TEST_URL, which do not change the token asked for), so
// that changing it sends the custom resource an Update: a new token made with
// the new settings, before the deploy completes.
func TestEverySettingRenewsTheFirstToken(t *testing.T) {
	tpl := load(t)
	vars := environment(t, tpl, "RotatorFunction")
	props := refs(get(t, tpl, "Resources", "FirstToken", "Properties"))
	params := get(t, tpl, "Parameters").(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		// The client-secret settings change no token.
		if name == config.EnvMinTokenAge || name == config.EnvTestURL || slices.Contains(clientSecretNames, name) {
			continue
		}
		for ref := range refs(vars[name]) {
			if _, isParam := params[ref]; isParam && !props[ref] {
				t.Errorf("%s comes from parameter %s, which FirstToken's properties do not name: changing it would make no new token at deploy", name, ref)
			}
		}
	}
}

// TestParameterPatternsAgreeWithConfig holds that what the template lets
// through is what config.Load accepts, for the settings whose parameters
// carry a pattern: a value the function would refuse should fail the deploy
// early, and a value it accepts must deploy.
func TestParameterPatternsAgreeWithConfig(t *testing.T) {
	tpl := load(t)
	tests := []struct {
		param, env string
		values     []string
	}{
		{"Scope", config.EnvScope, []string{"openid,AdobeID,read_organizations", "openid email profile", "api://app/.default", "", "a\nb", "a\tb", "a\x7fb"}},
		{"TokenParams", config.EnvTokenParams, []string{"", "audience=https://api.example.com/", "resource=a&resource=b", "audience=a\nb", "audience=a%0Ab"}},
		{"TokenLifetime", config.EnvTokenLifetime, []string{"", "2h", "90m", "20m", "15m", "1.5h", "2 hours", "-1h"}},
		{"MinTokenAge", config.EnvMinTokenAge, []string{"1h", "90m", "1.5h", "an hour", "-1h"}},
		// No loopback http here: the function takes it for local runs, the
		// template refuses it, as a deployed function cannot reach one.
		{"TestUrl", config.EnvTestURL, []string{"", "https://api.example.com/v1/me", "http://api.example.com/", "ftp://example.com/", "https://a b"}},
	}
	for _, tt := range tests {
		pattern, _ := get(t, tpl, "Parameters", tt.param, "AllowedPattern").(string)
		re, err := regexp.Compile(pattern)
		if err != nil {
			t.Fatalf("Parameters.%s.AllowedPattern = %q: %v", tt.param, pattern, err)
		}
		for _, v := range tt.values {
			env := map[string]string{config.EnvCredentialsSecretID: "c", config.EnvTokenSecretID: "t", tt.env: v}
			_, loadErr := config.Load(func(k string) string { return env[k] })
			if re.MatchString(v) && loadErr != nil && !semantic(tt.param, v) {
				t.Errorf("%s %q passes the template's pattern, but the function refuses it: %v", tt.param, v, loadErr)
			}
			if !re.MatchString(v) && loadErr == nil {
				t.Errorf("%s %q is refused by the template's pattern, but the function accepts it", tt.param, v)
			}
		}
	}
}

// semantic lists values a pattern cannot refuse, as only their meaning is
// wrong: the function refuses them when the custom resource runs, so the
// deploy still fails before it completes.
func semantic(param, v string) bool {
	switch param {
	case "TokenParams":
		return v == "audience=a%0Ab" // an escaped control character
	case "TokenLifetime":
		return v == "15m" // a duration, under oauthtoken.MinLifetime
	}
	return false
}
