package repodoc_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/repodoc"
)

// TestTheDocsExist: every document the constants name is in the tree.
func TestTheDocsExist(t *testing.T) {
	for _, doc := range []string{repodoc.Top, repodoc.Rotator, repodoc.Consumers, repodoc.Faults, repodoc.Fleets, repodoc.Status, repodoc.Performance} {
		path, err := repodoc.Path(doc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
	root, err := repodoc.Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Errorf("Root() = %s, which has no go.mod", root)
	}
}

func TestSection(t *testing.T) {
	const doc = "# T\n\n## A\n\na\n\n### A.1\n\n```sh\n## not a heading\n```\n\na1\n\n## B\n\nb\n"
	tests := []struct {
		heading, want string
		ok            bool
	}{
		{"## A", "## A\n\na\n\n### A.1\n\n```sh\n## not a heading\n```\n\na1\n\n", true},
		{"### A.1", "### A.1\n\n```sh\n## not a heading\n```\n\na1\n\n", true},
		{"## B", "## B\n\nb\n", true},
		{"## not a heading", "", false},
		{"## C", "", false},
		{"no heading", "", false},
	}
	for _, tt := range tests {
		got, ok := repodoc.Section(doc, tt.heading)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Section(%q) = %q, %t; want %q, %t", tt.heading, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTable(t *testing.T) {
	const doc = "text\n\n| a | b |\n|---|---:|\n| `x` | 1 \\| 2 |\n| y |  |\n\n| c |\n|---|\n| z |\n"
	got := repodoc.Table(doc)
	want := [][]string{{"`x`", "1 | 2"}, {"y", ""}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("Table() = %q, want %q", got, want)
	}
	if got := repodoc.Table("no table\n"); got != nil {
		t.Errorf("Table() of no table = %q, want nil", got)
	}
}

func TestCodeSpans(t *testing.T) {
	got := repodoc.CodeSpans("`A`, `B` and `C (unclosed")
	if want := []string{"A", "B"}; !slices.Equal(got, want) {
		t.Errorf("CodeSpans() = %q, want %q", got, want)
	}
}
