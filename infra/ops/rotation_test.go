package ops

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

type recordingRotations struct {
	calls []*secretsmanager.RotateSecretInput
}

func (r *recordingRotations) RotateSecret(_ context.Context, in *secretsmanager.RotateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error) {
	r.calls = append(r.calls, in)
	return &secretsmanager.RotateSecretOutput{}, nil
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
