package tokensecret_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret/tokensecrettest"
)

func TestGetMarginFollowsTokenLifetime(t *testing.T) {
	tests := []struct {
		name       string
		margin     time.Duration // Config.Margin
		lifetime   time.Duration
		noIssuedAt bool // the secret says nothing of when the token was issued
		wantMargin time.Duration
	}{
		{"24 h token: 5 min", 0, 24 * time.Hour, false, 5 * time.Minute},
		{"7 day token: 5 min", 0, 7 * 24 * time.Hour, false, 5 * time.Minute},
		{"1 h token: 5 min", 0, time.Hour, false, 5 * time.Minute},
		{"30 min token: 5 min", 0, 30 * time.Minute, false, 5 * time.Minute},
		{"15 min token: a sixth, 2.5 min", 0, 15 * time.Minute, false, 150 * time.Second},
		{"15 min token without issued_at: 5 min", 0, 15 * time.Minute, true, 5 * time.Minute},
		{"explicit margin on a 15 min token, as is", time.Minute, 15 * time.Minute, false, time.Minute},
		{"explicit margin on a 24 h token, as is", 20 * time.Minute, 24 * time.Hour, false, 20 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tokensecret.Config{Margin: tt.margin})
			ctx := context.Background()
			tok := tokensecrettest.NewToken(sentinel, "client-1", start, tt.lifetime)
			if tt.noIssuedAt {
				tok.IssuedAt = time.Time{}
			}
			f.sm.PutToken(tok)
			get := func(step, wantToken, which string, wantReads int) {
				t.Helper()
				got, err := f.src.Get(ctx)
				if err != nil {
					t.Fatalf("%s: Get() error = %v", step, err)
				}
				if got.AccessToken != wantToken {
					t.Errorf("%s: Get() = %v, want the %s token", step, got, which)
				}
				if n := f.sm.Reads(); n != wantReads {
					t.Errorf("%s: reads = %d, want %d", step, n, wantReads)
				}
			}

			get("first call", sentinel, "first", 1)
			// The rotator stores the next token, with more than the margin
			// left on the first.
			f.clock.Set(tok.Expiry.Add(-tt.wantMargin - time.Second))
			f.sm.PutToken(tokensecrettest.NewToken("token-2", "client-1", f.clock.Now(), tt.lifetime))
			get("a second before the margin", sentinel, "first", 1)
			f.clock.Advance(time.Second)
			get("at the margin", "token-2", "second", 2)
		})
	}
}

// TestGetShortTokenOneReadPerRotation follows 15 min tokens through a
// schedule that replaces each with 5 min left by the rotator's clock, while
// the consumer's clock runs 30 s ahead: each token is read once. (A fixed
// 5 min margin would read each one 30 s before its replacement is stored,
// then again a RetryInterval later.)
func TestGetShortTokenOneReadPerRotation(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	ctx := context.Background()
	const lifetime, left, skew, rotations = 15 * time.Minute, 5 * time.Minute, 30 * time.Second, 8
	tok := tokensecrettest.NewToken("token-0", "client-1", start, lifetime)
	f.sm.PutToken(tok)
	for i := range rotations {
		rotateAt := tok.Expiry.Add(-left + skew)
		for f.clock.Now().Before(rotateAt) { // a call a second
			got, err := f.src.Get(ctx)
			if err != nil {
				t.Fatalf("Get() error = %v", err)
			}
			if !f.clock.Now().Before(got.Expiry) {
				t.Fatalf("Get() = %v at %v, an expired token", got, f.clock.Now())
			}
			f.clock.Advance(time.Second)
		}
		tok = tokensecrettest.NewToken(fmt.Sprintf("token-%d", i+1), "client-1", f.clock.Now().Add(-skew), lifetime)
		f.sm.PutToken(tok)
	}
	if got := f.sm.Reads(); got != rotations {
		t.Errorf("reads = %d, want %d (one per token)", got, rotations)
	}
}
