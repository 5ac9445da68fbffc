package readmecode

import (
	"fmt"
	"strings"
)

// Lang is a consumer language of the docs, named by the info string of
// their fenced code blocks.
type Lang string

// The languages of the consumer blocks.
const (
	Go     Lang = "go"
	Python Lang = "python"
	Node   Lang = "js"
)

// Langs are the languages Consumers expects, in the order of mention in
// issue 12: the consumers' document has exactly one block of each.
var Langs = []Lang{Python, Node, Go}

// Block is one fenced code block of a document.
type Block struct {
	Lang Lang
	// Code is the block's text, without its fences, ending in a newline.
	Code string
	// Line is the document's line (1-based) of the block's first code line.
	Line int
}

// Blocks returns every fenced code block of doc whose info string is lang,
// in order, or an error for a block left open.
func Blocks(doc string, lang Lang) ([]Block, error) {
	var out []Block
	var open *Block // the block being read, if any
	var fence string
	for i, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case open == nil && strings.HasPrefix(trimmed, "```"):
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, "`"))]
			open = &Block{Lang: Lang(strings.TrimSpace(strings.TrimPrefix(trimmed, fence))), Line: i + 2}
		case open != nil && trimmed == fence:
			if open.Lang == lang {
				out = append(out, *open)
			}
			open = nil
		case open != nil:
			open.Code += line + "\n"
		}
	}
	if open != nil {
		return nil, fmt.Errorf("the %s block at line %d is not closed", open.Lang, open.Line)
	}
	return out, nil
}

// Consumers returns the go, python and js blocks of doc, the consumers'
// document (functions/tokensecret/README.md): exactly one of each, or an
// error saying which is missing or doubled. Blocks of other languages, or
// with no language, are ignored.
func Consumers(doc string) (map[Lang]Block, error) {
	blocks := map[Lang]Block{}
	for _, l := range Langs {
		found, err := Blocks(doc, l)
		if err != nil {
			return nil, err
		}
		switch len(found) {
		case 0:
			return nil, fmt.Errorf("the document has no %s block", l)
		case 1:
			blocks[l] = found[0]
		default:
			return nil, fmt.Errorf("the document has %d %s blocks (lines %d and %d); want one", len(found), l, found[0].Line, found[1].Line)
		}
	}
	return blocks, nil
}
