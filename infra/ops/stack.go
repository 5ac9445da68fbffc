package ops

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// DefaultStackName is the stack the command works on without -stack, as
// the Makefile's STACK_NAME.
const DefaultStackName = "tokenrotator"

// The stack outputs the operator reads.
const (
	// OutputFunctionName is the rotator function's name.
	OutputFunctionName = "RotatorFunctionName"
	// OutputSecretPrefix is the name prefix of the added integrations'
	// token secrets, the function's INTEGRATION_SECRET_PREFIX.
	OutputSecretPrefix = "IntegrationSecretPrefix"
	// OutputAlarmTopic is the SNS topic the stack's alarms notify.
	OutputAlarmTopic = "AlarmTopicArn"
	// OutputTokenKMSKey is the KMS key of the token secrets; absent when
	// they use the AWS managed key.
	OutputTokenKMSKey = "TokenKmsKeyArn"
	// OutputRotationEngine is what starts a rotation: EngineScheduler or
	// EngineSecretsManager; absent on a stack deployed before there were two.
	OutputRotationEngine = "RotationEngine"
	// OutputFunctionARN is the rotator function's ARN, with the
	// secretsmanager engine only.
	OutputFunctionARN = "RotatorFunctionArn"
	// OutputNativeRules is "<schedule expression>;<window>", with the
	// secretsmanager engine only.
	OutputNativeRules = "NativeRotationRules"
	// OutputCredentialsSecret is the full ARN of the stack's own
	// integration's credentials secret, which Add refuses.
	OutputCredentialsSecret = "CredentialsSecretArn"
	// OutputReaderAccounts is "<account ids, by commas>;<organization
	// path>": the other accounts whose principals the token key lets
	// decrypt (ParseKeyReaders); absent on a stack deployed before there
	// were readers in other accounts.
	OutputReaderAccounts = "ReaderAccounts"
	// OutputClientSecretRotation is the stack's ClientSecretRotation,
	// ClientSecretNone or ClientSecretAdobe; absent on a stack deployed
	// before there was one.
	OutputClientSecretRotation = "ClientSecretRotation"
	// OutputClientSecretFunctionARN is the client-secret rotator's ARN,
	// with ClientSecretAdobe only.
	OutputClientSecretFunctionARN = "ClientSecretRotatorFunctionArn"
	// OutputClientSecretRules is the credentials secrets' rotation
	// schedule expression, with ClientSecretAdobe only.
	OutputClientSecretRules = "ClientSecretRotationRules"
)

// The client-secret rotations, as the template's ClientSecretRotation
// parameter names them.
const (
	ClientSecretNone  = "none"
	ClientSecretAdobe = "adobe"
)

// The rotation engines, as the template's RotationEngine parameter names them.
const (
	EngineScheduler      = "scheduler"
	EngineSecretsManager = "secretsmanager"
)

// Stack is what the operator knows of a deployed stack: its outputs, or
// flags given in their place.
type Stack struct {
	// Name is the CloudFormation stack's name: the value of every
	// tokenrotator:stack tag and the start of every alarm name. Required.
	Name string
	// FunctionName is the rotator function's name: whom Invoke calls and
	// the stale alarms' FunctionName dimension (output RotatorFunctionName).
	FunctionName string
	// SecretPrefix is the name prefix of the added integrations' token
	// secrets (output IntegrationSecretPrefix).
	SecretPrefix string
	// AlarmTopicARN is the SNS topic the stale alarms notify, in alarm and
	// back to OK (output AlarmTopicArn).
	AlarmTopicARN string
	// TokenKMSKeyARN, if not empty, encrypts the token secrets the operator
	// creates (output TokenKmsKeyArn); empty means the AWS managed key.
	TokenKMSKeyARN string
	// RotationEngine is output RotationEngine; empty means EngineScheduler.
	RotationEngine string
	// FunctionARN and NativeRules are outputs RotatorFunctionArn and
	// NativeRotationRules: with EngineSecretsManager, Add gives each
	// added token secret a rotation schedule on the function.
	FunctionARN, NativeRules string
	// CredentialsARN is the full ARN of the credentials secret of the
	// stack's own integration (output CredentialsSecretArn): Add refuses to
	// make an integration from it.
	CredentialsARN string
	// KeyReaders is output ReaderAccounts: Add and Readers refuse a
	// reader of another account that it does not admit. Empty means
	// unknown, and no such check.
	KeyReaders string
	// ClientSecretRotation is output ClientSecretRotation; empty means
	// ClientSecretNone.
	ClientSecretRotation string
	// ClientSecretFunctionARN and ClientSecretRules are outputs
	// ClientSecretRotatorFunctionArn and ClientSecretRotationRules: with
	// ClientSecretAdobe, Add puts the client-secret rotation on each added
	// credentials secret, and RetireClientSecrets invokes the function.
	ClientSecretFunctionARN, ClientSecretRules string
}

// StacksAPI is the part of *cloudformation.Client that ResolveStack calls.
type StacksAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// ResolveStack returns given with its empty fields filled from the outputs
// of the stack given.Name. The outputs named in required must be there,
// given or read; the error names the first one missing. It calls
// DescribeStacks only when a required field is empty, so that flags can
// stand in for a stack that was never deployed (as the local stack does).
func ResolveStack(ctx context.Context, api StacksAPI, given Stack, required ...string) (Stack, error) {
	if given.Name == "" {
		return Stack{}, fmt.Errorf("no stack name: set -stack (make: STACK_NAME)")
	}
	missing := false
	for _, out := range required {
		v, known := given.output(out)
		if !known {
			return Stack{}, fmt.Errorf("stack %s: %q is not an output the operator reads", given.Name, out)
		}
		missing = missing || v == ""
	}
	if !missing {
		return given, nil
	}
	if api == nil {
		return Stack{}, fmt.Errorf("stack %s: no CloudFormation client to read its outputs", given.Name)
	}
	resp, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(given.Name)})
	if err != nil {
		return Stack{}, fmt.Errorf("reading the outputs of stack %s (run make deploy first, or set STACK_NAME): %w", given.Name, err)
	}
	if len(resp.Stacks) == 0 {
		return Stack{}, fmt.Errorf("stack %s not found: run make deploy first, or set STACK_NAME", given.Name)
	}
	outputs := map[string]string{}
	for _, o := range resp.Stacks[0].Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	st := given
	fill := func(f *string, out string) {
		if *f == "" {
			*f = outputs[out]
		}
	}
	fill(&st.FunctionName, OutputFunctionName)
	fill(&st.SecretPrefix, OutputSecretPrefix)
	fill(&st.AlarmTopicARN, OutputAlarmTopic)
	fill(&st.TokenKMSKeyARN, OutputTokenKMSKey)
	fill(&st.RotationEngine, OutputRotationEngine)
	fill(&st.FunctionARN, OutputFunctionARN)
	fill(&st.NativeRules, OutputNativeRules)
	fill(&st.CredentialsARN, OutputCredentialsSecret)
	fill(&st.KeyReaders, OutputReaderAccounts)
	fill(&st.ClientSecretRotation, OutputClientSecretRotation)
	fill(&st.ClientSecretFunctionARN, OutputClientSecretFunctionARN)
	fill(&st.ClientSecretRules, OutputClientSecretRules)
	for _, out := range required {
		if v, _ := st.output(out); v == "" && out == OutputClientSecretFunctionARN {
			return Stack{}, fmt.Errorf("stack %s has no output %s: it has no client-secret rotator; deploy it with ClientSecretRotation=adobe", given.Name, out)
		} else if v == "" {
			return Stack{}, fmt.Errorf("stack %s has no output %s: run make deploy first", given.Name, out)
		}
	}
	return st, nil
}

// output returns the field that holds the output named out, and false
// for a name the operator does not read.
func (s Stack) output(out string) (string, bool) {
	switch out {
	case OutputFunctionName:
		return s.FunctionName, true
	case OutputSecretPrefix:
		return s.SecretPrefix, true
	case OutputAlarmTopic:
		return s.AlarmTopicARN, true
	case OutputTokenKMSKey:
		return s.TokenKMSKeyARN, true
	case OutputRotationEngine:
		return s.RotationEngine, true
	case OutputFunctionARN:
		return s.FunctionARN, true
	case OutputNativeRules:
		return s.NativeRules, true
	case OutputCredentialsSecret:
		return s.CredentialsARN, true
	case OutputReaderAccounts:
		return s.KeyReaders, true
	case OutputClientSecretRotation:
		return s.ClientSecretRotation, true
	case OutputClientSecretFunctionARN:
		return s.ClientSecretFunctionARN, true
	case OutputClientSecretRules:
		return s.ClientSecretRules, true
	}
	return "", false
}
