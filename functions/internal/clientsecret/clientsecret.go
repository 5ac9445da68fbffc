// Package clientsecret is the provider-neutral side of client-secret
// rotation: a Manager (list, add, remove a client's secrets at its
// provider; Adobe's is in the adobe subpackage) and the pure decisions of
// the rotation rules, Plan and Retire, which say what to do with the
// listed secrets so that a rotation never causes an outage, never makes a
// third secret and never loses one.
//
// A createSecret step, sketched (the rotation package wires it):
//
//	secrets, err := m.List(ctx)
//	plan, err := clientsecret.Plan(secrets, currentUUID, pendingUUID)
//	if err != nil { return err } // refuse: nothing added
//	for _, uuid := range plan.Remove { err = m.Remove(ctx, uuid) }
//	if plan.Add {
//		added, err := m.Add(ctx)
//		if errors.Is(err, clientsecret.ErrAddUnknown) { ... list again on the next try: Plan removes the orphan }
//		// store added.Value and added.UUID as AWSPENDING
//	}
//
// and, after finishSecret moved AWSCURRENT at switchedAt:
//
//	decision, err := clientsecret.Retire(secrets, currentUUID, pendingUUID, switchedAt)
//	for _, uuid := range decision.Remove { err = m.Remove(ctx, uuid) }
//	// err is a *UsedAfterSwitchError when the old secret was used after the switch
package clientsecret

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Secret is one client secret as a provider lists it: never its value.
type Secret struct {
	// UUID identifies the secret at the provider; it is the only handle
	// there is (a value cannot be matched to a uuid).
	UUID string
	// CreatedAt is when the secret was added.
	CreatedAt time.Time
	// LastUsedAt is the last time the provider saw the secret used; zero
	// when it was never used.
	LastUsedAt time.Time
	// ExpiresAt is when the secret stops working; zero when it does not
	// expire (Adobe's "PERMANENT").
	ExpiresAt time.Time
}

// Added is a secret just added, with its value: the only time a provider
// shows it. String, GoString, Format and LogValue redact the value.
type Added struct {
	Secret
	// Value is the new client secret.
	Value string
}

const redacted = "[REDACTED]"

// String describes the added secret without its value.
func (a Added) String() string {
	return fmt.Sprintf("Added{UUID: %q, CreatedAt: %s, Value: %s}", a.UUID, a.CreatedAt.UTC().Format(time.RFC3339), redacted)
}

// GoString implements fmt.GoStringer without the value, for %#v.
func (a Added) GoString() string { return a.String() }

// Format makes every fmt verb print String.
func (a Added) Format(f fmt.State, _ rune) { fmt.Fprint(f, a.String()) }

// LogValue implements slog.LogValuer without the value.
func (a Added) LogValue() slog.Value {
	return slog.GroupValue(slog.String("uuid", a.UUID), slog.Time("created_at", a.CreatedAt), slog.String("value", redacted))
}

// Manager changes a client's secrets at its provider, authenticated by the
// client's current secret. Implementations must be safe for concurrent use.
type Manager interface {
	// List returns the client's secrets.
	List(ctx context.Context) ([]Secret, error)
	// Add adds a secret and returns it with its value. It is sent at most
	// once: when its answer is lost, the error wraps ErrAddUnknown and the
	// caller lists again (Plan then removes the orphan), rather than risk
	// a second new secret.
	Add(ctx context.Context) (Added, error)
	// Remove deletes the secret with uuid. A secret already gone is not an
	// error when an earlier attempt of the same call may have removed it.
	Remove(ctx context.Context, uuid string) error
}

// ErrAddUnknown is wrapped by an Add whose outcome is unknown: the request
// may have been carried out (a lost answer, a timeout, a 5xx). List again.
var ErrAddUnknown = errors.New("the add's outcome is unknown; list the secrets again before adding")
