// Command bench is what make bench runs first: it measures the rotator
// beside the minimal reference rotator (infra/bench/reference) on this
// machine and prints one Markdown table with each figure's budget, then
// measures the rotator keeping fleets of 1, 100 and 1,000 integrations
// fresh and prints a second table. Progress goes to stderr, the tables to
// stdout. It needs moto_server on the PATH and takes a few minutes, most
// of it building linux/arm64 bootstraps and seeding the fleets.
//
//	go run ./infra/bench/cmd/bench
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/bench"
)

func main() {
	start := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := bench.Run(ctx, bench.Config{Progress: os.Stderr})
	if err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "bench failed:", err)
		os.Exit(1)
	}
	fmt.Print(rep.Table())
	fmt.Println()
	fmt.Print(rep.SigningTable())
	fleet, err := bench.RunFleet(ctx, bench.FleetConfig{Progress: os.Stderr})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench failed: the fleet:", err)
		os.Exit(1)
	}
	fmt.Println()
	fmt.Print(fleet.Table())
	fmt.Fprintf(os.Stderr, "bench: measured in %.0f s\n", time.Since(start).Seconds())
}
