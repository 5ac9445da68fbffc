package status

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// The command's exit codes.
const (
	// ExitOK: every token outlives its integration's next run.
	ExitOK = 0
	// ExitTokens: some token is expired, missing, unreadable or expires
	// before its integration's next run; the screen's last line names them.
	ExitTokens = 1
	// ExitUsage: a bad command line.
	ExitUsage = 2
	// ExitUnreadable: the screen could not be made: the stack, its outputs
	// or its integrations could not be read.
	ExitUnreadable = 3
)

// ExitCode maps what CLI.Run returned to the command's exit code.
func ExitCode(ok bool, err error) int {
	switch {
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.Is(err, ops.ErrUsage):
		return ExitUsage
	case err != nil:
		return ExitUnreadable
	case !ok:
		return ExitTokens
	}
	return ExitOK
}

// CLI is the status command: flags, AWS clients, one screen. Its zero value
// is what command status runs.
type CLI struct {
	// Out receives the screen; nil means os.Stdout.
	Out io.Writer
	// Err receives usage text; nil means os.Stderr.
	Err io.Writer
	// LoadAWS returns the SDK configuration; nil means
	// config.LoadDefaultConfig (the environment, ~/.aws, AWS_ENDPOINT_URL).
	LoadAWS func(context.Context) (aws.Config, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Run parses args, resolves the stack and writes the screen; see Write for
// ok. Errors in the command line wrap ops.ErrUsage; -h returns
// flag.ErrHelp.
func (c CLI) Run(ctx context.Context, args []string) (ok bool, err error) {
	out, errOut := c.Out, c.Err
	if out == nil {
		out = os.Stdout
	}
	if errOut == nil {
		errOut = os.Stderr
	}
	var st Stack
	var window time.Duration
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprint(errOut, "status: one screen on a tokenrotator stack's tokens, last runs, alarms and dead-letter queue; read-only.\n\n"+
			"Exit codes: 0 every token outlives its next run, 1 some token does not, 2 a bad command line, 3 the stack could not be read.\n"+
			"The flags other than -stack and -window default to the stack's outputs and parameters:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&st.Name, "stack", ops.DefaultStackName, "the CloudFormation stack's `name` (make: STACK_NAME)")
	fs.StringVar(&st.FunctionName, "function", "", "the rotator function's `name` (output "+ops.OutputFunctionName+")")
	fs.StringVar(&st.SecretPrefix, "prefix", "", "the added integrations' token secrets' name `prefix` (output "+ops.OutputSecretPrefix+")")
	fs.StringVar(&st.TokenSecretID, "token-secret", "", "the stack's own token `secret` (output "+OutputTokenSecret+")")
	fs.StringVar(&st.DeadLetterQueueURL, "dead-letter-queue", "", "the dead-letter queue's `URL` (output "+OutputDeadLetterQueue+")")
	fs.StringVar(&st.Schedule, "schedule", "", "the runs' schedule `expression`, such as rate(23 hours) (parameter "+ParameterSchedule+")")
	fs.DurationVar(&window, "window", DefaultWindow, "how far back to look for each integration's last run")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return false, err
		}
		return false, fmt.Errorf("%w: %v", ops.ErrUsage, err)
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q (every value is a flag, such as -stack tokenrotator)", fs.Args()))
	}
	if st.Name == "" {
		problems = append(problems, "-stack is empty")
	}
	if window <= 0 {
		problems = append(problems, "-window must be above zero")
	}
	if len(problems) > 0 {
		return false, fmt.Errorf("%w: %s", ops.ErrUsage, strings.Join(problems, "; "))
	}

	load := c.LoadAWS
	if load == nil {
		load = func(ctx context.Context) (aws.Config, error) { return config.LoadDefaultConfig(ctx) }
	}
	awsCfg, err := load(ctx)
	if err != nil {
		return false, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if st, err = Resolve(ctx, cloudformation.NewFromConfig(awsCfg), st); err != nil {
		return false, err
	}
	cw := cloudwatch.NewFromConfig(awsCfg, ops.CloudWatchOptions(awsCfg))
	return Write(ctx, out, Config{
		Stack:   st,
		Secrets: secretsmanager.NewFromConfig(awsCfg),
		Metrics: cw,
		Alarms:  cw,
		Queues:  sqs.NewFromConfig(awsCfg),
		Now:     c.Now,
		Window:  window,
	})
}
