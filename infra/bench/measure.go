package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/rie"
)

// function is one rotator under test: its host build, environment and
// the events that make it refresh and do nothing.
type function struct {
	name      string
	bootstrap string
	env       []string
	// force makes a run fetch and write a token.
	force []byte
	// normal is a scheduled run; nil when the function has no no-op path.
	normal []byte
}

// coldStart starts a fresh emulator for f, invokes it once so that the
// bootstrap starts, and returns the init duration the emulator reports.
func coldStart(ctx context.Context, rieBin string, f function) (time.Duration, error) {
	emu, err := rie.Start(ctx, rie.Config{RIE: rieBin, Bootstrap: f.bootstrap, Env: f.env, Timeout: time.Minute})
	if err != nil {
		return 0, fmt.Errorf("cold start of %s: %w", f.name, err)
	}
	defer emu.Close()
	if _, err := emu.Invoke(ctx, f.force); err != nil {
		return 0, fmt.Errorf("cold start of %s: %w", f.name, err)
	}
	// The emulator prints INIT REPORT as init ends; allow its output a
	// moment to arrive.
	for range 50 {
		if d, ok := emu.InitDuration(); ok {
			return d, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("cold start of %s: no INIT REPORT in the emulator's output", f.name)
}

// warmRun is one measured invocation.
type warmRun struct {
	total, sm, kms, ims time.Duration
	calls               Calls
	kmsCalls            int
	rotated             bool
}

// own is the run's time less the network waits (KMS's among them).
func (r warmRun) own() time.Duration { return r.total - r.sm - r.kms - r.ims }

// invoke sends payload to emu and measures the round trip and what
// Secrets Manager and IMS saw meanwhile.
func invoke(ctx context.Context, e *localEnv, emu *rie.Emulator, payload []byte) (warmRun, error) {
	sm0, kms0, tok0 := e.snapshot()
	start := time.Now()
	body, err := emu.Invoke(ctx, payload)
	total := time.Since(start)
	if err != nil {
		return warmRun{}, err
	}
	sm1, kms1, tok1 := e.snapshot()
	sm, kms, tok := sm1.Sub(sm0), kms1.Sub(kms0), tok1.Sub(tok0)
	kmsCalls := 0
	for _, n := range kms.Calls {
		kmsCalls += n
	}
	var res struct {
		Rotated bool `json:"rotated"`
	}
	_ = json.Unmarshal(body, &res) // the reference answers null
	return warmRun{total: total, sm: sm.Busy, kms: kms.Busy, ims: tok.Busy, calls: classify(sm, tok.Calls["token"]),
		kmsCalls: kmsCalls, rotated: res.Rotated}, nil
}

// median returns the middle value of ds (the mean of the two middle ones
// for an even count); zero for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
