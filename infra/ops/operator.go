package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// SecretsAPI is the part of *secretsmanager.Client the operator calls. It
// reads no secret's value.
type SecretsAPI interface {
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
	TagResource(ctx context.Context, in *secretsmanager.TagResourceInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.TagResourceOutput, error)
	UntagResource(ctx context.Context, in *secretsmanager.UntagResourceInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UntagResourceOutput, error)
	PutResourcePolicy(ctx context.Context, in *secretsmanager.PutResourcePolicyInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutResourcePolicyOutput, error)
	DeleteResourcePolicy(ctx context.Context, in *secretsmanager.DeleteResourcePolicyInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteResourcePolicyOutput, error)
}

// RotationsAPI is the part of *secretsmanager.Client that turns Secrets
// Manager's rotation on for an added token secret (the secretsmanager
// engine) or credentials secret (the client-secret rotation), and off
// again for the latter.
type RotationsAPI interface {
	RotateSecret(ctx context.Context, in *secretsmanager.RotateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error)
	CancelRotateSecret(ctx context.Context, in *secretsmanager.CancelRotateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CancelRotateSecretOutput, error)
}

// AlarmsAPI is the part of *cloudwatch.Client the operator calls.
type AlarmsAPI interface {
	PutMetricAlarm(ctx context.Context, in *cloudwatch.PutMetricAlarmInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error)
	DeleteAlarms(ctx context.Context, in *cloudwatch.DeleteAlarmsInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.DeleteAlarmsOutput, error)
}

// Invoker runs the rotator function synchronously: *lambda.Client, pointed
// at Lambda or at the Runtime Interface Emulator.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// EmulatorFunctionName is the only function name the Runtime Interface
// Emulator serves (POST /2015-03-31/functions/function/invocations).
const EmulatorFunctionName = "function"

// Config wires an Operator.
type Config struct {
	// Stack holds the deployed stack's facts; see ResolveStack. Each method
	// says which fields it needs.
	Stack Stack
	// Secrets is Secrets Manager; required by Add, Readers and Remove.
	Secrets SecretsAPI
	// Rotations is Secrets Manager's rotation; required by Add with the
	// secretsmanager engine or the client-secret rotation, and by Remove
	// when an added credentials secret has that rotation.
	Rotations RotationsAPI
	// Alarms is CloudWatch; required by Add and Remove.
	Alarms AlarmsAPI
	// Lambda invokes the function; required by Add and Rotate.
	Lambda Invoker
	// InvokeName is the function name Invoke sends; empty means
	// Stack.FunctionName. The Runtime Interface Emulator wants
	// EmulatorFunctionName.
	InvokeName string
	// Out receives one line per step and Rotate's table; nil means
	// io.Discard. Nothing written there holds a client secret or a token.
	Out io.Writer
}

// Operator adds, removes and rotates the integrations of one stack. It
// works one step at a time, each with one line on Config.Out.
type Operator struct {
	cfg Config
}

// New returns an Operator. It makes no network call.
func New(cfg Config) *Operator {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.InvokeName == "" {
		cfg.InvokeName = cfg.Stack.FunctionName
	}
	return &Operator{cfg: cfg}
}

// say writes one progress line about integration name.
func (o *Operator) say(name, format string, args ...any) {
	fmt.Fprintf(o.cfg.Out, name+": "+format+"\n", args...)
}

// need fails unless the stack facts a step needs are there.
func (o *Operator) need(outputs ...string) error {
	var missing []string
	for _, out := range outputs {
		if v, _ := o.cfg.Stack.output(out); v == "" {
			missing = append(missing, out)
		}
	}
	if o.cfg.Stack.Name == "" {
		missing = append([]string{"the stack name"}, missing...)
	}
	if len(missing) > 0 {
		return fmt.Errorf("the operator was not told %s (see ResolveStack)", strings.Join(missing, ", "))
	}
	return nil
}

// isNotFound reports whether err is Secrets Manager's ResourceNotFoundException.
func isNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

// isAccessDenied reports whether err is an AccessDeniedException.
func isAccessDenied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "AccessDeniedException"
}

// tagValue returns the value of the tag key among tags, and whether it is there.
func tagValue(tags []types.Tag, key string) (string, bool) {
	for _, t := range tags {
		if t.Key != nil && *t.Key == key {
			if t.Value == nil {
				return "", true
			}
			return *t.Value, true
		}
	}
	return "", false
}
