// Package repodoc finds the repository's Markdown documents and reads the
// parts of them that tests hold to the code: a section under a heading, the
// rows of a table. The docs live beside what they describe, one README.md
// per folder; the constants name those that tests read.
//
//	text, err := repodoc.Read(repodoc.Rotator)
//	if err != nil { ... }
//	schedules, ok := repodoc.Section(text, "### Token lifetimes and schedules")
//	rows := repodoc.Table(schedules)
package repodoc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The documents tests read, relative to the repository's root.
const (
	// Top is the newcomer's path: what it does, the local commands, the
	// deploy commands and their parameters and outputs, a consumer, costs.
	Top = "README.md"
	// Rotator is the rotator's reference: settings, the two secrets,
	// provider recipes and schedules, runs, failures, the two engines.
	Rotator = "functions/rotator/README.md"
	// Consumers holds the consumer code in Go, Python and Node.js.
	Consumers = "functions/tokensecret/README.md"
	// Faults holds the fault table the fault matrix writes.
	Faults = "functions/internal/faultmatrix/README.md"
	// Fleets is the operator's commands for many integrations.
	Fleets = "infra/ops/README.md"
	// Status is the operator's view: make status and the dashboard.
	Status = "infra/status/README.md"
	// Performance holds make bench's tables.
	Performance = "infra/bench/README.md"
)

// Root returns the repository's root: the nearest directory at or above
// the working directory that holds go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the repository root: no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// Path returns the absolute path of doc, a path relative to the root.
func Path(doc string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(doc)), nil
}

// Read returns the text of doc, a path relative to the root.
func Read(doc string) (string, error) {
	path, err := Path(doc)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", doc, err)
	}
	return string(b), nil
}

// Section returns the part of text from the line that is exactly heading
// ("## Configuration") up to the next heading of the same or a higher
// level, outside fenced code blocks; false when no line is heading.
func Section(text, heading string) (string, bool) {
	level := headingLevel(heading)
	if level == 0 {
		return "", false
	}
	lines := strings.SplitAfter(text, "\n")
	start := -1
	fenced := false
	for i, line := range lines {
		trimmed := strings.TrimRight(line, " \r\n")
		if strings.HasPrefix(strings.TrimSpace(trimmed), "```") {
			fenced = !fenced
		}
		if fenced {
			continue
		}
		if start < 0 {
			if trimmed == heading {
				start = i
			}
			continue
		}
		if l := headingLevel(trimmed); l > 0 && l <= level {
			return strings.Join(lines[start:i], ""), true
		}
	}
	if start < 0 {
		return "", false
	}
	return strings.Join(lines[start:], ""), true
}

// headingLevel is the number of leading #s of an ATX heading, 0 for a line
// that is not one.
func headingLevel(line string) int {
	n := len(line) - len(strings.TrimLeft(line, "#"))
	if n == 0 || n > 6 || len(line) == n || line[n] != ' ' {
		return 0
	}
	return n
}

// Table returns the cells of the body rows of the first table in text,
// each trimmed: the header row and the delimiter row are left out. A cell
// may hold "\|" for a literal bar. It returns nil when text has no table.
func Table(text string) [][]string {
	var rows [][]string
	inTable := false
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		if !inTable {
			inTable = true // the header row
			continue
		}
		cells := splitRow(line)
		if isDelimiter(cells) {
			continue
		}
		rows = append(rows, cells)
	}
	return rows
}

func splitRow(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cells []string
	var cell strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cell.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
		default:
			cell.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cell.String()))
}

func isDelimiter(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, ":-") != "" || c == "" {
			return false
		}
	}
	return true
}

// CodeSpans returns the text of each `code span` in s, in order.
func CodeSpans(s string) []string {
	var out []string
	for {
		_, rest, ok := strings.Cut(s, "`")
		if !ok {
			return out
		}
		span, after, ok := strings.Cut(rest, "`")
		if !ok {
			return out
		}
		out = append(out, span)
		s = after
	}
}
