package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/tokenrotator/tokenrotator/infra/local/stack"
)

// status shows make status's verdict: first with legacy, whose token
// secret holds no token, so that the screen says so and the command would
// exit 1; then after make integration-remove NAME=legacy, all clear. With
// verbose it shows both screens and the remove command's output.
func status(ctx context.Context, t teller, st *stack.Stack) error {
	t.step("make status (read-only; exits 1 when a token will not outlive its next run), then make integration-remove")
	var screen bytes.Buffer
	ok, err := st.Status(ctx, &screen)
	t.block(screen.String())
	if err != nil {
		return fmt.Errorf("make status: %w", err)
	}
	if ok || !strings.Contains(screen.String(), "1 of 5 tokens expires before the next run: legacy") {
		return fmt.Errorf("make status: ok = %v, want it to fail on legacy alone", ok)
	}
	t.line("make status: %s: exits 1", verdict(screen.String()))

	t.detail("make integration-remove NAME=legacy, then make status again")
	printed, err := st.Ops(ctx, "remove", "-name", "legacy")
	t.block(printed)
	if err != nil {
		return fmt.Errorf("removing legacy: %w", err)
	}
	screen.Reset()
	ok, err = st.Status(ctx, &screen)
	t.block(screen.String())
	if err != nil || !ok {
		return fmt.Errorf("make status after removing legacy: ok = %v, %v; want every token to outlive its next run", ok, err)
	}
	t.line("make integration-remove NAME=legacy, then make status: %s: exits 0", verdict(screen.String()))
	return nil
}

// verdict is the last line of make status's screen, which sums it up.
func verdict(screen string) string {
	lines := strings.Split(strings.TrimSpace(screen), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
