package imsemu_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

var (
	jwtRSA, _   = rsa.GenerateKey(rand.Reader, 2048)
	otherRSA, _ = rsa.GenerateKey(rand.Reader, 2048)
	jwtEC, _    = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
)

// sign makes a compact JWS of header and claims with key, as a client would.
func sign(t *testing.T, key crypto.Signer, header, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	signed := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(signed))
	var opts crypto.SignerOpts = crypto.SHA256
	if header["alg"] == "PS256" {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	}
	sig, err := key.Sign(rand.Reader, digest[:], opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, ec := key.(*ecdsa.PrivateKey); ec {
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(sig, &rs); err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64)
		rs.R.FillBytes(sig[:32])
		rs.S.FillBytes(sig[32:])
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestPrivateKeyJWTIsVerifiedAsAProviderWould(t *testing.T) {
	now := time.Now()
	p, _ := imsemu.ProfileNamed("okta")
	emu, err := imsemu.New(imsemu.Config{Profile: p, Now: func() time.Time { return now }, Clients: map[string]imsemu.Client{
		"rsa-client": {PublicKey: jwtRSA.Public(), KeyID: "k1"},
		"ec-client":  {PublicKey: jwtEC.Public(), Audience: "https://issuer.example/"},
		"secret-one": {Secrets: []string{"s3cr3t"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); ts.Close() })
	tokenURL := ts.URL + emu.Path()
	claims := func(id, aud, jti string, mutate func(map[string]any)) map[string]any {
		c := map[string]any{"iss": id, "sub": id, "aud": aud, "jti": jti, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
		if mutate != nil {
			mutate(c)
		}
		return c
	}
	rs256 := map[string]any{"alg": "RS256", "kid": "k1"}
	replayed := sign(t, jwtRSA, rs256, claims("rsa-client", tokenURL, "jti-replayed", nil))
	tests := []struct {
		name      string
		assertion string
		extra     url.Values
		wantDescr string // empty: a token
	}{
		{"RS256", sign(t, jwtRSA, rs256, claims("rsa-client", tokenURL, "jti-1", nil)), nil, ""},
		{"PS256", sign(t, jwtRSA, map[string]any{"alg": "PS256", "kid": "k1"}, claims("rsa-client", tokenURL, "jti-2", nil)), nil, ""},
		{"ES256 with the client's audience", sign(t, jwtEC, map[string]any{"alg": "ES256"}, claims("ec-client", "https://issuer.example/", "jti-3", nil)), nil, ""},
		{"first use", replayed, nil, ""},
		{"replayed jti", replayed, nil, "client assertion refused: jti was already used"},
		{"another key", sign(t, otherRSA, rs256, claims("rsa-client", tokenURL, "jti-4", nil)), nil, "signature does not verify with the registered key"},
		{"alg of another key type", sign(t, jwtRSA, map[string]any{"alg": "ES256", "kid": "k1"}, claims("rsa-client", tokenURL, "jti-5", nil)), nil, `alg "ES256" does not fit the registered key`},
		{"other kid", sign(t, jwtRSA, map[string]any{"alg": "RS256", "kid": "k2"}, claims("rsa-client", tokenURL, "jti-6", nil)), nil, `kid "k2" is not the registered key's`},
		{"wrong aud", sign(t, jwtRSA, rs256, claims("rsa-client", "https://elsewhere/", "jti-7", nil)), nil, "aud is not " + tokenURL},
		{"iss not the client", sign(t, jwtRSA, rs256, claims("rsa-client", tokenURL, "jti-8", func(c map[string]any) { c["iss"] = "x" })), nil, "iss is not the client id"},
		{"expired", sign(t, jwtRSA, rs256, claims("rsa-client", tokenURL, "jti-9", func(c map[string]any) { c["exp"] = now.Add(-time.Second).Unix() })), nil, "the assertion expired"},
		{"exp too far", sign(t, jwtRSA, rs256, claims("rsa-client", tokenURL, "jti-10", func(c map[string]any) { c["exp"] = now.Add(2 * time.Hour).Unix() })), nil, "exp is more than 1h0m0s ahead"},
		{"nbf ahead", sign(t, jwtRSA, rs256, claims("rsa-client", tokenURL, "jti-11", func(c map[string]any) { c["nbf"] = now.Add(10 * time.Minute).Unix() })), nil, "nbf is ahead"},
		{"no jti", sign(t, jwtRSA, rs256, claims("rsa-client", tokenURL, "", nil)), nil, "jti is missing"},
		{"client_id differs from sub", sign(t, jwtRSA, rs256, claims("rsa-client", tokenURL, "jti-12", nil)), form("client_id", "ec-client"), "client_id and the assertion's sub differ"},
		{"a secret as well", sign(t, jwtRSA, rs256, claims("rsa-client", tokenURL, "jti-13", nil)), form("client_secret", "s3cr3t"), "client assertion refused: a client secret came with it"},
		{"a client with a secret", sign(t, jwtRSA, rs256, claims("secret-one", tokenURL, "jti-14", nil)), nil, "Client authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := form("grant_type", "client_credentials", "scope", "openid", "client_assertion_type", imsemu.AssertionType, "client_assertion", tt.assertion)
			for k, v := range tt.extra {
				f[k] = v
			}
			a := post(t, http.DefaultClient, tokenURL, f, nil)
			if tt.wantDescr == "" {
				if a.status != 200 {
					t.Fatalf("status = %d (%s), want 200", a.status, a.body)
				}
				return
			}
			descr, _ := a.decoded["error_description"].(string)
			if a.status == 200 || !strings.Contains(descr, tt.wantDescr) {
				t.Fatalf("answer = %d %s, want a refusal saying %q", a.status, a.body, tt.wantDescr)
			}
			if strings.Contains(string(a.body), tt.assertion[strings.LastIndexByte(tt.assertion, '.')+1:]) {
				t.Errorf("refusal quotes the assertion's signature")
			}
		})
	}
	if last, ok := emu.LastRequest(); !ok || last.Form.Has("client_assertion") || !last.AssertionInForm {
		t.Errorf("LastRequest() = %+v, want it marked AssertionInForm and without the assertion", last)
	}
}

func TestPrivateKeyJWTRefusedWhereTheProviderHasNone(t *testing.T) {
	emu, err := imsemu.New(imsemu.Config{Clients: map[string]imsemu.Client{"c": {PublicKey: jwtRSA.Public()}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); ts.Close() })
	tokenURL := ts.URL + imsemu.TokenPath
	now := time.Now()
	jwt := sign(t, jwtRSA, map[string]any{"alg": "RS256"}, map[string]any{"iss": "c", "sub": "c", "aud": tokenURL, "jti": "j", "exp": now.Add(time.Minute).Unix()})
	a := post(t, http.DefaultClient, tokenURL, form("grant_type", "client_credentials", "scope", "openid", "client_assertion_type", imsemu.AssertionType, "client_assertion", jwt), nil)
	if a.status != 400 || !strings.Contains(string(a.body), "client authentication method private_key_jwt is not allowed") {
		t.Errorf("IMS answer = %d %s, want private_key_jwt refused", a.status, a.body)
	}
	if err := emu.SetClient("both", imsemu.Client{Secrets: []string{"s"}, PublicKey: jwtRSA.Public()}); err == nil {
		t.Error("SetClient(secret and key) error = nil, want one")
	}
}

// TestPrivateKeyJWTWithACertificate: an Entra ID client registered with a
// certificate: its assertions name it by x5t#S256 (with PS256) or x5t (with
// RS256), and one that names no certificate, or another, is refused.
func TestPrivateKeyJWTWithACertificate(t *testing.T) {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "c"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, jwtRSA.Public(), jwtRSA)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p, _ := imsemu.ProfileNamed("entra-v2")
	emu, err := imsemu.New(imsemu.Config{Profile: p, Clients: map[string]imsemu.Client{"c": {Certificate: cert}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); ts.Close() })
	tokenURL := ts.URL + strings.ReplaceAll(emu.Path(), "{tenant}", "t")
	s256, s1 := sha256.Sum256(der), sha1.Sum(der)
	enc := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name      string
		header    map[string]any
		wantDescr string
	}{
		{"x5t#S256 with PS256", map[string]any{"alg": "PS256", "x5t#S256": enc(s256[:])}, ""},
		{"x5t with RS256", map[string]any{"alg": "RS256", "x5t": enc(s1[:])}, ""},
		{"no thumbprint", map[string]any{"alg": "RS256"}, "no x5t#S256 or x5t header names the registered certificate"},
		{"another x5t#S256", map[string]any{"alg": "PS256", "x5t#S256": enc(s1[:])}, "is not the registered certificate's thumbprint"},
		{"another x5t", map[string]any{"alg": "RS256", "x5t": enc(s256[:20])}, "is not the registered certificate's thumbprint"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			jwt := sign(t, jwtRSA, tt.header, map[string]any{"iss": "c", "sub": "c", "aud": tokenURL, "jti": fmt.Sprint("j", i),
				"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
			a := post(t, http.DefaultClient, tokenURL, form("grant_type", "client_credentials", "scope", "https://graph.microsoft.com/.default",
				"client_assertion_type", imsemu.AssertionType, "client_assertion", jwt), nil)
			descr, _ := a.decoded["error_description"].(string)
			if tt.wantDescr == "" && a.status != 200 || tt.wantDescr != "" && (a.status == 200 || !strings.Contains(descr, tt.wantDescr)) {
				t.Fatalf("answer = %d %s, want %q (empty: a token)", a.status, a.body, tt.wantDescr)
			}
		})
	}
	if _, err := imsemu.New(imsemu.Config{Clients: map[string]imsemu.Client{"c": {Certificate: cert, PublicKey: otherRSA.Public()}}}); err == nil {
		t.Error("New() with a certificate and another public key = nil error, want a refusal")
	}
}
