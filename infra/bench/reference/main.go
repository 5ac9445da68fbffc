// Command reference is the minimal rotator that make bench measures the real
// one against: the fewest lines that read the credentials secret, fetch a
// client-credentials token and write it to the token secret, built from the
// same dependency versions (aws-lambda-go, aws-sdk-go-v2, x/oauth2). It has
// no checks, no retries, no logging and no freshness decision, so it marks
// the floor those dependencies set on size, init, memory and latency. It is
// not for deployment.
//
// It reads CREDENTIALS_SECRET_ID, TOKEN_SECRET_ID, TOKEN_URL and SCOPE.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func main() {
	cfg, _ := config.LoadDefaultConfig(context.Background())
	sm := secretsmanager.NewFromConfig(cfg)
	lambda.Start(func(ctx context.Context) error {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(os.Getenv("CREDENTIALS_SECRET_ID"))})
		if err != nil {
			return err
		}
		var c struct {
			ID     string `json:"client_id"`
			Secret string `json:"client_secret"`
		}
		_ = json.Unmarshal([]byte(aws.ToString(out.SecretString)), &c)
		tok, err := (&clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: os.Getenv("TOKEN_URL"),
			Scopes: []string{os.Getenv("SCOPE")}, AuthStyle: oauth2.AuthStyleInParams}).Token(ctx)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(tok)
		_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(os.Getenv("TOKEN_SECRET_ID")), SecretString: aws.String(string(b))})
		return err
	})
}
