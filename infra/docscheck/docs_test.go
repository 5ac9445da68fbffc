package docscheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/repodoc"
)

// doc is one README.md, by its path relative to the root.
type doc struct {
	path, text string
}

// allDocs returns every README.md of the repository, the root's first.
func allDocs(t *testing.T) []doc {
	t.Helper()
	root, err := repodoc.Root()
	if err != nil {
		t.Fatal(err)
	}
	var out []doc
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "README.md" {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, doc{filepath.ToSlash(rel), string(b)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 7 || out[0].path != repodoc.Top {
		t.Fatalf("found %d README.md files, the root's first: %v; want the root's and the six beside the code", len(out), out)
	}
	return out
}

// lines returns the lines of text outside fenced code blocks, HTML
// comments and the generated fault table, with their 1-based numbers; in
// sh blocks calls back sh for each line.
func proseLines(text string, prose func(n int, line string), sh func(n int, line string)) {
	fence, lang := "", ""
	comment, generated := false, false
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		switch {
		case fence != "":
			if trimmed == fence {
				fence = ""
			} else if lang == "sh" && sh != nil {
				sh(n, line)
			}
			continue
		case strings.HasPrefix(trimmed, "```"):
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, "`"))]
			lang = strings.TrimSpace(strings.TrimPrefix(trimmed, fence))
			continue
		case strings.Contains(line, "<!-- faults:begin -->"):
			generated = true
		case strings.Contains(line, "<!-- faults:end -->"):
			generated = false
			continue
		}
		if generated {
			continue
		}
		if strings.HasPrefix(trimmed, "<!--") {
			comment = true
		}
		if comment {
			if strings.Contains(line, "-->") {
				comment = false
			}
			continue
		}
		prose(n, line)
	}
}
