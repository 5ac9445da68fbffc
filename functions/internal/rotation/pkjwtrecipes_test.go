package rotation_test

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/ops"
	"github.com/tokenrotator/tokenrotator/infra/repodoc"
)

// TestPrivateKeyJWTRecipes runs each private_key_jwt recipe of the
// rotator's README as a user follows it: make signing-key's code
// (ops.CreateSigningKey) makes the key in moto_server's KMS, the provider's
// emulator registers what it printed (the JWK, or the certificate for Entra
// ID), the recipe's YOUR_… parts take the printed values, and the recipe
// runs through rotation.NewHandler: one token on the first scheduled run,
// none on the next, the assertion's headers as the recipe says, and no
// assertion in logs, results or errors.
func TestPrivateKeyJWTRecipes(t *testing.T) {
	var recipes []recipe
	for _, rc := range readmeRecipes(t) {
		if rc.settings["TOKEN_AUTH"] == "private_key_jwt" {
			recipes = append(recipes, rc)
		}
	}
	if len(recipes) < 5 {
		t.Fatalf("%s has %d private_key_jwt recipes, want at least 5 (Entra ID with a certificate in both header forms, Okta, Auth0, Keycloak)", repodoc.Rotator, len(recipes))
	}
	moto := motoserver.ForTest(t)
	sm := secretsmanager.NewFromConfig(moto.AWSConfig())
	km := kms.NewFromConfig(moto.AWSConfig())
	for _, rc := range recipes {
		t.Run(rc.name, func(t *testing.T) {
			key, err := ops.CreateSigningKey(context.Background(), km, "tokenrotator", rc.name, ops.SpecRSA2048, time.Now())
			if err != nil {
				t.Fatalf("CreateSigningKey() error = %v", err)
			}
			filled := map[string]string{"YOUR_SIGNING_KEY_ALIAS_ARN": key.AliasARN, "YOUR_KID": key.KeyID,
				"YOUR_CERT_SHA256": key.CertSHA256, "YOUR_CERT_SHA1": key.CertSHA1}
			override := map[string]string{}
			var params []string
			for k, v := range rc.settings {
				if !strings.HasPrefix(k, "SIGNING_") {
					continue
				}
				if strings.HasPrefix(v, "YOUR_") {
					if _, ok := filled[v]; !ok {
						t.Fatalf("recipe %s: %s=%s is not one of the values make signing-key prints", rc.name, k, v)
					}
					override[k] = filled[v]
				}
				params = append(params, parameterName(k)+"="+cmp.Or(override[k], v))
			}
			// make signing-key printed these settings together, for one provider.
			printed := false
			for _, ks := range key.Settings() {
				printed = printed || containsAll(ks.Parameters, params)
			}
			if !printed {
				t.Errorf("recipe %s: make signing-key printed no settings line with %q: %+v", rc.name, params, key.Settings())
			}
			client := imsemu.Client{PublicKey: jwkKey(t, key.JWK), KeyID: key.KeyID}
			_, byCert := rc.settings["SIGNING_CERT_SHA256"]
			_, byCertSHA1 := rc.settings["SIGNING_CERT_SHA1"]
			if byCert || byCertSHA1 {
				client = imsemu.Client{Certificate: pemCertificate(t, key.CertificatePEM)}
			}
			tap := &assertionTap{}
			p := newRecipeRigFor(t, moto, sm, rc, override, client, `{"client_id":"`+clientID+`"}`,
				func(h http.Handler) http.Handler { tap.next = h; return tap })
			if aud := rc.settings["ASSERTION_AUDIENCE"]; aud != "" {
				// Auth0 wants the tenant's issuer, https://{tenant domain}/:
				// the recipe's must be its TOKEN_URL's, and the emulator's is
				// its own.
				if issuer(rc.settings["TOKEN_URL"]) != aud {
					t.Fatalf("recipe %s: ASSERTION_AUDIENCE %s is not its tenant's issuer %s", rc.name, aud, issuer(rc.settings["TOKEN_URL"]))
				}
				client.Audience = issuer(p.env["TOKEN_URL"])
				if err := p.ims.SetClient(clientID, client); err != nil {
					t.Fatal(err)
				}
			}
			res, err := p.run(scheduled)
			if err != nil || !res.Rotated {
				t.Fatalf("first scheduled run = %+v, %v; want a rotation", res, err)
			}
			req, _ := p.ims.LastRequest()
			p.checkRequest(req)
			checkSchedule(t, rc, p.stored().Expiry.Sub(p.stored().IssuedAt))
			if res, err := p.run(scheduled); err != nil || res.Rotated {
				t.Errorf("second scheduled run = %+v, %v; want nothing to do", res, err)
			}
			if n := p.ims.Requests(); n != 1 {
				t.Errorf("token requests = %d, want 1", n)
			}

			// The headers the recipe promises, as make signing-key printed them.
			if len(tap.seen) != 1 {
				t.Fatalf("assertions sent = %d, want 1", len(tap.seen))
			}
			header := assertionHeader(t, tap.seen[0])
			wantAlg := rc.settings["SIGNING_ALG"]
			if wantAlg == "" {
				wantAlg = "RS256"
			}
			der, _ := pem.Decode([]byte(key.CertificatePEM))
			s256, s1 := sha256.Sum256(der.Bytes), sha1.Sum(der.Bytes)
			want := map[string]string{"alg": wantAlg, "typ": "JWT"}
			switch {
			case byCert:
				want["x5t#S256"] = base64.RawURLEncoding.EncodeToString(s256[:])
			case byCertSHA1:
				want["x5t"] = base64.RawURLEncoding.EncodeToString(s1[:])
			default:
				want["kid"] = key.KeyID
			}
			if got, _ := json.Marshal(header); string(got) != mustJSON(t, want) {
				t.Errorf("assertion header = %s, want %s", got, mustJSON(t, want))
			}
			out, _ := json.Marshal(res)
			for _, text := range []string{string(out), errString(err), p.logs.String()} {
				if sig := tap.seen[0][strings.LastIndexByte(tap.seen[0], '.')+1:]; strings.Contains(text, sig) {
					t.Errorf("the assertion's signature leaked in %q", text)
				}
			}
			p.noLeak(string(out))
		})
	}
}

// parameterName is the template parameter of setting env:
// SIGNING_CERT_SHA256 is SigningCertSha256.
func parameterName(env string) string {
	var b strings.Builder
	for w := range strings.SplitSeq(strings.ToLower(env), "_") {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// containsAll reports whether the space-separated line has every one of
// fields.
func containsAll(line string, fields []string) bool {
	have := strings.Fields(line)
	for _, f := range fields {
		if !slices.Contains(have, f) {
			return false
		}
	}
	return true
}

// issuer is the scheme and host of u, and a slash.
func issuer(u string) string {
	scheme, rest, _ := strings.Cut(u, "://")
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host + "/"
}

// assertionHeader decodes a JWT's header.
func assertionHeader(t *testing.T, jwt string) map[string]string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(jwt[:strings.IndexByte(jwt, '.')])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]string
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// jwkKey reads a public JWK as a provider does.
func jwkKey(t *testing.T, jwk string) crypto.PublicKey {
	t.Helper()
	var k struct{ Kty, N, E, Crv, X, Y string }
	if err := json.Unmarshal([]byte(jwk), &k); err != nil {
		t.Fatalf("JWK %s: %v", jwk, err)
	}
	num := func(s string) *big.Int {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("JWK member %q: %v", s, err)
		}
		return new(big.Int).SetBytes(b)
	}
	if k.Kty == "EC" {
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, num(k.X).FillBytes(make([]byte, 32))...), num(k.Y).FillBytes(make([]byte, 32))...))
		if err != nil {
			t.Fatalf("JWK %s: %v", jwk, err)
		}
		return pub
	}
	return &rsa.PublicKey{N: num(k.N), E: int(num(k.E).Int64())}
}

// pemCertificate parses the one certificate of a PEM text.
func pemCertificate(t *testing.T, text string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		t.Fatalf("no PEM block in %q", text)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
