package tokensecret

import "time"

// marginFor returns how long before tok's expiry a Source reads the secret
// again. A configured margin (Config.Margin) is used as is. Zero means the
// default: DefaultMargin, capped at a sixth of the token's lifetime
// (expiry - issued_at) so that a short-lived token is not re-read before the
// rotator has had time to replace it. Without a usable issued_at the
// lifetime is unknown, and the margin is DefaultMargin.
func marginFor(tok Token, configured time.Duration) time.Duration {
	if configured > 0 {
		return configured
	}
	if tok.IssuedAt.IsZero() || tok.Expiry.IsZero() || !tok.IssuedAt.Before(tok.Expiry) {
		return DefaultMargin
	}
	return min(DefaultMargin, tok.Expiry.Sub(tok.IssuedAt)/6)
}
