package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/rie"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
)

// environments is how many execution environments the overlap test runs at
// once: what Lambda would do without the template's reserved concurrency.
const environments = 4

// run is one invocation's outcome.
type run struct {
	res  stack.Result
	err  error
	took time.Duration
}

// TestOverlappingRuns invokes the same function in several execution
// environments at once, all against one moto_server and one IMS emulator.
// Without a lock each run decides on its own, so several may fetch and
// write; what must hold is that every run succeeds or fails clearly, that
// each successful write is one complete version, and that the final
// AWSCURRENT is a valid token IMS issued.
func TestOverlappingRuns(t *testing.T) {
	cases := []struct {
		name  string
		event string
		// forced runs must all rotate; a scheduled run on an empty secret
		// rotates unless it reads a token another run stored first.
		forced bool
	}{
		{name: "forced", event: "force.json", forced: true},
		{name: "scheduled on an empty secret", event: "scheduler.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := startStack(t)
			envs := startEnvironments(t, st, environments)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			payload, err := st.Event(tc.event)
			if err != nil {
				t.Fatal(err)
			}

			before := time.Now()
			runs := invokeAtOnce(ctx, envs, payload)
			wall := time.Since(before)

			var ok []stack.Result
			for i, r := range runs {
				var fe *rie.FunctionError
				switch {
				case r.err == nil:
					ok = append(ok, r.res)
				case errors.As(r.err, &fe) && fe.Message != "":
					// A clear failure: the function's own error message.
					t.Logf("run %d failed after %v: %s", i+1, r.took.Round(time.Millisecond), fe.Message)
				default:
					t.Errorf("run %d: error = %v, want a result or a *rie.FunctionError with a message", i+1, r.err)
				}
			}
			if !tc.forced && len(ok) != len(runs) {
				t.Fatalf("scheduled runs: %d of %d succeeded, want all", len(ok), len(runs))
			}
			if len(ok) == 0 {
				t.Fatalf("no run succeeded, want at least one")
			}

			rotated := 0
			written := map[string]bool{}
			var found []string // versions that runs which did not rotate found
			for i, res := range ok {
				if !res.Rotated {
					if tc.forced {
						t.Errorf("forced run %d: rotated = false, want true", i+1)
					}
					found = append(found, res.VersionID)
					continue
				}
				rotated++
				if written[res.VersionID] {
					t.Errorf("two runs report version %s, want one version per write", res.VersionID)
				}
				written[res.VersionID] = true
			}
			for _, id := range found {
				if !written[id] {
					t.Errorf("a run that did not rotate reports version %q, want one another run wrote", id)
				}
			}
			issued := st.IMS.Issued()
			t.Logf("%s: %d runs at once in %v: %d succeeded, %d rotated (fetched and wrote), %d token requests, %d tokens issued",
				tc.name, len(runs), wall.Round(time.Millisecond), len(ok), rotated, st.IMS.Requests(), len(issued))

			versions, err := st.Versions(ctx)
			if err != nil {
				t.Fatalf("Versions() error = %v", err)
			}
			if got, want := len(versions), rotated; got != want {
				t.Errorf("versions = %d, want %d (one per run that rotated)", got, want)
			}
			for _, v := range versions {
				if !written[v.ID] {
					t.Errorf("version %s (stages %v) is no run's write", v.ID, v.Stages)
				}
			}
			if got, want := len(issued), rotated; got < want {
				t.Errorf("tokens issued = %d, want at least %d", got, want)
			}
			if !tc.forced {
				if got, want := st.IMS.Requests(), rotated; got != want {
					t.Errorf("token requests = %d, want %d (one per run that rotated, none for the others)", got, want)
				}
			}

			checkFinalState(t, st, versions, issued, before)

			// The function itself finds the final state fresh.
			res, err := st.InvokeEvent(ctx, "scheduler.json")
			if err != nil {
				t.Fatalf("scheduled run after the overlap: error = %v", err)
			}
			if res.Rotated {
				t.Errorf("scheduled run after the overlap: rotated = true, want false (reason %q)", res.Reason)
			}

			checkNoSecretsAnywhere(t, st, envs, st.IMS.Issued())
		})
	}
}

// TestDuplicateDelivery delivers the same scheduler event twice in a row, as
// Lambda may: the second delivery finds a fresh token and does nothing,
// whether it lands in the same execution environment or another one.
func TestDuplicateDelivery(t *testing.T) {
	cases := []struct {
		name string
		// another delivers the second event to a second environment.
		another bool
	}{
		{name: "same environment"},
		{name: "another environment", another: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := startStack(t)
			envs := []*rie.Emulator{st.Lambda}
			second := st.Lambda
			if tc.another {
				envs = startEnvironments(t, st, 2)
				second = envs[1]
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			payload, err := st.Event("scheduler.json")
			if err != nil {
				t.Fatal(err)
			}

			first, err := st.Invoke(ctx, payload)
			if err != nil {
				t.Fatalf("first delivery: error = %v", err)
			}
			if !first.Rotated {
				t.Errorf("first delivery: rotated = false, want true (reason %q)", first.Reason)
			}
			again, err := invoke(ctx, second, payload)
			if err != nil {
				t.Fatalf("second delivery: error = %v", err)
			}
			if again.Rotated {
				t.Errorf("second delivery: rotated = true, want false (reason %q)", again.Reason)
			}
			if got, want := again.VersionID, first.VersionID; got != want {
				t.Errorf("second delivery: version_id = %q, want %q", got, want)
			}
			if got, want := st.IMS.Requests(), 1; got != want {
				t.Errorf("token requests = %d, want %d", got, want)
			}
			versions, err := st.Versions(ctx)
			if err != nil {
				t.Fatalf("Versions() error = %v", err)
			}
			if got, want := len(versions), 1; got != want {
				t.Errorf("versions = %d, want %d", got, want)
			}
			checkNoSecretsAnywhere(t, st, envs, st.IMS.Issued())
		})
	}
}

// startEnvironments returns n execution environments of the stack's
// function: its own emulator and n-1 more, closed at cleanup (before the
// stack, so that startStack's check for leftover processes covers them).
func startEnvironments(t *testing.T, st *stack.Stack, n int) []*rie.Emulator {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	more, err := st.StartEmulators(ctx, n-1)
	if err != nil {
		t.Fatalf("StartEmulators(%d) error = %v", n-1, err)
	}
	t.Cleanup(func() {
		for _, e := range more {
			e.Close()
		}
	})
	return append([]*rie.Emulator{st.Lambda}, more...)
}

// invokeAtOnce invokes every environment with payload, releasing all the
// invocations together, and returns their outcomes in order.
func invokeAtOnce(ctx context.Context, envs []*rie.Emulator, payload []byte) []run {
	runs := make([]run, len(envs))
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i, e := range envs {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-start
			t0 := time.Now()
			runs[i].res, runs[i].err = invoke(ctx, e, payload)
			runs[i].took = time.Since(t0)
		})
	}
	ready.Wait()
	close(start)
	done.Wait()
	return runs
}

// invoke is Stack.Invoke for any of the environments.
func invoke(ctx context.Context, e *rie.Emulator, payload []byte) (stack.Result, error) {
	body, err := e.Invoke(ctx, payload)
	if err != nil {
		return stack.Result{}, err
	}
	var res stack.Result
	if err := json.Unmarshal(body, &res); err != nil {
		return stack.Result{}, fmt.Errorf("decoding the function's result %.200q: %w", body, err)
	}
	res.Raw = body
	return res, nil
}

// checkFinalState checks that exactly one version is AWSCURRENT and holds a
// complete token IMS issued, and that AWSPREVIOUS, when there are two
// versions or more, is another such token written no later.
func checkFinalState(t *testing.T, st *stack.Stack, versions []stack.Version, issued []imsemu.Issued, before time.Time) {
	t.Helper()
	ctx := context.Background()
	staged := map[string][]string{}
	for _, v := range versions {
		for _, s := range v.Stages {
			staged[s] = append(staged[s], v.ID)
		}
	}
	if got := len(staged["AWSCURRENT"]); got != 1 {
		t.Fatalf("versions labelled AWSCURRENT = %d, want 1", got)
	}
	if got, want := len(staged["AWSPREVIOUS"]), min(len(versions)-1, 1); got != want {
		t.Errorf("versions labelled AWSPREVIOUS = %d, want %d", got, want)
	}

	current, err := st.StoredToken(ctx)
	if err != nil {
		t.Fatalf("StoredToken() error = %v", err)
	}
	i := issuedIndex(issued, current.AccessToken)
	if i < 0 {
		t.Fatalf("AWSCURRENT (version %s) holds %s, want one of the %d tokens IMS issued", current.VersionID, stack.Mask(current.AccessToken), len(issued))
	}
	checkToken(t, current, issued[i], before)
	if len(versions) < 2 {
		return
	}

	previous, err := st.TokenVersion(ctx, "", "AWSPREVIOUS")
	if err != nil {
		t.Fatalf("TokenVersion(AWSPREVIOUS) error = %v", err)
	}
	j := issuedIndex(issued, previous.AccessToken)
	if j < 0 {
		t.Fatalf("AWSPREVIOUS (version %s) holds %s, want one of the %d tokens IMS issued", previous.VersionID, stack.Mask(previous.AccessToken), len(issued))
	}
	checkToken(t, previous, issued[j], before)
	if previous.VersionID == current.VersionID || j == i {
		t.Errorf("AWSPREVIOUS is version %s (token %d), want another version and token than AWSCURRENT's %s (token %d)",
			previous.VersionID, j+1, current.VersionID, i+1)
	}
	created := map[string]time.Time{}
	for _, v := range versions {
		created[v.ID] = v.Created
	}
	if created[previous.VersionID].After(created[current.VersionID]) {
		t.Errorf("AWSPREVIOUS written at %v, want no later than AWSCURRENT at %v", created[previous.VersionID], created[current.VersionID])
	}
}

// issuedIndex returns the index of the issued token equal to access, or -1.
func issuedIndex(issued []imsemu.Issued, access string) int {
	if access == "" {
		return -1
	}
	return slices.IndexFunc(issued, func(i imsemu.Issued) bool { return i.AccessToken == access })
}

// checkNoSecretsAnywhere fails when a line of any environment's output
// holds the client secret or an issued token.
func checkNoSecretsAnywhere(t *testing.T, st *stack.Stack, envs []*rie.Emulator, issued []imsemu.Issued) {
	t.Helper()
	sentinels := map[string]string{"the client secret": st.ClientSecret()}
	for i, tok := range issued {
		sentinels[fmt.Sprintf("issued token %d", i+1)] = tok.AccessToken
	}
	for k, e := range envs {
		out := e.Output()
		if out == "" {
			t.Errorf("environment %d: the function's output is empty, want its log lines", k+1)
		}
		for n, line := range strings.Split(out, "\n") {
			for what, s := range sentinels {
				if s != "" && strings.Contains(line, s) {
					t.Errorf("environment %d: output line %d holds %s", k+1, n+1, what)
				}
			}
		}
	}
}
