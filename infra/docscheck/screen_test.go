package docscheck

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tokenrotator/tokenrotator/infra/repodoc"
)

// The top-level README's limits (issue 19): a newcomer acts on its first
// screen, and the whole stays short.
const (
	firstScreen = 120
	maxTopLines = 400
	// maxWidth is the widest prose line of any doc.
	maxWidth = 120
)

// firstScreenHolds are what the first screen must show, each a pattern
// and what it stands for.
var firstScreenHolds = []struct {
	pattern *regexp.Regexp
	what    string
}{
	{regexp.MustCompile(`(?m)^make run\b`), "make run, in a sh block"},
	{regexp.MustCompile(`(?m)^make test\b`), "make test, in a sh block"},
	{regexp.MustCompile(`(?m)^make credentials\b`), "make credentials, in a sh block"},
	{regexp.MustCompile(`(?m)^make deploy CREDENTIALS=\S+ ALARM_EMAIL=`), "make deploy CREDENTIALS=... ALARM_EMAIL=..., in a sh block"},
	{regexp.MustCompile(`(?m)^make status\b`), "make status, in a sh block"},
	{regexp.MustCompile("(?m)^go get github.com/tokenrotator/tokenrotator/functions/tokensecret$"), "the consumer's go get"},
	{regexp.MustCompile("(?s)```go\n.*?\n```"), "a Go consumer"},
	{regexp.MustCompile(`\]\(functions/tokensecret/README\.md#python[^)]*\)`), "a link to the Python consumer"},
	{regexp.MustCompile(`\]\(functions/tokensecret/README\.md#node[^)]*\)`), "a link to the Node.js consumer"},
	{regexp.MustCompile(`\]\(functions/rotator/README\.md\)`), "a link to the rotator's reference"},
}

// checkTop holds the top-level README to its limits.
func checkTop(text string) []string {
	var problems []string
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) >= maxTopLines {
		problems = append(problems, fmt.Sprintf("%s has %d lines, want under %d", repodoc.Top, len(lines), maxTopLines))
	}
	screen := strings.Join(lines[:min(firstScreen, len(lines))], "\n")
	for _, h := range firstScreenHolds {
		if !h.pattern.MatchString(screen) {
			problems = append(problems, fmt.Sprintf("the first %d lines of %s do not show %s", firstScreen, repodoc.Top, h.what))
		}
	}
	return problems
}

// TestTopREADME: under 400 lines, and the first screen holds what a
// newcomer needs to run it, deploy it and read the token.
func TestTopREADME(t *testing.T) {
	text, err := repodoc.Read(repodoc.Top)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkTop(text) {
		t.Error(p)
	}
}

// checkWidth reports prose lines wider than maxWidth; tables, code and
// generated blocks may be wider.
func checkWidth(path, text string) []string {
	var problems []string
	proseLines(text, func(n int, line string) {
		if strings.HasPrefix(strings.TrimSpace(line), "|") {
			return
		}
		if w := utf8.RuneCountInString(line); w > maxWidth {
			problems = append(problems, fmt.Sprintf("%s:%d: %d columns, want at most %d: wrap it", path, n, w, maxWidth))
		}
	}, nil)
	return problems
}

// TestProseWidth: every doc's prose is wrapped at 120 columns.
func TestProseWidth(t *testing.T) {
	for _, d := range allDocs(t) {
		for _, p := range checkWidth(d.path, d.text) {
			t.Error(p)
		}
	}
}
