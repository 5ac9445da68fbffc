package faultmatrix

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
)

// concurrency bounds the cases in flight: most of a case is waiting (on
// Retry-After, backoff, hangs, the deadline), so the matrix runs them side
// by side against one moto_server, each with its own secrets, proxy and
// IMS emulator.
const concurrency = 32

// TestFaultMatrix runs every case of the list through the real wiring and
// checks its outcome, what the operator sees, and the invariants.
func TestFaultMatrix(t *testing.T) {
	moto := motoserver.ForTest(t)
	list := cases()
	records := make([]record, len(list))
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	for i, c := range list {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			records[i] = runCase(moto, i, c)
		})
	}
	wg.Wait()
	t.Logf("%d cases in %s", len(list), time.Since(start).Round(time.Millisecond))

	for i, c := range list {
		t.Run(c.name, func(t *testing.T) {
			rec := records[i]
			if rec.setupErr != nil {
				t.Fatalf("setting up the case: %v", rec.setupErr)
			}
			for _, e := range expectations(c, rec) {
				t.Error(e)
			}
			broken := invariants(rec)
			switch {
			case c.gap == "" && len(broken) > 0:
				t.Errorf("invariants broken:\n%s", strings.Join(broken, "\n"))
			case c.gap != "" && len(broken) == 0:
				t.Errorf("the gap %q no longer shows: every invariant holds; remove the mark and run with -update", c.gap)
			case c.gap != "":
				t.Logf("known gap %q; broken as expected:\n%s", c.gap, strings.Join(broken, "\n"))
			}
			if testing.Verbose() {
				t.Logf("took %s; operator sees: %s", rec.deliveries[len(rec.deliveries)-1].took.Round(time.Millisecond), seen(rec))
			}
		})
	}
}

// TestCaseNamesAreUnique keeps the table's rows and the subtests apart.
func TestCaseNamesAreUnique(t *testing.T) {
	seenNames := map[string]bool{}
	for _, c := range cases() {
		if seenNames[c.name] {
			t.Errorf("case %q appears twice", c.name)
		}
		seenNames[c.name] = true
		if len(c.want) != c.times() {
			t.Errorf("case %q: %d outcomes for %d deliveries", c.name, len(c.want), c.times())
		}
		if c.sees == "" || c.area == "" {
			t.Errorf("case %q: area and sees are required", c.name)
		}
	}
}
