package oauthmock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestAtLeast(t *testing.T) {
	cases := []struct {
		version string
		want    bool
	}{
		{"v20.19.0", true},
		{"v20.20.2", true},
		{"v22.1.0", true},
		{"v20.18.3", false},
		{"v18.20.0", false},
		{"v20", false},
		{"", false},
	}
	for _, tc := range cases {
		if got := atLeast(tc.version, MinNodeVersion); got != tc.want {
			t.Errorf("atLeast(%q, %q) = %v, want %v", tc.version, MinNodeVersion, got, tc.want)
		}
	}
}

// fakeNPM writes a script that installs a bare package.json the way npm
// install --prefix would, slowly, and logs each run to the returned file.
func fakeNPM(t *testing.T) (npm, runs string) {
	t.Helper()
	dir := t.TempDir()
	npm, runs = filepath.Join(dir, "npm"), filepath.Join(dir, "runs")
	script := `#!/bin/sh
set -e
echo "$@" >> '` + runs + `'
while [ "$1" != "--prefix" ]; do shift; done
mkdir -p "$2/node_modules/` + Package + `"
sleep 0.3
echo '{"name": "` + Package + `", "version": "` + Version + `"}' > "$2/node_modules/` + Package + `/package.json"
`
	if err := os.WriteFile(npm, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return npm, runs
}

func TestInstallIsSharedAndAtomic(t *testing.T) {
	npm, runs := fakeNPM(t)
	cache := t.TempDir()
	ctx := context.Background()

	// Several test processes may start at once on a fresh machine.
	const n = 4
	paths := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { paths[i], errs[i] = install(ctx, npm, cache, nil) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent install() error = %v", err)
	}
	for i, p := range paths {
		if p != paths[0] {
			t.Errorf("install() %d = %q, want %q like the first", i, p, paths[0])
		}
	}
	if b, err := os.ReadFile(paths[0]); err != nil || string(b) != string(launcher) {
		t.Errorf("the launcher at %s does not hold launch.mjs (error %v)", paths[0], err)
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 1 || entries[0].Name() != Package+"@"+Version {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("cache holds %q, want only %s@%s", names, Package, Version)
	}

	b, _ := os.ReadFile(runs)
	ran := strings.Count(string(b), "\n")
	if !strings.Contains(string(b), "install --prefix ") || !strings.Contains(string(b), " --no-audit --no-fund "+Package+"@"+Version) {
		t.Errorf("npm ran as %q, want install --prefix DIR --no-audit --no-fund %s@%s", b, Package, Version)
	}
	if _, err := install(ctx, npm, cache, nil); err != nil {
		t.Fatalf("install() once installed: error = %v", err)
	}
	b, _ = os.ReadFile(runs)
	if got := strings.Count(string(b), "\n"); got != ran {
		t.Errorf("install() once installed ran npm again (%d runs, want %d)", got, ran)
	}
}

func TestInstallRefusesAnotherVersion(t *testing.T) {
	npm, _ := fakeNPM(t)
	cache := t.TempDir()
	dir := filepath.Join(cache, Package+"@"+Version, "node_modules", Package)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"version": "0.0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := install(context.Background(), npm, cache, nil)
	if err == nil || !strings.Contains(err.Error(), "remove it to reinstall") {
		t.Errorf("install() over version 0.0.1: error = %v, want one that says to remove it", err)
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	srv := ForTest(t, Config{})
	pid := srv.cmd.Process.Pid
	srv.Close()
	srv.Close() // a second Close is harmless
	// The process group is gone, and the process itself reaped.
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(-%d, 0) after Close = %v, want ESRCH", pid, err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("/proc/%d still exists after Close", pid)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}
