package readmecode

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tokenrotator/tokenrotator/infra/local/npmcache"
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

// DefaultCacheDir is npmcache.DefaultDir, os.UserCacheDir()/tokenrotator/npm
// (the temporary directory's tokenrotator/npm when there is no user cache
// directory), where infra/local/oauthmock keeps its npm package too.
func DefaultCacheDir() string { return npmcache.DefaultDir() }

// InstallSDK makes sure SDKPackage@SDKVersion is installed under cacheDir,
// and returns the node_modules directory that holds it. npm runs only the
// first time, into a temporary sibling that is renamed into place when
// complete, so that a concurrent test never sees half an installation (see
// npmcache). A progress line goes to progress, which may be nil, when npm
// has to run.
func InstallSDK(ctx context.Context, npm, cacheDir string, progress io.Writer) (string, error) {
	sdk := npmcache.Package{Name: SDKPackage, Version: SDKVersion, Flags: []string{"--omit=dev"}}
	dir, err := sdk.Install(ctx, npm, cacheDir, progress)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "node_modules"), nil
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
