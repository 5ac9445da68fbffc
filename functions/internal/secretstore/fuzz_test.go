package secretstore

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const fuzzSecret = "SENTINEL-fuzz-secret-0a9c"

func FuzzParseCredentials(f *testing.F) {
	for _, s := range []string{
		`{"client_id":"id","client_secret":"` + fuzzSecret + `"}`,
		`{"client_id":"id"}`, `{}`, `[]`, `null`, `"x"`, `{"client_id":1,"client_secret":"` + fuzzSecret + `"}`,
		`{"client_id":"id","client_secret":"` + fuzzSecret + `","extra":{"a":[1,2]}}`,
		`{"clientId":"id","clientSecret":"` + fuzzSecret + `","domain":"x.okta.com","secretId":"s"}`,
		`{"client_id":"id","clientId":"id","client_secret":"` + fuzzSecret + `","clientSecret":"` + fuzzSecret + `"}`,
		`{"client_id":"id","client_secret":"` + fuzzSecret + `","client_secret_expires_at":"2027-03-01T00:00:00+02:00"}`,
		`{"client_id":"id","client_secret_expires_at":"` + fuzzSecret + `"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		creds, err := ParseCredentials(s)
		if err != nil {
			if strings.Contains(err.Error(), fuzzSecret) {
				t.Errorf("error %q quotes the secret", err)
			}
			return
		}
		if strings.TrimSpace(creds.ClientID) == "" || (creds.ClientSecret != "" && strings.TrimSpace(creds.ClientSecret) == "") {
			t.Errorf("ParseCredentials(%q) accepted empty fields", s)
		}
		if at := creds.ClientSecretExpiresAt; !at.IsZero() && at.Location() != time.UTC {
			t.Errorf("ParseCredentials(%q).ClientSecretExpiresAt = %v, want UTC", s, at)
		}
		if creds.ClientSecret != "" && len(creds.ClientSecret) >= 8 && strings.Contains(fmt.Sprintf("%v %+v %#v", creds, creds, creds), creds.ClientSecret) {
			t.Errorf("printed credentials show the secret")
		}
	})
}

func FuzzParseToken(f *testing.F) {
	for _, s := range []string{
		`{"access_token":"` + fuzzSecret + `","token_type":"bearer","expiry":"2026-11-29T16:00:00Z","issued_at":"2026-11-28T16:00:01Z","client_id":"c","scope":"s"}`,
		`{}`, ``, `{"access_token":""}`, `{"expiry":"nope"}`, `[{}]`,
		`{"access_token":"` + fuzzSecret + `","token_type":"Bearer","expiry":"2026-11-29T16:00:00+02:00","issued_at":"2026-11-28T16:00:01.5Z"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, problem := ParseToken(s)
		if problem != "" {
			if strings.Contains(problem, fuzzSecret) || (len(v.AccessToken) >= 8 && strings.Contains(problem, v.AccessToken)) {
				t.Errorf("problem %q quotes the token", problem)
			}
			return
		}
		if v.AccessToken == "" || !strings.EqualFold(v.TokenType, "bearer") || !v.Expiry.After(v.IssuedAt) {
			t.Errorf("ParseToken accepted %+v", v)
		}
		if len(v.AccessToken) >= 8 && strings.Contains(fmt.Sprintf("%v %+v %#v %s", v, v, v, v), v.AccessToken) {
			t.Errorf("printed value shows the token")
		}
	})
}
