// Command demo is what make run runs: the whole rotation flow on this
// machine, with no AWS account. It starts moto_server and the IMS
// emulator, creates the two secrets, runs the real rotator bootstrap under
// the Lambda Runtime Interface Emulator, invokes it twice with the
// EventBridge Scheduler sample event (infra/events/scheduler.json), and
// shows the stored token with its access token masked. Then it rotates the
// token once through Secrets Manager's rotation protocol (the second
// engine), showing the stage table after each step. Then it adds a fleet
// of three integrations with the integration command's code (an IMS-like
// one, an Auth0-like one on a second token endpoint, one with credentials
// the provider refuses), forces them all and shows each one's outcome. It
// ends with make status's screen, before and after removing the failing
// integration. It
// stops everything it started on success, on failure and on Ctrl-C.
//
//	go run ./infra/local/cmd/demo
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
)

// event is the sample event the demo sends.
const event = "scheduler.json"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout)
	interrupted := ctx.Err() != nil // before stop, which cancels ctx
	stop()
	if err != nil {
		if interrupted {
			fmt.Fprintln(os.Stderr, "demo: interrupted; everything it started is stopped")
		} else {
			fmt.Fprintln(os.Stderr, "demo failed:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) (err error) {
	start := time.Now()
	step := func(format string, args ...any) { fmt.Fprintf(out, "==> "+format+"\n", args...) }
	if !motoserver.Available() {
		return fmt.Errorf("%s is not on PATH; %s", motoserver.Binary, motoserver.InstallHint)
	}
	st, err := stack.Start(ctx, stack.Config{Progress: prefixWriter{out}})
	if err != nil {
		return err
	}
	defer st.Close()
	defer func() {
		if err != nil {
			fmt.Fprintf(os.Stderr, "last lines of the function's output:\n%s\n", tail(st.Output(), 20))
		}
	}()

	step("invoking the function with infra/events/%s (first run: no token stored yet)", event)
	first, err := st.InvokeEvent(ctx, event)
	if err != nil {
		return fmt.Errorf("first invocation: %w", err)
	}
	fmt.Fprintf(out, "    result: %s\n", first.Raw)
	if d, ok := st.Lambda.InitDuration(); ok {
		step("function init took %v", d.Round(time.Millisecond))
	}
	if !first.Rotated {
		return fmt.Errorf("first invocation: rotated = false, want true (reason %q)", first.Reason)
	}
	if err := showToken(ctx, out, st); err != nil {
		return err
	}
	versions, err := showVersions(ctx, out, st)
	if err != nil {
		return err
	}

	requests := st.IMS.Requests()
	step("invoking again with the same event: the stored token is fresh, so nothing should change")
	second, err := st.InvokeEvent(ctx, event)
	if err != nil {
		return fmt.Errorf("second invocation: %w", err)
	}
	fmt.Fprintf(out, "    result: %s\n", second.Raw)
	after, err := showVersions(ctx, out, st)
	if err != nil {
		return err
	}
	switch {
	case second.Rotated:
		return fmt.Errorf("second invocation: rotated = true, want false")
	case st.IMS.Requests() != requests:
		return fmt.Errorf("second invocation: %d token requests, want none", st.IMS.Requests()-requests)
	case len(after) != len(versions):
		return fmt.Errorf("second invocation: %d versions, want %d", len(after), len(versions))
	}
	fmt.Fprintf(out, "OK in %v: first run stored a token (version %s, expiry %s); second run was a no-op (rotated=false, %d version, %d IMS request in all)\n",
		time.Since(start).Round(100*time.Millisecond), first.VersionID, first.Expiry.Format(time.RFC3339), len(after), st.IMS.Requests())
	if err := native(ctx, out, st); err != nil {
		return err
	}
	if err := fleet(ctx, out, st); err != nil {
		return err
	}
	return status(ctx, out, st)
}

func showToken(ctx context.Context, out io.Writer, st *stack.Stack) error {
	tok, err := st.StoredToken(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "==> stored token (%s, AWSCURRENT, version %s):\n", stack.TokenSecretID, tok.VersionID)
	fmt.Fprintf(out, "    access_token: %s\n    token_type:   %s\n    expiry:       %s\n    issued_at:    %s\n    client_id:    %s\n    scope:        %s\n",
		stack.Mask(tok.AccessToken), tok.TokenType, tok.Expiry.Format(time.RFC3339), tok.IssuedAt.Format(time.RFC3339), tok.ClientID, tok.Scope)
	return nil
}

func showVersions(ctx context.Context, out io.Writer, st *stack.Stack) ([]stack.Version, error) {
	versions, err := st.Versions(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "==> versions of %s:\n", stack.TokenSecretID)
	for _, v := range versions {
		fmt.Fprintf(out, "    %s  %s\n", v.ID, strings.Join(v.Stages, ","))
	}
	return versions, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// prefixWriter prints the stack's progress lines as demo steps.
type prefixWriter struct{ w io.Writer }

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		fmt.Fprintln(p.w, "==> "+line)
	}
	return len(b), nil
}
