package oauthmock

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tokenrotator/tokenrotator/infra/local/npmcache"
)

// Package and Version are what Start installs from npm. 8.2.3 is the last
// release that runs on Node.js 20; 9.x wants Node.js 22.12 or later.
const (
	Package = "oauth2-mock-server"
	Version = "8.2.3"
)

// MinNodeVersion is the oldest node that Version supports (its engines
// field says ^20.19 || ^22.12 || ^24).
const MinNodeVersion = "20.19"

// InstallHint tells a developer how to get what Start needs.
const InstallHint = "install Node.js 20 (" + MinNodeVersion + " or later) and npm"

// ErrUnavailable is wrapped by the errors Start returns when node or npm is
// missing, or node is too old: the cases in which ForTest skips.
var ErrUnavailable = errors.New("node or npm unavailable")

// installTimeout bounds one npm install.
const installTimeout = npmcache.InstallTimeout

//go:embed launch.mjs
var launcher []byte

// checkTools returns the paths of node and npm, or an error wrapping
// ErrUnavailable that says what is missing.
func checkTools(ctx context.Context) (node, npm string, err error) {
	if node, err = exec.LookPath("node"); err != nil {
		return "", "", fmt.Errorf("%w: node not found on PATH; %s", ErrUnavailable, InstallHint)
	}
	if npm, err = exec.LookPath("npm"); err != nil {
		return "", "", fmt.Errorf("%w: npm not found on PATH; %s", ErrUnavailable, InstallHint)
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return "", "", fmt.Errorf("running node --version: %w", err)
	}
	v := strings.TrimSpace(string(out))
	if !atLeast(v, MinNodeVersion) {
		return "", "", fmt.Errorf("%w: node is %s, %s@%s needs %s or later; %s", ErrUnavailable, v, Package, Version, MinNodeVersion, InstallHint)
	}
	return node, npm, nil
}

// atLeast reports whether version (such as "v20.20.2") is at least min
// (such as "20.19"), comparing major then minor.
func atLeast(version, min string) bool {
	parse := func(s string) (int, int, bool) {
		f := strings.SplitN(strings.TrimPrefix(s, "v"), ".", 3)
		if len(f) < 2 {
			return 0, 0, false
		}
		major, err1 := strconv.Atoi(f[0])
		minor, err2 := strconv.Atoi(f[1])
		return major, minor, err1 == nil && err2 == nil
	}
	vMajor, vMinor, ok := parse(version)
	mMajor, mMinor, _ := parse(min)
	return ok && (vMajor > mMajor || vMajor == mMajor && vMinor >= mMinor)
}

// defaultCacheDir is os.UserCacheDir()/tokenrotator/npm (npmcache.DefaultDir).
func defaultCacheDir() string { return npmcache.DefaultDir() }

// install makes sure Package@Version is installed under cacheDir (see
// npmcache) and returns the path of the launcher next to it. A progress
// line goes to progress, which may be nil, when npm has to run.
func install(ctx context.Context, npm, cacheDir string, progress io.Writer) (string, error) {
	dir, err := npmcache.Package{Name: Package, Version: Version}.Install(ctx, npm, cacheDir, progress)
	if err != nil {
		return "", err
	}
	return writeLauncher(dir)
}

// writeLauncher writes launch.mjs into dir, under a name that changes with
// its content, unless it is there already, and returns its path. The file
// is written whole and renamed into place, so a concurrent Start reads
// either nothing or all of it.
func writeLauncher(dir string) (string, error) {
	sum := sha256.Sum256(launcher)
	path := filepath.Join(dir, "oauthmock-launch-"+hex.EncodeToString(sum[:6])+".mjs")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	f, err := os.CreateTemp(dir, ".launch-*.mjs")
	if err != nil {
		return "", fmt.Errorf("writing the launcher: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(launcher); err != nil {
		f.Close()
		return "", fmt.Errorf("writing the launcher: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing the launcher: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return "", fmt.Errorf("writing the launcher: %w", err)
	}
	return path, nil
}

// tail returns the last n bytes of b, trimmed.
func tail(b []byte, n int) []byte {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = append([]byte("…"), b[len(b)-n:]...)
	}
	return b
}

func say(w io.Writer, line string) {
	if w != nil {
		fmt.Fprintln(w, line)
	}
}
