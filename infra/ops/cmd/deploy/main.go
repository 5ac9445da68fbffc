// Command deploy is what make deploy runs after sam build: it reads the
// account's Lambda concurrency to choose the parameter ReserveConcurrency
// (unless the samconfig file sets it), and runs sam deploy with the file's
// parameter overrides and that one.
//
//	go run ./infra/ops/cmd/deploy -stack tokenrotator -config infra/samconfig.toml [-guided]
//
// It exits 1 when the check or sam fails, 2 for a bad command line. Package
// ops does the work.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

func main() {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	stack := fs.String("stack", ops.DefaultStackName, "the stack's `name`")
	file := fs.String("config", "infra/samconfig.toml", "the samconfig `file` sam reads")
	guided := fs.Bool("guided", false, "run sam deploy --guided")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy: loading AWS configuration:", err)
		os.Exit(1)
	}
	err = ops.Deploy{
		Stack: *stack, ConfigFile: *file, Guided: *guided,
		Lambda: lambda.NewFromConfig(cfg), Stacks: cloudformation.NewFromConfig(cfg),
		Exec: func(ctx context.Context, name string, args ...string) error {
			cmd := exec.CommandContext(ctx, name, args...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
			return cmd.Run()
		},
	}.Run(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		os.Exit(1)
	}
}
