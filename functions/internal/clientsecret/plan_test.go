package clientsecret

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	t0       = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	switched = t0.Add(time.Hour)
)

func sec(uuid string, lastUsed time.Time) Secret {
	return Secret{UUID: uuid, CreatedAt: t0.Add(-24 * time.Hour), LastUsedAt: lastUsed}
}

var never time.Time

func TestPlan(t *testing.T) {
	cases := []struct {
		name    string
		in      CreateInput
		want    CreatePlan
		wantErr error
		errHas  []string
	}{
		{name: "one secret, current known: add",
			in:   CreateInput{Secrets: []Secret{sec("A", t0)}, Current: "A"},
			want: CreatePlan{Current: "A", Add: true}},
		{name: "one secret, current unknown: it is the current, add",
			in:   CreateInput{Secrets: []Secret{sec("A", t0)}},
			want: CreatePlan{Current: "A", Add: true}},
		{name: "one secret never used, current unknown: still the current (it just minted), add",
			in:   CreateInput{Secrets: []Secret{sec("A", never)}},
			want: CreatePlan{Current: "A", Add: true}},
		{name: "pending listed: reuse it, add nothing",
			in:   CreateInput{Secrets: []Secret{sec("A", t0), sec("B", never)}, Current: "A", Pending: "B"},
			want: CreatePlan{Current: "A", Reuse: "B"}},
		{name: "pending listed and tested: reuse it",
			in:   CreateInput{Secrets: []Secret{sec("A", t0), sec("B", t0)}, Current: "A", Pending: "B"},
			want: CreatePlan{Current: "A", Reuse: "B"}},
		{name: "pending listed, current unknown: the other is the current, reuse",
			in:   CreateInput{Secrets: []Secret{sec("A", t0), sec("B", never)}, Pending: "B"},
			want: CreatePlan{Current: "A", Reuse: "B"}},
		{name: "pending gone at the provider, one left: add again",
			in:   CreateInput{Secrets: []Secret{sec("A", t0)}, Current: "A", Pending: "B"},
			want: CreatePlan{Current: "A", Add: true}},
		{name: "pending equals current (already promoted): add",
			in:   CreateInput{Secrets: []Secret{sec("A", t0)}, Current: "A", Pending: "A"},
			want: CreatePlan{Current: "A", Add: true}},
		{name: "orphan of a lost add, never used: remove it, then add",
			in:   CreateInput{Secrets: []Secret{sec("A", t0), sec("B", never)}, Current: "A"},
			want: CreatePlan{Current: "A", Remove: []string{"B"}, Add: true}},
		{name: "orphan listed first: the current still stays",
			in:   CreateInput{Secrets: []Secret{sec("B", never), sec("A", t0)}, Current: "A"},
			want: CreatePlan{Current: "A", Remove: []string{"B"}, Add: true}},
		{name: "orphan while a stale pending names a gone uuid: remove the orphan, add",
			in:   CreateInput{Secrets: []Secret{sec("A", t0), sec("C", never)}, Current: "A", Pending: "B"},
			want: CreatePlan{Current: "A", Remove: []string{"C"}, Add: true}},
		{name: "two, neither known: refuse",
			in:      CreateInput{Secrets: []Secret{sec("A", t0), sec("B", t0)}},
			wantErr: ErrUnknownPair, errHas: []string{"set client_secret_uuid", "delete the other secret in the Adobe Developer Console", `"A"`, `"B"`}},
		{name: "two, neither known, one never used: still refuse (the never-used one may be the current)",
			in:      CreateInput{Secrets: []Secret{sec("A", t0), sec("B", never)}},
			wantErr: ErrUnknownPair},
		{name: "two, the other used (not yet retired or shared): refuse",
			in:      CreateInput{Secrets: []Secret{sec("A", t0), sec("B", t0.Add(time.Minute))}, Current: "A"},
			wantErr: ErrOtherInUse, errHas: []string{`"B"`, "2026-12-01T10:01:00Z"}},
		{name: "current uuid not listed: refuse",
			in:      CreateInput{Secrets: []Secret{sec("A", t0)}, Current: "Z"},
			wantErr: ErrCurrentNotListed, errHas: []string{`"Z"`, "set client_secret_uuid"}},
		{name: "current unknown, only the pending listed: refuse",
			in:      CreateInput{Secrets: []Secret{sec("B", never)}, Pending: "B"},
			wantErr: ErrBadListing},
		{name: "nothing listed: refuse",
			in:      CreateInput{Current: "A"},
			wantErr: ErrBadListing, errHas: []string{"org_id and credential_id"}},
		{name: "three listed: refuse",
			in:      CreateInput{Secrets: []Secret{sec("A", t0), sec("B", never), sec("C", never)}, Current: "A"},
			wantErr: ErrBadListing},
		{name: "repeated uuid: refuse",
			in:      CreateInput{Secrets: []Secret{sec("A", t0), sec("A", never)}, Current: "A"},
			wantErr: ErrBadListing},
		{name: "empty uuid: refuse",
			in:      CreateInput{Secrets: []Secret{sec("A", t0), sec("", never)}, Current: "A"},
			wantErr: ErrBadListing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Plan(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Plan() error = %v, want %v", err, tc.wantErr)
				}
				for _, s := range tc.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("Plan() error = %q, want it to contain %q", err, s)
					}
				}
				if !reflect.DeepEqual(got, CreatePlan{}) {
					t.Errorf("Plan() = %+v with an error, want the zero plan", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Plan() error = %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Plan() = %+v, want %+v", got, tc.want)
			}
			checkInvariants(t, tc.in.Secrets, got)
		})
	}
}

// checkInvariants holds every plan to the rules: the current is never
// removed, a removed secret was never used, and after the plan at most
// MaxSecrets exist.
func checkInvariants(t *testing.T, secrets []Secret, p CreatePlan) {
	t.Helper()
	for _, r := range p.Remove {
		if r == p.Current {
			t.Errorf("plan removes the current secret %q", r)
		}
		for _, s := range secrets {
			if s.UUID == r && !s.LastUsedAt.IsZero() {
				t.Errorf("plan removes %q, which was used", r)
			}
		}
	}
	n := len(secrets) - len(p.Remove)
	if p.Add {
		n++
	}
	if n > MaxSecrets {
		t.Errorf("plan leaves %d secrets, want at most %d", n, MaxSecrets)
	}
	if p.Add && p.Reuse != "" {
		t.Errorf("plan both adds and reuses")
	}
}

// TestPlanInvariantsExhaustive runs Plan over every small listing (up to
// two secrets, each never used or used) and every current and pending
// choice, and holds each answer to the invariants.
func TestPlanInvariantsExhaustive(t *testing.T) {
	uses := []time.Time{never, t0}
	var listings [][]Secret
	for _, a := range uses {
		listings = append(listings, []Secret{sec("A", a)})
		for _, b := range uses {
			listings = append(listings, []Secret{sec("A", a), sec("B", b)})
		}
	}
	n := 0
	for _, l := range listings {
		for _, cur := range []string{"", "A", "B", "Z"} {
			for _, pend := range []string{"", "A", "B", "Z"} {
				p, err := Plan(CreateInput{Secrets: l, Current: cur, Pending: pend})
				if err != nil {
					continue
				}
				n++
				t.Run(fmt.Sprintf("%v/%s/%s", uuids(l), cur, pend), func(t *testing.T) {
					checkInvariants(t, l, p)
					if cur != "" && p.Current != cur {
						t.Errorf("Plan().Current = %q, want the given %q", p.Current, cur)
					}
				})
			}
		}
	}
	if n == 0 {
		t.Fatal("no listing gave a plan")
	}
}

func TestRetire(t *testing.T) {
	cases := []struct {
		name     string
		in       RetireInput
		want     RetireDecision
		wantErr  error
		usedErr  bool
		noErrors bool
	}{
		{name: "old secret last used before the switch: remove",
			in:   RetireInput{Secrets: []Secret{sec("A", t0), sec("B", switched.Add(time.Minute))}, Current: "B", SwitchedAt: switched, Now: switched.Add(time.Hour)},
			want: RetireDecision{Remove: []string{"A"}}},
		{name: "old secret never used: remove",
			in:   RetireInput{Secrets: []Secret{sec("A", never), sec("B", t0)}, Current: "B", SwitchedAt: switched, Now: switched},
			want: RetireDecision{Remove: []string{"A"}}},
		{name: "old secret used after the switch: keep, fail loudly",
			in:      RetireInput{Secrets: []Secret{sec("A", switched.Add(time.Minute)), sec("B", t0)}, Current: "B", SwitchedAt: switched, Now: switched.Add(time.Hour)},
			want:    RetireDecision{Keep: []string{"A"}},
			usedErr: true},
		{name: "old secret used at the switch instant: keep",
			in:      RetireInput{Secrets: []Secret{sec("A", switched), sec("B", t0)}, Current: "B", SwitchedAt: switched, Now: switched.Add(time.Hour)},
			want:    RetireDecision{Keep: []string{"A"}},
			usedErr: true},
		{name: "used old secret, switch time unknown: keep",
			in:   RetireInput{Secrets: []Secret{sec("A", t0), sec("B", t0)}, Current: "B", Now: switched},
			want: RetireDecision{Keep: []string{"A"}}},
		{name: "before Settle: wait",
			in:   RetireInput{Secrets: []Secret{sec("A", t0), sec("B", t0)}, Current: "B", SwitchedAt: switched, Now: switched.Add(time.Minute), Settle: time.Hour},
			want: RetireDecision{Keep: []string{"A"}, Wait: true}, noErrors: true},
		{name: "after Settle: remove",
			in:   RetireInput{Secrets: []Secret{sec("A", t0), sec("B", t0)}, Current: "B", SwitchedAt: switched, Now: switched.Add(time.Hour), Settle: time.Hour},
			want: RetireDecision{Remove: []string{"A"}}},
		{name: "the other is pending (a rotation under way): keep, no error",
			in:   RetireInput{Secrets: []Secret{sec("A", never), sec("B", t0)}, Current: "B", Pending: "A", SwitchedAt: switched, Now: switched},
			want: RetireDecision{Keep: []string{"A"}}, noErrors: true},
		{name: "only the current: nothing to do",
			in:   RetireInput{Secrets: []Secret{sec("B", t0)}, Current: "B", SwitchedAt: switched, Now: switched},
			want: RetireDecision{}, noErrors: true},
		{name: "current unknown: refuse",
			in:      RetireInput{Secrets: []Secret{sec("A", never), sec("B", t0)}, SwitchedAt: switched, Now: switched},
			wantErr: ErrCurrentNotListed},
		{name: "current not listed: refuse",
			in:      RetireInput{Secrets: []Secret{sec("A", never), sec("B", t0)}, Current: "C", SwitchedAt: switched, Now: switched},
			wantErr: ErrCurrentNotListed},
		{name: "empty listing: refuse",
			in:      RetireInput{Current: "B", SwitchedAt: switched, Now: switched},
			wantErr: ErrBadListing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Retire(tc.in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Retire() error = %v, want %v", err, tc.wantErr)
				}
				if !reflect.DeepEqual(got, RetireDecision{}) {
					t.Errorf("Retire() = %+v with a refusal, want nothing removed", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Retire() = %+v, want %+v", got, tc.want)
			}
			var used *UsedAfterSwitchError
			if gotUsed := errors.As(err, &used); gotUsed != tc.usedErr {
				t.Errorf("Retire() error = %v, want a UsedAfterSwitchError: %v", err, tc.usedErr)
			}
			if tc.usedErr && (used.UUID != "A" || !strings.Contains(err.Error(), "another system shares the credential")) {
				t.Errorf("Retire() error = %q, want it to name \"A\" and the shared credential", err)
			}
			if tc.noErrors && err != nil {
				t.Errorf("Retire() error = %v, want none", err)
			}
			for _, r := range got.Remove {
				if r == tc.in.Current || r == tc.in.Pending {
					t.Errorf("Retire() removes %q, the current or pending secret", r)
				}
			}
		})
	}
}

func TestAddedRedactsValue(t *testing.T) {
	const sentinel = "SENTINEL-new-client-secret"
	a := Added{Secret: Secret{UUID: "u-1", CreatedAt: t0}, Value: sentinel}
	var logs strings.Builder
	slog.New(slog.NewTextHandler(&logs, nil)).Info("added", "secret", a)
	for _, out := range []string{fmt.Sprint(a), fmt.Sprintf("%v %+v %#v %s %q", a, a, a, a, a), a.String(), logs.String()} {
		if strings.Contains(out, sentinel) {
			t.Errorf("output %q shows the secret", out)
		}
		if !strings.Contains(out, "u-1") {
			t.Errorf("output %q lacks the uuid", out)
		}
	}
}
