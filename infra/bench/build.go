package bench

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Packages built and compared, relative to the module root.
const (
	OursPackage      = "./functions/rotator"
	ReferencePackage = "./infra/bench/reference"
)

// build compiles pkg into out for linux/goarch exactly as the Makefile's
// build-RotatorFunction does: static, -tags lambda.norpc, -trimpath,
// stripped (-s -w).
func build(ctx context.Context, root, pkg, out, goarch string) error {
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	cmd.WaitDelay = 5 * time.Second
	var combined bytes.Buffer
	cmd.Stdout, cmd.Stderr = &combined, &combined
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s for linux/%s: go %s: %w: %s", pkg, goarch, strings.Join(args, " "), err, bytes.TrimSpace(combined.Bytes()))
	}
	return nil
}

// fileSize returns the size of the file at path, in bytes.
func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("measuring %s: %w", path, err)
	}
	return fi.Size(), nil
}

// zipSize returns the size of a zip archive holding the file at path as
// an executable named bootstrap, deflated, as Lambda receives it.
func zipSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("zipping %s: %w", path, err)
	}
	defer f.Close()
	var n countingWriter
	zw := zip.NewWriter(&n)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return 0, fmt.Errorf("zipping %s: %w", path, err)
	}
	if _, err := io.Copy(w, f); err != nil {
		return 0, fmt.Errorf("zipping %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("zipping %s: %w", path, err)
	}
	return int64(n), nil
}

// countingWriter counts the bytes written to it and keeps none.
type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
