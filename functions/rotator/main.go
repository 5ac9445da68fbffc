// Command rotator is the Lambda function that keeps a fresh OAuth
// client-credentials token in Secrets Manager. It only wires things: the
// behaviour lives in functions/internal.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

func main() {
	log := lambdacontext.NewLogger()
	handler, err := wire(context.Background(), os.Getenv)
	if err != nil {
		// Every invocation then fails with the same clear error, so that the
		// failure shows where operators look: errors, alarms, the DLQ; a
		// custom-resource Delete still succeeds, so the stack can go.
		log.Error("rotator not started", "error", err.Error())
		handler = rotation.Unconfigured(err, log)
	}
	lambda.Start(handler)
}

// wire builds the handler: configuration, clients and the rotator. It makes
// no network call; clients are reused by every invocation of the container.
func wire(ctx context.Context, getenv func(string) string) (func(context.Context, json.RawMessage) (rotation.Result, error), error) {
	log := lambdacontext.NewLogger()
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	r := rotation.New(rotation.Config{
		Settings: cfg,
		Store:    secretstore.New(secretsmanager.NewFromConfig(awsCfg)),
		Fetcher: oauthtoken.New(oauthtoken.Config{
			TokenURL: cfg.TokenURL,
			Scope:    cfg.Scope,
			Basic:    cfg.TokenAuth == config.AuthBasic,
			Logger:   log,
		}),
		Metrics: metrics.Emitter{W: os.Stdout, FunctionName: getenv("AWS_LAMBDA_FUNCTION_NAME")},
		Logger:  log,
	})
	return r.Handle, nil
}
