package rotation

import (
	"context"
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tokenrotator/tokenrotator/functions/internal/clientsecret"
	"github.com/tokenrotator/tokenrotator/functions/internal/clientsecret/adobe"
	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/functions/internal/webidentity"
	"github.com/tokenrotator/tokenrotator/functions/kmssign"
)

// SecretsManagerAttemptTimeout bounds one HTTP attempt to Secrets Manager, so
// that a lost answer leaves the SDK time to retry within the store's
// per-call bound (secretstore.CallTimeout).
const SecretsManagerAttemptTimeout = 3 * time.Second

// Setup is what the Lambda entry point provides besides the environment.
type Setup struct {
	// AWS is the SDK configuration (region, credentials, endpoints).
	AWS aws.Config
	// Logger receives the function's log lines.
	Logger *slog.Logger
	// MetricsOut receives the EMF metric lines (stdout in Lambda).
	MetricsOut io.Writer
	// FunctionName is the metrics' FunctionName dimension.
	FunctionName string
	// SecretsManagerAttemptTimeout bounds one HTTP attempt to Secrets
	// Manager; zero means SecretsManagerAttemptTimeout.
	SecretsManagerAttemptTimeout time.Duration
}

// NewHandler builds the Lambda handler from the environment read through
// getenv: configuration, clients and the Rotator, built once and reused by
// every invocation. It makes no network call. With an invalid
// configuration it returns Unconfigured's handler, which fails every run
// with the error naming each bad variable.
func NewHandler(getenv func(string) string, s Setup) func(context.Context, json.RawMessage) (Result, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		s.Logger.Error("rotator not started", "error", err.Error())
		return Unconfigured(err, s.Logger)
	}
	for _, d := range cfg.Deprecations {
		s.Logger.Warn("deprecated setting", "detail", d)
	}
	attempt := s.SecretsManagerAttemptTimeout
	if attempt <= 0 {
		attempt = SecretsManagerAttemptTimeout
	}
	sm := secretsmanager.NewFromConfig(s.AWS, func(o *secretsmanager.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(attempt)
	})
	store := secretstore.New(sm)
	base := oauthtoken.Config{Logger: s.Logger, Transport: oauthtoken.NewTransport()}
	r := New(Config{
		Settings:    cfg,
		Store:       store,
		Versions:    store,
		Credentials: secretstore.NewCredentialStore(sm),
		Managers:    Managers(base),
		Directory:   secretstore.NewDirectory(sm),
		Fetchers: NewFetchers(base, Sources{
			Signers:     KMSSigners(kms.NewFromConfig(s.AWS)),
			WebIdentity: STSWebIdentity(sts.NewFromConfig(s.AWS)),
		}),
		Metrics: metrics.Emitter{W: s.MetricsOut, FunctionName: s.FunctionName},
		Logger:  s.Logger,
	})
	return r.Handle
}

// Managers returns a Config.Managers that builds the client-secret
// Manager an integration's ClientSecretRotation names: Adobe's I/O
// Management API at its ManagementURL, with a management token minted at
// its token URL by its client authentication and the secret given (the
// current one). Each call builds a new Manager: it holds that secret.
// base gives the transport and logger.
func Managers(base oauthtoken.Config) func(ManagerRequest) (clientsecret.Manager, error) {
	if base.Transport == nil {
		base.Transport = oauthtoken.NewTransport()
	}
	return func(req ManagerRequest) (clientsecret.Manager, error) {
		p := req.Provider
		switch p.ClientSecretRotation {
		case config.RotationAdobe:
			tok := base
			tok.TokenURL, tok.Auth = p.TokenURL, ClientAuth(p, Sources{}, base.Logger)
			return adobe.New(adobe.Config{
				BaseURL: p.ManagementURL, OrgID: req.IDs.OrgID, CredentialID: req.IDs.CredentialID,
				Credentials: req.Credentials, Token: tok, Transport: base.Transport, Logger: base.Logger,
				Now: base.Now, Sleep: base.Sleep,
			})
		case "":
			return nil, errors.New("client-secret rotation is off for this integration")
		default:
			return nil, fmt.Errorf("client-secret rotation %q has no manager", p.ClientSecretRotation)
		}
	}
}

// Signers returns the loader of the crypto.Signer of a signing key, by the
// key's ARN (SIGNING_KEY); the loader is called for each assertion.
type Signers func(key string) func(context.Context) (crypto.Signer, error)

// KMSSigners returns Signers over KMS keys: each loader reads its key's
// public key once (kmssign.Loader).
func KMSSigners(api kmssign.API) Signers {
	return func(key string) func(context.Context) (crypto.Signer, error) { return kmssign.Loader(api, key) }
}

// Sources gives the client authentications what they fetch for each
// request: Signers the keys of private_key_jwt, WebIdentity the JWTs of
// aws_web_identity. A nil field fails each request of its method before it
// is sent, and may be left nil where no integration uses the method.
type Sources struct {
	Signers     Signers
	WebIdentity WebIdentityTokens
}

// WebIdentityTokens returns the source of new web identity JWTs with an
// audience and a signing algorithm (WEB_IDENTITY_AUDIENCE,
// WEB_IDENTITY_ALG); the source is called for each request.
type WebIdentityTokens func(audience, alg string) func(context.Context) (string, error)

// STSWebIdentity returns WebIdentityTokens from STS
// (sts:GetWebIdentityToken, webidentity.Source).
func STSWebIdentity(api webidentity.API) WebIdentityTokens {
	return func(audience, alg string) func(context.Context) (string, error) {
		return webidentity.Source(api, audience, alg)
	}
}

// NewFetchers returns a Config.Fetchers that builds, once per distinct
// provider settings, an oauthtoken.Fetcher from base with those settings'
// token URL, scope, client authentication (ClientAuth, with src),
// parameters and lifetime. They
// all share base.Transport (one is built when it is nil), so that
// integrations of the same provider share connections, and their log lines
// (retries) carry the name of the integration they were fetching for. It is
// safe for concurrent use.
func NewFetchers(base oauthtoken.Config, src Sources) func(config.Provider) Fetcher {
	if base.Transport == nil {
		base.Transport = oauthtoken.NewTransport()
	}
	if base.Logger == nil {
		base.Logger = slog.Default()
	}
	base.Logger = slog.New(integrationHandler{base.Logger.Handler()})
	var mu sync.Mutex
	made := map[config.Provider]Fetcher{}
	return func(p config.Provider) Fetcher {
		mu.Lock()
		defer mu.Unlock()
		if f, ok := made[p]; ok {
			return f
		}
		c := base
		c.TokenURL, c.Scope, c.Params, c.Lifetime = p.TokenURL, p.Scope, p.Params(), p.TokenLifetime
		c.Auth = ClientAuth(p, src, c.Logger)
		f := oauthtoken.New(c)
		made[p] = f
		return f
	}
}

// ClientAuth returns the client authentication p's TokenAuth names, with
// its settings; src gives private_key_jwt its key and aws_web_identity its
// JWTs, and log gets aws_web_identity's line per JWT.
func ClientAuth(p config.Provider, src Sources, log *slog.Logger) oauthtoken.ClientAuth {
	switch p.TokenAuth {
	case config.AuthBasic:
		return oauthtoken.BasicAuth{}
	case config.AuthPrivateKeyJWT:
		a := oauthtoken.JWTAuth{PSS: p.SigningAlg == config.AlgPS256, Audience: p.AssertionAudience, KeyID: p.SigningKeyID}
		a.CertSHA256, _ = hex.DecodeString(p.SigningCertSHA256) // config checked them
		a.CertSHA1, _ = hex.DecodeString(p.SigningCertSHA1)
		if src.Signers != nil {
			a.Key = src.Signers(p.SigningKey)
		}
		return a
	case config.AuthAWSWebIdentity:
		aud, alg := p.WebIdentityAudience, p.WebIdentityAlg
		if aud == "" {
			aud = config.DefaultWebIdentityAudience
		}
		if alg == "" {
			alg = config.AlgRS256
		}
		a := oauthtoken.WebIdentityAuth{Logger: log}
		if src.WebIdentity != nil {
			a.Token = src.WebIdentity(aud, alg)
		}
		return a
	default:
		return oauthtoken.BodyAuth{}
	}
}
