package rotation_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
)

// TestClientSecretRetireSkipsAnotherFunctionsSecret: a second stack in the
// same account has a retirement pending on its own credentials secret.
// The scheduled check of this function lists it too (ListSecrets sees the
// whole account), and must leave it to its own function, not fail: a
// failure here would fire this stack's alarm for as long as the other
// stack's old secret is kept.
func TestClientSecretRetireSkipsAnotherFunctionsSecret(t *testing.T) {
	c := newCSRig(t, motoserver.ForTest(t), true)
	ctx := context.Background()
	const tag = "00000000-0000-4000-8000-000000000000 2026-01-02T03:04:05Z"
	if _, err := c.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("otherstack/credentials"),
		SecretString: aws.String(`{"client_id":"other","client_secret":"SENTINEL-otherstack-secret"}`),
		Tags:         []types.Tag{{Key: aws.String(integration.TagClientSecretSwitch), Value: aws.String(tag)}}}); err != nil {
		t.Fatal(err)
	}
	res, err := c.handle(ctx, `{"client_secrets": "retire"}`)
	if err != nil {
		t.Fatalf("retire = %v, want success: the tagged credentials secret is another function's", err)
	}
	if !strings.Contains(res.Reason, "1 of another function skipped") || len(res.Integrations) != 0 {
		t.Errorf("retire = %+v, want the other function's secret counted as skipped and run for no integration", res)
	}
	out, err := c.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("otherstack/credentials")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tags) != 1 || aws.ToString(out.Tags[0].Value) != tag {
		t.Errorf("the other function's secret has tags %v after the check, want its switch tag untouched", out.Tags)
	}
	c.noLeak()
}
