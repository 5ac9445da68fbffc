package readmecode

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
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SDKPackage and SDKVersion are what the Node.js block imports, installed
// from npm once into a cache outside the repository.
const (
	SDKPackage = "@aws-sdk/client-secrets-manager"
	SDKVersion = "3.1162.0"
)

// MinNodeMajor is the oldest Node.js major version SDKVersion supports
// (its engines field says >=20.0.0).
const MinNodeMajor = 20

// NodeHint tells a developer how to get what the Node.js block needs.
const NodeHint = "install Node.js 20 or later, and npm"

// npmInstallTimeout bounds the one npm install.
const npmInstallTimeout = 5 * time.Minute

// CheckNode returns the paths of node and npm, or an error wrapping
// ErrUnavailable that says what is missing or too old.
func CheckNode(ctx context.Context) (node, npm string, err error) {
	if node, err = exec.LookPath("node"); err != nil {
		return "", "", fmt.Errorf("%w: node not found on PATH; %s", ErrUnavailable, NodeHint)
	}
	if npm, err = exec.LookPath("npm"); err != nil {
		return "", "", fmt.Errorf("%w: npm not found on PATH; %s", ErrUnavailable, NodeHint)
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return "", "", fmt.Errorf("running node --version: %w", err)
	}
	v := strings.TrimSpace(string(out))
	major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	if n, err := strconv.Atoi(major); err != nil || n < MinNodeMajor {
		return "", "", fmt.Errorf("%w: node is %s, %s@%s needs %d or later; %s", ErrUnavailable, v, SDKPackage, SDKVersion, MinNodeMajor, NodeHint)
	}
	return node, npm, nil
}

// DefaultCacheDir is os.UserCacheDir()/tokenrotator/npm (the temporary
// directory's tokenrotator/npm when there is no user cache directory),
// where infra/local/oauthmock keeps its npm package too.
func DefaultCacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "tokenrotator", "npm")
}

// InstallSDK makes sure SDKPackage@SDKVersion is installed under cacheDir,
// and returns the node_modules directory that holds it. npm runs only the
// first time, into a temporary sibling that is renamed into place when
// complete, so that a concurrent test never sees half an installation. A
// progress line goes to progress, which may be nil, when npm has to run.
func InstallSDK(ctx context.Context, npm, cacheDir string, progress io.Writer) (string, error) {
	name := strings.ReplaceAll(strings.TrimPrefix(SDKPackage, "@"), "/", "-") + "@" + SDKVersion
	dir := filepath.Join(cacheDir, name)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := npmInstall(ctx, npm, cacheDir, name, progress); err != nil {
			return "", err
		}
	}
	modules := filepath.Join(dir, "node_modules")
	b, err := os.ReadFile(filepath.Join(modules, filepath.FromSlash(SDKPackage), "package.json"))
	if err != nil {
		return "", fmt.Errorf("%s is not a complete installation of %s@%s (remove it to reinstall): %w", dir, SDKPackage, SDKVersion, err)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil || pkg.Version != SDKVersion {
		return "", fmt.Errorf("%s holds %s version %q, want %s (remove it to reinstall)", dir, SDKPackage, pkg.Version, SDKVersion)
	}
	return modules, nil
}

// npmInstall installs the SDK into cacheDir/name.
func npmInstall(ctx context.Context, npm, cacheDir, name string, progress io.Writer) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return fmt.Errorf("making the npm cache directory: %w", err)
	}
	tmp, err := os.MkdirTemp(cacheDir, "."+name+"-partial-")
	if err != nil {
		return fmt.Errorf("making a directory to install %s in: %w", SDKPackage, err)
	}
	defer os.RemoveAll(tmp)

	dir := filepath.Join(cacheDir, name)
	if progress != nil {
		fmt.Fprintf(progress, "installing %s@%s with npm into %s (once; it can take a minute)\n", SDKPackage, SDKVersion, dir)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, npmInstallTimeout)
	defer cancel()
	args := []string{"install", "--prefix", tmp, "--no-audit", "--no-fund", "--omit=dev", SDKPackage + "@" + SDKVersion}
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
	if progress != nil {
		fmt.Fprintf(progress, "installed %s@%s in %s\n", SDKPackage, SDKVersion, time.Since(start).Round(100*time.Millisecond))
	}
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

// PrepareNode writes the Node.js block, as is, into dir as
// readme-block.mjs, next to its driver and a link to modules (from
// InstallSDK), which node resolves the SDK through.
func PrepareNode(b Block, node, modules, dir string) (*Prepared, error) {
	if err := writeFiles(dir, map[string][]byte{
		"readme-block.mjs": []byte(b.Code),
		"driver.mjs":       mustDriver("driver.mjs"),
	}); err != nil {
		return nil, err
	}
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		return nil, fmt.Errorf("linking the SDK's node_modules: %w", err)
	}
	return &Prepared{Lang: Node, Block: b, dir: dir, argv: []string{node, "driver.mjs"}}, nil
}
