package motoserver_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
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

// TestMovingCurrentChangesWhatIsRead holds the sitecustomize.py fix: after
// UpdateSecretVersionStage moves AWSCURRENT, a read without a version gets
// the moved-to version, as from Secrets Manager. Without the fix moto 5.2.1
// answers with the version before.
func TestMovingCurrentChangesWhatIsRead(t *testing.T) {
	srv := motoserver.ForTest(t)
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(srv.AWSConfig())
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("s"), SecretString: aws.String("one")})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	const next = "00000000-0000-4000-8000-000000000002"
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("s"), ClientRequestToken: aws.String(next),
		SecretString: aws.String("two"), VersionStages: []string{"AWSPENDING"}}); err != nil {
		t.Fatalf("PutSecretValue: %v", err)
	}
	if _, err := sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: created.ARN,
		VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(next), RemoveFromVersionId: created.VersionId}); err != nil {
		t.Fatalf("UpdateSecretVersionStage: %v", err)
	}
	for _, stage := range []*string{nil, aws.String("AWSCURRENT")} {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s"), VersionStage: stage})
		if err != nil || aws.ToString(out.SecretString) != "two" || aws.ToString(out.VersionId) != next {
			t.Errorf("GetSecretValue(stage %v) = %v, %v; want version %s, value two", aws.ToString(stage), out, err, next)
		}
	}
	prev, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s"), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || aws.ToString(prev.SecretString) != "one" {
		t.Errorf("GetSecretValue(AWSPREVIOUS) = %v, %v; want value one", prev, err)
	}
}

// TestDisabledKeyRefusesToSign: KMS refuses Sign and GetPublicKey with a
// disabled key (DisabledException); moto 5.2.1 signed with it regardless.
func TestDisabledKeyRefusesToSign(t *testing.T) {
	srv := motoserver.ForTest(t)
	ctx := context.Background()
	c := kms.NewFromConfig(srv.AWSConfig())
	key, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	id := key.KeyMetadata.Arn
	// moto's DisableKey and EnableKey take the key id only, not its ARN.
	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	digest := make([]byte, 32)
	_, err = c.Sign(ctx, &kms.SignInput{KeyId: id, Message: digest, MessageType: kmstypes.MessageTypeDigest,
		SigningAlgorithm: kmstypes.SigningAlgorithmSpecRsassaPkcs1V15Sha256})
	var disabled *kmstypes.DisabledException
	if !errors.As(err, &disabled) {
		t.Errorf("Sign() with a disabled key error = %v, want DisabledException", err)
	}
	if _, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: id}); !errors.As(err, &disabled) {
		t.Errorf("GetPublicKey() of a disabled key error = %v, want DisabledException", err)
	}
	if _, err := c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: id}); err != nil {
		t.Errorf("GetPublicKey() of the key enabled again error = %v", err)
	}
}
