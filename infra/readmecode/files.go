package readmecode

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
)

// drivers holds the programs that run each block: driver.py, driver.mjs
// and main.go.txt (the Go driver's main.go).
//
//go:embed drivers
var drivers embed.FS

// mustDriver returns an embedded driver's source.
func mustDriver(name string) []byte {
	b, err := drivers.ReadFile("drivers/" + name)
	if err != nil {
		panic(fmt.Sprintf("readmecode: driver %s is not embedded: %v", name, err))
	}
	return b
}

// writeFiles writes files, by name, into dir.
func writeFiles(dir string, files map[string][]byte) error {
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}
