// Command status prints one screen on a deployed tokenrotator stack, with
// read-only AWS calls (credentials and Region as for the aws CLI): each
// integration's token age, time to expiry, last run, versions and rotation
// engine, then the alarms in ALARM and the dead-letter queue's depth. make
// status runs it.
//
//	go run ./infra/status/cmd/status -stack tokenrotator
//
// It exits 0 when every token outlives its integration's next run, 1 when
// one does not, 2 for a bad command line, 3 when the stack cannot be read.
// Package status does the work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tokenrotator/tokenrotator/infra/status"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ok, err := status.CLI{}.Run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "status:", err)
	}
	os.Exit(status.ExitCode(ok, err))
}
