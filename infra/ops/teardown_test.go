package ops_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// TestTeardown runs make delete's steps against moto_server: every added
// integration is removed before the stack is deleted, a secret of another
// stack under the prefix is left alone, and the credentials secrets are
// listed as kept.
func TestTeardown(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	acme, globex := r.credentials(t, "creds/acme"), r.credentials(t, "creds/globex")
	for name, arn := range map[string]string{"acme": acme, "globex": globex} {
		if _, err := r.op.Add(ctx, name, arn); err != nil {
			t.Fatalf("Add(%s) error = %v", name, err)
		}
	}
	if _, err := r.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(testPrefix + "foreign"), SecretString: aws.String("{}"),
		Tags: []smtypes.Tag{{Key: aws.String(integration.TagStack), Value: aws.String("otherstack")}}}); err != nil {
		t.Fatal(err)
	}
	r.out.Reset()
	const own = "arn:aws:secretsmanager:us-east-1:123456789012:secret:creds/own-AbCdEf"
	deleted := false
	err := r.op.Teardown(ctx, own, func(context.Context) error {
		for _, name := range []string{"acme", "globex"} {
			if _, ok := r.describe(t, testPrefix+name); ok {
				t.Errorf("the stack is deleted while %s's token secret still exists", name)
			}
			if _, ok := r.alarm(t, ops.AlarmName(testStack, name)); ok {
				t.Errorf("the stack is deleted while %s's alarm still exists", name)
			}
		}
		deleted = true
		return nil
	})
	if err != nil || !deleted {
		t.Fatalf("Teardown() = %v, stack deleted %v; want nil and deleted\n%s", err, deleted, r.out)
	}
	if _, ok := r.describe(t, testPrefix+"foreign"); !ok {
		t.Errorf("Teardown deleted another stack's secret")
	}
	for _, want := range []string{
		"teststack/integrations/foreign is not tagged with stack teststack: left as it is",
		"credentials secret " + own + " (the stack's own)",
		"credentials secret " + acme + " (integration acme)",
		"credentials secret " + globex + " (integration globex)",
		"infra/samconfig.local.toml",
	} {
		if !strings.Contains(r.out.String(), want) {
			t.Errorf("Teardown output lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out.String(), clientSecretSentinel) {
		t.Errorf("Teardown output carries the client secret")
	}
}

// TestTeardownStopsBeforeTheStack holds that a failure to remove an
// integration leaves the stack alone, so that nothing is orphaned.
func TestTeardownStopsBeforeTheStack(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.op.Add(ctx, "acme", r.credentials(t, "creds/acme")); err != nil {
		t.Fatal(err)
	}
	broken := ops.New(ops.Config{Stack: ops.Stack{Name: testStack, FunctionName: testFunc, SecretPrefix: testPrefix, AlarmTopicARN: testTopic},
		Secrets: failingDelete{r.sm}, Alarms: r.cw, Lambda: r.lambda, Out: r.out})
	err := broken.Teardown(ctx, "", func(context.Context) error {
		t.Errorf("the stack was deleted although an integration could not be removed")
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), `removing integration "acme" before the stack (nothing of the stack is deleted yet)`) {
		t.Errorf("Teardown() = %v, want the integration named and the stack untouched", err)
	}
}

// failingDelete is the Secrets Manager client whose DeleteSecret fails.
type failingDelete struct{ ops.SecretsAPI }

func (f failingDelete) DeleteSecret(context.Context, *secretsmanager.DeleteSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	return nil, errors.New("AccessDeniedException: not allowed")
}
