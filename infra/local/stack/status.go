package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tokenrotator/tokenrotator/infra/status"
)

// Stand-ins for the deployed stack's facts that make status reads.
const (
	// Schedule stands for the stack's Schedule parameter: the template's
	// default. Nothing runs on it locally; the screen judges the tokens by it.
	Schedule = "rate(23 hours)"
	// DeadLetterQueueName is the queue Status creates in moto_server in
	// place of the stack's dead-letter queue; nothing sends to it locally.
	DeadLetterQueueName = "tokenrotator-dead-letter"
)

// StatusFlags returns the flags that point the status command
// (infra/status/cmd/status) at this stack, in place of a deployed stack's
// outputs and parameters: with every fact given, it calls no CloudFormation.
func (st *Stack) StatusFlags(deadLetterQueueURL string) []string {
	return []string{
		"-stack", StackName,
		"-function", FunctionName,
		"-prefix", IntegrationSecretPrefix,
		"-token-secret", TokenSecretID,
		"-schedule", Schedule,
		"-dead-letter-queue", deadLetterQueueURL,
	}
}

// Status writes make status's screen for this stack to w, as make status
// writes it for a deployed one: the same command line, clients and screen,
// with StatusFlags and moto_server's AWS configuration. It first waits (at
// most 10 seconds) until the function's metric lines of every invocation so
// far have reached moto_server, and creates the dead-letter queue stand-in
// DeadLetterQueueName if it is not there. ok is false when a token does not
// outlive its next run; err is not nil when the screen could not be made.
func (st *Stack) Status(ctx context.Context, w io.Writer) (ok bool, err error) {
	if st.Lambda == nil || st.Moto == nil || st.metrics == nil {
		return false, errors.New("showing the status: the stack is not started")
	}
	syncCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = st.metrics.Sync(syncCtx)
	cancel()
	if err != nil {
		return false, err
	}
	q, err := sqs.NewFromConfig(st.Moto.AWSConfig()).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(DeadLetterQueueName)})
	if err != nil {
		return false, fmt.Errorf("creating the dead-letter queue stand-in %s: %w", DeadLetterQueueName, err)
	}
	cli := status.CLI{Out: w, Err: w, LoadAWS: func(context.Context) (aws.Config, error) { return st.Moto.AWSConfig(), nil }}
	return cli.Run(ctx, st.StatusFlags(aws.ToString(q.QueueUrl)))
}
