// Command credentials creates or updates a tokenrotator credentials secret
// from a prompt: the client ID, then the client secret, which the terminal
// does not echo. Neither goes through a command line or the shell's
// history: make credentials runs it.
//
//	go run ./infra/ops/cmd/credentials [-name tokenrotator/adobe-credentials] [-kms-key ARN]
//
// It prints the secret's full ARN, what make deploy takes as CREDENTIALS. It
// exits 1 when reading or storing fails, 2 for a bad command line.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"golang.org/x/term"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

func main() {
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("credentials", flag.ContinueOnError)
	name := fs.String("name", ops.DefaultCredentialsName, "the credentials secret's `name`")
	kmsKey := fs.String("kms-key", "", "a customer managed KMS key `ARN` for a new secret; empty for aws/secretsmanager")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	in := bufio.NewReader(os.Stdin)
	readSecret := func() (string, error) {
		if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
			b, err := term.ReadPassword(fd)
			return string(b), err
		}
		return in.ReadString('\n')
	}
	id, secret, err := ops.Prompt(in, os.Stderr, readSecret)
	if err != nil {
		fmt.Fprintln(os.Stderr, "credentials:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "credentials: loading AWS configuration:", err)
		return 1
	}
	got, err := ops.StoreCredentials(ctx, secretsmanager.NewFromConfig(cfg), *name, *kmsKey, id, secret)
	if err != nil {
		fmt.Fprintln(os.Stderr, "credentials:", err)
		return 1
	}
	what := "updated (a new version; its other fields kept)"
	if got.Created {
		what = "created"
	}
	fmt.Printf("credentials secret %s %s\n%s\nnext: make deploy CREDENTIALS=%s ALARM_EMAIL=<your address, or none>\n", *name, what, got.ARN, got.ARN)
	return 0
}
