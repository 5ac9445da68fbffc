package rotation

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	want := Want{ClientID: "c", Scope: "openid", MinTokenAge: time.Hour}
	stored := func(issuedAgo, life time.Duration) secretstore.Current {
		return secretstore.Current{VersionID: "v1", Value: secretstore.TokenValue{
			AccessToken: "t", TokenType: "bearer", ClientID: "c", Scope: "openid",
			IssuedAt: now.Add(-issuedAgo), Expiry: now.Add(-issuedAgo + life),
		}}
	}
	other := func(f func(*secretstore.TokenValue)) secretstore.Current {
		c := stored(10*time.Minute, 24*time.Hour)
		f(&c.Value)
		return c
	}
	tests := []struct {
		name    string
		cur     secretstore.Current
		force   bool
		refresh bool
		reason  string
	}{
		{"fresh token is kept", stored(10*time.Minute, 24*time.Hour), false, false, "fresh"},
		{"force replaces a fresh token", stored(10*time.Minute, 24*time.Hour), true, true, "forced"},
		{"no value", secretstore.Current{Problem: "the token secret has no value yet"}, false, true, "no value"},
		{"old enough", stored(23*time.Hour, 24*time.Hour), false, true, "MIN_TOKEN_AGE"},
		{"exactly MIN_TOKEN_AGE old", stored(time.Hour, 24*time.Hour), false, true, "MIN_TOKEN_AGE"},
		{"expired", stored(30*time.Minute, 20*time.Minute), false, true, "expired"},
		{"1 h token, a repeat run right after", stored(time.Second, time.Hour), false, false, "replaced from 15m0s on"},
		{"1 h token, a quarter old", stored(15*time.Minute, time.Hour), false, true, "past a quarter of its 1h0m0s lifetime"},
		{"15 min token, a repeat run right after", stored(time.Second, 15*time.Minute), false, false, "fresh"},
		{"15 min token, 4 min old", stored(4*time.Minute, 15*time.Minute), false, true, "past a quarter"},
		{"24 h token, 59 min old (IMS duplicate)", stored(59*time.Minute, 24*time.Hour), false, false, "replaced from 1h0m0s on"},
		{"7 day token, 2 h old", stored(2*time.Hour, 7*24*time.Hour), false, true, "MIN_TOKEN_AGE"},
		{"other token params", other(func(v *secretstore.TokenValue) { v.TokenParams = "audience=x" }), false, true, "token parameters"},
		{"another client", other(func(v *secretstore.TokenValue) { v.ClientID = "d" }), false, true, "for client"},
		{"another scope", other(func(v *secretstore.TokenValue) { v.Scope = "openid,AdobeID" }), false, true, "scope"},
		{"issued_at far in the future", other(func(v *secretstore.TokenValue) { v.IssuedAt = now.Add(time.Hour) }), false, true, "clock skew"},
		{"issued_at slightly in the future", other(func(v *secretstore.TokenValue) { v.IssuedAt = now.Add(time.Minute) }), false, false, "fresh: 0s old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.cur, want, now, tt.force)
			if got.Refresh != tt.refresh || !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("Decide() = %+v, want Refresh %v and a reason containing %q", got, tt.refresh, tt.reason)
			}
		})
	}
}
