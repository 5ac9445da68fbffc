package config

import (
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
	want := Config{CredentialsSecretID: "creds", TokenSecretID: "token", TokenURL: DefaultTokenURL,
		Scope: DefaultScope, TokenAuth: AuthBody, RefreshAfter: time.Hour}
	if got != want {
		t.Errorf("Load() = %+v, want %+v", got, want)
	}
}

func TestLoadAcceptsEverySetting(t *testing.T) {
	m := base()
	m[EnvTokenURL] = "http://127.0.0.1:8443/ims/token/v3"
	m[EnvScope] = "openid email" // space-separated, as most providers want
	m[EnvTokenAuth] = "basic"
	m[EnvRefreshAfter] = "90m"
	got, err := Load(env(m))
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if got.TokenURL != m[EnvTokenURL] || got.Scope != "openid email" || got.TokenAuth != AuthBasic || got.RefreshAfter != 90*time.Minute {
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
		{"not a duration", EnvRefreshAfter, "an hour", "not a Go duration"},
		{"zero duration", EnvRefreshAfter, "0s", "above zero"},
		{"negative duration", EnvRefreshAfter, "-1h", "above zero"},
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
	_, err := Load(env(map[string]string{EnvTokenURL: "http://example.com", EnvTokenAuth: "x", EnvRefreshAfter: "soon"}))
	if err == nil {
		t.Fatal("Load() error = nil, want one naming five variables")
	}
	for _, name := range []string{EnvCredentialsSecretID, EnvTokenSecretID, EnvTokenURL, EnvTokenAuth, EnvRefreshAfter} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("Load() error = %q, want it to name %s", err, name)
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

func TestNamesListsEveryVariable(t *testing.T) {
	got := strings.Join(Names(), ",")
	want := "CREDENTIALS_SECRET_ID,TOKEN_SECRET_ID,TOKEN_URL,SCOPE,TOKEN_AUTH,REFRESH_AFTER"
	if got != want {
		t.Errorf("Names() = %s, want %s", got, want)
	}
}
