package readmecode

import (
	"fmt"
	"slices"
	"strings"
)

// Lang is a consumer language of the README, named by the info string of
// its fenced code blocks.
type Lang string

// The languages of the README's consumer blocks.
const (
	Go     Lang = "go"
	Python Lang = "python"
	Node   Lang = "js"
)

// Langs are the languages Consumers expects, in the README's order of
// mention in the issue: each has exactly one block in the section.
var Langs = []Lang{Python, Node, Go}

// Section is the heading of the README section that holds the blocks.
const Section = "## Consumers"

// Block is one fenced code block of the README.
type Block struct {
	Lang Lang
	// Code is the block's text, without its fences, ending in a newline.
	Code string
	// Line is the README line (1-based) of the block's first code line.
	Line int
}

// Consumers returns the go, python and js blocks of readme's Consumers
// section (from Section up to the next "## " heading): exactly one of
// each, or an error saying which is missing or doubled. Blocks of other
// languages, or with no language, are ignored.
func Consumers(readme string) (map[Lang]Block, error) {
	lines := strings.Split(readme, "\n")
	start := -1
	for i, line := range lines {
		if strings.TrimRight(line, " ") == Section {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("the README has no %q section", Section)
	}
	blocks := map[Lang]Block{}
	var open *Block // the block being read, if any
	var fence string
	for i := start + 1; i < len(lines); i++ {
		line := lines[i]
		if open == nil && strings.HasPrefix(line, "## ") {
			break
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case open == nil && strings.HasPrefix(trimmed, "```"):
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, "`"))]
			open = &Block{Lang: Lang(strings.TrimSpace(strings.TrimPrefix(trimmed, fence))), Line: i + 2}
		case open != nil && trimmed == fence:
			if !slices.Contains(Langs, open.Lang) {
				open = nil
				continue
			}
			if prev, dup := blocks[open.Lang]; dup {
				return nil, fmt.Errorf("the README's %s section has two %s blocks (lines %d and %d); want one", Section, open.Lang, prev.Line, open.Line)
			}
			blocks[open.Lang] = *open
			open = nil
		case open != nil:
			open.Code += line + "\n"
		}
	}
	if open != nil {
		return nil, fmt.Errorf("the README's %s block at line %d is not closed", open.Lang, open.Line)
	}
	for _, l := range Langs {
		if _, ok := blocks[l]; !ok {
			return nil, fmt.Errorf("the README's %s section has no %s block", Section, l)
		}
	}
	return blocks, nil
}
