// Command delete tears a tokenrotator stack down: the integrations added to
// it first (their token secrets and alarms are not resources of the
// stack), then the stack, and prints what it leaves, which is the user's
// (the credentials secrets among them). make delete runs it.
//
//	go run ./infra/ops/cmd/delete -stack tokenrotator
//
// It exits 1 when a step fails, 2 for a bad command line. Package ops does
// the work.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// stackDeleteWait bounds the wait for CloudFormation to delete the stack.
const stackDeleteWait = 30 * time.Minute

func main() {
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("delete", flag.ContinueOnError)
	name := fs.String("stack", ops.DefaultStackName, "the stack's `name` (make: STACK_NAME)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := teardown(ctx, *name); err != nil {
		fmt.Fprintln(os.Stderr, "delete:", err)
		return 1
	}
	return 0
}

func teardown(ctx context.Context, name string) error {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("loading the AWS configuration: %w", err)
	}
	cfn := cloudformation.NewFromConfig(cfg)
	st, err := ops.ResolveStack(ctx, cfn, ops.Stack{Name: name}, ops.OutputSecretPrefix)
	if err != nil {
		return err
	}
	credentials := ""
	if resp, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)}); err == nil && len(resp.Stacks) > 0 {
		for _, p := range resp.Stacks[0].Parameters {
			if aws.ToString(p.ParameterKey) == "CredentialsSecretArn" {
				credentials = aws.ToString(p.ParameterValue)
			}
		}
	}
	op := ops.New(ops.Config{
		Stack: st, Secrets: secretsmanager.NewFromConfig(cfg),
		Alarms: cloudwatch.NewFromConfig(cfg, ops.CloudWatchOptions(cfg)), Out: os.Stdout,
	})
	return op.Teardown(ctx, credentials, func(ctx context.Context) error {
		if _, err := cfn.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(name)}); err != nil {
			return err
		}
		fmt.Printf("waiting for CloudFormation to delete stack %s (a few minutes; at most %v)\n", name, stackDeleteWait)
		return cloudformation.NewStackDeleteCompleteWaiter(cfn).Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)}, stackDeleteWait)
	})
}
