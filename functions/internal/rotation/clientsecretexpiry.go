package rotation

import (
	"context"
	"log/slog"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// clientSecretExpiry returns when t's client secret expires, as its
// credentials say (zero when they say nothing), and reports it: the
// integration's ClientSecretDaysLeft metric, and a warning when it has
// expired. An expired secret is still sent: the provider decides, and a
// date set by hand may be wrong.
func (r *Rotator) clientSecretExpiry(ctx context.Context, t target, creds secretstore.Credentials, log *slog.Logger) time.Time {
	at := creds.ClientSecretExpiresAt
	if at.IsZero() {
		return at
	}
	if r.cfg.Metrics != nil && t.name != "" {
		r.cfg.Metrics.ClientSecretExpiry(t.name, at)
	}
	if !r.cfg.Now().Before(at) {
		log.WarnContext(ctx, "client secret expired, per the credentials secret; trying it anyway, the provider decides",
			"client_secret_expires_at", at.Format(time.RFC3339))
	}
	return at
}
