package ops

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
)

// ErrUsage marks an error in the command line; the command exits 2 for it.
var ErrUsage = errors.New("usage")

// usage is the command's help text.
const usage = `integration: add, remove or rotate the integrations of a tokenrotator stack, or set who reads one.

  integration add    -name N -credentials ARN [-readers ARNS] [stack flags]
      tag the credentials secret, create the token secret <prefix>N (read by
      the principals ARNS, else by nobody yet) and the alarm
      <stack>-integration-N-stale, then rotate N once
  integration readers -name N -readers ARNS|none [stack flags]
      let exactly the principals ARNS (IAM role, user or account root ARNs,
      separated by commas) read N's token secret; none: nobody
  integration remove -name N [stack flags]
      delete N's token secret and alarm; untag its credentials secret when
      no other integration uses it
  integration rotate [-name N] [stack flags]
      force a rotation of every integration, or of N, and print the outcomes
  integration client-secret-retire -name N [stack flags]
      after a leak: remove at Adobe every client secret of N's credential but
      the current one (N default: the stack's own), whatever their last use

Stack flags (-function, -prefix, -alarm-topic, -kms-key and -stack-credentials default to the stack's outputs):
`

// CLI is the integration command: flags, AWS clients, one subcommand. Its
// zero value is what command integration runs.
type CLI struct {
	// Out receives the steps and tables; nil means os.Stdout.
	Out io.Writer
	// Err receives usage text; nil means os.Stderr.
	Err io.Writer
	// LoadAWS returns the SDK configuration; nil means
	// config.LoadDefaultConfig (the environment, ~/.aws, AWS_ENDPOINT_URL).
	LoadAWS func(context.Context) (aws.Config, error)
}

// flags are the command line's values.
type flags struct {
	stack          Stack
	lambdaEndpoint string
	name           string
	credentials    string
	readers        string
}

// Run runs the subcommand args[0] with the flags that follow. Errors in
// the command line wrap ErrUsage; -h returns flag.ErrHelp.
func (c CLI) Run(ctx context.Context, args []string) error {
	out, errOut := c.Out, c.Err
	if out == nil {
		out = os.Stdout
	}
	if errOut == nil {
		errOut = os.Stderr
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(errOut, usage)
		newFlagSet("", &flags{}, errOut).PrintDefaults()
		return fmt.Errorf("%w: want a subcommand: add, readers, remove, rotate or client-secret-retire", ErrUsage)
	}
	sub := args[0]
	var f flags
	fs := newFlagSet(sub, &f, errOut)
	switch sub {
	case "add":
		fs.StringVar(&f.name, "name", "", "the integration's `name`: lower-case letters, digits and hyphens, at most 40 (required)")
		fs.StringVar(&f.credentials, "credentials", "", "the credentials secret's full `ARN` (required)")
		fs.StringVar(&f.readers, "readers", "", "the IAM principal `ARNs` (roles, users, account roots; separated by commas) that may read the token; empty: nobody yet")
	case "readers":
		fs.StringVar(&f.name, "name", "", "the integration's `name` (required)")
		fs.StringVar(&f.readers, "readers", "", "the IAM principal `ARNs` (roles, users, account roots; separated by commas) that may read the token, replacing those that could; "+NoReaders+": nobody (required)")
	case "remove":
		fs.StringVar(&f.name, "name", "", "the integration's `name` (required)")
	case "rotate":
		fs.StringVar(&f.name, "name", "", "rotate only the integration `name`; empty rotates every one")
	case "client-secret-retire":
		fs.StringVar(&f.name, "name", "", "the integration `name`, default for the stack's own (required)")
		fs.StringVar(&f.stack.ClientSecretFunctionARN, "client-secret-function", "", "the client-secret rotator's `ARN` (output "+OutputClientSecretFunctionARN+")")
	default:
		fmt.Fprint(errOut, usage)
		return fmt.Errorf("%w: unknown subcommand %q: want add, readers, remove, rotate or client-secret-retire", ErrUsage, sub)
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %s: %v", ErrUsage, sub, err)
	}
	readers, err := f.check(sub, fs.Args())
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUsage, sub, err)
	}
	op, err := c.operator(ctx, sub, f, out)
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		_, err = op.Add(ctx, f.name, f.credentials, readers...)
	case "readers":
		err = op.Readers(ctx, f.name, readers)
	case "remove":
		err = op.Remove(ctx, f.name)
	case "client-secret-retire":
		_, err = op.RetireClientSecrets(ctx, f.name)
	default:
		_, err = op.Rotate(ctx, f.name)
	}
	return err
}

func newFlagSet(sub string, f *flags, errOut io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("integration "+sub, flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&f.stack.Name, "stack", DefaultStackName, "the CloudFormation stack's `name` (make: STACK_NAME)")
	fs.StringVar(&f.stack.FunctionName, "function", "", "the rotator function's `name` (output "+OutputFunctionName+")")
	fs.StringVar(&f.stack.SecretPrefix, "prefix", "", "the token secrets' name `prefix` (output "+OutputSecretPrefix+")")
	fs.StringVar(&f.stack.AlarmTopicARN, "alarm-topic", "", "the SNS topic `ARN` the stale alarm notifies (output "+OutputAlarmTopic+")")
	fs.StringVar(&f.stack.CredentialsARN, "stack-credentials", "", "the full `ARN` of the credentials secret of the stack's own integration, which add refuses (output "+OutputCredentialsSecret+")")
	fs.StringVar(&f.stack.TokenKMSKeyARN, "kms-key", "", "the KMS `key` of new token secrets (output "+OutputTokenKMSKey+"; none: the AWS managed key)")
	fs.StringVar(&f.stack.KeyReaders, "key-readers", "", "the other accounts the token key admits, `ids;path` (output "+OutputReaderAccounts+"; empty: read the output, and no check if the stack has none)")
	fs.StringVar(&f.lambdaEndpoint, "lambda-endpoint", "", "send Invoke to the Runtime Interface Emulator at `URL`, which serves one function, named "+EmulatorFunctionName+" (AWS_ENDPOINT_URL works too, for a Lambda stand-in that serves the real name)")
	return fs
}

// check validates the command line of subcommand sub; rest is what the
// flags left. It returns the readers -readers names.
func (f flags) check(sub string, rest []string) ([]string, error) {
	var problems []string
	if len(rest) > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q (every value is a flag, such as -name acme)", rest))
	}
	if f.stack.Name == "" {
		problems = append(problems, "-stack is empty")
	}
	if sub != "rotate" && f.name == "" {
		problems = append(problems, "-name is required")
	}
	if sub == "add" && f.credentials == "" {
		problems = append(problems, "-credentials is required: the credentials secret's full ARN")
	}
	var readers []string
	switch {
	case sub == "add" && strings.TrimSpace(f.readers) == NoReaders:
		problems = append(problems, "-readers "+NoReaders+" is for integration readers: leave -readers out and nobody reads the new token")
	case sub == "readers" && f.readers == "":
		problems = append(problems, "-readers is required: principal ARNs separated by commas, or "+NoReaders)
	case f.readers != "":
		var err error
		if readers, err = ParseReaders(f.readers); err != nil {
			problems = append(problems, "-readers: "+err.Error())
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return readers, nil
}

// required lists the stack outputs subcommand sub needs.
func required(sub string) []string {
	switch sub {
	case "add":
		return []string{OutputFunctionName, OutputSecretPrefix, OutputAlarmTopic, OutputCredentialsSecret}
	case "readers", "remove":
		return []string{OutputSecretPrefix}
	case "client-secret-retire":
		return []string{OutputClientSecretFunctionARN}
	}
	return []string{OutputFunctionName}
}

// operator builds the clients and resolves the stack's facts.
func (c CLI) operator(ctx context.Context, sub string, f flags, out io.Writer) (*Operator, error) {
	load := c.LoadAWS
	if load == nil {
		load = func(ctx context.Context) (aws.Config, error) { return config.LoadDefaultConfig(ctx) }
	}
	cfg, err := load(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	st, err := ResolveStack(ctx, cloudformation.NewFromConfig(cfg), f.stack, required(sub)...)
	if err != nil {
		return nil, err
	}
	sm := secretsmanager.NewFromConfig(cfg)
	oc := Config{
		Stack:     st,
		Secrets:   sm,
		Rotations: sm,
		Alarms:    cloudwatch.NewFromConfig(cfg, CloudWatchOptions(cfg)),
		Lambda:    NewLambdaClient(cfg, f.lambdaEndpoint),
		Out:       out,
	}
	if f.lambdaEndpoint != "" {
		oc.InvokeName = EmulatorFunctionName
	}
	return New(oc), nil
}

// NewLambdaClient returns a Lambda client for cfg that makes one attempt
// per Invoke (a retried forced run would mint a second token), sending it
// to endpoint when not empty (the Runtime Interface Emulator's URL).
func NewLambdaClient(cfg aws.Config, endpoint string) *lambda.Client {
	return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		o.RetryMaxAttempts = 1
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// CloudWatchOptions returns the CloudWatch client option for cfg: with an
// endpoint override (AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_CLOUDWATCH, as
// for moto_server), the awsQuery protocol, which local stand-ins serve and
// CloudWatch still accepts; otherwise the SDK's default.
func CloudWatchOptions(cfg aws.Config) func(*cloudwatch.Options) {
	return func(o *cloudwatch.Options) {
		if cfg.BaseEndpoint != nil || o.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL_CLOUDWATCH") != "" {
			o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
		}
	}
}
