package docscheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/repodoc"
)

var (
	// rule is a Makefile line that starts a rule (not a := assignment).
	rule = regexp.MustCompile(`(?m)^([A-Za-z0-9_.-]+):([^=]|$)`)
	// helpLine is a target line of make help's output.
	helpLine = regexp.MustCompile(`(?m)^  ([A-Za-z0-9_.-]+)\s`)
	// makeCall is a make command and its target, after any -s and
	// VARIABLE=value arguments.
	makeCall = regexp.MustCompile(`(?:^|[\s($])make\s+(?:-s\s+)?(?:[A-Z_]+=\S*\s+)*([A-Za-z][\w-]*)`)
)

// contractTargets are the targets CONTRACT.md names for users and tools.
var contractTargets = []string{"run", "test", "lint", "deploy", "bench"}

// internal says whether a target is for tools, not users: SAM's
// build-<LogicalId> rules and cfn-lint, which lint runs.
func internal(target string) bool {
	return strings.HasPrefix(target, "build-") || target == "cfn-lint"
}

// makeCalls returns each make target a doc shows, in code spans and sh
// blocks, with where.
func makeCalls(path, text string) map[string]string {
	out := map[string]string{}
	add := func(n int, s string) {
		for _, m := range makeCall.FindAllStringSubmatch(s, -1) {
			if _, seen := out[m[1]]; !seen {
				out[m[1]] = fmt.Sprintf("%s:%d", path, n)
			}
		}
	}
	proseLines(text, func(n int, line string) {
		for _, span := range repodoc.CodeSpans(line) {
			add(n, span)
		}
	}, func(n int, line string) {
		code, _, _ := strings.Cut(line, " #")
		add(n, code)
	})
	return out
}

// checkMake holds make help's targets and the docs' make calls to the
// Makefile's rules.
func checkMake(makefile, help string, docs map[string]string) []string {
	var problems []string
	var rules []string
	for _, m := range rule.FindAllStringSubmatch(makefile, -1) {
		rules = append(rules, m[1])
	}
	var listed []string
	for _, m := range helpLine.FindAllStringSubmatch(help, -1) {
		listed = append(listed, m[1])
	}
	if len(listed) == 0 {
		problems = append(problems, "make help lists no target")
	}
	for _, target := range listed {
		if !slices.Contains(rules, target) {
			problems = append(problems, fmt.Sprintf("make help lists %s, which is no rule of the Makefile", target))
		}
		if internal(target) {
			problems = append(problems, fmt.Sprintf("make help lists %s, an internal target", target))
		}
	}
	for _, target := range contractTargets {
		if !slices.Contains(listed, target) {
			problems = append(problems, fmt.Sprintf("make help does not list %s, which CONTRACT.md names", target))
		}
	}
	for _, path := range slices.Sorted(func(yield func(string) bool) {
		for p := range docs {
			if !yield(p) {
				return
			}
		}
	}) {
		calls := makeCalls(path, docs[path])
		for _, target := range slices.Sorted(func(yield func(string) bool) {
			for c := range calls {
				if !yield(c) {
					return
				}
			}
		}) {
			if !slices.Contains(rules, target) {
				problems = append(problems, fmt.Sprintf("%s: make %s, which is no rule of the Makefile", calls[target], target))
			}
		}
	}
	return problems
}

// TestMakeTargets: every target make help lists and every make command the
// docs show is a rule of the Makefile; help lists the contract's targets
// and no internal one.
func TestMakeTargets(t *testing.T) {
	root, err := repodoc.Root()
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	help := makeHelp(t, root)
	for _, p := range checkMake(string(makefile), help, docsByPath(t)) {
		t.Error(p)
	}
}

// makeHelp runs make help in root.
func makeHelp(t *testing.T, root string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("make is not installed (required under CI=true): %v", err)
		}
		t.Skipf("make help needs make, which is not installed: %v", err)
	}
	cmd := exec.Command("make", "-s", "--no-print-directory", "help")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}
	return string(out)
}
