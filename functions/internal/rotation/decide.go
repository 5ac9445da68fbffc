package rotation

import (
	"fmt"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// ExpiryMargin: a stored token with less than this left is replaced on a
// normal run, whatever REFRESH_AFTER says.
const ExpiryMargin = time.Hour

// MaxSkew is how far in the future a stored issued_at may lie before the
// value is taken for a clock error and replaced.
const MaxSkew = 5 * time.Minute

// Decision is the outcome of Decide.
type Decision struct {
	// Refresh says whether to fetch and store a new token.
	Refresh bool
	// Reason says why, for the log and the result.
	Reason string
}

// Want is what a normal run needs the stored token to match.
type Want struct {
	ClientID     string
	Scope        string
	RefreshAfter time.Duration
}

// Decide says whether a run replaces the stored token. A forced run always
// does; a normal run does when the stored value is no usable token, is for
// another client or scope, has expired or will within ExpiryMargin, claims
// an issued_at more than MaxSkew ahead, or is at least RefreshAfter old.
func Decide(cur secretstore.Current, want Want, now time.Time, force bool) Decision {
	v := cur.Value
	switch {
	case force:
		return Decision{true, "forced"}
	case cur.Problem != "":
		return Decision{true, cur.Problem}
	case v.ClientID != want.ClientID:
		return Decision{true, fmt.Sprintf("the stored token is for client %q, the credentials are for %q", v.ClientID, want.ClientID)}
	case v.Scope != want.Scope:
		return Decision{true, fmt.Sprintf("the stored token has scope %q, SCOPE is %q", v.Scope, want.Scope)}
	case !now.Before(v.Expiry):
		return Decision{true, fmt.Sprintf("the stored token expired at %s", v.Expiry.UTC().Format(time.RFC3339))}
	case v.IssuedAt.After(now.Add(MaxSkew)):
		return Decision{true, fmt.Sprintf("the stored issued_at %s is more than %s in the future (clock skew)", v.IssuedAt.UTC().Format(time.RFC3339), MaxSkew)}
	case v.Expiry.Sub(now) < ExpiryMargin:
		return Decision{true, fmt.Sprintf("the stored token expires in %s, less than %s", v.Expiry.Sub(now).Round(time.Second), ExpiryMargin)}
	case now.Sub(v.IssuedAt) >= want.RefreshAfter:
		return Decision{true, fmt.Sprintf("the stored token is %s old, REFRESH_AFTER is %s", now.Sub(v.IssuedAt).Round(time.Second), want.RefreshAfter)}
	}
	return Decision{false, fmt.Sprintf("the stored token is fresh: %s old (REFRESH_AFTER %s), expires in %s",
		max(now.Sub(v.IssuedAt), 0).Round(time.Second), want.RefreshAfter, v.Expiry.Sub(now).Round(time.Second))}
}
