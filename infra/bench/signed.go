package bench

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// startSigned sets up what the private_key_jwt run needs: a timing proxy
// in front of moto_server's KMS, an RSA 2048 signing key, an Okta emulator
// (behind the token endpoints' timing wrapper) whose client registered the
// key's public half, and a credentials secret without a client secret.
func (e *localEnv) startSigned(ctx context.Context, sm *secretsmanager.Client) error {
	u, err := url.Parse(e.moto.Endpoint)
	if err != nil {
		return fmt.Errorf("parsing the KMS endpoint %q: %w", e.moto.Endpoint, err)
	}
	e.kmsProxy = httptest.NewServer(e.kms.Wrap(kmsOperation, httputil.NewSingleHostReverseProxy(u)))

	km := kms.NewFromConfig(e.moto.AWSConfig())
	key, err := km.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
	if err != nil {
		return fmt.Errorf("creating the signing key: %w", err)
	}
	e.signingKey = aws.ToString(key.KeyMetadata.Arn)
	out, err := km.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: key.KeyMetadata.Arn})
	if err != nil {
		return fmt.Errorf("reading the signing key's public key: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return fmt.Errorf("parsing the signing key's public key: %w", err)
	}
	okta, _ := imsemu.ProfileNamed("okta")
	e.okta, err = imsemu.New(imsemu.Config{Profile: okta, Clients: map[string]imsemu.Client{signedClientID: {PublicKey: pub, KeyID: signedKeyID}}})
	if err != nil {
		return fmt.Errorf("setting up the Okta emulator: %w", err)
	}
	e.oktaSrv = httptest.NewServer(e.tokens.Wrap(func(*http.Request) string { return "token" }, e.okta))

	creds, err := json.Marshal(map[string]string{"client_id": signedClientID})
	if err != nil {
		return fmt.Errorf("encoding the credentials: %w", err)
	}
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(signedCredentialsSecretID), SecretString: aws.String(string(creds))}); err != nil {
		return fmt.Errorf("creating secret %s: %w", signedCredentialsSecretID, err)
	}
	return nil
}

// kmsOperation names a KMS request's operation, such as "Sign".
func kmsOperation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return strings.TrimPrefix(t, "TrentService.")
	}
	return "unknown"
}
