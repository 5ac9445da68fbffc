// Command integration adds an integration to a deployed tokenrotator
// stack, sets who reads its token, removes one, forces rotations, or
// retires an integration's old client secrets after a leak, with the AWS
// SDK (credentials and Region as for the aws CLI). make integration-add,
// make integration-readers, make integration-remove, make rotate and make
// client-secret-retire run it.
//
//	go run ./infra/ops/cmd/integration add -stack tokenrotator -name acme \
//		-credentials arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-AbCdEf
//	go run ./infra/ops/cmd/integration readers -stack tokenrotator -name acme \
//		-readers arn:aws:iam::123456789012:role/acme-service
//	go run ./infra/ops/cmd/integration rotate -stack tokenrotator [-name acme]
//	go run ./infra/ops/cmd/integration remove -stack tokenrotator -name acme
//	go run ./infra/ops/cmd/integration client-secret-retire -stack tokenrotator -name acme
//
// It exits 1 when a step fails or the function reports an error, 2 for a
// bad command line. Package ops does the work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := ops.CLI{}.Run(ctx, os.Args[1:])
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, ops.ErrUsage):
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(1)
	}
}
