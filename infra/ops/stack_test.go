package ops_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// fakeStacks answers DescribeStacks with outputs, or err.
type fakeStacks struct {
	outputs map[string]string
	err     error
	calls   int
}

func (f *fakeStacks) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	var outs []types.Output
	for k, v := range f.outputs {
		outs = append(outs, types.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []types.Stack{{StackName: in.StackName, Outputs: outs}}}, nil
}

func TestResolveStack(t *testing.T) {
	all := map[string]string{
		ops.OutputFunctionName: "tokenrotator-RotatorFunction-abc",
		ops.OutputSecretPrefix: "tokenrotator/integrations/",
		ops.OutputAlarmTopic:   "arn:aws:sns:eu-west-1:123456789012:tokenrotator-alarms",
	}
	without := func(key string) map[string]string {
		m := map[string]string{}
		for k, v := range all {
			if k != key {
				m[k] = v
			}
		}
		return m
	}
	addNeeds := []string{ops.OutputFunctionName, ops.OutputSecretPrefix, ops.OutputAlarmTopic}
	tests := []struct {
		name      string
		given     ops.Stack
		api       *fakeStacks
		required  []string
		want      ops.Stack
		wantCalls int
		wantErr   string
	}{
		{name: "from the outputs", given: ops.Stack{Name: "tokenrotator"}, api: &fakeStacks{outputs: all}, required: addNeeds, wantCalls: 1,
			want: ops.Stack{Name: "tokenrotator", FunctionName: all[ops.OutputFunctionName], SecretPrefix: all[ops.OutputSecretPrefix], AlarmTopicARN: all[ops.OutputAlarmTopic]}},
		{name: "flags win", given: ops.Stack{Name: "tokenrotator", FunctionName: "mine"}, api: &fakeStacks{outputs: all}, required: addNeeds, wantCalls: 1,
			want: ops.Stack{Name: "tokenrotator", FunctionName: "mine", SecretPrefix: all[ops.OutputSecretPrefix], AlarmTopicARN: all[ops.OutputAlarmTopic]}},
		{name: "all given: no call", given: ops.Stack{Name: "s", FunctionName: "f"}, api: &fakeStacks{err: errors.New("must not be called")},
			required: []string{ops.OutputFunctionName}, want: ops.Stack{Name: "s", FunctionName: "f"}},
		{name: "optional KMS key read when present", given: ops.Stack{Name: "s"}, required: []string{ops.OutputFunctionName}, wantCalls: 1,
			api:  &fakeStacks{outputs: map[string]string{ops.OutputFunctionName: "f", ops.OutputTokenKMSKey: "arn:aws:kms:eu-west-1:123456789012:key/k"}},
			want: ops.Stack{Name: "s", FunctionName: "f", TokenKMSKeyARN: "arn:aws:kms:eu-west-1:123456789012:key/k"}},
		{name: "missing output", given: ops.Stack{Name: "tokenrotator"}, api: &fakeStacks{outputs: without(ops.OutputSecretPrefix)}, required: addNeeds, wantCalls: 1,
			wantErr: "stack tokenrotator has no output IntegrationSecretPrefix: run make deploy first"},
		{name: "no such stack", given: ops.Stack{Name: "nope"}, api: &fakeStacks{err: errors.New("ValidationError: Stack with id nope does not exist")}, required: addNeeds, wantCalls: 1,
			wantErr: "reading the outputs of stack nope (run make deploy first, or set STACK_NAME): ValidationError"},
		{name: "no name", given: ops.Stack{}, api: &fakeStacks{outputs: all}, required: addNeeds, wantErr: "no stack name"},
		{name: "unknown output", given: ops.Stack{Name: "s"}, api: &fakeStacks{outputs: all}, required: []string{"TokenSecretArn"}, wantErr: `"TokenSecretArn" is not an output the operator reads`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ops.ResolveStack(context.Background(), tt.api, tt.given, tt.required...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ResolveStack() error = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("ResolveStack() error = %v", err)
			} else if got != tt.want {
				t.Errorf("ResolveStack() = %+v, want %+v", got, tt.want)
			}
			if tt.api.calls != tt.wantCalls {
				t.Errorf("DescribeStacks calls = %d, want %d", tt.api.calls, tt.wantCalls)
			}
		})
	}
}
