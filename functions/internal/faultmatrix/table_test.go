package faultmatrix

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/repodoc"
)

var update = flag.Bool("update", false, "rewrite the fault table in functions/internal/faultmatrix/README.md from the case list")

const (
	beginMarker = "<!-- faults:begin -->"
	endMarker   = "<!-- faults:end -->"
)

// table renders the case list as the Markdown table of this package's README.
func table(list []matrixCase) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- generated from functions/internal/faultmatrix/cases_test.go by its tests (-update): do not edit -->\n\n")
	b.WriteString("| where | case | injected fault | outcome | what the operator sees |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, c := range list {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(c.area), cell(c.name), cell(c.injected()), cell(c.expected()), code(c.sees))
	}
	fmt.Fprintf(&b, "\n%d cases. Error excerpts: `…` stands for text left out; `app/credentials`, `app/token` and `$TOKEN_URL` for the configured ids and URL "+
		"(shown by scheme, host and path); `[REDACTED]` is where the rotator removed the client secret, whose sentinel holds + / = %%, "+
		"a space and non-ASCII, so that each of its encodings differs; "+
		"for an added integration NAME, `app/integrations/NAME` and `app/NAME/credentials` for its secrets, `$NAME_TOKEN_URL` for a token endpoint of its own, "+
		"and `[NAME]` for a log line about it; for the rotation protocol, `$VERSION` for the version a rotation creates, `$OLD` for the one that was "+
		"AWSCURRENT before it, `$UNKNOWN` for a version the secret does not have, `$TEST_URL` for TEST_URL and `app/other` for a secret that is not the stack's; `$RESPONSE_URL` for a custom-resource event's ResponseURL, a server of the case's that records the status reported; "+
		"for the client-secret rotation, `$MANAGEMENT_URL` for MANAGEMENT_URL, `$OLD_UUID` for the client secret before the rotation, `$NEW_UUID` for the one a version stores, "+
		"`$ADDED_UUID` for one added and removed again, `$OTHER_UUID` for a second secret seeded at the provider, and, afterwards, the secrets at the provider "+
		"(old, new, other, orphan: held by no version) and the credentials secret's stages.\n", len(list))
	return b.String()
}

// cell escapes what would end a table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// code renders s as a code span inside a table cell.
func code(s string) string {
	fence := "`"
	if strings.Contains(s, "`") {
		fence = "``"
	}
	return fence + cell(s) + fence
}

// splitREADME returns the README around the text between the markers.
func splitREADME(readme []byte) (head, block, tail []byte, err error) {
	b := bytes.Index(readme, []byte(beginMarker))
	e := bytes.Index(readme, []byte(endMarker))
	if b < 0 || e < b {
		return nil, nil, nil, fmt.Errorf("%s lacks %s ... %s in that order", repodoc.Faults, beginMarker, endMarker)
	}
	b += len(beginMarker)
	return readme[:b], readme[b:e], readme[e:], nil
}

func TestFaultTableInREADME(t *testing.T) {
	path, err := repodoc.Path(repodoc.Faults)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, block, tail, err := splitREADME(readme)
	if err != nil {
		t.Fatal(err)
	}
	want := "\n" + table(cases())
	if *update {
		out := append(append(append([]byte(nil), head...), want...), tail...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the fault table in %s: %d lines", path, strings.Count(want, "\n"))
		return
	}
	if got := string(block); got != want {
		gotLines, wantLines := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := range max(len(gotLines), len(wantLines)) {
			g, w := line(gotLines, i), line(wantLines, i)
			if g != w {
				t.Fatalf("%s: the fault table differs from the case list at line %d:\n got: %s\nwant: %s\nrun: go test ./functions/internal/faultmatrix -run TestFaultTableInREADME -update", repodoc.Faults, i+1, g, w)
			}
		}
	}
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(none)"
}

func TestSplitREADME(t *testing.T) {
	tests := []struct {
		name, in, wantBlock string
		wantErr             bool
	}{
		{"both markers", "a\n" + beginMarker + "\nold\n" + endMarker + "\nb", "\nold\n", false},
		{"empty block", beginMarker + endMarker, "", false},
		{"no end", beginMarker + "x", "", true},
		{"reversed", endMarker + beginMarker, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head, block, tail, err := splitREADME([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("splitREADME() error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := string(block); got != tt.wantBlock {
				t.Errorf("block = %q, want %q", got, tt.wantBlock)
			}
			if got := string(head) + string(block) + string(tail); got != tt.in {
				t.Errorf("head+block+tail = %q, want %q", got, tt.in)
			}
		})
	}
}

func TestCell(t *testing.T) {
	if got, want := code("a|b`c"), "``a\\|b`c``"; got != want {
		t.Errorf("code() = %q, want %q", got, want)
	}
}
