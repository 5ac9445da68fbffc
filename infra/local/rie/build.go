package rie

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Tool is the package path of the emulator's command, pinned in go.mod.
const Tool = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// RotatorPackage is the rotator's main package, relative to the module root.
const RotatorPackage = "./functions/rotator"

// Build compiles the emulator into dir/aws-lambda-rie, unless that file is
// already there, and returns its path. The first build takes about half a
// minute; later ones come from the Go build cache. A progress line goes to
// progress, which may be nil.
func Build(ctx context.Context, dir string, progress io.Writer) (string, error) {
	out := filepath.Join(dir, "aws-lambda-rie")
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
		return out, nil
	}
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	say(progress, "building the Lambda Runtime Interface Emulator (about 30 s the first time, cached after)")
	if err := goBuild(ctx, root, out, Tool); err != nil {
		return "", fmt.Errorf("building the Runtime Interface Emulator: %w", err)
	}
	return out, nil
}

// BuildBootstrap compiles the rotator for this host into dir/bootstrap,
// as Lambda wants it (-tags lambda.norpc, -trimpath), and returns its path.
// A progress line goes to progress, which may be nil.
func BuildBootstrap(ctx context.Context, dir string, progress io.Writer) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "bootstrap")
	say(progress, "building the rotator bootstrap ("+RotatorPackage+")")
	if err := goBuild(ctx, root, out, RotatorPackage, "-tags", "lambda.norpc", "-trimpath"); err != nil {
		return "", fmt.Errorf("building the rotator bootstrap: %w", err)
	}
	return out, nil
}

// ModuleRoot returns the directory of the main module's go.mod, as
// go env GOMOD tells it.
func ModuleRoot(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", "GOMOD")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root with go env GOMOD: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("finding the module root: not inside a Go module (go env GOMOD is %q)", gomod)
	}
	return filepath.Dir(gomod), nil
}

// goBuild runs go build -o out [flags] pkg in dir.
func goBuild(ctx context.Context, dir, out, pkg string, flags ...string) error {
	args := append([]string{"build", "-o", out}, flags...)
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	var combined bytes.Buffer
	cmd.Stdout, cmd.Stderr = &combined, &combined
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(combined.Bytes()))
	}
	return nil
}

func say(w io.Writer, line string) {
	if w != nil {
		fmt.Fprintln(w, line)
	}
}
