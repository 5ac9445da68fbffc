package templatecheck

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestCfnLint runs cfn-lint, with the SAM translator, and wants no finding
// at all: no error, warning or informational message.
func TestCfnLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cfn-lint not found and CI=true: install it (pip install cfn-lint): %v", err)
		}
		t.Skip("cfn-lint not found; install it with pip install cfn-lint (under CI=true this fails)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--include-checks", "I", "--format", "parseable", "--", templatePath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	// Findings are the lines naming the template; anything else is a crash.
	var findings []string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, templatePath+":") {
			findings = append(findings, line)
		}
	}
	var exit *exec.ExitError
	switch {
	case len(findings) > 0:
		t.Errorf("cfn-lint %s found %d problems:\n%s", templatePath, len(findings), strings.Join(findings, "\n"))
	case errors.As(err, &exit):
		t.Errorf("cfn-lint %s exited %d:\n%s", templatePath, exit.ExitCode(), out.String())
	case err != nil:
		t.Fatalf("running cfn-lint: %v", err)
	}
}
