package rotation

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
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
	sm := secretsmanager.NewFromConfig(s.AWS, func(o *secretsmanager.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(SecretsManagerAttemptTimeout)
	})
	r := New(Config{
		Settings: cfg,
		Store:    secretstore.New(sm),
		Fetcher: oauthtoken.New(oauthtoken.Config{
			TokenURL: cfg.TokenURL,
			Scope:    cfg.Scope,
			Basic:    cfg.TokenAuth == config.AuthBasic,
			Params:   cfg.Params(),
			Lifetime: cfg.TokenLifetime,
			Logger:   s.Logger,
		}),
		Metrics: metrics.Emitter{W: s.MetricsOut, FunctionName: s.FunctionName},
		Logger:  s.Logger,
	})
	return r.Handle
}
