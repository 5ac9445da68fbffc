package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
)

// Names of the secrets and the client the bench uses.
const (
	credentialsSecretID = "bench/credentials"
	oursTokenSecretID   = "bench/token"
	// The reference writes its own secret: its value is not in the
	// contract's format, and would make every run of ours a refresh.
	referenceTokenSecretID = "bench/reference-token"
	clientID               = "bench-client"
	scope                  = "openid,AdobeID,read_organizations"
	// The private_key_jwt integration: its own secrets and client, at an
	// Okta emulator, its assertions signed by a KMS key in moto_server.
	signedCredentialsSecretID = "bench/signed-credentials"
	signedTokenSecretID       = "bench/signed-token"
	signedClientID            = "bench-signed-client"
	signedKeyID               = "bench-kid"
)

// localEnv is moto_server behind a timing proxy (one for Secrets Manager,
// one for KMS) and the IMS and Okta emulators behind a timing wrapper,
// with the secrets the rotators need and a KMS signing key.
type localEnv struct {
	moto     *motoserver.Server
	proxy    *httptest.Server
	kmsProxy *httptest.Server
	ims      *imsemu.Server
	imsSrv   *httptest.Server
	okta     *imsemu.Server
	oktaSrv  *httptest.Server
	// signingKey is the KMS key's ARN.
	signingKey string
	// sm, kms and tokens meter Secrets Manager, KMS and the token endpoints.
	sm, kms, tokens Meter
}

// startEnv starts moto_server, the proxy and the IMS emulator, and
// creates the credentials secret and the two token secrets (no value).
// On failure it stops what it started.
func startEnv(ctx context.Context) (_ *localEnv, err error) {
	e := &localEnv{}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.moto, err = motoserver.Start(ctx); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	proxy, err := secretsProxy(e.moto.Endpoint, &e.sm)
	if err != nil {
		return nil, err
	}
	e.proxy = httptest.NewServer(proxy)

	secret := randomSecret()
	e.ims, err = imsemu.New(imsemu.Config{Clients: map[string]imsemu.Client{clientID: {Secrets: []string{secret}}}})
	if err != nil {
		return nil, fmt.Errorf("setting up the IMS emulator: %w", err)
	}
	e.imsSrv = httptest.NewServer(e.tokens.Wrap(func(*http.Request) string { return "token" }, e.ims))

	creds, err := json.Marshal(map[string]string{"client_id": clientID, "client_secret": secret})
	if err != nil {
		return nil, fmt.Errorf("encoding the credentials: %w", err)
	}
	sm := secretsmanager.NewFromConfig(e.moto.AWSConfig())
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(credentialsSecretID), SecretString: aws.String(string(creds))}); err != nil {
		return nil, fmt.Errorf("creating secret %s: %w", credentialsSecretID, err)
	}
	if err := e.startSigned(ctx, sm); err != nil {
		return nil, err
	}
	for _, id := range []string{oursTokenSecretID, referenceTokenSecretID, signedTokenSecretID} {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id)}); err != nil {
			return nil, fmt.Errorf("creating secret %s: %w", id, err)
		}
	}
	return e, nil
}

// functionEnv is the environment of a rotator writing tokenSecretID.
func (e *localEnv) functionEnv(tokenSecretID string) []string {
	return append(e.moto.Env(),
		"AWS_ENDPOINT_URL="+e.proxy.URL, // later entries win
		"CREDENTIALS_SECRET_ID="+credentialsSecretID,
		"TOKEN_SECRET_ID="+tokenSecretID,
		"TOKEN_URL="+e.imsSrv.URL+imsemu.TokenPath,
		"SCOPE="+scope,
		// Keep the developer's own AWS settings out of the function.
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	)
}

// signedEnv is the environment of our rotator keeping the private_key_jwt
// integration fresh, its KMS calls through their own timing proxy.
func (e *localEnv) signedEnv() []string {
	env := e.functionEnv(signedTokenSecretID)
	return append(env,
		"AWS_ENDPOINT_URL_KMS="+e.kmsProxy.URL,
		"CREDENTIALS_SECRET_ID="+signedCredentialsSecretID,
		"TOKEN_URL="+e.oktaSrv.URL+e.okta.Path(),
		"TOKEN_AUTH=private_key_jwt",
		"SIGNING_KEY="+e.signingKey,
		"SIGNING_KEY_ID="+signedKeyID,
	)
}

// snapshot returns the Secrets Manager, KMS and token endpoint usage so far.
func (e *localEnv) snapshot() (sm, kms, tokens Usage) {
	return e.sm.Snapshot(), e.kms.Snapshot(), e.tokens.Snapshot()
}

// Close stops everything startEnv started. It is safe to call twice.
func (e *localEnv) Close() {
	if e.ims != nil {
		e.ims.Close()
	}
	if e.imsSrv != nil {
		e.imsSrv.Close()
	}
	if e.okta != nil {
		e.okta.Close()
	}
	if e.oktaSrv != nil {
		e.oktaSrv.Close()
	}
	if e.proxy != nil {
		e.proxy.Close()
	}
	if e.kmsProxy != nil {
		e.kmsProxy.Close()
	}
	if e.moto != nil {
		e.moto.Close()
	}
}

func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "p8e-" + base64.RawURLEncoding.EncodeToString(b)
}
