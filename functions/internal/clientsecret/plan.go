package clientsecret

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// MaxSecrets is how many secrets a client holds at most (Adobe: two). The
// decisions below never lead to more.
const MaxSecrets = 2

// Errors the decisions return, for callers that branch on them. Each is
// wrapped with the uuids concerned and what to do.
var (
	// ErrUnknownPair: two secrets exist and neither is known to be the
	// current one, so nothing may be added or removed.
	ErrUnknownPair = errors.New("two client secrets exist and neither is known to be the current one")
	// ErrCurrentNotListed: the current uuid is not among the listed secrets.
	ErrCurrentNotListed = errors.New("the current client secret's uuid is not among the credential's secrets")
	// ErrOtherInUse: besides the current secret there is one that has been
	// used, which this rotation did not add: an earlier rotation has not
	// retired it yet, or another system uses it.
	ErrOtherInUse = errors.New("another client secret besides the current one has been used")
	// ErrBadListing: the listing itself is unusable (none, more than
	// MaxSecrets, an empty or repeated uuid).
	ErrBadListing = errors.New("the provider's list of client secrets is unusable")
)

// CreateInput is what a createSecret step knows.
type CreateInput struct {
	// Secrets are the client's secrets as just listed.
	Secrets []Secret
	// Current is the uuid of the secret in AWSCURRENT (client_secret_uuid);
	// empty when unknown.
	Current string
	// Pending is the uuid of the secret in AWSPENDING; empty when there is
	// none.
	Pending string
}

// CreatePlan is what a createSecret step does, in this order: remove the
// orphans in Remove, then add one secret when Add is set, or else keep the
// pending secret Reuse.
type CreatePlan struct {
	// Current is the current secret's uuid: the one given, or, when it was
	// unknown, the only secret listed. Store it as the new version's
	// previous uuid; it is never removed.
	Current string
	// Reuse is the pending secret's uuid when it is still listed: nothing
	// is added, AWSPENDING keeps its secret.
	Reuse string
	// Remove are orphans: secrets neither current, nor pending, nor ever
	// used, left by an add whose answer or whose storing was lost.
	Remove []string
	// Add says to add one secret.
	Add bool
}

// Plan decides a createSecret step so that at most MaxSecrets exist, the
// current secret is never removed, and a secret is removed only when
// nothing can hold it: not current, not pending, never used.
//   - The pending secret still listed is reused: nothing is added.
//   - One secret listed: it is the current one (or the current uuid is
//     wrong: refused); add one.
//   - Two listed, the current known: the other is removed and one added
//     when it was never used (an orphan); refused when it was used.
//   - Two listed, neither known: refused (ErrUnknownPair), nothing added.
func Plan(in CreateInput) (CreatePlan, error) {
	if err := checkListing(in.Secrets); err != nil {
		return CreatePlan{}, err
	}
	current, pending := in.Current, in.Pending
	if pending == current {
		pending = "" // already promoted
	}
	if current != "" && !listed(in.Secrets, current) {
		return CreatePlan{}, fmt.Errorf("%w: client_secret_uuid %q, listed %s; set client_secret_uuid to the uuid of the secret in use",
			ErrCurrentNotListed, current, uuids(in.Secrets))
	}
	others := slices.DeleteFunc(slices.Clone(in.Secrets), func(s Secret) bool { return s.UUID == current })

	if pending != "" && listed(in.Secrets, pending) {
		if current == "" {
			rest := slices.DeleteFunc(slices.Clone(others), func(s Secret) bool { return s.UUID == pending })
			if len(rest) != 1 {
				return CreatePlan{}, fmt.Errorf("%w: only the pending secret %q is listed, the current one is missing", ErrBadListing, pending)
			}
			current = rest[0].UUID
		}
		return CreatePlan{Current: current, Reuse: pending}, nil
	}

	switch {
	case len(in.Secrets) == 1:
		return CreatePlan{Current: in.Secrets[0].UUID, Add: true}, nil
	case current == "":
		return CreatePlan{}, fmt.Errorf("%w: %s; set client_secret_uuid in the credentials secret to the uuid of the secret in use, "+
			"or delete the other secret in the Adobe Developer Console", ErrUnknownPair, uuids(in.Secrets))
	}
	other := others[0]
	if other.LastUsedAt.IsZero() {
		return CreatePlan{Current: current, Remove: []string{other.UUID}, Add: true}, nil
	}
	return CreatePlan{}, fmt.Errorf("%w: %q, last used %s; let the previous rotation retire it, "+
		"or delete it in the Adobe Developer Console once nothing uses it", ErrOtherInUse, other.UUID, stamp(other.LastUsedAt))
}

// RetireInput is what a step that retires the old secret knows, after
// finishSecret moved AWSCURRENT.
type RetireInput struct {
	// Secrets are the client's secrets as just listed.
	Secrets []Secret
	// Current is the uuid of the secret now in AWSCURRENT; required.
	Current string
	// Pending is the uuid of a secret in AWSPENDING (a rotation under
	// way); empty when none. It is never removed.
	Pending string
	// SwitchedAt is when AWSCURRENT moved to Current; zero when unknown,
	// which keeps every used secret.
	SwitchedAt time.Time
	// Now is the time of the decision.
	Now time.Time
	// Settle is how long after the switch the provider's last_used_at is
	// trusted: before SwitchedAt+Settle nothing used is removed (Wait).
	// Zero trusts it at once (what the code assumes of Adobe; a delay in
	// Adobe's usage records is UNCONFIRMED, and this is the knob for it).
	Settle time.Duration
}

// RetireDecision says which old secrets go.
type RetireDecision struct {
	// Remove are the secrets provably unused: neither current nor pending,
	// and never used or last used before the switch.
	Remove []string
	// Keep are the other secrets besides the current one.
	Keep []string
	// Wait is set when a used secret is kept only because the switch is
	// younger than Settle: decide again later.
	Wait bool
}

// UsedAfterSwitchError says an old secret was used after the switch:
// another system shares the credential. The secret is kept; the run must
// fail loudly.
type UsedAfterSwitchError struct {
	UUID       string
	LastUsedAt time.Time
	SwitchedAt time.Time
}

func (e *UsedAfterSwitchError) Error() string {
	return fmt.Sprintf("client secret %q was used at %s, after the switch at %s: another system shares the credential; "+
		"it is kept: move that system to the current secret, then delete %q in the Adobe Developer Console",
		e.UUID, stamp(e.LastUsedAt), stamp(e.SwitchedAt), e.UUID)
}

// Retire decides which secrets besides the current one are removed: each
// that is not pending and is never used, or last used before SwitchedAt.
// A secret used at or after the switch is kept, with a
// *UsedAfterSwitchError. The current secret is never removed; with the
// current unknown or not listed nothing is.
func Retire(in RetireInput) (RetireDecision, error) {
	if err := checkListing(in.Secrets); err != nil {
		return RetireDecision{}, err
	}
	if in.Current == "" {
		return RetireDecision{}, fmt.Errorf("%w: the current uuid is unknown, nothing can be retired", ErrCurrentNotListed)
	}
	if !listed(in.Secrets, in.Current) {
		return RetireDecision{}, fmt.Errorf("%w: %q, listed %s; nothing is retired", ErrCurrentNotListed, in.Current, uuids(in.Secrets))
	}
	var d RetireDecision
	var errs []error
	for _, s := range in.Secrets {
		switch {
		case s.UUID == in.Current:
		case s.UUID == in.Pending:
			d.Keep = append(d.Keep, s.UUID)
		case s.LastUsedAt.IsZero():
			d.Remove = append(d.Remove, s.UUID)
		case in.SwitchedAt.IsZero():
			d.Keep = append(d.Keep, s.UUID)
			errs = append(errs, fmt.Errorf("client secret %q was used at %s and the switch time is unknown: it is kept", s.UUID, stamp(s.LastUsedAt)))
		case !s.LastUsedAt.Before(in.SwitchedAt):
			d.Keep = append(d.Keep, s.UUID)
			errs = append(errs, &UsedAfterSwitchError{UUID: s.UUID, LastUsedAt: s.LastUsedAt, SwitchedAt: in.SwitchedAt})
		case in.Now.Before(in.SwitchedAt.Add(in.Settle)):
			d.Keep = append(d.Keep, s.UUID)
			d.Wait = true
		default:
			d.Remove = append(d.Remove, s.UUID)
		}
	}
	return d, errors.Join(errs...)
}

// checkListing refuses a listing no decision can rest on.
func checkListing(secrets []Secret) error {
	switch {
	case len(secrets) == 0:
		return fmt.Errorf("%w: no secret listed; check org_id and credential_id", ErrBadListing)
	case len(secrets) > MaxSecrets:
		return fmt.Errorf("%w: %d secrets listed (%s), at most %d expected", ErrBadListing, len(secrets), uuids(secrets), MaxSecrets)
	}
	seen := map[string]bool{}
	for _, s := range secrets {
		if s.UUID == "" || seen[s.UUID] {
			return fmt.Errorf("%w: an empty or repeated uuid in %s", ErrBadListing, uuids(secrets))
		}
		seen[s.UUID] = true
	}
	return nil
}

func listed(secrets []Secret, uuid string) bool {
	return slices.ContainsFunc(secrets, func(s Secret) bool { return s.UUID == uuid })
}

func uuids(secrets []Secret) string {
	out := make([]string, len(secrets))
	for i, s := range secrets {
		out[i] = fmt.Sprintf("%q", s.UUID)
	}
	return fmt.Sprintf("%v", out)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
