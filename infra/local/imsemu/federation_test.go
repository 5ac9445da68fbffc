package imsemu_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/stsemu"
)

const fedRole = "arn:aws:iam::123456789012:role/tokenrotator-RotatorRole"

// stsJWT asks the STS stand-in for a JWT as the SDK would (the query
// protocol; the stand-in checks only that a SigV4 header is there).
func stsJWT(t *testing.T, stsURL, aud, alg string) string {
	t.Helper()
	form := url.Values{"Action": {"GetWebIdentityToken"}, "Version": {"2011-06-15"}, "Audience.member.1": {aud},
		"SigningAlgorithm": {alg}, "DurationSeconds": {"300"}}
	req, _ := http.NewRequest(http.MethodPost, stsURL+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/sts/aws4_request")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Token string `xml:"GetWebIdentityTokenResult>WebIdentityToken"`
	}
	if err := xml.NewDecoder(res.Body).Decode(&out); err != nil || out.Token == "" {
		t.Fatalf("GetWebIdentityToken: HTTP %d, %v", res.StatusCode, err)
	}
	return out.Token
}

// TestFederatedCredentialIsVerifiedAsEntraWould: an Entra application with
// a federated identity credential accepts the STS JWT as its client
// assertion, and refuses each mismatch with Entra's error.
func TestFederatedCredentialIsVerifiedAsEntraWould(t *testing.T) {
	st, err := stsemu.New(stsemu.Config{Subject: fedRole})
	if err != nil {
		t.Fatal(err)
	}
	issuer := httptest.NewServer(st)
	t.Cleanup(issuer.Close)
	const aud = "api://AzureADTokenExchange"
	fic := imsemu.FederatedCredential{Issuer: issuer.URL, Subject: fedRole, Audiences: []string{aud}}

	tests := []struct {
		name      string
		fic       imsemu.FederatedCredential
		aud, alg  string
		ahead     time.Duration // the emulator's clock ahead of STS's
		tamper    bool
		secret    string
		issuerOff bool
		want      string // "" for a token
	}{
		{name: "RS256", fic: fic, aud: aud, alg: "RS256"},
		{name: "ES384", fic: fic, aud: aud, alg: "ES384"},
		{name: "another issuer", fic: imsemu.FederatedCredential{Issuer: "https://other.tokens.sts.global.api.aws", Subject: fedRole, Audiences: []string{aud}},
			aud: aud, alg: "RS256", want: "AADSTS700211: No matching federated identity record found for presented assertion issuer"},
		{name: "another subject", fic: imsemu.FederatedCredential{Issuer: issuer.URL, Subject: "arn:aws:iam::123456789012:role/other", Audiences: []string{aud}},
			aud: aud, alg: "RS256", want: "AADSTS700213: No matching federated identity record found for presented assertion subject 'arn:aws:iam::123456789012:role/tokenrotator-RotatorRole'"},
		{name: "another audience", fic: fic, aud: "api://other", alg: "RS256",
			want: "AADSTS700212: No matching federated identity record found for presented assertion audience 'api://other'"},
		{name: "expired", fic: fic, aud: aud, alg: "RS256", ahead: 10 * time.Minute, want: "AADSTS700024: Client assertion is not within its valid time range: it expired at"},
		{name: "tampered signature", fic: fic, aud: aud, alg: "RS256", tamper: true, want: "AADSTS700027: Client assertion failed signature validation"},
		{name: "issuer unreachable", fic: fic, aud: aud, alg: "RS256", issuerOff: true, want: "AADSTS50166: Request to External OIDC endpoint failed"},
		{name: "a client secret too", fic: fic, aud: aud, alg: "RS256", secret: "s3cret", want: "a client secret came with it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now().Add(tt.ahead)
			profile, _ := imsemu.ProfileNamed("entra-v2")
			emu, err := imsemu.New(imsemu.Config{Profile: profile, Now: func() time.Time { return now }, Clients: map[string]imsemu.Client{
				"app-1": {Federated: []imsemu.FederatedCredential{tt.fic}}}})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(emu)
			t.Cleanup(srv.Close)
			jwt := stsJWT(t, issuer.URL, tt.aud, tt.alg)
			if tt.tamper {
				jwt = jwt[:len(jwt)-4] + "AAAA"
			}
			if tt.issuerOff {
				off := httptest.NewServer(http.NotFoundHandler())
				off.Close()
				issuerURL := off.URL
				jwt = stsJWTFrom(t, issuerURL, tt.aud)
				_ = emu.SetClient("app-1", imsemu.Client{Federated: []imsemu.FederatedCredential{{Issuer: issuerURL, Subject: fedRole, Audiences: []string{aud}}}})
			}
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app-1"}, "scope": {"api://reports/.default"},
				"client_assertion_type": {imsemu.AssertionType}, "client_assertion": {jwt}}
			if tt.secret != "" {
				form.Set("client_secret", tt.secret)
			}
			for i := range 2 { // the same JWT twice: Entra is assumed to take a reuse within its life
				res, err := http.PostForm(srv.URL+"/tenant-1/oauth2/v2.0/token", form)
				if err != nil {
					t.Fatal(err)
				}
				var body map[string]any
				_ = json.NewDecoder(res.Body).Decode(&body)
				res.Body.Close()
				desc, _ := body["error_description"].(string)
				switch {
				case tt.want == "" && (res.StatusCode != 200 || body["access_token"] == nil):
					t.Fatalf("request %d: HTTP %d %v, want a token", i+1, res.StatusCode, body)
				case tt.want != "" && (res.StatusCode < 400 || !strings.Contains(desc, tt.want)):
					t.Fatalf("HTTP %d %q, want a refusal with %q", res.StatusCode, desc, tt.want)
				}
				if strings.Contains(desc, jwt) || strings.Contains(desc, jwt[strings.LastIndexByte(jwt, '.')+1:]) {
					t.Errorf("the refusal quotes the assertion: %q", desc)
				}
				if tt.want != "" {
					break
				}
			}
		})
	}
}

// stsJWTFrom gets a JWT from a stand-in of its own whose iss is issuer
// (one that serves nothing).
func stsJWTFrom(t *testing.T, issuer, aud string) string {
	t.Helper()
	st, err := stsemu.New(stsemu.Config{Subject: fedRole, Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(st)
	defer srv.Close()
	return stsJWT(t, srv.URL, aud, "RS256")
}
