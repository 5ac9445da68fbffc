package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/tokenrotator/tokenrotator/infra/local/stack"
)

// status ends the demo with make status's screen: first with legacy, whose
// token secret holds no token, so that the screen says so and the command
// would exit 1; then after make integration-remove NAME=legacy, all clear.
func status(ctx context.Context, out io.Writer, st *stack.Stack) error {
	fmt.Fprintln(out, "==> make status: one screen for the whole stack (read-only; exits 1 when a token will not outlive its next run)")
	var screen bytes.Buffer
	ok, err := st.Status(ctx, &screen)
	indent(out, screen.String())
	if err != nil {
		return fmt.Errorf("make status: %w", err)
	}
	if ok || !strings.Contains(screen.String(), "1 of 4 tokens expires before the next run: legacy") {
		return fmt.Errorf("make status: ok = %v, want it to fail on legacy alone", ok)
	}
	fmt.Fprintln(out, "    (make status exits 1: legacy has no token)")

	fmt.Fprintln(out, "==> make integration-remove NAME=legacy, then make status again")
	printed, err := st.Ops(ctx, "remove", "-name", "legacy")
	indent(out, printed)
	if err != nil {
		return fmt.Errorf("removing legacy: %w", err)
	}
	screen.Reset()
	ok, err = st.Status(ctx, &screen)
	indent(out, screen.String())
	if err != nil || !ok {
		return fmt.Errorf("make status after removing legacy: ok = %v, %v; want every token to outlive its next run", ok, err)
	}
	fmt.Fprintln(out, "OK status: every token outlives its next run (make status exits 0)")
	return nil
}
