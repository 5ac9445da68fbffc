package status

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// fakeStacks is CloudFormation holding one stack.
type fakeStacks struct {
	stack       *cfntypes.Stack
	resources   []cfntypes.StackResourceSummary
	err         error
	describes   int
	listings    int
	resourceErr error
}

func (f *fakeStacks) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	f.describes++
	if f.err != nil {
		return nil, f.err
	}
	if f.stack == nil || aws.ToString(in.StackName) != aws.ToString(f.stack.StackName) {
		return nil, errors.New("ValidationError: Stack with id " + aws.ToString(in.StackName) + " does not exist")
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{*f.stack}}, nil
}

func (f *fakeStacks) ListStackResources(_ context.Context, in *cloudformation.ListStackResourcesInput, _ ...func(*cloudformation.Options)) (*cloudformation.ListStackResourcesOutput, error) {
	f.listings++
	if f.resourceErr != nil {
		return nil, f.resourceErr
	}
	// Two pages: the first resource, then the rest.
	if in.NextToken == nil {
		return &cloudformation.ListStackResourcesOutput{StackResourceSummaries: f.resources[:1], NextToken: aws.String("2")}, nil
	}
	return &cloudformation.ListStackResourcesOutput{StackResourceSummaries: f.resources[1:]}, nil
}

func deployed() *fakeStacks {
	out := func(k, v string) cfntypes.Output {
		return cfntypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)}
	}
	res := func(typ, id string) cfntypes.StackResourceSummary {
		return cfntypes.StackResourceSummary{ResourceType: aws.String(typ), PhysicalResourceId: aws.String(id)}
	}
	return &fakeStacks{
		stack: &cfntypes.Stack{
			StackName: aws.String(testStack),
			Outputs: []cfntypes.Output{
				out("TokenSecretArn", testTokenARN), out("RotatorFunctionName", testFunction), out("IntegrationSecretPrefix", testPrefix),
				out("DeadLetterQueueUrl", testQueue), out("AlarmTopicArn", "arn:aws:sns:eu-west-1:123456789012:tokenrotator-alarms"),
			},
			Parameters: []cfntypes.Parameter{
				{ParameterKey: aws.String("TokenUrl"), ParameterValue: aws.String("https://ims-na1.adobelogin.com/ims/token/v3")},
				{ParameterKey: aws.String("Schedule"), ParameterValue: aws.String("rate(23 hours)")},
			},
		},
		resources: []cfntypes.StackResourceSummary{
			res("AWS::CloudWatch::Alarm", stackAlarm),
			res("AWS::SQS::Queue", testQueue),
			res("AWS::CloudWatch::Alarm", "tokenrotator-FunctionErrorsAlarm-R4T5Y6"),
		},
	}
}

func TestResolve(t *testing.T) {
	api := deployed()
	st, err := Resolve(context.Background(), api, Stack{Stack: ops.Stack{Name: testStack}})
	if err != nil {
		t.Fatalf("Resolve() error = %v", err)
	}
	if st.FunctionName != testFunction || st.SecretPrefix != testPrefix || st.TokenSecretID != testTokenARN ||
		st.DeadLetterQueueURL != testQueue || st.Schedule != "rate(23 hours)" || st.RotationEngine != "" {
		t.Errorf("Resolve() = %+v, want the outputs and the Schedule parameter", st)
	}
	if want := []string{stackAlarm, "tokenrotator-FunctionErrorsAlarm-R4T5Y6"}; !slices.Equal(st.AlarmNames, want) {
		t.Errorf("AlarmNames = %q, want %q", st.AlarmNames, want)
	}
	if api.describes != 1 || api.listings != 2 {
		t.Errorf("DescribeStacks called %d times, ListStackResources %d; want 1 and 2 (two pages)", api.describes, api.listings)
	}

	api.stack.Outputs = append(api.stack.Outputs, cfntypes.Output{OutputKey: aws.String("RotationEngine"), OutputValue: aws.String("secretsmanager")})
	if st, err := Resolve(context.Background(), api, Stack{Stack: ops.Stack{Name: testStack}}); err != nil || st.RotationEngine != "secretsmanager" {
		t.Errorf("Resolve() = %q, %v; want the RotationEngine output", st.RotationEngine, err)
	}
}

func TestResolveGivenEverything(t *testing.T) {
	api := deployed()
	given := newWorld().stack
	given.AlarmNames = nil
	st, err := Resolve(context.Background(), api, given)
	if err != nil || api.describes+api.listings != 0 {
		t.Fatalf("Resolve() error = %v after %d calls, want no call", err, api.describes+api.listings)
	}
	if st.TokenSecretID != testTokenARN || st.AlarmNames != nil {
		t.Errorf("Resolve() = %+v, want given as is", st)
	}
	if _, err := Resolve(context.Background(), nil, given); err != nil {
		t.Errorf("Resolve(nil client) error = %v, want nil", err)
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*fakeStacks)
		given  Stack
		want   string
	}{
		{"no stack", func(f *fakeStacks) {}, Stack{Stack: ops.Stack{Name: "other"}},
			"reading the outputs of stack other (run make deploy first, or set STACK_NAME): ValidationError: Stack with id other does not exist"},
		{"no token secret output", func(f *fakeStacks) { f.stack.Outputs = f.stack.Outputs[1:] }, Stack{Stack: ops.Stack{Name: testStack}},
			"stack tokenrotator has no output TokenSecretArn: run make deploy first"},
		{"no function output", func(f *fakeStacks) { f.stack.Outputs = f.stack.Outputs[2:] }, Stack{Stack: ops.Stack{Name: testStack}},
			"stack tokenrotator has no output RotatorFunctionName: run make deploy first"},
		{"resources unreadable", func(f *fakeStacks) { f.resourceErr = errors.New("AccessDenied") }, Stack{Stack: ops.Stack{Name: testStack}},
			"listing the resources of stack tokenrotator: AccessDenied"},
		{"no name", func(f *fakeStacks) {}, Stack{}, "no stack name: set -stack (make: STACK_NAME)"},
		{"no client", nil, Stack{Stack: ops.Stack{Name: testStack, FunctionName: "f", SecretPrefix: "p/"}},
			"stack tokenrotator: no CloudFormation client to read its output TokenSecretArn"},
	}
	for _, tt := range tests {
		var api StacksAPI
		if tt.change != nil {
			f := deployed()
			tt.change(f)
			api = f
		}
		_, err := Resolve(context.Background(), api, tt.given)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Resolve() error = %v, want %q", tt.name, err, tt.want)
		}
	}
}
