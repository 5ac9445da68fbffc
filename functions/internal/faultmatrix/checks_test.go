package faultmatrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// TestInvariantChecksCatchViolations keeps the matrix honest: each record
// below breaks one invariant, and the checks must say so.
func TestInvariantChecksCatchViolations(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	value := func(tok string) string {
		b, _ := json.Marshal(secretstore.TokenValue{AccessToken: tok, TokenType: "bearer", IssuedAt: now,
			Expiry: now.Add(24 * time.Hour), ClientID: clientID, Scope: scope})
		return string(b)
	}
	old := snapshot{current: "v1", versions: 1, value: value("SENTINEL-seeded-token-99")}
	issued := imsemu.Issued{AccessToken: "SENTINEL-issued-token-99"}
	good := snapshot{current: "v2", previous: "v1", versions: 2, value: value(issued.AccessToken)}
	rotatedOK := delivery{res: rotation.Result{Rotated: true, VersionID: "v2"}, before: old, after: good, issued: []imsemu.Issued{issued}, putsOut: 1}
	failedOK := delivery{err: errors.New("reading credentials secret: boom"), before: old, after: old}

	tests := []struct {
		name string
		d    delivery
		logs string
		want string
	}{
		{"partial write", func() delivery { d := rotatedOK; d.after.value = `{"access_token":"SENTINEL-issued`; return d }(), "", "no valid token"},
		{"failed run changed the secret", func() delivery { d := failedOK; d.after = good; return d }(), "", "wrote nothing changed the secret"},
		{"two writes", func() delivery { d := rotatedOK; d.putsOut = 2; return d }(), "", "2 PutSecretValue calls"},
		{"stored token is not the issued one", func() delivery {
			d := rotatedOK
			d.issued = []imsemu.Issued{{AccessToken: "other-token-000"}}
			return d
		}(), "", "not the last token issued"},
		{"past the deadline", func() delivery { d := failedOK; d.took = deadline; return d }(), "", "past its"},
		{"bare context error", func() delivery { d := failedOK; d.err = fmt.Errorf("%w", context.DeadlineExceeded); return d }(), "", "bare context error"},
		{"panic", func() delivery { d := failedOK; d.panicked = "boom"; return d }(), "", "panic: boom"},
		{"client secret in the logs", failedOK, `{"msg":"` + clientSecret + `"}`, "leaked in the logs"},
		{"issued token in an error", func() delivery { d := rotatedOK; d.err = errors.New("x " + issued.AccessToken); return d }(), "", "leaked in the delivery 1 error"},
		{"seeded token in a result", func() delivery { d := rotatedOK; d.res.Reason = "SENTINEL-seeded-token-99"; return d }(), "", "leaked in the delivery 1 result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := record{deliveries: []delivery{tt.d}, logs: tt.logs, seeded: "SENTINEL-seeded-token-99", issued: []imsemu.Issued{issued}}
			got := strings.Join(invariants(rec), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("invariants() = %q, want one containing %q", got, tt.want)
			}
			if strings.Contains(got, clientSecret) || strings.Contains(got, issued.AccessToken) {
				t.Errorf("invariants() = %q quotes secret material", got)
			}
		})
	}
	t.Run("clean records pass", func(t *testing.T) {
		for _, d := range []delivery{rotatedOK, failedOK} {
			rec := record{deliveries: []delivery{d}, seeded: "SENTINEL-seeded-token-99", issued: []imsemu.Issued{issued}}
			if got := invariants(rec); len(got) != 0 {
				t.Errorf("invariants() = %q, want none", got)
			}
		}
	})
}

func TestInOrder(t *testing.T) {
	tests := []struct {
		text, fragments string
		want            bool
	}{
		{"a b c", "a … c", true},
		{"a b c", "c … a", false},
		{"a b c", "b", true},
		{"a b c", "d", false},
	}
	for _, tt := range tests {
		if got := inOrder(tt.text, tt.fragments); got != tt.want {
			t.Errorf("inOrder(%q, %q) = %v, want %v", tt.text, tt.fragments, got, tt.want)
		}
	}
}
