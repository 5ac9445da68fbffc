package npmcache

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeNPM writes a script that installs a bare package.json for the
// package named last on its command line, at installVersion, the way npm
// install --prefix would, slowly, and logs each run to the returned file.
// With fail set it prints a line and fails instead.
func fakeNPM(t *testing.T, installVersion string, fail bool) (npm, runs string) {
	t.Helper()
	dir := t.TempDir()
	npm, runs = filepath.Join(dir, "npm"), filepath.Join(dir, "runs")
	body := `for last; do :; done
name=${last%@*}
while [ "$1" != "--prefix" ]; do shift; done
mkdir -p "$2/node_modules/$name"
sleep 0.3
echo '{"name": "'"$name"'", "version": "` + installVersion + `"}' > "$2/node_modules/$name/package.json"
`
	if fail {
		body = "echo 'npm ERR! 404 Not Found'; exit 1\n"
	}
	script := "#!/bin/sh\nset -e\necho \"$@\" >> '" + runs + "'\n" + body
	if err := os.WriteFile(npm, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return npm, runs
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestInstallIsSharedAndAtomic(t *testing.T) {
	pkg := Package{Name: "@scope/some-pkg", Version: "1.2.3", Flags: []string{"--omit=dev"}}
	npm, runs := fakeNPM(t, pkg.Version, false)
	cache := filepath.Join(t.TempDir(), "not", "yet")
	ctx := context.Background()

	// Several test processes may start at once on a fresh machine.
	const n = 4
	dirs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dirs[i], errs[i] = pkg.Install(ctx, npm, cache, nil) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent Install() error = %v", err)
	}
	want := filepath.Join(cache, "scope-some-pkg@1.2.3")
	for i, d := range dirs {
		if d != want {
			t.Errorf("Install() %d = %q, want %q", i, d, want)
		}
	}
	if d := pkg.Dir(cache); d != want {
		t.Errorf("Dir() = %q, want %q", d, want)
	}
	if got := names(t, cache); len(got) != 1 || got[0] != "scope-some-pkg@1.2.3" {
		t.Errorf("cache holds %q, want only scope-some-pkg@1.2.3", got)
	}
	if _, err := os.Stat(filepath.Join(want, "node_modules", "@scope", "some-pkg", "package.json")); err != nil {
		t.Errorf("the installation has no package.json: %v", err)
	}

	b, _ := os.ReadFile(runs)
	ran := strings.Count(string(b), "\n")
	if !strings.HasPrefix(string(b), "install --prefix ") || !strings.Contains(string(b), " --no-audit --no-fund --omit=dev @scope/some-pkg@1.2.3\n") {
		t.Errorf("npm ran as %q, want install --prefix DIR --no-audit --no-fund --omit=dev @scope/some-pkg@1.2.3", b)
	}
	var progress bytes.Buffer
	if _, err := pkg.Install(ctx, npm, cache, &progress); err != nil {
		t.Fatalf("Install() once installed: error = %v", err)
	}
	b, _ = os.ReadFile(runs)
	if got := strings.Count(string(b), "\n"); got != ran {
		t.Errorf("Install() once installed ran npm again (%d runs, want %d)", got, ran)
	}
	if progress.Len() != 0 {
		t.Errorf("Install() once installed said %q, want nothing", progress.String())
	}
}

func TestInstallSaysWhatItDoes(t *testing.T) {
	pkg := Package{Name: "plain", Version: "2.0.0"}
	npm, _ := fakeNPM(t, pkg.Version, false)
	var progress bytes.Buffer
	if _, err := pkg.Install(context.Background(), npm, t.TempDir(), &progress); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(progress.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "installing plain@2.0.0 with npm into ") || !strings.HasPrefix(lines[1], "installed plain@2.0.0 in ") {
		t.Errorf("progress = %q, want an installing and an installed line", progress.String())
	}
}

func TestInstallRefusesWhatItDidNotInstall(t *testing.T) {
	pkg := Package{Name: "plain", Version: "2.0.0"}
	npm, runs := fakeNPM(t, pkg.Version, false)
	for _, tc := range []struct {
		name, manifest, want string
	}{
		{"another version", `{"version": "0.0.1"}`, `holds plain version "0.0.1", want 2.0.0 (remove it to reinstall)`},
		{"no package.json", "", "is not a complete installation of plain@2.0.0 (remove it to reinstall)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			dir := filepath.Join(pkg.Dir(cache), "node_modules", "plain")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.manifest != "" {
				if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(tc.manifest), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := pkg.Install(context.Background(), npm, cache, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Install() error = %v, want one that says %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(runs); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("npm ran over an existing folder (stat %s: %v)", runs, err)
	}
}

func TestInstallFailureShowsNPMOutput(t *testing.T) {
	pkg := Package{Name: "plain", Version: "2.0.0"}
	npm, _ := fakeNPM(t, pkg.Version, true)
	cache := t.TempDir()
	_, err := pkg.Install(context.Background(), npm, cache, nil)
	if err == nil || !strings.Contains(err.Error(), "npm install --prefix ") || !strings.Contains(err.Error(), "npm ERR! 404 Not Found") {
		t.Errorf("Install() with a failing npm: error = %v, want the command and its output", err)
	}
	if got := names(t, cache); len(got) != 0 {
		t.Errorf("a failed install left %q in the cache", got)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/somewhere/cache")
	if got, want := DefaultDir(), "/somewhere/cache/tokenrotator/npm"; got != want {
		t.Errorf("DefaultDir() = %q, want %q", got, want)
	}
}
