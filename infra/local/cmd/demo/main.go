// Command demo is what make run runs: the whole rotation flow on this
// machine, with no AWS account, told in one screen. It starts moto_server
// and the IMS emulator, creates the two secrets, runs the real rotator
// bootstrap under the Lambda Runtime Interface Emulator, and then shows,
// one or two lines each:
//
//   - the token: the function invoked twice with the EventBridge Scheduler
//     sample event (infra/events/scheduler.json); the first run stores a
//     token, the second finds it fresh and writes nothing;
//   - native rotation: the token rotated once through Secrets Manager's
//     rotation protocol (the second engine), its four steps;
//   - client-secret rotation: the stack's client secret rotated through
//     the same four steps on the credentials secret, at the IMS emulator's
//     management calls: a secret added, tested, made current, the old one
//     retired, and the next token minted with the new one;
//   - a fleet: four integrations added with the integration command's code
//     (an IMS-like one, an Auth0-like one on a second token endpoint, an
//     Okta-like private_key_jwt one whose key is in moto_server's KMS, one
//     with credentials the provider refuses), then all forced;
//   - make status's verdict, before and after removing the failing one;
//   - a consumer: the token read through functions/tokensecret, as a
//     service reads it (masked, with the headers it would add);
//
// and ends with the next command to run. With -verbose (VERBOSE=1 make
// run) it also prints each flow's detail: the results, the stage table
// after each step, the client secrets at the emulator after each step,
// the commands' own output and make status's screens.
// No line shows an access token or a client secret. It stops everything it
// started on success, on failure and on Ctrl-C.
//
//	go run ./infra/local/cmd/demo [-verbose]
package main

import (
	"context"
	"flag"
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
	verbose := flag.Bool("verbose", false, "also print each flow's detail: results, stage tables, the commands' output, make status's screens")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	t := teller{out: os.Stdout}
	if *verbose {
		t.more = os.Stdout
	}
	err := run(ctx, t)
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

// run starts the local stack, tells the story and stops the stack.
func run(ctx context.Context, t teller) (err error) {
	st, err := startStack(ctx, t, "")
	if err != nil {
		return err
	}
	defer st.Close()
	defer func() {
		if err != nil {
			fmt.Fprintf(os.Stderr, "last lines of the function's output:\n%s\n", tail(st.Output(), 20))
		}
	}()
	return tell(ctx, t, st)
}

// startStack brings the local stack up, building into dir (empty: a
// temporary directory). It says so in two lines; with verbose, also one
// line per step.
func startStack(ctx context.Context, t teller, dir string) (*stack.Stack, error) {
	if !motoserver.Available() {
		return nil, fmt.Errorf("%s is not on PATH; %s", motoserver.Binary, motoserver.InstallHint)
	}
	t.step("starting moto_server, the IMS emulator and the rotator under the Lambda emulator (about 30 s the first time)")
	cfg := stack.Config{Dir: dir}
	if t.more != nil {
		cfg.Progress = prefixWriter{t.more, "    "}
	}
	began := time.Now()
	st, err := stack.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t.line("up in %v: secrets %s (client %s) and %s (empty)",
		since(began), stack.CredentialsSecretID, stack.ClientID, stack.TokenSecretID)
	return st, nil
}

// tell runs each flow on the started stack, then says what to do next.
func tell(ctx context.Context, t teller, st *stack.Stack) error {
	for _, flow := range []func(context.Context, teller, *stack.Stack) error{token, native, clientSecret, fleet, status, consumer} {
		if err := flow(ctx, t, st); err != nil {
			return err
		}
	}
	fmt.Fprintf(t.out, "next: make deploy (README: %s) runs the same function in your AWS account\n", deploySection)
	return nil
}

// deploySection is the top-level README's section the last line points
// at: the three deploy commands.
const deploySection = "Deploy"

// teller prints the story: one or two lines per flow (step and line) to
// out, and each flow's detail (detail, block) to more, if not nil. With
// -verbose both are standard output; a test can keep them apart.
type teller struct {
	out, more io.Writer
}

// verbose says whether the detail is shown.
func (t teller) verbose() bool { return t.more != nil }

// step starts a flow: "==> what it shows".
func (t teller) step(format string, args ...any) { fmt.Fprintf(t.out, "==> "+format+"\n", args...) }

// line says what happened, under the step.
func (t teller) line(format string, args ...any) { fmt.Fprintf(t.out, "    "+format+"\n", args...) }

// detail is a line shown only with verbose.
func (t teller) detail(format string, args ...any) {
	if t.verbose() {
		fmt.Fprintf(t.more, "    "+format+"\n", args...)
	}
}

// block shows printed text (a command's output, a screen), indented, only
// with verbose.
func (t teller) block(printed string) {
	if !t.verbose() || strings.TrimSpace(printed) == "" {
		return
	}
	for _, line := range strings.Split(strings.TrimRight(printed, "\n"), "\n") {
		t.detail("  %s", line)
	}
}

// wrapped says s over as many lines as it takes to keep each under about
// 120 characters, each indented by indent.
func (t teller) wrapped(indent, s string) {
	const width = 116
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(indent)+len(line)+1+len(word) > width {
			t.line("%s%s", indent, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		t.line("%s%s", indent, line)
	}
}

// since is the time since start, rounded for a reader.
func since(start time.Time) time.Duration { return time.Since(start).Round(100 * time.Millisecond) }

// minute is the layout of a time in a default line.
const minute = "2006-01-02T15:04Z07:00"

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// prefixWriter prints each line written to it after prefix: the stack's
// progress lines as demo steps, the consumer's log lines under its step.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		fmt.Fprintln(p.w, p.prefix+line)
	}
	return len(b), nil
}
