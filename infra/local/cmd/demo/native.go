package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/rotationservice"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
)

// native plays one rotation of the second engine (RotationEngine
// secretsmanager): Secrets Manager's part is played by rotationservice,
// each step is an invocation of the same bootstrap, and the stage table
// is shown after each.
func native(ctx context.Context, out io.Writer, st *stack.Stack) error {
	fmt.Fprintf(out, "==> the second engine: Secrets Manager's rotation protocol on %s (a stand-in plays Secrets Manager: it stages AWSPENDING, then invokes the function once per step)\n", stack.TokenSecretID)
	before, err := st.StoredToken(ctx)
	if err != nil {
		return err
	}
	stages := func(when string) error {
		lines, err := rotationservice.Stages(ctx, st.Secrets, stack.TokenSecretID)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "    stages %s:\n", when)
		for _, l := range lines {
			fmt.Fprintf(out, "      %s\n", l)
		}
		return nil
	}
	svc := st.RotationService(func(step string, res stack.Result, err error) {
		if err != nil {
			fmt.Fprintf(out, "==> %s failed: %v\n", step, err)
			return
		}
		fmt.Fprintf(out, "==> %s: %s (%d ms)\n", step, res.Reason, res.DurationMs)
	})
	start := time.Now()
	rot, err := svc.Begin(ctx, stack.TokenSecretID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "==> rotation started: version %s staged AWSPENDING, no value yet\n", rot.Version)
	if err := stages("before createSecret"); err != nil {
		return err
	}
	for _, step := range rotationservice.Steps {
		if err := svc.Step(ctx, rot, step); err != nil {
			return fmt.Errorf("native rotation: %w", err)
		}
		if err := stages("after " + step); err != nil {
			return err
		}
	}
	after, err := st.StoredToken(ctx)
	if err != nil {
		return err
	}
	if after.VersionID != rot.Version || after.AccessToken == before.AccessToken {
		return fmt.Errorf("native rotation: consumers read version %s, want %s with a new token", after.VersionID, rot.Version)
	}
	fmt.Fprintf(out, "OK in %v: native rotation finished; consumers now read version %s (token %s, expiry %s); the version before is AWSPREVIOUS\n",
		time.Since(start).Round(10*time.Millisecond), after.VersionID, stack.Mask(after.AccessToken), after.Expiry.Format(time.RFC3339))
	// The local stack stands for a scheduler-engine stack, which the rest
	// of the demo (and make status) assumes.
	if err := svc.Disable(ctx, stack.TokenSecretID); err != nil {
		return err
	}
	fmt.Fprintln(out, "==> rotation turned off again for the rest of the demo (CancelRotateSecret), as switching back to the scheduler engine does")
	return nil
}
