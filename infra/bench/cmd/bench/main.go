// Command bench is what make bench runs first: it measures the rotator
// beside the minimal reference rotator (infra/bench/reference) on this
// machine and prints one Markdown table with each figure's budget. Progress
// goes to stderr, the table to stdout. It needs moto_server on the PATH and
// takes a few minutes, most of it building linux/arm64 bootstraps.
//
//	go run ./infra/bench/cmd/bench
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tokenrotator/tokenrotator/infra/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := bench.Run(ctx, bench.Config{Progress: os.Stderr})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench failed:", err)
		os.Exit(1)
	}
	fmt.Print(rep.Table())
	fmt.Fprintf(os.Stderr, "bench: measured in %.0f s\n", rep.Elapsed.Seconds())
}
