package bench_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/bench"
	"github.com/tokenrotator/tokenrotator/infra/repodoc"
)

// digits stands for the numbers a figure's name carries (sample counts,
// the token endpoint's delay) and the host's architecture, which vary
// from run to run and machine to machine.
var digits = regexp.MustCompile(`linux/[a-z0-9]+|[0-9][0-9,.]*(ns|µs|ms|s|m|h)?`)

// shape is what a table's rows must hold whatever was measured: each row's
// figure (numbers left out) and its budget.
func shape(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, digits.ReplaceAllString(r[0], "N")+" | "+r[len(r)-1-verdictColumn(r)])
	}
	return out
}

// verdictColumn is 1 for the rotator's table, whose last column is the
// verdict after the budget, and 0 for the fleet table, which ends with
// the budget.
func verdictColumn(r []string) int {
	if len(r) == 6 {
		return 1
	}
	return 0
}

// checkTables holds the performance doc's two tables to what Table and
// FleetReport.Table print: the same rows in the same order, each with the
// code's budget, and verdicts that are PASS or MISS.
func checkTables(doc string) []string {
	var problems []string
	rotator, ok1 := repodoc.Section(doc, "## The rotator beside the reference")
	fleet, ok2 := repodoc.Section(doc, "## Fleets of integrations")
	signing, ok3 := repodoc.Section(doc, "## What private_key_jwt adds")
	if !ok1 || !ok2 || !ok3 {
		return []string{"no section \"## The rotator beside the reference\", \"## Fleets of integrations\" or \"## What private_key_jwt adds\""}
	}
	sizes := []bench.FleetSize{{Integrations: 1}, {Integrations: 100}, {Integrations: 1000}}
	for _, tt := range []struct {
		name      string
		got, want [][]string
	}{
		{"the rotator's table", repodoc.Table(rotator), repodoc.Table((&bench.Report{}).Table())},
		{"the fleet table", repodoc.Table(fleet), repodoc.Table((&bench.FleetReport{Sizes: sizes}).Table())},
		{"the private_key_jwt table", repodoc.Table(signing), repodoc.Table((&bench.Report{}).SigningTable())},
	} {
		if g, w := shape(tt.got), shape(tt.want); !slices.Equal(g, w) {
			problems = append(problems, fmt.Sprintf("%s has rows (figure | budget)\n\t%s\nthe bench prints\n\t%s\nrun make bench and paste its tables", tt.name, strings.Join(g, "\n\t"), strings.Join(w, "\n\t")))
		}
		for _, r := range tt.got {
			if len(r) == 6 && r[5] != "" && r[5] != "PASS" && r[5] != "MISS" {
				problems = append(problems, fmt.Sprintf("%s, %q: verdict %q, want PASS or MISS", tt.name, r[0], r[5]))
			}
		}
	}
	return problems
}

// TestREADMETablesMatchTheBench: the tables of infra/bench/README.md are
// the ones make bench prints, row for row, with the code's budgets.
func TestREADMETablesMatchTheBench(t *testing.T) {
	doc, err := repodoc.Read(repodoc.Performance)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkTables(doc) {
		t.Errorf("%s: %s", repodoc.Performance, p)
	}
}

// figure is a measured quantity in prose: a number with a unit of time,
// size or ratio, or a decimal number.
var figure = regexp.MustCompile(`\b\d[\d,]*(\.\d+)?[ -]?(ns|µs|us|ms|s|sec|seconds?|min|minutes?|KiB|MiB|GiB|KB|MB|GB|×|x|%|reads)(\W|$)|\d\.\d`)

// checkProse reports the prose lines of doc (outside tables, code blocks
// and code spans) that carry a figure: the figures are the tables', so
// that no sentence can disagree with them.
func checkProse(doc string) []string {
	var problems []string
	fenced := false
	for i, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced || strings.HasPrefix(strings.TrimSpace(line), "|") {
			continue
		}
		prose := line
		for _, span := range repodoc.CodeSpans(line) {
			prose = strings.Replace(prose, "`"+span+"`", "", 1)
		}
		if m := figure.FindString(prose); m != "" {
			problems = append(problems, fmt.Sprintf("line %d carries the figure %q: say it in a table the bench prints, or not at all", i+1, strings.TrimSpace(m)))
		}
	}
	return problems
}

// TestREADMEProseCarriesNoFigures: the performance prose says how each
// figure is measured and what it means, and leaves the figures to the
// tables.
func TestREADMEProseCarriesNoFigures(t *testing.T) {
	doc, err := repodoc.Read(repodoc.Performance)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkProse(doc) {
		t.Errorf("%s: %s", repodoc.Performance, p)
	}
}

// TestPerformanceChecksFail breaks copies of the doc and holds that each
// check then fails.
func TestPerformanceChecksFail(t *testing.T) {
	doc, err := repodoc.Read(repodoc.Performance)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, old, new string
		check          func(string) []string
	}{
		{"a figure in the prose", "\n## Fleets of integrations\n", "\nOwn time was 4.2 ms.\n\n## Fleets of integrations\n", checkProse},
		{"a row the bench does not print", "| bootstrap zip (deflate) |", "| bootstrap tarball |", checkTables},
		{"a private_key_jwt row the bench does not print", "| … KMS time (kms:Sign, through a timing proxy) |", "| … KMS time |", checkTables},
		{"a budget that is not the code's", "| ≤ 1.10× | PASS |", "| ≤ 1.50× | PASS |", checkTables},
		{"a verdict that is neither", "| ≤ 1.30× | PASS |", "| ≤ 1.30× | OK |", checkTables},
	} {
		if !strings.Contains(doc, tt.old) {
			t.Errorf("%s: %s no longer holds %q: update the breakage", tt.name, repodoc.Performance, tt.old)
			continue
		}
		if got := tt.check(strings.Replace(doc, tt.old, tt.new, 1)); len(got) == 0 {
			t.Errorf("%s: the check found nothing wrong", tt.name)
		} else {
			t.Logf("%s: %s", tt.name, strings.SplitN(got[0], "\n", 2)[0])
		}
	}
}
