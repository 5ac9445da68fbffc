// Package kmssign is a crypto.Signer over an asymmetric AWS KMS key: the
// private key never leaves KMS, and CloudTrail records each signature. It
// signs digests (kms:Sign with MessageType DIGEST) and reads the public key
// once (kms:GetPublicKey).
//
//	load := kmssign.Loader(kms.NewFromConfig(cfg), "arn:aws:kms:eu-west-1:111122223333:key/...")
//	signer, err := load(ctx) // a *kmssign.Signer, cached after the first success
//
// It sits beside oauthtoken, whose JWTAuth signs client assertions through
// any crypto.Signer; oauthtoken knows nothing of KMS. It is outside
// functions/internal because the operator's make signing-key (infra/ops)
// signs the key's certificate through it too.
package kmssign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// CallTimeout bounds each KMS call that comes with no deadline of its own
// (crypto.Signer's Sign has no context).
const CallTimeout = 10 * time.Second

// API is the part of the KMS client the signer uses.
type API interface {
	Sign(ctx context.Context, in *kms.SignInput, opts ...func(*kms.Options)) (*kms.SignOutput, error)
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, opts ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

// Signer is a crypto.Signer (and oauthtoken.ContextSigner) over one KMS
// key. Build it with New or Loader. It is safe for concurrent use.
type Signer struct {
	api API
	key string
	pub crypto.PublicKey
}

// New reads key's public key (kms:GetPublicKey) and returns its Signer.
// key is a key id, key ARN, alias name or alias ARN. It refuses a key that
// is not for signing or whose spec is neither RSA nor ECC_NIST_P256.
func New(ctx context.Context, api API, key string) (*Signer, error) {
	out, err := api.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("reading the public key of KMS key %q: %w", key, err)
	}
	if out.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, fmt.Errorf("KMS key %q has usage %s, want SIGN_VERIFY", key, out.KeyUsage)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("KMS key %q: its public key does not parse: %w", key, err)
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("KMS key %q is ECDSA on %s, want RSA or ECC_NIST_P256", key, k.Curve.Params().Name)
		}
	default:
		return nil, fmt.Errorf("KMS key %q holds a %T, want RSA or ECC_NIST_P256", key, pub)
	}
	return &Signer{api: api, key: key, pub: pub}, nil
}

// Loader returns a function that builds key's Signer on its first
// successful call and returns the same one after; a failed call is tried
// again on the next.
func Loader(api API, key string) func(context.Context) (crypto.Signer, error) {
	var mu sync.Mutex
	var s *Signer
	return func(ctx context.Context) (crypto.Signer, error) {
		mu.Lock()
		defer mu.Unlock()
		if s != nil {
			return s, nil
		}
		made, err := New(ctx, api, key)
		if err != nil {
			return nil, err
		}
		s = made
		return s, nil
	}
}

// Public implements crypto.Signer.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign implements crypto.Signer, within CallTimeout. rand is not used: KMS
// makes its own randomness.
func (s *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CallTimeout)
	defer cancel()
	return s.SignContext(ctx, digest, opts)
}

// SignContext signs digest (kms:Sign, MessageType DIGEST) with the
// algorithm opts and the key's type name: RSASSA_PKCS1_V1_5 or, with
// *rsa.PSSOptions, RSASSA_PSS for RSA; ECDSA for P-256, whose signature is
// ASN.1 DER as ecdsa.SignASN1's. Only SHA-256 is supported.
func (s *Signer) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil || opts.HashFunc() != crypto.SHA256 || len(digest) != 32 {
		return nil, errors.New("kmssign: only SHA-256 digests are supported")
	}
	var alg types.SigningAlgorithmSpec
	switch s.pub.(type) {
	case *rsa.PublicKey:
		alg = types.SigningAlgorithmSpecRsassaPkcs1V15Sha256
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			if pss.SaltLength != rsa.PSSSaltLengthEqualsHash && pss.SaltLength != 32 {
				return nil, errors.New("kmssign: KMS signs PSS with a salt as long as the hash only")
			}
			alg = types.SigningAlgorithmSpecRsassaPssSha256
		}
	case *ecdsa.PublicKey:
		alg = types.SigningAlgorithmSpecEcdsaSha256
	}
	out, err := s.api.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(s.key),
		Message:          digest,
		MessageType:      types.MessageTypeDigest,
		SigningAlgorithm: alg,
	})
	if err != nil {
		return nil, fmt.Errorf("KMS key %q: %w", s.key, err)
	}
	if len(out.Signature) == 0 {
		return nil, fmt.Errorf("KMS key %q: Sign answered no signature", s.key)
	}
	return out.Signature, nil
}
