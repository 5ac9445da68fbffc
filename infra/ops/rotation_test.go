package ops

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

type recordingRotations struct {
	calls   []*secretsmanager.RotateSecretInput
	cancels []*secretsmanager.CancelRotateSecretInput
}

func (r *recordingRotations) RotateSecret(_ context.Context, in *secretsmanager.RotateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error) {
	r.calls = append(r.calls, in)
	return &secretsmanager.RotateSecretOutput{}, nil
}

func (r *recordingRotations) CancelRotateSecret(_ context.Context, in *secretsmanager.CancelRotateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.CancelRotateSecretOutput, error) {
	r.cancels = append(r.cancels, in)
	return &secretsmanager.CancelRotateSecretOutput{}, nil
}

func TestEnableRotationPerEngine(t *testing.T) {
	const fn = "arn:aws:lambda:eu-west-1:123456789012:function:tokenrotator-RotatorFunction-abc"
	tests := []struct {
		name    string
		stack   Stack
		calls   int
		wantErr string
	}{
		{"stack from before the engines", Stack{Name: "s"}, 0, ""},
		{"scheduler", Stack{Name: "s", RotationEngine: EngineScheduler}, 0, ""},
		{"secretsmanager", Stack{Name: "s", RotationEngine: EngineSecretsManager, FunctionARN: fn, NativeRules: "rate(8 hours);2h"}, 1, ""},
		{"secretsmanager without the function's ARN", Stack{Name: "s", RotationEngine: EngineSecretsManager, NativeRules: "rate(8 hours);2h"}, 0, "RotatorFunctionArn"},
		{"secretsmanager with bad rules", Stack{Name: "s", RotationEngine: EngineSecretsManager, FunctionARN: fn, NativeRules: "rate(8 hours)"}, 0, `is not "<schedule>;<window>"`},
		{"unknown engine", Stack{Name: "s", RotationEngine: "cron"}, 0, `rotation engine "cron"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rot := &recordingRotations{}
			var out strings.Builder
			err := New(Config{Stack: tt.stack, Rotations: rot, Out: &out}).enableRotation(context.Background(), "acme", "s/integrations/acme")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("enableRotation() error = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("enableRotation() error = %v", err)
			}
			if len(rot.calls) != tt.calls {
				t.Fatalf("RotateSecret calls = %d, want %d", len(rot.calls), tt.calls)
			}
			if tt.calls == 1 {
				in := rot.calls[0]
				if aws.ToString(in.SecretId) != "s/integrations/acme" || aws.ToString(in.RotationLambdaARN) != fn ||
					aws.ToString(in.RotationRules.ScheduleExpression) != "rate(8 hours)" || aws.ToString(in.RotationRules.Duration) != "2h" ||
					!aws.ToBool(in.RotateImmediately) {
					t.Errorf("RotateSecret(%+v), want the token secret on %s with rate(8 hours), 2h, rotating now", in, fn)
				}
				if !strings.Contains(out.String(), "Secrets Manager rotates it") {
					t.Errorf("output = %q, want a line saying rotation is on", out.String())
				}
			}
		})
	}
}

func TestEnableClientSecretRotation(t *testing.T) {
	const fn = "arn:aws:lambda:eu-west-1:123456789012:function:tokenrotator-ClientSecretRotatorFunction-abc"
	const creds = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-credentials-AbCdEf"
	tests := []struct {
		name    string
		stack   Stack
		calls   int
		wantErr string
	}{
		{"stack from before the client-secret rotation", Stack{Name: "s"}, 0, ""},
		{"none", Stack{Name: "s", ClientSecretRotation: ClientSecretNone}, 0, ""},
		{"adobe", Stack{Name: "s", ClientSecretRotation: ClientSecretAdobe, ClientSecretFunctionARN: fn, ClientSecretRules: "rate(28 days)"}, 1, ""},
		{"adobe without the function's ARN", Stack{Name: "s", ClientSecretRotation: ClientSecretAdobe, ClientSecretRules: "rate(28 days)"}, 0, OutputClientSecretFunctionARN},
		{"adobe without the rules", Stack{Name: "s", ClientSecretRotation: ClientSecretAdobe, ClientSecretFunctionARN: fn}, 0, OutputClientSecretRules},
		{"unknown rotation", Stack{Name: "s", ClientSecretRotation: "entra"}, 0, `client-secret rotation "entra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rot := &recordingRotations{}
			var out strings.Builder
			err := New(Config{Stack: tt.stack, Rotations: rot, Out: &out}).enableClientSecretRotation(context.Background(), "acme", creds)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("enableClientSecretRotation() error = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("enableClientSecretRotation() error = %v", err)
			}
			if len(rot.calls) != tt.calls {
				t.Fatalf("RotateSecret calls = %d, want %d", len(rot.calls), tt.calls)
			}
			if tt.calls == 1 {
				in := rot.calls[0]
				if aws.ToString(in.SecretId) != creds || aws.ToString(in.RotationLambdaARN) != fn ||
					aws.ToString(in.RotationRules.ScheduleExpression) != "rate(28 days)" || in.RotationRules.Duration != nil ||
					in.RotateImmediately == nil || *in.RotateImmediately {
					t.Errorf("RotateSecret(%+v), want the credentials secret on %s with rate(28 days), no window, not rotating now", in, fn)
				}
				if !strings.Contains(out.String(), "rotates its client secret") {
					t.Errorf("output = %q, want a line saying the rotation is on", out.String())
				}
			}
		})
	}
}

func TestRedact(t *testing.T) {
	in := map[string]any{"integration": "acme", "retired": []any{map[string]any{"uuid": "u1", "client_secret": "SENTINEL"}},
		"nested": map[string]any{"access_token": "SENTINEL", "token": "SENTINEL", "count": 1.0}}
	b, _ := json.Marshal(redact(in))
	if strings.Contains(string(b), "SENTINEL") || !strings.Contains(string(b), `"uuid":"u1"`) || !strings.Contains(string(b), `"count":1`) {
		t.Errorf("redact() = %s, want every secret value hidden and the rest kept", b)
	}
}
