package faultmatrix

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
)

// signingKeyID is the kid the emulator's client registered its key under.
const signingKeyID = "faultmatrix-kid"

// signing makes the function's integration a private_key_jwt client
// (TOKEN_AUTH=private_key_jwt): a KMS key in moto_server, reached through
// the fault proxy as Secrets Manager is, signs its assertions, and the
// emulator's client registered the key's public half under signingKeyID.
// Its zero value is an RSA 2048 signing key, a credentials secret without a
// client secret, and a provider that agrees with the rotator.
type signing struct {
	spec  types.KeySpec      // zero: RSA_2048
	usage types.KeyUsageType // zero: SIGN_VERIFY
	// disabled disables the key (DisableKey) before the first run.
	disabled bool
	// alsoSecret puts a client_secret in the credentials secret, beside the key.
	alsoSecret bool
	// replay sends, in place of each assertion after the first, the first
	// one again, as an attacker who captured it would.
	replay bool
	// audience is the aud the provider's client wants; empty: the token URL.
	audience string
	// clock sets the provider's clock ahead (above zero) or behind.
	clock time.Duration
}

func (s *signing) keySpec() types.KeySpec {
	if s.spec == "" {
		return types.KeySpecRsa2048
	}
	return s.spec
}

func (s *signing) keyUsage() types.KeyUsageType {
	if s.usage == "" {
		return types.KeyUsageTypeSignVerify
	}
	return s.usage
}

// describe says, for the table, how the case sets up private_key_jwt.
func (s *signing) describe() []string {
	key := fmt.Sprintf("TOKEN_AUTH=private_key_jwt at Okta, SIGNING_KEY a KMS key %s %s", s.keySpec(), s.keyUsage())
	if s.disabled {
		key += ", disabled"
	}
	parts := []string{key}
	if s.alsoSecret {
		parts = append(parts, "the credentials secret holds a client_secret as well")
	}
	if s.replay {
		parts = append(parts, "an attacker replays the first assertion in place of each later one")
	}
	if s.audience != "" {
		parts = append(parts, "the provider wants aud "+s.audience)
	}
	switch {
	case s.clock > 0:
		parts = append(parts, fmt.Sprintf("the provider's clock %s ahead (its leeway: %s)", s.clock, imsemu.ClockSkew))
	case s.clock < 0:
		parts = append(parts, fmt.Sprintf("the provider's clock %s behind (its leeway: %s)", -s.clock, imsemu.ClockSkew))
	}
	return parts
}

// createSigningKey makes the case's KMS key in moto, past the proxy, and
// returns its ARN and the public key the provider's client registers: the
// key's own, or a stand-in where KMS gives none that parses.
func (r *rig) createSigningKey(ctx context.Context, moto *motoserver.Server) (string, crypto.PublicKey, error) {
	s := r.c.signing
	km := kms.NewFromConfig(moto.AWSConfig())
	out, err := km.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: s.keySpec(), KeyUsage: s.keyUsage(),
		Tags: []types.Tag{{TagKey: aws.String("tokenrotator:stack"), TagValue: aws.String("faultmatrix")}}})
	if err != nil {
		return "", nil, fmt.Errorf("creating the signing key: %w", err)
	}
	arn := aws.ToString(out.KeyMetadata.Arn)
	var pub crypto.PublicKey
	if pk, err := km.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(arn)}); err == nil {
		pub, _ = x509.ParsePKIXPublicKey(pk.PublicKey)
	}
	if pub == nil { // a key the signer refuses: the request is never sent
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", nil, err
		}
		pub = k.Public()
	}
	if s.disabled { // moto's DisableKey takes the key id only
		if _, err := km.DisableKey(ctx, &kms.DisableKeyInput{KeyId: out.KeyMetadata.KeyId}); err != nil {
			return "", nil, fmt.Errorf("disabling the signing key: %w", err)
		}
	}
	return arn, pub, nil
}

// signingEnv is the function's environment for a private_key_jwt case,
// under the case's own overrides.
func (r *rig) signingEnv(name string) (string, bool) {
	if r.c.signing == nil {
		return "", false
	}
	switch name {
	case config.EnvTokenAuth:
		return string(config.AuthPrivateKeyJWT), true
	case config.EnvSigningKey:
		return r.signingKey, true
	case config.EnvSigningKeyID:
		return signingKeyID, true
	}
	return "", false
}

// assertionTap sits in front of the token endpoint of a private_key_jwt
// case: it records each client_assertion sent, for the leak check, and,
// with replay, sends the first one again in place of each later one.
type assertionTap struct {
	next   http.Handler
	replay bool

	mu   sync.Mutex
	seen []string
}

func (a *assertionTap) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	form, _ := url.ParseQuery(string(body))
	a.mu.Lock()
	if jwt := form.Get("client_assertion"); jwt != "" {
		a.seen = append(a.seen, jwt)
		if a.replay && len(a.seen) > 1 {
			form.Set("client_assertion", a.seen[0])
			body = []byte(form.Encode())
		}
	}
	a.mu.Unlock()
	req.Body, req.ContentLength = io.NopCloser(strings.NewReader(string(body))), int64(len(body))
	a.next.ServeHTTP(w, req)
}

// assertions returns the assertions sent so far.
func (a *assertionTap) assertions() []string {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

// assertionForms returns each assertion, and its signature as sent
// (base64url) and as the raw bytes would print: standard base64 and hex.
// None may show in a log line, a metric, an error or a result.
func assertionForms(assertions []string) []string {
	var forms []string
	for _, jwt := range assertions {
		forms = append(forms, jwt)
		sig := jwt[strings.LastIndexByte(jwt, '.')+1:]
		if len(sig) < 16 {
			continue
		}
		forms = append(forms, sig)
		if raw, err := base64.RawURLEncoding.DecodeString(sig); err == nil {
			forms = append(forms, base64.StdEncoding.EncodeToString(raw), hex.EncodeToString(raw))
		}
	}
	return forms
}
