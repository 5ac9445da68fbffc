package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/rie"
)

// Config tunes Run. Its zero value is what make bench runs.
type Config struct {
	// Root is the module root; empty means the one go env GOMOD names.
	Root string
	// Dir receives the binaries; empty means Root/.bench (git-ignored),
	// where the emulator's build is kept between runs.
	Dir string
	// ColdStarts is how many cold starts each rotator gets; zero means 7.
	ColdStarts int
	// WarmRuns is how many forced warm rotations each rotator gets; zero
	// means 20.
	WarmRuns int
	// Progress, if not nil, receives one line per step.
	Progress io.Writer
}

// Figures are one rotator's measurements.
type Figures struct {
	// Size and Zip are the stripped linux/arm64 bootstrap's size and the
	// size of its deflated zip, in bytes.
	Size, Zip int64
	// Inits are the cold starts' init durations; Init is their median.
	Inits []time.Duration
	Init  time.Duration
	// Total, SecretsManager, TokenEndpoint and Own are medians over the
	// forced warm runs: the invocation's round trip, the time Secrets
	// Manager and the token endpoint took to answer, and the rest.
	Total, SecretsManager, TokenEndpoint, Own time.Duration
	// PeakRSS is the bootstrap's VmHWM after the warm runs, in bytes.
	PeakRSS int64
	// Refresh counts the calls of a forced run (the most seen in any run);
	// NoOp those of a normal run with a fresh token stored, and HasNoOp
	// says whether the rotator has such a path.
	Refresh, NoOp Calls
	HasNoOp       bool
	// KMSTime is the median time KMS took to answer in the forced warm runs;
	// KMSFirst counts the KMS calls of the first run in a fresh emulator,
	// KMSWarm the most of any later run (a private_key_jwt run only).
	KMSTime           time.Duration
	KMSFirst, KMSWarm int
}

// Report is a whole make bench run.
type Report struct {
	// Ours is the rotator (functions/rotator); Reference the minimal one.
	Ours, Reference Figures
	// Signed is ours keeping a private_key_jwt integration fresh, its
	// assertions signed by a KMS key, measured in the same runs as Ours.
	Signed Figures
	// Consumer is functions/tokensecret's BenchmarkGetCached.
	Consumer GoBench
	// ColdStarts and WarmRuns are the sample counts.
	ColdStarts, WarmRuns int
	// Elapsed is how long the run took.
	Elapsed time.Duration
}

// Run measures both rotators and the consumer library. It stops everything
// it started before it returns.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	start := time.Now()
	if !motoserver.Available() {
		return nil, fmt.Errorf("%s is not on PATH; %s", motoserver.Binary, motoserver.InstallHint)
	}
	if err := defaults(ctx, &cfg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("making the bench directory: %w", err)
	}
	rep := &Report{ColdStarts: cfg.ColdStarts, WarmRuns: cfg.WarmRuns}
	say := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "bench [%5.1fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, args...)...)
		}
	}

	hosts, err := buildAll(ctx, cfg, rep, say)
	if err != nil {
		return nil, err
	}
	say("building the Runtime Interface Emulator (cached in %s)", cfg.Dir)
	rieBin, err := rie.Build(ctx, cfg.Dir, nil)
	if err != nil {
		return nil, err
	}

	say("starting moto_server behind a timing proxy, and the IMS emulator")
	env, err := startEnv(ctx)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	ours := function{name: "ours", bootstrap: hosts[0], env: env.functionEnv(oursTokenSecretID),
		force: []byte(`{"force": true}`), normal: []byte(`{}`)}
	ref := function{name: "reference", bootstrap: hosts[1], env: env.functionEnv(referenceTokenSecretID), force: []byte(`{}`)}
	// The signed run gets a copy of our bootstrap, so that each process
	// is found by its executable (findProcess).
	signedBin := filepath.Join(cfg.Dir, "signed", runtime.GOARCH, "bootstrap")
	if err := copyFile(hosts[0], signedBin); err != nil {
		return nil, err
	}
	signed := function{name: "ours with private_key_jwt", bootstrap: signedBin, env: env.signedEnv(), force: []byte(`{"force": true}`)}

	for i := range cfg.ColdStarts {
		say("cold start %d of %d, each rotator in a fresh emulator", i+1, cfg.ColdStarts)
		for _, f := range []struct {
			fn  function
			fig *Figures
		}{{ours, &rep.Ours}, {ref, &rep.Reference}} {
			d, err := coldStart(ctx, rieBin, f.fn)
			if err != nil {
				return nil, err
			}
			f.fig.Inits = append(f.fig.Inits, d)
		}
	}
	rep.Ours.Init, rep.Reference.Init = median(rep.Ours.Inits), median(rep.Reference.Inits)

	if err := measureWarm(ctx, cfg, env, rieBin, ours, ref, signed, rep, say); err != nil {
		return nil, err
	}

	say("running the consumer library's cached-path benchmark")
	if rep.Consumer, err = runGoBench(ctx, cfg.Root, "./functions/tokensecret/", "BenchmarkGetCached"); err != nil {
		return nil, err
	}
	rep.Elapsed = time.Since(start)
	say("done")
	return rep, nil
}

func defaults(ctx context.Context, cfg *Config) error {
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
	if cfg.ColdStarts == 0 {
		cfg.ColdStarts = 7
	}
	if cfg.WarmRuns == 0 {
		cfg.WarmRuns = 20
	}
	return nil
}

// buildAll builds both rotators for linux/arm64, records their sizes, and
// builds them for this host; it returns the host builds, ours first.
func buildAll(ctx context.Context, cfg Config, rep *Report, say func(string, ...any)) ([]string, error) {
	var hosts []string
	for _, b := range []struct {
		name, pkg string
		fig       *Figures
	}{{"ours", OursPackage, &rep.Ours}, {"reference", ReferencePackage, &rep.Reference}} {
		arm := filepath.Join(cfg.Dir, b.name, "arm64", "bootstrap")
		say("building %s (%s) for linux/arm64, stripped (about a minute uncached)", b.name, b.pkg)
		if err := build(ctx, cfg.Root, b.pkg, arm, "arm64"); err != nil {
			return nil, err
		}
		var err error
		if b.fig.Size, err = fileSize(arm); err != nil {
			return nil, err
		}
		if b.fig.Zip, err = zipSize(arm); err != nil {
			return nil, err
		}
		host := filepath.Join(cfg.Dir, b.name, runtime.GOARCH, "bootstrap")
		say("building %s for linux/%s, the same flags, for the emulator", b.name, runtime.GOARCH)
		if err := build(ctx, cfg.Root, b.pkg, host, runtime.GOARCH); err != nil {
			return nil, err
		}
		hosts = append(hosts, host)
	}
	return hosts, nil
}

// measureWarm runs each rotator, and ours with private_key_jwt, in one
// emulator each: a warm-up invocation, then WarmRuns forced runs,
// interleaved, then a normal run of ours (the no-op path), and reads the
// bootstraps' peak RSS.
func measureWarm(ctx context.Context, cfg Config, env *localEnv, rieBin string, ours, ref, signed function, rep *Report, say func(string, ...any)) error {
	type target struct {
		fn   function
		fig  *Figures
		emu  *rie.Emulator
		runs []warmRun
	}
	targets := []*target{{fn: ours, fig: &rep.Ours}, {fn: ref, fig: &rep.Reference}, {fn: signed, fig: &rep.Signed}}
	for _, t := range targets {
		emu, err := rie.Start(ctx, rie.Config{RIE: rieBin, Bootstrap: t.fn.bootstrap, Env: t.fn.env, Timeout: time.Minute})
		if err != nil {
			return fmt.Errorf("starting %s for the warm runs: %w", t.fn.name, err)
		}
		defer emu.Close()
		t.emu = emu
		first, err := invoke(ctx, env, emu, t.fn.force)
		if err != nil {
			return fmt.Errorf("warm-up run of %s: %w", t.fn.name, err)
		}
		t.fig.KMSFirst = first.kmsCalls
	}
	say("%d forced warm rotations each, interleaved", cfg.WarmRuns)
	for range cfg.WarmRuns {
		for _, t := range targets {
			r, err := invoke(ctx, env, t.emu, t.fn.force)
			if err != nil {
				return fmt.Errorf("forced run of %s: %w", t.fn.name, err)
			}
			t.runs = append(t.runs, r)
		}
	}
	for _, t := range targets {
		summarise(t.fig, t.runs)
	}

	say("a normal run of ours with a fresh token stored (the no-op path)")
	r, err := invoke(ctx, env, targets[0].emu, ours.normal)
	if err != nil {
		return fmt.Errorf("normal run of ours: %w", err)
	}
	if r.rotated {
		return errors.New("normal run of ours: rotated = true right after a forced run, want false")
	}
	rep.Ours.NoOp, rep.Ours.HasNoOp = r.calls, true

	say("reading the bootstraps' peak RSS (VmHWM)")
	for _, t := range targets {
		pid, err := findProcess(t.fn.bootstrap)
		if err != nil {
			return err
		}
		if t.fig.PeakRSS, err = peakRSS(pid); err != nil {
			return err
		}
	}
	return nil
}

// summarise sets fig's latency medians and refresh calls from runs.
func summarise(fig *Figures, runs []warmRun) {
	var total, sm, kms, ims, own []time.Duration
	for _, r := range runs {
		total, sm, kms, ims, own = append(total, r.total), append(sm, r.sm), append(kms, r.kms), append(ims, r.ims), append(own, r.own())
		fig.Refresh = maxCalls(fig.Refresh, r.calls)
		fig.KMSWarm = max(fig.KMSWarm, r.kmsCalls)
	}
	fig.Total, fig.SecretsManager, fig.TokenEndpoint, fig.Own = median(total), median(sm), median(ims), median(own)
	fig.KMSTime = median(kms)
}

func maxCalls(a, b Calls) Calls {
	return Calls{Reads: max(a.Reads, b.Reads), Writes: max(a.Writes, b.Writes), Other: max(a.Other, b.Other), Tokens: max(a.Tokens, b.Tokens)}
}

// copyFile copies the executable src to dst, making dst's directory.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("making %s: %w", filepath.Dir(dst), err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return nil
}
