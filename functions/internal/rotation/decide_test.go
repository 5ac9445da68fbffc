package rotation

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	want := Want{ClientID: "c", Scope: "openid", RefreshAfter: time.Hour}
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
		{"old enough", stored(23*time.Hour, 24*time.Hour), false, true, "REFRESH_AFTER"},
		{"exactly REFRESH_AFTER old", stored(time.Hour, 24*time.Hour), false, true, "REFRESH_AFTER"},
		{"expired", stored(30*time.Minute, 20*time.Minute), false, true, "expired"},
		{"close to expiry", stored(10*time.Minute, 50*time.Minute), false, true, "less than"},
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
