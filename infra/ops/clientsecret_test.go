package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

const (
	testClientSecretFunc  = "arn:aws:lambda:us-east-1:123456789012:function:teststack-ClientSecretRotatorFunction-x1"
	testClientSecretRules = "rate(28 days)"
)

// rotations records the rotation calls: moto_server's RotateSecret would
// invoke a Lambda function of its own, which these tests do not run.
type rotations struct {
	rotates []*secretsmanager.RotateSecretInput
	cancels []*secretsmanager.CancelRotateSecretInput
}

func (r *rotations) RotateSecret(_ context.Context, in *secretsmanager.RotateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error) {
	r.rotates = append(r.rotates, in)
	return &secretsmanager.RotateSecretOutput{}, nil
}

func (r *rotations) CancelRotateSecret(_ context.Context, in *secretsmanager.CancelRotateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.CancelRotateSecretOutput, error) {
	r.cancels = append(r.cancels, in)
	return &secretsmanager.CancelRotateSecretOutput{}, nil
}

// rotatingSecrets is moto_server, but DescribeSecret reports rotation on
// the secrets of rotatedBy, by the function it names, with a pending
// version, as Secrets Manager would once RotateSecret had run.
type rotatingSecrets struct {
	ops.SecretsAPI
	rotatedBy map[string]string
}

func (s rotatingSecrets) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	out, err := s.SecretsAPI.DescribeSecret(ctx, in, opts...)
	if fn, ok := s.rotatedBy[aws.ToString(in.SecretId)]; ok && err == nil {
		out.RotationEnabled, out.RotationLambdaARN = aws.Bool(true), aws.String(fn)
		out.VersionIdsToStages["pending-version-1"] = []string{"AWSPENDING"}
	}
	return out, err
}

// clientSecretStack is the rig's stack with the client-secret rotation on.
func clientSecretStack() ops.Stack {
	return ops.Stack{Name: testStack, FunctionName: testFunc, SecretPrefix: testPrefix, AlarmTopicARN: testTopic, CredentialsARN: testOwnCredentials,
		ClientSecretRotation: ops.ClientSecretAdobe, ClientSecretFunctionARN: testClientSecretFunc, ClientSecretRules: testClientSecretRules}
}

func TestAddPutsTheClientSecretRotation(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	creds := r.credentials(t, "creds/acme")
	rot := &rotations{}
	op := ops.New(ops.Config{Stack: clientSecretStack(), Secrets: r.sm, Rotations: rot, Alarms: r.cw, Lambda: r.lambda, Out: r.out})
	if _, err := op.Add(ctx, "acme", creds); err != nil {
		t.Fatalf("Add() error = %v\n%s", err, r.out)
	}
	if got := r.tags(t, creds)[integration.TagStack]; got != testStack {
		t.Errorf("credentials secret tag %s = %q, want %q: the client-secret rotator reaches it by that tag", integration.TagStack, got, testStack)
	}
	if len(rot.rotates) != 1 {
		t.Fatalf("RotateSecret calls = %d, want 1\n%s", len(rot.rotates), r.out)
	}
	in := rot.rotates[0]
	if aws.ToString(in.SecretId) != creds || aws.ToString(in.RotationLambdaARN) != testClientSecretFunc ||
		aws.ToString(in.RotationRules.ScheduleExpression) != testClientSecretRules || aws.ToBool(in.RotateImmediately) {
		t.Errorf("RotateSecret(SecretId %s, RotationLambdaARN %s, rules %+v, RotateImmediately %v), want %s on %s with %s, not at once",
			aws.ToString(in.SecretId), aws.ToString(in.RotationLambdaARN), *in.RotationRules, aws.ToBool(in.RotateImmediately), creds, testClientSecretFunc, testClientSecretRules)
	}
	if !strings.Contains(r.out.String(), "rotates its client secret") {
		t.Errorf("output = %q, want a line saying the client secret rotates", r.out)
	}
	checkNoSecrets(t, r.out.String())

	// Without the rotation on the stack, Add puts none.
	rot2 := &rotations{}
	plain := ops.New(ops.Config{Stack: ops.Stack{Name: testStack, FunctionName: testFunc, SecretPrefix: testPrefix, AlarmTopicARN: testTopic, CredentialsARN: testOwnCredentials, ClientSecretRotation: ops.ClientSecretNone},
		Secrets: r.sm, Rotations: rot2, Alarms: r.cw, Lambda: r.lambda, Out: r.out})
	if _, err := plain.Add(ctx, "globex", r.credentials(t, "creds/globex")); err != nil {
		t.Fatalf("Add(globex) error = %v\n%s", err, r.out)
	}
	if len(rot2.rotates) != 0 {
		t.Errorf("RotateSecret calls with ClientSecretRotation none = %d, want 0", len(rot2.rotates))
	}
}

func TestRemoveTurnsTheClientSecretRotationOff(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	acme := r.credentials(t, "creds/acme")
	globex := r.credentials(t, "creds/globex")
	if _, err := r.op.Add(ctx, "acme", acme); err != nil {
		t.Fatalf("Add(acme) error = %v", err)
	}
	if _, err := r.op.Add(ctx, "globex", globex); err != nil {
		t.Fatalf("Add(globex) error = %v", err)
	}
	rot := &rotations{}
	secrets := rotatingSecrets{SecretsAPI: r.sm, rotatedBy: map[string]string{acme: testClientSecretFunc, globex: "arn:aws:lambda:us-east-1:123456789012:function:someone-elses"}}
	op := ops.New(ops.Config{Stack: clientSecretStack(), Secrets: secrets, Rotations: rot, Alarms: r.cw, Lambda: r.lambda, Out: r.out})

	if err := op.Remove(ctx, "acme"); err != nil {
		t.Fatalf("Remove(acme) error = %v\n%s", err, r.out)
	}
	if len(rot.cancels) != 1 || aws.ToString(rot.cancels[0].SecretId) != acme {
		t.Fatalf("CancelRotateSecret calls = %+v, want one on %s", rot.cancels, acme)
	}
	if _, tagged := r.tags(t, acme)[integration.TagStack]; tagged {
		t.Errorf("acme's credentials secret still tagged %s", integration.TagStack)
	}
	if out := r.out.String(); !strings.Contains(out, "rotation of the credentials secret turned off") || !strings.Contains(out, "pending-version-1") {
		t.Errorf("output = %q, want the rotation turned off and the pending version named", out)
	}

	// A rotation on another function is not the stack's to turn off.
	if err := op.Remove(ctx, "globex"); err != nil {
		t.Fatalf("Remove(globex) error = %v\n%s", err, r.out)
	}
	if len(rot.cancels) != 1 {
		t.Errorf("CancelRotateSecret calls = %d after removing globex, want still 1", len(rot.cancels))
	}
	if !strings.Contains(r.out.String(), "keeps its rotation") {
		t.Errorf("output = %q, want a line saying globex's credentials keep their rotation", r.out)
	}
}

func TestRetireClientSecrets(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		answer   string
		failed   bool
		wantErr  bool
		wantLine string
	}{
		{"retired", `{"integration": "acme", "retired": [{"uuid": "u-old"}], "kept": "u-new", "client_secret": "` + clientSecretSentinel + `"}`, false, false, "acme: retired: its credential keeps only"},
		{"refused", `{"errorType": "UsedAfterSwitchError", "errorMessage": "client secret u-old of acme was used after the switch"}`, true, true, "acme: NOT retired: client secret u-old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := &fakeLambda{answer: func([]byte) (*lambda.InvokeOutput, error) {
				out := &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(tt.answer)}
				if tt.failed {
					out.FunctionError = aws.String("Unhandled")
				}
				return out, nil
			}}
			var out strings.Builder
			op := ops.New(ops.Config{Stack: clientSecretStack(), Lambda: fl, Out: &out})
			_, err := op.RetireClientSecrets(ctx, "acme")
			var fe *ops.FunctionError
			if tt.wantErr != (err != nil) || (tt.wantErr && !errors.As(err, &fe)) {
				t.Fatalf("RetireClientSecrets() error = %v, want a *FunctionError %v", err, tt.wantErr)
			}
			if len(fl.calls) != 1 || aws.ToString(fl.calls[0].FunctionName) != testClientSecretFunc {
				t.Fatalf("Invoke calls = %d, want one of %s", len(fl.calls), testClientSecretFunc)
			}
			var ev map[string]any
			if err := json.Unmarshal(fl.calls[0].Payload, &ev); err != nil || len(ev) != 2 || ev["client_secrets"] != "retire-now" || ev["integration"] != "acme" {
				t.Errorf("event = %s, want {\"client_secrets\": \"retire-now\", \"integration\": \"acme\"}", fl.calls[0].Payload)
			}
			if !strings.Contains(out.String(), tt.wantLine) {
				t.Errorf("output = %q, want the line %q", out.String(), tt.wantLine)
			}
			checkNoSecrets(t, out.String())
		})
	}
	// A stack without the rotator has nothing to invoke.
	op := ops.New(ops.Config{Stack: ops.Stack{Name: testStack}, Lambda: &fakeLambda{}})
	if _, err := op.RetireClientSecrets(ctx, "acme"); err == nil || !strings.Contains(err.Error(), ops.OutputClientSecretFunctionARN) {
		t.Errorf("RetireClientSecrets() without the rotator's ARN: error = %v, want one naming %s", err, ops.OutputClientSecretFunctionARN)
	}
	if _, err := op.RetireClientSecrets(ctx, "Not A Name"); err == nil {
		t.Errorf("RetireClientSecrets(%q) error = nil, want the name refused", "Not A Name")
	}
}
