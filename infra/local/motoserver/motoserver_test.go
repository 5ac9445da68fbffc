package motoserver_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
)

func TestServerServesSecretsManager(t *testing.T) {
	srv := motoserver.ForTest(t)
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(srv.AWSConfig())
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("probe"), SecretString: aws.String(`{}`)}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("probe")})
	if err != nil {
		t.Fatalf("GetSecretValue: %v", err)
	}
	if got := aws.ToString(out.SecretString); got != `{}` {
		t.Errorf("SecretString = %q, want {}", got)
	}
	if err := srv.Reset(ctx); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if _, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("probe")}); err == nil {
		t.Errorf("GetSecretValue after Reset: got the secret, want not found")
	}
	srv.Close()
	srv.Close() // a second Close is harmless
}
