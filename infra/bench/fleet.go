package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/rie"
)

// FleetFunctionTimeout is the rotator's timeout in template.yaml, given to
// the emulator so that a fleet run is bound as in Lambda.
const FleetFunctionTimeout = 120 * time.Second

// FleetConfig tunes RunFleet. Its zero value is what make bench runs.
type FleetConfig struct {
	// Root is the module root; empty means the one go env GOMOD names.
	Root string
	// Dir receives the binaries; empty means Root/.bench (git-ignored).
	Dir string
	// Sizes are the fleet sizes measured, smallest first; nil means 1,
	// 100 and 1,000. RSS growth is taken between the first and the last.
	Sizes []int
	// TokenDelay is how long the IMS emulator holds every token request;
	// zero means 100 ms.
	TokenDelay time.Duration
	// Seeders is how many goroutines create the secrets; zero means 1.
	// moto_server 5.2.1 is not safe for concurrent CreateSecret calls (a
	// create iterates the secrets while another adds one, and answers 500
	// "dictionary changed size during iteration"), and one at a time is
	// as fast as several: moto serves one request at a time anyway.
	Seeders int
	// Progress, if not nil, receives one line per step.
	Progress io.Writer
}

// FleetSize is one fleet's measurements: a fresh bootstrap, two normal
// runs ({}) one after the other.
type FleetSize struct {
	// Integrations is the fleet's size.
	Integrations int
	// Refresh is tick 1, where every integration refreshes (each token
	// secret holds the placeholder {}); NoOp is tick 2, right after, where
	// none does.
	Refresh, NoOp Tick
	// PeakRSS is the bootstrap's VmHWM after both ticks, in bytes.
	PeakRSS int64
}

// Tick is one measured invocation of a fleet.
type Tick struct {
	// Wall is the invocation's round trip.
	Wall time.Duration
	// Calls are the Secrets Manager calls the proxy saw; SMLatency is the
	// median time they took to answer.
	Calls     SMCalls
	SMLatency time.Duration
	// Tokens counts the requests to the token endpoint.
	Tokens int
	// Rotated, Fresh and Failed are the run's counts, from its result.
	Rotated, Fresh, Failed int
	// MaxWritesPerSecond is the most PutSecretValue calls that reached the
	// proxy within any one second.
	MaxWritesPerSecond int
}

// FleetReport is RunFleet's outcome.
type FleetReport struct {
	// Sizes holds one entry per fleet size, smallest first.
	Sizes []FleetSize
	// TokenDelay is how long each token request took to answer.
	TokenDelay time.Duration
	// Elapsed is how long RunFleet took, seeding included.
	Elapsed time.Duration
}

// RunFleet measures the rotator keeping fleets of added integrations
// fresh: for each size, a fresh bootstrap under the emulator, the
// integrations created in moto_server, then tick 1 (every integration
// refreshes) and tick 2 (none does). It stops everything it started before
// it returns.
func RunFleet(ctx context.Context, cfg FleetConfig) (*FleetReport, error) {
	start := time.Now()
	if !motoserver.Available() {
		return nil, fmt.Errorf("%s is not on PATH; %s", motoserver.Binary, motoserver.InstallHint)
	}
	if err := fleetDefaults(ctx, &cfg); err != nil {
		return nil, err
	}
	say := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "bench fleet [%5.1fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, args...)...)
		}
	}

	// A path of its own, so that the fleet's bootstrap is the only process
	// running it when its RSS is read.
	bootstrap := filepath.Join(cfg.Dir, "fleet", runtime.GOARCH, "bootstrap")
	say("building ours (%s) for linux/%s, as for the table above", OursPackage, runtime.GOARCH)
	if err := build(ctx, cfg.Root, OursPackage, bootstrap, runtime.GOARCH); err != nil {
		return nil, err
	}
	rieBin, err := rie.Build(ctx, cfg.Dir, nil)
	if err != nil {
		return nil, err
	}
	say("starting moto_server behind faultproxy, and the IMS emulator answering every token request after %v", cfg.TokenDelay)
	env, err := startFleetEnv(ctx, cfg.TokenDelay)
	if err != nil {
		return nil, err
	}
	defer env.Close()

	rep := &FleetReport{TokenDelay: cfg.TokenDelay}
	for _, n := range cfg.Sizes {
		fig, err := measureFleet(ctx, cfg, env, rieBin, bootstrap, n, say)
		if err != nil {
			return nil, fmt.Errorf("fleet of %s: %w", thousands(n), err)
		}
		rep.Sizes = append(rep.Sizes, fig)
	}
	rep.Elapsed = time.Since(start)
	say("done")
	return rep, nil
}

func fleetDefaults(ctx context.Context, cfg *FleetConfig) error {
	if cfg.Root == "" {
		root, err := rie.ModuleRoot(ctx)
		if err != nil {
			return err
		}
		cfg.Root = root
	}
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(cfg.Root, ".bench")
	}
	if cfg.Sizes == nil {
		cfg.Sizes = []int{1, 100, 1000}
	}
	if cfg.TokenDelay == 0 {
		cfg.TokenDelay = 100 * time.Millisecond
	}
	if cfg.Seeders == 0 {
		cfg.Seeders = 1
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("making the bench directory: %w", err)
	}
	return nil
}

// measureFleet measures one fleet of n: it empties moto, starts the
// bootstrap with a run that finds no integration (so that init is not in
// tick 1), creates the n integrations, runs the two ticks and reads the
// bootstrap's peak RSS.
func measureFleet(ctx context.Context, cfg FleetConfig, env *fleetEnv, rieBin, bootstrap string, n int, say func(string, ...any)) (FleetSize, error) {
	fig := FleetSize{Integrations: n}
	if err := env.moto.Reset(ctx); err != nil {
		return fig, err
	}
	emu, err := rie.Start(ctx, rie.Config{RIE: rieBin, Bootstrap: bootstrap, Env: env.functionEnv(), Timeout: FleetFunctionTimeout})
	if err != nil {
		return fig, fmt.Errorf("starting the emulator: %w", err)
	}
	defer emu.Close()
	say("fleet of %s: starting a fresh bootstrap (a run with no integration yet)", thousands(n))
	if _, err := invokeFleet(ctx, emu); err != nil {
		return fig, fmt.Errorf("warm-up run: %w", err)
	}
	pid, err := findProcess(bootstrap)
	if err != nil {
		return fig, err
	}

	say("fleet of %s: creating %s credentials and token secrets with %d goroutines", thousands(n), thousands(n), cfg.Seeders)
	if err := env.seed(ctx, n, cfg.Seeders, func(done int) {
		say("fleet of %s: created %s of %s integrations", thousands(n), thousands(done), thousands(n))
	}); err != nil {
		return fig, err
	}

	for _, t := range []struct {
		name string
		tick *Tick
	}{{"tick 1, every integration refreshes", &fig.Refresh}, {"tick 2, none refreshes", &fig.NoOp}} {
		say("fleet of %s: %s", thousands(n), t.name)
		if *t.tick, err = env.tick(ctx, emu); err != nil {
			return fig, fmt.Errorf("%s: %w", t.name, err)
		}
		say("fleet of %s: %s took %.2f s (%d rotated, %d fresh, %d failed)", thousands(n), t.name,
			t.tick.Wall.Seconds(), t.tick.Rotated, t.tick.Fresh, t.tick.Failed)
	}
	if fig.PeakRSS, err = peakRSS(pid); err != nil {
		return fig, err
	}
	return fig, nil
}

// fleetResult is the part of the rotator's result a tick reads.
type fleetResult struct {
	Counts struct {
		Rotated int `json:"rotated"`
		Fresh   int `json:"fresh"`
		Failed  int `json:"failed"`
	} `json:"counts"`
}

// invokeFleet sends a normal run ({}) to emu, bounded a little past the
// function's timeout, and decodes the result's counts.
func invokeFleet(ctx context.Context, emu *rie.Emulator) (fleetResult, error) {
	ctx, cancel := context.WithTimeout(ctx, FleetFunctionTimeout+30*time.Second)
	defer cancel()
	body, err := emu.Invoke(ctx, []byte(`{}`))
	if err != nil {
		return fleetResult{}, err
	}
	var res fleetResult
	if err := json.Unmarshal(body, &res); err != nil {
		return fleetResult{}, fmt.Errorf("decoding the rotator's result: %w", err)
	}
	return res, nil
}
