// Package npmcache installs a pinned npm package, once, into a cache
// directory outside the repository, and reuses it afterwards: the way
// infra/local/oauthmock gets oauth2-mock-server and infra/readmecode gets
// the AWS SDK for the Node.js consumer block (functions/tokensecret/README.md).
//
//	pkg := npmcache.Package{Name: "oauth2-mock-server", Version: "8.2.3"}
//	dir, err := pkg.Install(ctx, npm, npmcache.DefaultDir(), os.Stderr)
//	// dir/node_modules/oauth2-mock-server is version 8.2.3
//
// The installation of Name@Version goes to DefaultDir()/Name@Version (a
// scope's @ dropped and its / made a -, so
// @aws-sdk/client-secrets-manager@3.1162.0 is in
// aws-sdk-client-secrets-manager@3.1162.0). npm runs only when that folder
// is missing, into a temporary sibling that is renamed into place when
// complete, so that test processes that start at the same moment never see
// half an installation: each may run npm, the first rename wins and the
// others drop theirs. A folder that holds another version, or no
// package.json, is an error that says to remove it; Install never deletes
// one.
//
// Finding node and npm, and deciding whether a missing one skips a test,
// is left to the callers, whose hints and version rules differ.
package npmcache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// InstallTimeout bounds one npm install.
const InstallTimeout = 5 * time.Minute

// DefaultDir is os.UserCacheDir()/tokenrotator/npm, or tokenrotator/npm
// under the temporary directory when there is no user cache directory.
func DefaultDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "tokenrotator", "npm")
}

// Package is one npm package at a pinned version.
type Package struct {
	Name    string   // such as "oauth2-mock-server" or "@aws-sdk/client-secrets-manager"
	Version string   // exact, such as "8.2.3"
	Flags   []string // more npm install flags, such as "--omit=dev"
}

// Dir returns the folder under cacheDir that holds p's installation,
// installed or not: cacheDir/Name@Version, with a scope's @ dropped and its
// / made a -.
func (p Package) Dir(cacheDir string) string {
	return filepath.Join(cacheDir, p.folder())
}

func (p Package) folder() string {
	return strings.ReplaceAll(strings.TrimPrefix(p.Name, "@"), "/", "-") + "@" + p.Version
}

// Install makes sure p is installed under cacheDir and returns p.Dir(cacheDir),
// whose node_modules holds it. npm install (npm is its path) runs only when
// that folder is missing; then a progress line goes to progress, which may
// be nil, before and after.
func (p Package) Install(ctx context.Context, npm, cacheDir string, progress io.Writer) (string, error) {
	dir := p.Dir(cacheDir)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := p.npmInstall(ctx, npm, cacheDir, progress); err != nil {
			return "", err
		}
	}
	manifest := filepath.Join(dir, "node_modules", filepath.FromSlash(p.Name), "package.json")
	b, err := os.ReadFile(manifest)
	if err != nil {
		return "", fmt.Errorf("%s is not a complete installation of %s@%s (remove it to reinstall): %w", dir, p.Name, p.Version, err)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil || pkg.Version != p.Version {
		return "", fmt.Errorf("%s holds %s version %q, want %s (remove it to reinstall)", dir, p.Name, pkg.Version, p.Version)
	}
	return dir, nil
}

// npmInstall runs npm install into a temporary sibling of p.Dir(cacheDir)
// and renames it into place when complete. If another process got there
// first, its installation stays and this one is dropped.
func (p Package) npmInstall(ctx context.Context, npm, cacheDir string, progress io.Writer) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return fmt.Errorf("making the npm cache directory: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, "."+p.folder()+"-partial-")
	if err != nil {
		return fmt.Errorf("making a directory to install %s in: %w", p.Name, err)
	}
	defer os.RemoveAll(tmp)

	dir := p.Dir(cacheDir)
	say(progress, "installing %s@%s with npm into %s (once; it can take a minute)", p.Name, p.Version, dir)
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, InstallTimeout)
	defer cancel()
	args := append([]string{"install", "--prefix", tmp, "--no-audit", "--no-fund"}, p.Flags...)
	args = append(args, p.Name+"@"+p.Version)
	cmd := exec.CommandContext(ctx, npm, args...)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// npm may start children: stop the whole group when ctx ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm %s: %w: %s", strings.Join(args, " "), err, tail(out.Bytes(), 2000))
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr == nil {
			return nil // another process installed it meanwhile
		}
		return fmt.Errorf("moving the installation into place: %w", err)
	}
	say(progress, "installed %s@%s in %s", p.Name, p.Version, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// tail returns the last n bytes of b, trimmed.
func tail(b []byte, n int) []byte {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = append([]byte("…"), b[len(b)-n:]...)
	}
	return b
}

func say(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
