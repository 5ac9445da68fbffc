package rotation

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
)

// TestRunReportsClientSecretExpiry: a token run whose credentials say when
// the client secret expires reports it in its result and as the
// integration's ClientSecretDaysLeft, whatever its outcome; an expired
// secret is still tried (the provider decides) and logged as a warning
// with its date.
func TestRunReportsClientSecretExpiry(t *testing.T) {
	for _, c := range []struct {
		name      string
		expiresAt time.Time
		fetchErr  error
		wantWarn  bool
	}{
		{name: "none said"},
		{name: "40 days left", expiresAt: now.Add(40 * 24 * time.Hour)},
		{name: "expired yesterday", expiresAt: now.Add(-24 * time.Hour), wantWarn: true},
		{name: "expired, the provider refuses", expiresAt: now.Add(-24 * time.Hour), wantWarn: true,
			fetchErr: &oauthtoken.Error{Reason: "token endpoint refused the request", StatusCode: 401, Code: "invalid_client"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			store, fetcher := goodStore(), &fakeFetcher{tok: freshToken(), err: c.fetchErr}
			store.creds.ClientSecretExpiresAt = c.expiresAt
			r, logs, m := setup(store, fetcher)
			res, err := r.Handle(context.Background(), []byte(`{"force":true}`))
			if (err != nil) != (c.fetchErr != nil) {
				t.Fatalf("Handle() error = %v, want an error: %v", err, c.fetchErr != nil)
			}
			if fetcher.calls != 1 {
				t.Errorf("token requests = %d, want 1: an expired secret is still tried", fetcher.calls)
			}
			if !res.ClientSecretExpiresAt.Equal(c.expiresAt) {
				t.Errorf("Result.ClientSecretExpiresAt = %v, want %v", res.ClientSecretExpiresAt, c.expiresAt)
			}
			b, _ := json.Marshal(res)
			if has := strings.Contains(string(b), `"client_secret_expires_at":`); has == c.expiresAt.IsZero() {
				t.Errorf("result JSON %s: client_secret_expires_at present = %v, want %v", b, has, !c.expiresAt.IsZero())
			}
			want := map[string]time.Time{}
			if !c.expiresAt.IsZero() {
				want["default"] = c.expiresAt
			}
			if fmt.Sprint(m.secretExpiry) != fmt.Sprint(want) {
				t.Errorf("client secret expiry metrics = %v, want %v", m.secretExpiry, want)
			}
			warned := strings.Contains(logs.String(), `"level":"WARN","msg":"client secret expired`)
			if warned != c.wantWarn || (warned && !strings.Contains(logs.String(), `"client_secret_expires_at":"`+c.expiresAt.Format(time.RFC3339)+`"`)) {
				t.Errorf("logs = %s, want a WARN with the date: %v", logs, c.wantWarn)
			}
			errText := ""
			if err != nil {
				errText = err.Error()
			}
			noLeak(t, logs.String(), errText, string(b))
		})
	}
}
