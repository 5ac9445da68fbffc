package oauthmock_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/oauthmock"
)

// answer is the token endpoint's JSON answer, success or error.
type answer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	Error       string `json:"error"`
}

func post(t *testing.T, srv *oauthmock.Server, form url.Values, user, pass string) (int, answer) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", srv.TokenURL(), err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("decoding the answer (HTTP %d): %v", resp.StatusCode, err)
	}
	return resp.StatusCode, a
}

func TestTokenEndpoint(t *testing.T) {
	srv := oauthmock.ForTest(t, oauthmock.Config{})
	if !strings.HasPrefix(srv.TokenURL(), "http://127.0.0.1:") || !strings.HasSuffix(srv.TokenURL(), oauthmock.TokenPath) {
		t.Errorf("TokenURL() = %q, want http://127.0.0.1:PORT%s", srv.TokenURL(), oauthmock.TokenPath)
	}
	const secret = "s3cret-that-must-not-be-logged"
	cases := []struct {
		name       string
		form       url.Values
		user, pass string
		want       oauthmock.TokenRequest
		wantAud    []string
	}{
		{
			name: "credentials in the body",
			form: url.Values{"grant_type": {"client_credentials"}, "client_id": {"c1"}, "client_secret": {secret}, "scope": {"read write"}},
			want: oauthmock.TokenRequest{GrantType: "client_credentials", Auth: "body", ClientID: "c1", Scope: "read write", Status: 200},
		},
		{
			name: "credentials in a Basic header",
			form: url.Values{"grant_type": {"client_credentials"}, "scope": {"openid,AdobeID"}},
			user: "c2", pass: secret,
			want: oauthmock.TokenRequest{GrantType: "client_credentials", Auth: "basic", ClientID: "c2", Scope: "openid,AdobeID", Status: 200},
		},
		{
			name: "no credentials and no scope",
			form: url.Values{"grant_type": {"client_credentials"}},
			want: oauthmock.TokenRequest{GrantType: "client_credentials", Auth: "none", Status: 200},
		},
		{
			name:    "aud becomes the audience, audience and resource do not",
			form:    url.Values{"grant_type": {"client_credentials"}, "aud": {"api-1", "api-2"}, "audience": {"ignored"}, "resource": {"https://ignored.example"}},
			want:    oauthmock.TokenRequest{GrantType: "client_credentials", Auth: "none", Status: 200},
			wantAud: []string{"api-1", "api-2"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			before := len(srv.TokenRequests())
			status, a := post(t, srv, tc.form, tc.user, tc.pass)
			if status != http.StatusOK {
				t.Fatalf("HTTP status = %d (error %q), want 200", status, a.Error)
			}
			if a.TokenType != "Bearer" || a.ExpiresIn != 3600 || a.Scope != tc.want.Scope {
				t.Errorf("answer token_type %q, expires_in %d, scope %q; want Bearer, 3600, %q", a.TokenType, a.ExpiresIn, a.Scope, tc.want.Scope)
			}
			c, err := srv.Verify(ctx, a.AccessToken)
			if err != nil {
				t.Fatalf("Verify() error = %v", err)
			}
			if c.Issuer != srv.URL {
				t.Errorf("iss = %q, want %q", c.Issuer, srv.URL)
			}
			if got := c.Expiry.Sub(c.IssuedAt); got != time.Hour {
				t.Errorf("exp - iat = %v, want 1h", got)
			}
			if got := c.IssuedAt.Sub(c.NotBefore); got != 10*time.Second {
				t.Errorf("iat - nbf = %v, want 10s", got)
			}
			if c.Scope != tc.want.Scope || !slices.Equal(c.Audience, tc.wantAud) {
				t.Errorf("claims scope %q, aud %q; want %q, %q", c.Scope, c.Audience, tc.want.Scope, tc.wantAud)
			}
			reqs := srv.TokenRequests()
			if len(reqs) != before+1 {
				t.Fatalf("TokenRequests() has %d entries, want %d", len(reqs), before+1)
			}
			if got := reqs[len(reqs)-1]; got != tc.want {
				t.Errorf("TokenRequests() last = %+v, want %+v", got, tc.want)
			}
		})
	}
	if strings.Contains(srv.Output(), secret) {
		t.Errorf("the server's output holds the client secret")
	}

	refusals := []struct {
		name      string
		form      url.Values
		wantError string
	}{
		{name: "no grant_type", form: url.Values{"client_id": {"c1"}}, wantError: "invalid_request"},
		{name: "unknown grant_type", form: url.Values{"grant_type": {"urn:example:nope"}}, wantError: "invalid_grant"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			before := len(srv.TokenRequests())
			status, a := post(t, srv, tc.form, "", "")
			if status != http.StatusBadRequest || a.Error != tc.wantError {
				t.Errorf("answer HTTP %d, error %q; want 400, %q", status, a.Error, tc.wantError)
			}
			if got := len(srv.TokenRequests()); got != before {
				t.Errorf("TokenRequests() grew to %d entries, want %d (refusals are not recorded)", got, before)
			}
		})
	}
}

func TestLifetime(t *testing.T) {
	srv := oauthmock.ForTest(t, oauthmock.Config{Lifetime: 24 * time.Hour})
	status, a := post(t, srv, url.Values{"grant_type": {"client_credentials"}}, "c1", "s")
	if status != http.StatusOK {
		t.Fatalf("HTTP status = %d (error %q), want 200", status, a.Error)
	}
	if a.ExpiresIn != 86400 {
		t.Errorf("expires_in = %d, want 86400", a.ExpiresIn)
	}
	c, err := srv.Verify(context.Background(), a.AccessToken)
	if err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	if got := c.Expiry.Sub(c.IssuedAt); got != 24*time.Hour {
		t.Errorf("exp - iat = %v, want 24h", got)
	}
}

func TestVerifyRefusesOtherTokens(t *testing.T) {
	srv := oauthmock.ForTest(t, oauthmock.Config{})
	_, a := post(t, srv, url.Values{"grant_type": {"client_credentials"}}, "", "")
	parts := strings.Split(a.AccessToken, ".")
	cases := []struct{ name, token string }{
		{name: "not a JWT", token: "opaque-token"},
		{name: "payload changed", token: parts[0] + "." + strings.ToUpper(parts[1][:4]) + parts[1][4:] + "." + parts[2]},
		{name: "signature cut", token: parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])/2]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := srv.Verify(context.Background(), tc.token); err == nil {
				t.Errorf("Verify() error = nil, want one")
			}
		})
	}
}
