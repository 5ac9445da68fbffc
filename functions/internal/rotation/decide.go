package rotation

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// LifetimeShare is the share of a token's lifetime after which a normal run
// replaces it, when that comes before MIN_TOKEN_AGE: a quarter, so that a
// 24-hour token keeps MIN_TOKEN_AGE's 1 hour and a 20-minute token is
// replaced from 5m0s on. Whatever the lifetime, a run right after a
// rotation finds the token young and asks the provider for nothing.
const LifetimeShare = 4

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
	ClientID string
	Scope    string
	// TokenParams is config.Provider.TokenParams, in its canonical form.
	TokenParams string
	MinTokenAge time.Duration
	// Spread, from 0 to 1/SpreadShare, makes the token due that share of
	// its refresh age sooner; see spread.
	Spread float64
}

// SpreadShare bounds Want.Spread: an added integration falls due up to a
// quarter of its refresh age early.
const SpreadShare = 4

// spread is an added integration's Want.Spread, fixed by its name: tokens
// written together (a fleet's first run, a forced run) fall due at
// different times, so that, whenever the schedule fires more often than
// tokens fall due, they are not all due on the same tick again. The
// environment's own integration keeps its exact refresh age.
func spread(name string) float64 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return float64(h.Sum32()%1000) / 1000 / SpreadShare
}

// RefreshAge is the age from which a normal run replaces a token that
// lives life: refreshAfter, or life/LifetimeShare when that is shorter.
func RefreshAge(life, refreshAfter time.Duration) time.Duration {
	return min(refreshAfter, life/LifetimeShare)
}

// Decide says whether a run replaces the stored token. A forced run always
// does; a normal run does when the stored value is no usable token, is for
// another client, scope or token parameters, has expired, claims an
// issued_at more than MaxSkew ahead, or is at least RefreshAge old, less
// Want.Spread of it.
func Decide(cur secretstore.Current, want Want, now time.Time, force bool) Decision {
	v := cur.Value
	life := v.Expiry.Sub(v.IssuedAt)
	age := now.Sub(v.IssuedAt)
	due := dueAge(life, want)
	switch {
	case force:
		return Decision{true, "forced"}
	case cur.Problem != "":
		return Decision{true, cur.Problem}
	case v.ClientID != want.ClientID:
		return Decision{true, fmt.Sprintf("the stored token is for client %q, the credentials are for %q", v.ClientID, want.ClientID)}
	case v.Scope != want.Scope:
		return Decision{true, fmt.Sprintf("the stored token has scope %q, SCOPE is %q", v.Scope, want.Scope)}
	case v.TokenParams != want.TokenParams:
		return Decision{true, fmt.Sprintf("the stored token was made with token parameters %q, TOKEN_PARAMS is %q", v.TokenParams, want.TokenParams)}
	case !now.Before(v.Expiry):
		return Decision{true, fmt.Sprintf("the stored token expired at %s", v.Expiry.UTC().Format(time.RFC3339))}
	case v.IssuedAt.After(now.Add(MaxSkew)):
		return Decision{true, fmt.Sprintf("the stored issued_at %s is more than %s in the future (clock skew)", v.IssuedAt.UTC().Format(time.RFC3339), MaxSkew)}
	case age >= due && RefreshAge(life, want.MinTokenAge) == want.MinTokenAge:
		return Decision{true, fmt.Sprintf("the stored token is %s old, MIN_TOKEN_AGE is %s%s", age.Round(time.Second), want.MinTokenAge, spreadNote(want))}
	case age >= due:
		return Decision{true, fmt.Sprintf("the stored token is %s old, past a quarter of its %s lifetime%s", age.Round(time.Second), life.Round(time.Second), spreadNote(want))}
	}
	return Decision{false, fmt.Sprintf("the stored token is fresh: %s old (replaced from %s on), expires in %s",
		max(age, 0).Round(time.Second), due.Round(time.Second), v.Expiry.Sub(now).Round(time.Second))}
}

// dueAge is the age from which a normal run replaces a token that lives
// life: RefreshAge, less the integration's spread.
func dueAge(life time.Duration, want Want) time.Duration {
	return time.Duration(float64(RefreshAge(life, want.MinTokenAge)) * (1 - want.Spread))
}

func spreadNote(want Want) string {
	if want.Spread == 0 {
		return ""
	}
	return fmt.Sprintf(" (due %.1f%% early, this integration's spread)", want.Spread*100)
}
