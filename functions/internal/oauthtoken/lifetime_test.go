package oauthtoken

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// answer writes body with the given status and Content-Type.
func answer(status int, contentType, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// jwt returns an unsigned-looking JWT whose payload is claims; the
// signature part is the sentinel, so a leak of the token shows.
func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + "." + sentinelToken
}

func TestFetchReadsEveryAnswerShape(t *testing.T) {
	exp := time.Now().Add(2 * time.Hour).Unix()
	const form = "application/x-www-form-urlencoded"
	const js = "application/json"
	tests := []struct {
		name, contentType, body string
		lifetime                time.Duration // TOKEN_LIFETIME
		want                    time.Duration // the stored lifetime; 0 means about exp − now
		from                    string
	}{
		{"JSON number", js, `{"access_token":"` + sentinelToken + `","token_type":"Bearer","expires_in":3599}`, 0, 3599 * time.Second, FromExpiresIn},
		{"form-encoded float", form, "access_token=" + sentinelToken + "&token_type=bearer&expires_in=3600.0", 0, time.Hour, FromExpiresIn},
		{"JSON numeric string (Entra v1)", js, `{"access_token":"` + sentinelToken + `","token_type":"Bearer","expires_in":"3599","expires_on":"1388452167"}`, 0, 3599 * time.Second, FromExpiresIn},
		{"form-encoded integer", form, "access_token=" + sentinelToken + "&token_type=bearer&expires_in=86399", 0, 86399 * time.Second, FromExpiresIn},
		{"form-encoded with spaces", form, "access_token=" + sentinelToken + "&token_type=bearer&expires_in=+3600+", 0, time.Hour, FromExpiresIn},
		{"expires_in beats a JWT exp", js, `{"access_token":"` + jwt(fmt.Sprintf(`{"exp":%d}`, exp)) + `","token_type":"bearer","expires_in":1800}`, 0, 30 * time.Minute, FromExpiresIn},
		{"no expires_in, JWT exp", js, `{"access_token":"` + jwt(fmt.Sprintf(`{"sub":"c","exp":%d}`, exp)) + `","token_type":"bearer"}`, 0, 0, FromJWT},
		{"no expires_in, JWT exp as a float", js, `{"access_token":"` + jwt(fmt.Sprintf(`{"exp":%d.0}`, exp)) + `","token_type":"bearer"}`, 0, 0, FromJWT},
		{"form, no expires_in, JWT exp", form, "access_token=" + jwt(fmt.Sprintf(`{"exp":%d}`, exp)) + "&token_type=bearer", 0, 0, FromJWT},
		{"JWT exp beats TOKEN_LIFETIME", js, `{"access_token":"` + jwt(fmt.Sprintf(`{"exp":%d}`, exp)) + `","token_type":"bearer"}`, 5 * time.Hour, 0, FromJWT},
		{"opaque token, TOKEN_LIFETIME (Salesforce)", js, `{"access_token":"` + sentinelToken + `","token_type":"Bearer","issued_at":"1764400000000","instance_url":"https://x"}`, 2 * time.Hour, 2 * time.Hour, FromSetting},
		{"JWT without exp, TOKEN_LIFETIME", js, `{"access_token":"` + jwt(`{"sub":"c"}`) + `","token_type":"bearer"}`, time.Hour, time.Hour, FromSetting},
		{"form, empty expires_in, TOKEN_LIFETIME", form, "access_token=" + sentinelToken + "&token_type=bearer&expires_in=", time.Hour, time.Hour, FromSetting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{Lifetime: tt.lifetime}, answer(200, tt.contentType, tt.body))
			tok, err := h.f.Fetch(context.Background(), goodCreds)
			if err != nil {
				t.Fatalf("Fetch() error = %v", err)
			}
			got := tok.Expiry.Sub(tok.IssuedAt)
			if tt.want == 0 {
				if !tok.Expiry.Equal(time.Unix(exp, 0)) {
					t.Errorf("Fetch() expiry = %s, want the JWT's exp %s", tok.Expiry, time.Unix(exp, 0).UTC())
				}
			} else if got != tt.want {
				t.Errorf("Fetch() lifetime = %s, want %s", got, tt.want)
			}
			if tok.LifetimeFrom != tt.from || tok.TokenType != "bearer" {
				t.Errorf("Fetch() = %v from %q, want a bearer token dated from %q", tok, tok.LifetimeFrom, tt.from)
			}
			noLeak(t, fmt.Sprint(tok), h.logs.String())
		})
	}
}

func TestFetchRefusesUndatableOrShortTokens(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name, body string
		lifetime   time.Duration
		want       []string
	}{
		{"opaque, no expires_in, no TOKEN_LIFETIME", `{"access_token":"` + sentinelToken + `","token_type":"bearer"}`, 0,
			[]string{"no expires_in", "not a JWT with exp", "set TOKEN_LIFETIME", "send expires_in"}},
		{"JWT exp in the past", `{"access_token":"` + jwt(fmt.Sprintf(`{"exp":%d}`, now.Add(-time.Minute).Unix())) + `","token_type":"bearer"}`, time.Hour,
			[]string{"JWT exp", "not within"}},
		{"JWT exp a year away", `{"access_token":"` + jwt(fmt.Sprintf(`{"exp":%d}`, now.Add(365*24*time.Hour).Unix())) + `","token_type":"bearer"}`, 0,
			[]string{"JWT exp", "not within 168h"}},
		{"JWT exp in 10 minutes", `{"access_token":"` + jwt(fmt.Sprintf(`{"exp":%d}`, now.Add(10*time.Minute).Unix())) + `","token_type":"bearer"}`, 0,
			[]string{"from jwt exp", "less than the 20m0s", "another store"}},
		{"JWT exp not a number", `{"access_token":"` + jwt(`{"exp":"tomorrow"}`) + `","token_type":"bearer"}`, 0,
			[]string{"set TOKEN_LIFETIME"}},
		{"Keycloak's default 5 minutes", `{"access_token":"` + sentinelToken + `","token_type":"Bearer","expires_in":300,"refresh_expires_in":0,"not-before-policy":0}`, 0,
			[]string{"lives 5m0s (from expires_in)", "less than the 20m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{Lifetime: tt.lifetime}, answer(200, "application/json", tt.body))
			tok, err := h.f.Fetch(context.Background(), goodCreds)
			if err == nil {
				t.Fatalf("Fetch() = %v, want an error", tok)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Fetch() error = %q, want it to contain %q", err, w)
				}
			}
			if n := h.ep.calls.Load(); n != 1 {
				t.Errorf("requests = %d, want 1 (a refused answer is not retried)", n)
			}
			noLeak(t, err.Error(), h.logs.String())
		})
	}
}

func TestFetchSendsTokenParams(t *testing.T) {
	params := url.Values{"audience": {"https://api.example.com/"}, "resource": {"a", "b"}}
	for _, basic := range []bool{false, true} {
		t.Run(fmt.Sprintf("basic=%v", basic), func(t *testing.T) {
			h := newHarness(t, Config{Params: params, Auth: authOf(basic)}, ok)
			if _, err := h.f.Fetch(context.Background(), goodCreds); err != nil {
				t.Fatalf("Fetch() error = %v", err)
			}
			form, err := url.ParseQuery(h.ep.forms[0])
			if err != nil {
				t.Fatal(err)
			}
			if got := form["audience"]; len(got) != 1 || got[0] != "https://api.example.com/" {
				t.Errorf("form audience = %q, want [https://api.example.com/]", got)
			}
			if got := strings.Join(form["resource"], ","); got != "a,b" {
				t.Errorf("form resource = %q, want a,b in order", got)
			}
			if got := form.Get("grant_type"); got != "client_credentials" {
				t.Errorf("form grant_type = %q, want client_credentials", got)
			}
			if got := form.Get("scope"); got != "openid,AdobeID,read_organizations" {
				t.Errorf("form scope = %q, want the configured scope", got)
			}
		})
	}
}
