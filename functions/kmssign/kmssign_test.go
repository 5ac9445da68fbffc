package kmssign_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/kmssign"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
)

// createKey makes a KMS key in moto and returns its ARN.
func createKey(t *testing.T, c *kms.Client, spec types.KeySpec, usage types.KeyUsageType) string {
	t.Helper()
	out, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
	if err != nil {
		t.Fatalf("CreateKey(%s) error = %v", spec, err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

func TestMotoKMSSignaturesVerifyWithThePublicKey(t *testing.T) {
	srv := motoserver.ForTest(t)
	c := kms.NewFromConfig(srv.AWSConfig())
	digest := sha256.Sum256([]byte("header.claims"))
	tests := []struct {
		name string
		spec types.KeySpec
		opts crypto.SignerOpts
	}{
		{"RSA PKCS1", types.KeySpecRsa2048, crypto.SHA256},
		{"RSA PSS", types.KeySpecRsa2048, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}},
		{"P-256", types.KeySpecEccNistP256, crypto.SHA256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := createKey(t, c, tt.spec, types.KeyUsageTypeSignVerify)
			s, err := kmssign.New(context.Background(), c, key)
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			sig, err := s.Sign(rand.Reader, digest[:], tt.opts)
			if err != nil {
				t.Fatalf("Sign() error = %v", err)
			}
			switch pub := s.Public().(type) {
			case *rsa.PublicKey:
				if pss, ok := tt.opts.(*rsa.PSSOptions); ok {
					err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, pss)
				} else {
					err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
				}
			case *ecdsa.PublicKey:
				if !ecdsa.VerifyASN1(pub, digest[:], sig) {
					err = errors.New("ECDSA signature does not verify")
				}
			default:
				t.Fatalf("Public() = %T", pub)
			}
			if err != nil {
				t.Fatalf("signature from moto does not verify with GetPublicKey's key: %v", err)
			}
		})
	}
}

// TestMotoKMSSignsAssertions signs through oauthtoken.JWTAuth with a key
// loaded once, by its alias as well.
func TestMotoKMSSignsAssertions(t *testing.T) {
	srv := motoserver.ForTest(t)
	c := kms.NewFromConfig(srv.AWSConfig())
	key := createKey(t, c, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
	if _, err := c.CreateAlias(context.Background(), &kms.CreateAliasInput{AliasName: aws.String("alias/rotator"), TargetKeyId: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{key, "alias/rotator"} {
		a := oauthtoken.JWTAuth{Key: kmssign.Loader(c, id)}
		jwt, err := a.Assertion(context.Background(), "client-1", "https://token.example/")
		if err != nil {
			t.Fatalf("Assertion() with %s error = %v", id, err)
		}
		if n := strings.Count(jwt, "."); n != 2 {
			t.Errorf("assertion has %d dots, want 2", n)
		}
	}
}

func TestNewRefusesKeysThatCannotSign(t *testing.T) {
	srv := motoserver.ForTest(t)
	c := kms.NewFromConfig(srv.AWSConfig())
	tests := []struct {
		name string
		key  string
		want string
	}{
		{"encryption key", createKey(t, c, types.KeySpecRsa2048, types.KeyUsageTypeEncryptDecrypt), "has usage ENCRYPT_DECRYPT, want SIGN_VERIFY"},
		{"P-384", createKey(t, c, types.KeySpecEccNistP384, types.KeyUsageTypeSignVerify), "is ECDSA on P-384, want RSA or ECC_NIST_P256"},
		{"missing key", "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000", "reading the public key of KMS key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kmssign.New(context.Background(), c, tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New() error = %v, want one with %q", err, tt.want)
			}
		})
	}
}

// denied answers Sign as KMS does without kms:Sign on the key.
type denied struct{ kmssign.API }

func (d denied) Sign(context.Context, *kms.SignInput, ...func(*kms.Options)) (*kms.SignOutput, error) {
	return nil, errors.New("operation error KMS: Sign, api error AccessDeniedException: not authorized to perform kms:Sign")
}

func TestSignErrorNamesTheKey(t *testing.T) {
	srv := motoserver.ForTest(t)
	c := kms.NewFromConfig(srv.AWSConfig())
	key := createKey(t, c, types.KeySpecRsa2048, types.KeyUsageTypeSignVerify)
	s, err := kmssign.New(context.Background(), denied{c}, key)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(nil)
	_, err = s.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("Sign() error = %v, want the key and AccessDeniedException", err)
	}
	if _, err := s.Sign(rand.Reader, digest[:], crypto.SHA384); err == nil {
		t.Error("Sign() with SHA-384 error = nil, want a refusal")
	}
}
