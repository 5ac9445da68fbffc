package imsemu_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

func TestFormAnswer(t *testing.T) {
	tests := []struct {
		profile    string
		form       url.Values
		mutate     func(*http.Request)
		wantStatus int
		want       map[string]string
	}{
		{profile: "ims", form: goodForm(), wantStatus: 200, want: map[string]string{"token_type": "bearer", "expires_in": "86399"}},
		{profile: "entra-v2", form: bodyCreds("scope", "api://a/.default"), wantStatus: 200,
			want: map[string]string{"token_type": "Bearer", "expires_in": "3599", "ext_expires_in": "3599"}},
		{profile: "keycloak", form: bodyCreds(), wantStatus: 200,
			want: map[string]string{"expires_in": "300", "refresh_expires_in": "0", "not-before-policy": "0", "scope": "profile email"}},
		{profile: "salesforce", form: bodyCreds(), wantStatus: 200, want: map[string]string{"issued_at": "1700000000000", "expires_in": ""}},
		{profile: "okta", form: bodyCreds("scope", "s"), wantStatus: 401, want: map[string]string{"error": "invalid_client"}},
		{profile: "entra-v2", form: bodyCreds(), wantStatus: 400, want: map[string]string{"error": "invalid_request", "error_codes": "900144"}},
	}
	for _, tt := range tests {
		t.Run(tt.profile+"/"+tt.want["error"], func(t *testing.T) {
			emu, ts, _ := newProfileServer(t, tt.profile, imsemu.Config{FormAnswer: true})
			a := post(t, ts.Client(), ts.URL+fill(emu.Path()), tt.form, tt.mutate)
			if a.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", a.status, tt.wantStatus, a.body)
			}
			if got := a.header.Get("Content-Type"); got != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q, want application/x-www-form-urlencoded", got)
			}
			vals, err := url.ParseQuery(string(a.body))
			if err != nil {
				t.Fatalf("body is not form-encoded: %v", err)
			}
			for k, want := range tt.want {
				if got := vals.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if issued := emu.Issued(); tt.wantStatus == 200 && (len(issued) != 1 || vals.Get("access_token") != issued[0].AccessToken) {
				t.Errorf("access_token differs from the one in Issued()")
			}
		})
	}
}

func TestOmitExpiresIn(t *testing.T) {
	forms := map[string]url.Values{
		"ims":      goodForm(),
		"auth0":    bodyCreds("audience", "a"),
		"entra-v2": bodyCreds("scope", "api://a/.default"),
		"entra-v1": bodyCreds("resource", "r"),
		"okta":     noCreds("scope", "s"),
	}
	for _, p := range imsemu.Profiles() {
		t.Run(p.Name, func(t *testing.T) {
			emu, ts, _ := newProfileServer(t, p.Name, imsemu.Config{OmitExpiresIn: true, ExpiresIn: 1800})
			f, ok := forms[p.Name]
			if !ok {
				f = bodyCreds()
			}
			var mutate func(*http.Request)
			if p.Auth&imsemu.AuthBody == 0 {
				mutate = withBasic
			}
			a := post(t, ts.Client(), ts.URL+fill(emu.Path()), f, mutate)
			if a.status != 200 {
				t.Fatalf("status = %d, want 200 (body %s)", a.status, a.body)
			}
			if _, ok := a.decoded["expires_in"]; ok {
				t.Errorf("body has expires_in, want it absent")
			}
			if p.JWT {
				tok, _ := a.decoded["access_token"].(string)
				if got, want := claims(t, tok)["exp"], float64(fixedNow.Unix()+1800); got != want {
					t.Errorf("exp = %v, want %v", got, want)
				}
			}
		})
	}
}
