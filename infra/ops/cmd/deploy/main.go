// Command deploy is what make deploy runs: it keeps the user's parameters
// in a samconfig file of their own that git ignores, reads the account's
// Lambda concurrency to choose the parameter ReserveConcurrency (unless
// that file sets it), and runs sam build and sam deploy.
//
//	go run ./infra/ops/cmd/deploy -stack tokenrotator -config infra/samconfig.toml \
//		-local infra/samconfig.local.toml -credentials <ARN> -alarm-email ops@example.com [-guided]
//
// It exits 1 when a check or sam fails, 2 for a bad command line. Package
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
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	stack := fs.String("stack", ops.DefaultStackName, "the stack's `name`")
	file := fs.String("config", "infra/samconfig.toml", "the tracked samconfig `file`: shared settings")
	local := fs.String("local", "infra/samconfig.local.toml", "the user's samconfig `file`, which git ignores: created from -config, holds the parameters")
	creds := fs.String("credentials", "", "the credentials secret's full `ARN` (parameter CredentialsSecretArn), saved in -local")
	email := fs.String("alarm-email", "", "the alarms' e-mail `address`, or none (parameter AlarmEmail), saved in -local")
	guided := fs.Bool("guided", false, "run sam deploy --guided, which asks for every parameter")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	set := map[string]string{}
	if *creds != "" {
		set["CredentialsSecretArn"] = *creds
	}
	if *email != "" {
		set["AlarmEmail"] = *email
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy: loading AWS configuration:", err)
		return 1
	}
	err = ops.Deploy{
		Stack: *stack, ConfigFile: *file, LocalFile: *local, Set: set, Guided: *guided,
		Lambda: lambda.NewFromConfig(cfg), Stacks: cloudformation.NewFromConfig(cfg),
		Exec: func(ctx context.Context, name string, args ...string) error {
			cmd := exec.CommandContext(ctx, name, args...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
			return cmd.Run()
		},
	}.Run(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy:", err)
		return 1
	}
	return 0
}
