package stack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/rotationservice"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
)

// TestNativeRotationThroughTheBootstrap: the real bootstrap under the
// Runtime Interface Emulator takes the four steps of Secrets Manager's
// rotation protocol, and consumers then read the new version.
func TestNativeRotationThroughTheBootstrap(t *testing.T) {
	st := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := st.Invoke(ctx, []byte(`{"force": true}`)); err != nil {
		t.Fatalf("first token: %v", err)
	}
	before, err := st.StoredToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	svc := st.RotationService(func(step string, res stack.Result, err error) {
		steps = append(steps, step+": "+res.Reason)
		if err != nil {
			t.Errorf("%s: %v", step, err)
		}
	})
	rot, err := svc.Rotate(ctx, stack.TokenSecretID)
	if err != nil {
		t.Fatalf("rotation: %v (steps %q)", err, steps)
	}
	after, err := st.StoredToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.VersionID != rot.Version || after.AccessToken == before.AccessToken {
		t.Errorf("after the rotation consumers read version %s, want %s with a new token", after.VersionID, rot.Version)
	}
	stages, err := rotationservice.Stages(ctx, st.Secrets, stack.TokenSecretID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{rot.Version + ": AWSCURRENT", before.VersionID + ": AWSPREVIOUS"}
	for _, w := range want {
		if !strings.Contains(strings.Join(stages, "\n"), w) {
			t.Errorf("stages = %q, want %q among them", stages, w)
		}
	}
	if len(steps) != 4 || !strings.Contains(steps[1], "nothing to set at the provider") {
		t.Errorf("steps = %q, want the four, setSecret saying there is nothing to set", steps)
	}
	if out := st.Output(); strings.Contains(out, after.AccessToken) || strings.Contains(out, st.ClientSecret()) || strings.Contains(out, rot.RotationToken) {
		t.Errorf("the function's output holds the token, the client secret or the rotation token")
	}
}
