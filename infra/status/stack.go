package status

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// The stack outputs and parameter the screen reads, besides the operator's
// (ops.OutputFunctionName, ops.OutputSecretPrefix).
const (
	// OutputTokenSecret is the stack's own token secret, that of the
	// integration named default.
	OutputTokenSecret = "TokenSecretArn"
	// OutputDeadLetterQueue is the URL of the queue that failed runs land
	// in once their retries are spent.
	OutputDeadLetterQueue = "DeadLetterQueueUrl"
	// ParameterSchedule is the EventBridge Scheduler expression of the runs,
	// such as rate(23 hours).
	ParameterSchedule = "Schedule"
)

// Stack is what the screen knows of a deployed stack: the operator's facts
// (its name, the function's name, the added integrations' secret prefix)
// and a few more outputs and parameters, read by Resolve or given as flags.
type Stack struct {
	// Stack holds the name (required), FunctionName (required: the metrics'
	// FunctionName dimension), SecretPrefix (required: where the added
	// integrations' token secrets are) and RotationEngine (empty means
	// ops.EngineScheduler); its other fields are not used.
	ops.Stack
	// TokenSecretID is the stack's own token secret (output TokenSecretArn).
	// Required.
	TokenSecretID string
	// DeadLetterQueueURL is the dead-letter queue (output
	// DeadLetterQueueUrl); empty means its depth is not shown.
	DeadLetterQueueURL string
	// Schedule is the runs' schedule expression (parameter Schedule); empty
	// or other than rate(...) means the next scheduled run is unknown, and
	// only expired tokens fail the check.
	Schedule string
	// AlarmNames are the names of the stack's own alarms, those of the
	// template. Resolve lists them when it reads the stack from
	// CloudFormation; nil means none. The added integrations' stale alarms
	// are always watched.
	AlarmNames []string
}

// StacksAPI is the part of *cloudformation.Client that Resolve calls.
type StacksAPI interface {
	ops.StacksAPI
	ListStackResources(ctx context.Context, in *cloudformation.ListStackResourcesInput, opts ...func(*cloudformation.Options)) (*cloudformation.ListStackResourcesOutput, error)
}

// Resolve returns given with its empty fields filled from the stack
// given.Name, as ops.ResolveStack does: it calls DescribeStacks (once) only
// when a field the screen reads is empty, and then also lists the stack's
// alarms with ListStackResources. Given every field, it makes no call, so
// that flags can stand in for a stack that CloudFormation does not hold (the
// local stack). The error names what is missing: "stack tokenrotator has no
// output TokenSecretArn: run make deploy first".
func Resolve(ctx context.Context, api StacksAPI, given Stack) (Stack, error) {
	var cache *describeOnce
	var opsAPI ops.StacksAPI
	if api != nil {
		cache = &describeOnce{api: api}
		opsAPI = cache
	}
	opsStack, err := ops.ResolveStack(ctx, opsAPI, given.Stack, ops.OutputFunctionName, ops.OutputSecretPrefix)
	if err != nil {
		return Stack{}, err
	}
	st := given
	st.Stack = opsStack
	if st.TokenSecretID != "" && st.DeadLetterQueueURL != "" && st.Schedule != "" && !cache.called() {
		return st, nil
	}
	if api == nil {
		if st.TokenSecretID == "" {
			return Stack{}, fmt.Errorf("stack %s: no CloudFormation client to read its output %s", st.Name, OutputTokenSecret)
		}
		return st, nil
	}
	resp, err := cache.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(st.Name)})
	if err != nil {
		return Stack{}, fmt.Errorf("reading the outputs of stack %s (run make deploy first, or set STACK_NAME): %w", st.Name, err)
	}
	if len(resp.Stacks) == 0 {
		return Stack{}, fmt.Errorf("stack %s not found: run make deploy first, or set STACK_NAME", st.Name)
	}
	fillFrom(&st, resp.Stacks[0])
	if st.TokenSecretID == "" {
		return Stack{}, fmt.Errorf("stack %s has no output %s: run make deploy first", st.Name, OutputTokenSecret)
	}
	if st.AlarmNames == nil {
		if st.AlarmNames, err = stackAlarms(ctx, api, st.Name); err != nil {
			return Stack{}, err
		}
	}
	return st, nil
}

// fillFrom fills the empty fields of st from the outputs and parameters of s.
func fillFrom(st *Stack, s cfntypes.Stack) {
	outputs := map[string]string{}
	for _, o := range s.Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	fill := func(f *string, v string) {
		if *f == "" {
			*f = v
		}
	}
	fill(&st.TokenSecretID, outputs[OutputTokenSecret])
	fill(&st.DeadLetterQueueURL, outputs[OutputDeadLetterQueue])
	fill(&st.Stack.RotationEngine, outputs[ops.OutputRotationEngine])
	for _, p := range s.Parameters {
		if aws.ToString(p.ParameterKey) == ParameterSchedule {
			fill(&st.Schedule, aws.ToString(p.ParameterValue))
		}
	}
}

// stackAlarms lists the names of the CloudWatch alarms among the stack's
// resources.
func stackAlarms(ctx context.Context, api StacksAPI, stack string) ([]string, error) {
	names := []string{}
	in := &cloudformation.ListStackResourcesInput{StackName: aws.String(stack)}
	for {
		out, err := api.ListStackResources(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("listing the resources of stack %s: %w", stack, err)
		}
		for _, r := range out.StackResourceSummaries {
			if aws.ToString(r.ResourceType) == "AWS::CloudWatch::Alarm" && aws.ToString(r.PhysicalResourceId) != "" {
				names = append(names, aws.ToString(r.PhysicalResourceId))
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return names, nil
		}
		in.NextToken = out.NextToken
	}
}

// describeOnce passes the first DescribeStacks call on and answers later
// ones with its outcome, so that ops.ResolveStack and Resolve share one
// call.
type describeOnce struct {
	api  ops.StacksAPI
	done bool
	out  *cloudformation.DescribeStacksOutput
	err  error
}

func (d *describeOnce) DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	if !d.done {
		d.out, d.err = d.api.DescribeStacks(ctx, in, opts...)
		d.done = true
	}
	return d.out, d.err
}

// called reports whether DescribeStacks was called; false for nil.
func (d *describeOnce) called() bool { return d != nil && d.done }
