package rotation_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/repodoc"
	"github.com/tokenrotator/tokenrotator/infra/status"
)

// readme is the rotator's reference (functions/rotator/README.md), whose
// recipes and schedule table the tests run: the user's copy, not a test
// fixture, so that the two cannot drift.
func readme(t *testing.T) string {
	t.Helper()
	text, err := repodoc.Read(repodoc.Rotator)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// recipe is one provider recipe: the settings of its block, in order.
type recipe struct {
	name     string
	settings map[string]string
}

var recipeBlock = regexp.MustCompile("(?s)<!-- recipe: ([a-z0-9-]+) -->\\s*```sh\\n(.*?)```")

// readmeRecipes returns the rotator README's provider recipes: each a
// "<!-- recipe: NAME -->" marker followed by a sh block of KEY=VALUE lines.
func readmeRecipes(t *testing.T) []recipe {
	t.Helper()
	var out []recipe
	for _, m := range recipeBlock.FindAllStringSubmatch(readme(t), -1) {
		r := recipe{name: m[1], settings: map[string]string{}}
		for line := range strings.SplitSeq(strings.TrimSpace(m[2]), "\n") {
			key, value, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("recipe %s: line %q is not KEY=VALUE", r.name, line)
			}
			r.settings[key] = value
		}
		out = append(out, r)
	}
	return out
}

// scheduleRow is one row of the rotator README's schedule table.
type scheduleRow struct {
	line             string
	minLife, maxLife time.Duration
	schedule         string
	every            time.Duration
	tokensPerDay     string // as written
	leastSeen        string // as written
}

var durationCell = regexp.MustCompile("`([0-9][0-9a-z.]*)`")

// readmeSchedules returns the rows of the table under "### Token lifetimes
// and schedules": | lifetime(s) | typical of | Schedule | replaced from |
// tokens per day | least lifetime seen |.
func readmeSchedules(t *testing.T) []scheduleRow {
	t.Helper()
	section, ok := repodoc.Section(readme(t), "### Token lifetimes and schedules")
	if !ok {
		t.Fatalf("%s has no section \"### Token lifetimes and schedules\"", repodoc.Rotator)
	}
	var rows []scheduleRow
	for _, cells := range repodoc.Table(section) {
		line := "| " + strings.Join(cells, " | ") + " |"
		if len(cells) != 6 {
			t.Fatalf("schedule row %q: want 6 cells", line)
		}
		row := scheduleRow{line: line, schedule: strings.Trim(cells[2], "`"), tokensPerDay: cells[4], leastSeen: cells[5]}
		lives := durationCell.FindAllStringSubmatch(cells[0], -1)
		if len(lives) == 0 || len(lives) > 2 {
			t.Fatalf("schedule row %q: want one lifetime, or two for a range", line)
		}
		var err error
		if row.minLife, err = time.ParseDuration(lives[0][1]); err != nil {
			t.Fatalf("schedule row %q: %v", line, err)
		}
		row.maxLife = row.minLife
		if len(lives) == 2 {
			if row.maxLife, err = time.ParseDuration(lives[1][1]); err != nil {
				t.Fatalf("schedule row %q: %v", line, err)
			}
		}
		if row.every, err = status.ParseRate(row.schedule); err != nil {
			t.Fatalf("schedule row %q: %v", line, err)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: the schedule table has no rows", repodoc.Rotator)
	}
	return rows
}
