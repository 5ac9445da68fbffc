package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/rotationservice"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
)

// native plays one rotation of the second engine (RotationEngine
// secretsmanager): Secrets Manager's part is played by rotationservice,
// each step is an invocation of the same bootstrap. By default it says how
// many steps ran and how often AWSCURRENT moved; with verbose, each step's
// reason and the stage table after it.
func native(ctx context.Context, t teller, st *stack.Stack) error {
	t.step("native rotation: Secrets Manager's rotation protocol, the second engine (a stand-in plays Secrets Manager)")
	before, err := st.StoredToken(ctx)
	if err != nil {
		return err
	}
	// stages shows the stage table with verbose and returns the version
	// AWSCURRENT is on.
	stages := func(when string) (string, error) {
		lines, err := rotationservice.Stages(ctx, st.Secrets, stack.TokenSecretID)
		if err != nil {
			return "", err
		}
		t.detail("stages %s:", when)
		current := ""
		for _, l := range lines {
			t.detail("  %s", l)
			if id, labels, ok := strings.Cut(l, ": "); ok && strings.Contains(labels, "AWSCURRENT") {
				current = id
			}
		}
		return current, nil
	}
	svc := st.RotationService(func(step string, res stack.Result, err error) {
		if err != nil {
			t.detail("%s failed: %v", step, err)
			return
		}
		t.detail("%s: %s (%d ms)", step, res.Reason, res.DurationMs)
	})
	start := time.Now()
	rot, err := svc.Begin(ctx, stack.TokenSecretID)
	if err != nil {
		return err
	}
	t.detail("rotation started: version %s staged AWSPENDING, no value yet", rot.Version)
	current, err := stages("before createSecret")
	if err != nil {
		return err
	}
	moves := 0
	for _, step := range rotationservice.Steps {
		if err := svc.Step(ctx, rot, step); err != nil {
			return fmt.Errorf("native rotation: %w", err)
		}
		now, err := stages("after " + step)
		if err != nil {
			return err
		}
		if now != current {
			moves++
			current = now
		}
	}
	after, err := st.StoredToken(ctx)
	if err != nil {
		return err
	}
	if after.VersionID != rot.Version || after.AccessToken == before.AccessToken || moves != 1 {
		return fmt.Errorf("native rotation: consumers read version %s, want %s with a new token; AWSCURRENT moved %d times, want once",
			after.VersionID, rot.Version, moves)
	}
	t.line("%d steps in %v, AWSCURRENT moved once: to version %s, expires %s",
		len(rotationservice.Steps), time.Since(start).Round(10*time.Millisecond), after.VersionID, after.Expiry.UTC().Format(minute))
	t.detail("consumers now read token %s; the version before is AWSPREVIOUS", stack.Mask(after.AccessToken))
	// The local stack stands for a scheduler-engine stack, which the rest
	// of the demo (and make status) assumes.
	if err := svc.Disable(ctx, stack.TokenSecretID); err != nil {
		return err
	}
	t.detail("rotation turned off again for the rest of the demo (CancelRotateSecret), as switching back to the scheduler engine does")
	return nil
}
