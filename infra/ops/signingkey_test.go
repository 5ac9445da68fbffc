package ops_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/tokenrotator/tokenrotator/functions/kmssign"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// TestPublicJWKThumbprint holds the kid to RFC 7638 section 3.1's worked
// example.
func TestPublicJWKThumbprint(t *testing.T) {
	n, _ := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	jwk, kid, err := ops.PublicJWK(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; kid != want {
		t.Errorf("PublicJWK() kid = %q, want RFC 7638's %q", kid, want)
	}
	if !strings.Contains(jwk, `"kid":"`+kid+`"`) || !strings.Contains(jwk, `"use":"sig"`) {
		t.Errorf("PublicJWK() = %s, want its kid and use sig", jwk)
	}
}

// parseJWK reads a public JWK as a provider does.
func parseJWK(t *testing.T, jwk string) (crypto.PublicKey, string) {
	t.Helper()
	var k struct{ Kty, Kid, Use, N, E, Crv, X, Y, D string }
	if err := json.Unmarshal([]byte(jwk), &k); err != nil {
		t.Fatalf("JWK %s: %v", jwk, err)
	}
	if k.D != "" {
		t.Fatalf("JWK has a private member d")
	}
	num := func(s string) *big.Int {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) == 0 {
			t.Fatalf("JWK member %q is not base64url", s)
		}
		return new(big.Int).SetBytes(b)
	}
	switch k.Kty {
	case "RSA":
		return &rsa.PublicKey{N: num(k.N), E: int(num(k.E).Int64())}, k.Kid
	case "EC":
		if k.Crv != "P-256" {
			t.Fatalf("JWK crv = %q", k.Crv)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, num(k.X).FillBytes(make([]byte, 32))...), num(k.Y).FillBytes(make([]byte, 32))...))
		if err != nil {
			t.Fatalf("JWK %s: %v", jwk, err)
		}
		return pub, k.Kid
	}
	t.Fatalf("JWK kty = %q", k.Kty)
	return nil, ""
}

// TestCreateSigningKey runs make signing-key's work against moto_server's
// KMS: the key is tagged and aliased; the JWK verifies a signature KMS
// made through the alias; the certificate is signed by the key itself and
// its thumbprints are those printed; nothing private is printed.
func TestCreateSigningKey(t *testing.T) {
	srv := motoserver.ForTest(t)
	c := kms.NewFromConfig(srv.AWSConfig())
	ctx := context.Background()
	now := time.Now()
	for _, spec := range []string{ops.SpecRSA2048, ops.SpecP256} {
		t.Run(spec, func(t *testing.T) {
			name := "okta-" + strings.ToLower(strings.ReplaceAll(spec, "_", "-"))
			k, err := ops.CreateSigningKey(ctx, c, "tokenrotator", name, spec, now)
			if err != nil {
				t.Fatalf("CreateSigningKey() error = %v", err)
			}
			if want := strings.Replace(k.KeyARN, ":key/"+k.KeyARN[strings.LastIndex(k.KeyARN, "/")+1:], ":alias/tokenrotator/"+name, 1); k.AliasARN != want {
				t.Errorf("AliasARN = %q, want %q", k.AliasARN, want)
			}
			d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/tokenrotator/" + name)})
			if err != nil {
				t.Fatalf("DescribeKey(alias) error = %v", err)
			}
			if m := d.KeyMetadata; aws.ToString(m.Arn) != k.KeyARN || m.KeyUsage != types.KeyUsageTypeSignVerify || string(m.KeySpec) != spec {
				t.Errorf("key = %s %s %s, want %s SIGN_VERIFY %s", aws.ToString(m.Arn), m.KeyUsage, m.KeySpec, k.KeyARN, spec)
			}
			tags, err := c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(k.KeyARN)})
			if err != nil {
				t.Fatal(err)
			}
			if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].TagKey) != "tokenrotator:stack" || aws.ToString(tags.Tags[0].TagValue) != "tokenrotator" {
				t.Errorf("tags = %+v, want tokenrotator:stack=tokenrotator alone", tags.Tags)
			}

			// The JWK verifies what KMS signs through the alias.
			pub, kid := parseJWK(t, k.JWK)
			if kid != k.KeyID || kid == "" {
				t.Errorf("JWK kid = %q, KeyID = %q", kid, k.KeyID)
			}
			signer, err := kmssign.New(ctx, c, k.AliasARN)
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256([]byte("header.claims"))
			sig, err := signer.Sign(nil, digest[:], crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			switch p := pub.(type) {
			case *rsa.PublicKey:
				err = rsa.VerifyPKCS1v15(p, crypto.SHA256, digest[:], sig)
			case *ecdsa.PublicKey:
				if !ecdsa.VerifyASN1(p, digest[:], sig) {
					err = errors.New("ECDSA signature does not verify")
				}
			}
			if err != nil {
				t.Errorf("a KMS signature does not verify with the printed JWK: %v", err)
			}
			if block, _ := pem.Decode([]byte(k.PublicKeyPEM)); block == nil || block.Type != "PUBLIC KEY" {
				t.Errorf("PublicKeyPEM = %q, want a PUBLIC KEY block", k.PublicKeyPEM)
			} else if p, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil || !p.(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
				t.Errorf("PublicKeyPEM is not the JWK's key (%v)", err)
			}

			// The certificate: of this key, signed by it, thumbprints as printed.
			block, rest := pem.Decode([]byte(k.CertificatePEM))
			if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) > 0 {
				t.Fatalf("CertificatePEM = %q, want one CERTIFICATE block", k.CertificatePEM)
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if !cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
				t.Error("the certificate's public key is not the JWK's")
			}
			if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
				t.Errorf("the certificate's signature does not verify with its own key: %v", err)
			}
			if !cert.NotAfter.Equal(k.NotAfter) || cert.NotAfter.Sub(now) < ops.CertValidity-time.Minute || !cert.NotBefore.Before(now) {
				t.Errorf("certificate valid %s to %s, want from before now for %s", cert.NotBefore, cert.NotAfter, ops.CertValidity)
			}
			s256, s1 := sha256.Sum256(block.Bytes), sha1.Sum(block.Bytes)
			if k.CertSHA256 != hex.EncodeToString(s256[:]) || k.CertSHA1 != hex.EncodeToString(s1[:]) {
				t.Errorf("thumbprints = %s, %s; want the DER's %x, %x", k.CertSHA256, k.CertSHA1, s256, s1)
			}

			var out bytes.Buffer
			k.Print(&out)
			printed := out.String()
			t.Logf("make signing-key prints:\n%s", printed)
			for _, want := range []string{k.KeyARN + " (" + spec + ", SIGN_VERIFY), tagged tokenrotator:stack=tokenrotator", k.AliasARN, k.JWK, k.CertificatePEM, k.CertSHA256, k.CertSHA1,
				"TokenAuth=private_key_jwt SigningKey=" + k.AliasARN + " SigningKeyId=" + k.KeyID,
				`"token_auth": "private_key_jwt", "signing_key": "` + k.AliasARN + `", "signing_key_id": "` + k.KeyID + `"`} {
				if !strings.Contains(printed, want) {
					t.Errorf("Print() lacks %q:\n%s", want, printed)
				}
			}
			entra := "SigningAlg=PS256 SigningCertSha256=" + k.CertSHA256
			if got := strings.Contains(printed, entra); got != (spec == ops.SpecRSA2048) {
				t.Errorf("Print() has the Entra settings %q: %v, want %v", entra, got, spec == ops.SpecRSA2048)
			}
			if strings.Contains(printed, "PRIVATE") {
				t.Errorf("Print() shows private material:\n%s", printed)
			}
		})
	}
}

// failAlias answers CreateAlias with an error, as KMS does without
// kms:CreateAlias.
type failAlias struct{ *kms.Client }

func (failAlias) CreateAlias(context.Context, *kms.CreateAliasInput, ...func(*kms.Options)) (*kms.CreateAliasOutput, error) {
	return nil, errors.New("api error AccessDeniedException: not authorized to perform kms:CreateAlias")
}

// TestCreateSigningKeyRefuses: a bad stack, NAME or SPEC is refused before
// any call; an alias that exists is refused before a key is made; a key
// whose alias cannot be made is scheduled for deletion.
func TestCreateSigningKeyRefuses(t *testing.T) {
	srv := motoserver.ForTest(t)
	c := kms.NewFromConfig(srv.AWSConfig())
	ctx := context.Background()
	if _, err := ops.CreateSigningKey(ctx, c, "tokenrotator", "taken", ops.SpecP256, time.Now()); err != nil {
		t.Fatal(err)
	}
	keys := func() int {
		out, err := c.ListKeys(ctx, &kms.ListKeysInput{})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Keys)
	}
	tests := []struct {
		name              string
		api               ops.SigningKeyAPI
		stack, key, spec  string
		want              string
		keysMade, pending int
	}{
		{"empty NAME", c, "tokenrotator", "", ops.SpecRSA2048, `key name "" is not valid`, 0, 0},
		{"NAME with a slash", c, "tokenrotator", "okta/2026", ops.SpecRSA2048, `key name "okta/2026" is not valid`, 0, 0},
		{"NAME too long", c, "tokenrotator", strings.Repeat("k", 41), ops.SpecRSA2048, "is not valid: want 1 to 40", 0, 0},
		{"SPEC", c, "tokenrotator", "okta", "RSA_1024", `key spec "RSA_1024" is not RSA_2048 (RS256, PS256; Entra ID) or ECC_NIST_P256 (ES256) (make: SPEC)`, 0, 0},
		{"SPEC and NAME", c, "tokenrotator", "", "ECC_NIST_P384", `key name "" is not valid: want 1 to 40 lower-case letters, digits or hyphens, starting with a letter or digit, such as okta-2026 (make: NAME); key spec "ECC_NIST_P384"`, 0, 0},
		{"stack", c, "9lives", "okta", ops.SpecRSA2048, `stack name "9lives" is not valid`, 0, 0},
		{"alias exists", c, "tokenrotator", "taken", ops.SpecRSA2048, "alias/tokenrotator/taken exists already: give another NAME", 0, 0},
		{"alias refused", failAlias{c}, "tokenrotator", "denied", ops.SpecRSA2048,
			"creating alias/tokenrotator/denied: api error AccessDeniedException: not authorized to perform kms:CreateAlias; the new key arn:aws:kms:", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := keys()
			_, err := ops.CreateSigningKey(ctx, tt.api, tt.stack, tt.key, tt.spec, time.Now())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CreateSigningKey() error = %v, want one with %q", err, tt.want)
			}
			if made := keys() - before; made != tt.keysMade {
				t.Errorf("keys made = %d, want %d", made, tt.keysMade)
			}
			if tt.pending > 0 {
				out, _ := c.ListKeys(ctx, &kms.ListKeysInput{})
				last := out.Keys[len(out.Keys)-1]
				d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: last.KeyArn})
				if err != nil || d.KeyMetadata.KeyState != types.KeyStatePendingDeletion {
					t.Errorf("the key left behind is %+v (%v), want PendingDeletion", d, err)
				}
			}
		})
	}
}
