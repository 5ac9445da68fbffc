// Command rotator is the Lambda function that keeps a fresh OAuth
// client-credentials token in Secrets Manager. It only wires things: the
// behaviour lives in functions/internal, the wiring in rotation.NewHandler.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
)

func main() {
	lambda.Start(handler(context.Background(), os.Getenv))
}

// handler builds the function's handler. It makes no network call. If setup
// fails, every run fails with the reason, and a custom-resource Delete still
// succeeds, so that the stack can always be deleted.
func handler(ctx context.Context, getenv func(string) string) func(context.Context, json.RawMessage) (rotation.Result, error) {
	log := lambdacontext.NewLogger()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		err = fmt.Errorf("loading the AWS SDK configuration: %w", err)
		log.Error("rotator not started", "error", err.Error())
		return rotation.Unconfigured(err, log)
	}
	return rotation.NewHandler(getenv, rotation.Setup{
		AWS:          awsCfg,
		Logger:       log,
		MetricsOut:   os.Stdout,
		FunctionName: getenv("AWS_LAMBDA_FUNCTION_NAME"),
	})
}
