package oauthtoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

var (
	testRSA, _ = rsa.GenerateKey(rand.Reader, 2048)
	testEC, _  = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
)

func keyOf(k crypto.Signer) func(context.Context) (crypto.Signer, error) {
	return func(context.Context) (crypto.Signer, error) { return k, nil }
}

// verifyJWS checks a compact JWS's signature with pub as RFC 7515/7518 say,
// and returns its header and claims.
func verifyJWS(t *testing.T, jwt string, pub crypto.PublicKey) (map[string]string, map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion has %d parts, want 3", len(parts))
	}
	var header map[string]string
	var claims map[string]any
	for i, dst := range []any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("part %d is not base64url: %v", i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("part %d is not a JSON object: %v", i, err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatalf("signature is not base64url: %v", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch header["alg"] {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES256":
		if len(sig) != 64 {
			t.Fatalf("ES256 signature is %d bytes, want 64 (r||s)", len(sig))
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub.(*ecdsa.PublicKey), digest[:], r, s) {
			err = errors.New("ecdsa verification failed")
		}
	default:
		t.Fatalf("alg = %q", header["alg"])
	}
	if err != nil {
		t.Fatalf("%s signature does not verify: %v", header["alg"], err)
	}
	return header, claims
}

func TestJWTAuthSendsASignedAssertionAndNoSecret(t *testing.T) {
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	sha256Print, sha1Print := []byte(strings.Repeat("\x01", 32)), []byte(strings.Repeat("\x02", 20))
	tests := []struct {
		name    string
		key     crypto.Signer
		auth    JWTAuth
		wantAlg string
		wantHdr map[string]string
	}{
		{"RS256 with kid", testRSA, JWTAuth{KeyID: "key-1"}, "RS256", map[string]string{"kid": "key-1"}},
		{"PS256 with x5t#S256", testRSA, JWTAuth{PSS: true, CertSHA256: sha256Print}, "PS256",
			map[string]string{"x5t#S256": base64.RawURLEncoding.EncodeToString(sha256Print)}},
		{"RS256 with x5t", testRSA, JWTAuth{CertSHA1: sha1Print}, "RS256",
			map[string]string{"x5t": base64.RawURLEncoding.EncodeToString(sha1Print)}},
		{"ES256 with audience", testEC, JWTAuth{Audience: "https://issuer.example/"}, "ES256", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.auth
			a.Key, a.Now = keyOf(tt.key), func() time.Time { return now }
			unavailable := jsonAnswer(503, `{"error":"temporarily_unavailable"}`)
			h := newHarness(t, Config{Auth: a}, unavailable, ok)
			if _, err := h.f.Fetch(context.Background(), Credentials{ClientID: "client-1"}); err != nil {
				t.Fatalf("Fetch() error = %v", err)
			}
			if len(h.ep.forms) != 2 {
				t.Fatalf("requests = %d, want 2", len(h.ep.forms))
			}
			var jtis []any
			for i, raw := range h.ep.forms {
				form, _ := url.ParseQuery(raw)
				if form.Has("client_secret") || h.ep.auth[i] != "" {
					t.Errorf("request %d carries a client secret: form %q, Authorization %q", i, raw, h.ep.auth[i])
				}
				if got := form.Get("client_assertion_type"); got != AssertionType {
					t.Errorf("client_assertion_type = %q, want %q", got, AssertionType)
				}
				header, claims := verifyJWS(t, form.Get("client_assertion"), tt.key.Public())
				if header["alg"] != tt.wantAlg {
					t.Errorf("alg = %q, want %q", header["alg"], tt.wantAlg)
				}
				for k, v := range tt.wantHdr {
					if header[k] != v {
						t.Errorf("header %s = %q, want %q", k, header[k], v)
					}
				}
				for _, k := range []string{"kid", "x5t", "x5t#S256"} {
					if _, want := tt.wantHdr[k]; !want && header[k] != "" {
						t.Errorf("header %s = %q, want none", k, header[k])
					}
				}
				wantAud := tt.auth.Audience
				if wantAud == "" {
					wantAud = h.f.cfg.TokenURL
				}
				if claims["iss"] != "client-1" || claims["sub"] != "client-1" || claims["aud"] != wantAud {
					t.Errorf("iss, sub, aud = %v, %v, %v; want client-1, client-1, %s", claims["iss"], claims["sub"], claims["aud"], wantAud)
				}
				iat, nbf, exp := claims["iat"].(float64), claims["nbf"].(float64), claims["exp"].(float64)
				if iat != float64(now.Unix()) || nbf != iat || exp != iat+300 {
					t.Errorf("iat, nbf, exp = %v, %v, %v; want %d, iat, iat+300", iat, nbf, exp, now.Unix())
				}
				jtis = append(jtis, claims["jti"])
			}
			if jtis[0] == jtis[1] || jtis[0] == "" {
				t.Errorf("jti = %v: want a new one for the retry", jtis)
			}
		})
	}
}

func TestJWTAuthRefusesAmbiguousOrMissingKeys(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	signErr := errors.New("AccessDeniedException: not allowed")
	tests := []struct {
		name  string
		auth  JWTAuth
		creds Credentials
		want  string
	}{
		{"secret as well", JWTAuth{Key: keyOf(testRSA)}, goodCreds, "private_key_jwt sends no client secret, yet one is set"},
		{"no client id", JWTAuth{Key: keyOf(testRSA)}, Credentials{}, "client_id is required"},
		{"no key", JWTAuth{}, Credentials{ClientID: "c"}, "no signing key is configured"},
		{"P-384", JWTAuth{Key: keyOf(p384)}, Credentials{ClientID: "c"}, "the signing key is ECDSA on P-384, want P-256"},
		{"PS256 with P-256", JWTAuth{Key: keyOf(testEC), PSS: true}, Credentials{ClientID: "c"}, "PS256 needs an RSA key"},
		{"RSA 1024", JWTAuth{Key: keyOf(small)}, Credentials{ClientID: "c"}, "the signing key is RSA with 1024 bits, want at least 2048"},
		{"signer fails", JWTAuth{Key: keyOf(failingSigner{testRSA, signErr})}, Credentials{ClientID: "c"},
			"signing the client assertion (RS256): AccessDeniedException: not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{Auth: tt.auth}, ok)
			_, err := h.f.Fetch(context.Background(), tt.creds)
			if err == nil || !strings.Contains(err.Error(), "token request not sent: "+tt.want) {
				t.Fatalf("Fetch() error = %v, want one with %q", err, tt.want)
			}
			if h.ep.calls.Load() != 0 {
				t.Errorf("endpoint got %d requests, want none", h.ep.calls.Load())
			}
			noLeak(t, err.Error(), h.logs.String())
		})
	}
}

type failingSigner struct {
	crypto.Signer
	err error
}

func (f failingSigner) Sign(_ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	return nil, f.err
}

func TestJWTAuthScrubsTheAssertionFromAnswers(t *testing.T) {
	show := func(_, body string) string {
		form, _ := url.ParseQuery(body)
		a := form.Get("client_assertion")
		return fmt.Sprintf("bad assertion %s, signature %s", a, a[strings.LastIndexByte(a, '.')+1:])
	}
	h := newHarness(t, Config{Auth: JWTAuth{Key: keyOf(testRSA)}}, echo(503, show), echo(400, show))
	_, err := h.f.Fetch(context.Background(), Credentials{ClientID: "client-1"})
	if err == nil {
		t.Fatal("Fetch() error = nil, want the endpoint's refusal")
	}
	for i, raw := range h.ep.forms {
		form, _ := url.ParseQuery(raw)
		a := form.Get("client_assertion")
		sig := a[strings.LastIndexByte(a, '.')+1:]
		if a == "" || strings.Contains(err.Error(), sig) || strings.Contains(h.logs.String(), sig) {
			t.Errorf("request %d's assertion or signature shows in the error %q or the logs %q", i, err, h.logs.String())
		}
	}
	if !strings.Contains(err.Error(), "bad assertion "+redacted) {
		t.Errorf("error = %q, want the description with the assertion redacted", err)
	}
}

func TestJWSECDSAConvertsDERToFixedWidth(t *testing.T) {
	for _, tt := range []struct{ r, s int64 }{{1, 2}, {0x7f, 0x80}} {
		der, _ := asn1.Marshal(struct{ R, S *big.Int }{big.NewInt(tt.r), big.NewInt(tt.s)})
		got, err := jwsECDSA(der, 32)
		if err != nil {
			t.Fatalf("jwsECDSA(%d, %d) error = %v", tt.r, tt.s, err)
		}
		want := make([]byte, 64)
		want[31], want[63] = byte(tt.r), byte(tt.s)
		if string(got) != string(want) {
			t.Errorf("jwsECDSA(%d, %d) = %x, want %x", tt.r, tt.s, got, want)
		}
	}
	for _, bad := range [][]byte{nil, {0x30, 0x00}, []byte("not der")} {
		if _, err := jwsECDSA(bad, 32); err == nil {
			t.Errorf("jwsECDSA(%x) error = nil, want one", bad)
		}
	}
}

// check the fixed-width conversion against the stdlib signer over many
// signatures, whose r and s are sometimes shorter than 32 bytes.
func TestES256SignaturesVerifyWhateverTheirLength(t *testing.T) {
	a := JWTAuth{Key: keyOf(testEC)}
	for range 64 {
		jwt, err := a.Assertion(context.Background(), "c", "https://token.example/")
		if err != nil {
			t.Fatal(err)
		}
		verifyJWS(t, jwt, testEC.Public())
	}
}

// ensure the interface is what the fetcher calls for each method.
var _ = []ClientAuth{BodyAuth{}, BasicAuth{}, JWTAuth{}}

var _ http.Handler = (*endpoint)(nil)
