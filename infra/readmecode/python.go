package readmecode

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// PythonHint tells a developer how to get what the Python block needs.
const PythonHint = "install python3 and boto3 (apt-get install python3-boto3, or pip install boto3)"

// CheckPython returns the path of a python3 that can import boto3, or an
// error wrapping ErrUnavailable that says what is missing.
func CheckPython(ctx context.Context) (string, error) {
	python, err := exec.LookPath("python3")
	if err != nil {
		return "", fmt.Errorf("%w: python3 not found on PATH; %s", ErrUnavailable, PythonHint)
	}
	if out, err := exec.CommandContext(ctx, python, "-c", "import boto3").CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: %s cannot import boto3 (%v: %s); %s", ErrUnavailable, python, err, strings.TrimSpace(string(out)), PythonHint)
	}
	return python, nil
}

// PreparePython writes the Python block, as is, into dir as
// readme_block.py, next to its driver, which python runs.
func PreparePython(b Block, python, dir string) (*Prepared, error) {
	if err := writeFiles(dir, map[string][]byte{
		"readme_block.py": []byte(b.Code),
		"driver.py":       mustDriver("driver.py"),
	}); err != nil {
		return nil, err
	}
	return &Prepared{Lang: Python, Block: b, dir: dir, argv: []string{python, "-u", "driver.py"}}, nil
}
