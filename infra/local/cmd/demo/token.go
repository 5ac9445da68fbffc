package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/stack"
)

// token invokes the function twice with the scheduler's sample event: the
// first run stores a token, the second finds it fresh and writes nothing.
func token(ctx context.Context, t teller, st *stack.Stack) error {
	t.step("the token: the function invoked with infra/events/%s, as EventBridge Scheduler does", event)
	first, err := st.InvokeEvent(ctx, event)
	if err != nil {
		return fmt.Errorf("first invocation: %w", err)
	}
	if !first.Rotated {
		return fmt.Errorf("first invocation: rotated = false, want true (reason %q)", first.Reason)
	}
	t.line("first run: rotated, expires %s (IMS emulator), version %s", first.Expiry.UTC().Format(minute), first.VersionID)
	t.detail("result: %s", first.Raw)
	if d, ok := st.Lambda.InitDuration(); ok {
		t.detail("function init took %v", d.Round(time.Millisecond))
	}
	if err := showToken(ctx, t, st); err != nil {
		return err
	}
	versions, err := showVersions(ctx, t, st)
	if err != nil {
		return err
	}

	requests := st.IMS.Requests()
	second, err := st.InvokeEvent(ctx, event)
	if err != nil {
		return fmt.Errorf("second invocation: %w", err)
	}
	switch {
	case second.Rotated:
		return fmt.Errorf("second invocation: rotated = true, want false")
	case st.IMS.Requests() != requests:
		return fmt.Errorf("second invocation: %d token requests, want none", st.IMS.Requests()-requests)
	}
	t.detail("result: %s", second.Raw)
	after, err := showVersions(ctx, t, st)
	if err != nil {
		return err
	}
	if len(after) != len(versions) {
		return fmt.Errorf("second invocation: %d versions, want %d", len(after), len(versions))
	}
	t.line("second run: fresh, nothing written (no token request, no new version)")
	return nil
}

// showToken shows, with verbose, the stored token with its access token
// masked.
func showToken(ctx context.Context, t teller, st *stack.Stack) error {
	tok, err := st.StoredToken(ctx)
	if err != nil {
		return err
	}
	t.detail("stored token (%s, AWSCURRENT, version %s):", stack.TokenSecretID, tok.VersionID)
	t.detail("  access_token: %s", stack.Mask(tok.AccessToken))
	t.detail("  token_type:   %s", tok.TokenType)
	t.detail("  expiry:       %s", tok.Expiry.Format(time.RFC3339))
	t.detail("  issued_at:    %s", tok.IssuedAt.Format(time.RFC3339))
	t.detail("  client_id:    %s", tok.ClientID)
	t.detail("  scope:        %s", tok.Scope)
	return nil
}

// showVersions reads the token secret's versions and shows them with
// verbose.
func showVersions(ctx context.Context, t teller, st *stack.Stack) ([]stack.Version, error) {
	versions, err := st.Versions(ctx)
	if err != nil {
		return nil, err
	}
	t.detail("versions of %s:", stack.TokenSecretID)
	for _, v := range versions {
		t.detail("  %s  %s", v.ID, strings.Join(v.Stages, ","))
	}
	return versions, nil
}
