package docscheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/repodoc"
)

// TestChecksFailOnBrokenCopies breaks a copy of the docs, the Makefile or
// make help's output, one way per check, and holds that the check then
// fails: a check that cannot fail would hold nothing.
func TestChecksFailOnBrokenCopies(t *testing.T) {
	root, err := repodoc.Root()
	if err != nil {
		t.Fatal(err)
	}
	docs := docsByPath(t)
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	help := makeHelp(t, root)
	exists := func(p string) bool {
		_, err := os.Stat(filepath.Join(root, p))
		return err == nil
	}
	top := docs[repodoc.Top]
	withDoc := func(path, text string) map[string]string {
		out := map[string]string{}
		for p, d := range docs {
			out[p] = d
		}
		out[path] = text
		return out
	}
	replaced := func(text, old, new string) string {
		if !strings.Contains(text, old) {
			t.Fatalf("the breakage's text %q is no longer there: update the breakage", old)
		}
		return strings.Replace(text, old, new, 1)
	}
	tests := []struct {
		name     string
		problems []string
	}{
		{"a link to a heading that is not there", checkLinks(withDoc(repodoc.Top, top+"\nSee [nowhere](functions/rotator/README.md#no-such-heading).\n"), exists)},
		{"a link to a file that is not there", checkLinks(withDoc(repodoc.Top, top+"\nSee [nothing](functions/nothing/README.md).\n"), exists)},
		{"a make target the Makefile lacks, in a doc", checkMake(string(makefile), help, withDoc(repodoc.Fleets, docs[repodoc.Fleets]+"\nRun `make integration-list`.\n"))},
		{"a make target the Makefile lacks, in a sh block", checkMake(string(makefile), help, withDoc(repodoc.Top, top+"\n```sh\nVERBOSE=1 make demo\n```\n"))},
		{"an internal target in make help", checkMake(string(makefile), help+"  build-RotatorFunction  SAM's build\n", docs)},
		{"a contract target missing from make help", checkMake(string(makefile), strings.Replace(help, "  deploy ", "  deploy-stack ", 1), docs)},
		{"a help target that is no rule", checkMake(strings.Replace(string(makefile), "\nrotate:", "\nrotate-all:", 1), help, docs)},
		{"the first screen pushed down", checkTop(strings.Repeat("\n", firstScreen) + top[:strings.Index(replaced(top, "## What make run", "## What make run"), "## What make run")])},
		{"a README of 400 lines", checkTop(top + strings.Repeat("\n", maxTopLines))},
		{"no go get", checkTop(replaced(top, "go get github.com/tokenrotator/tokenrotator/functions/tokensecret\n", "\n"))},
		{"a prose line of 121 columns", checkWidth(repodoc.Top, top+"\n"+strings.Repeat("x", 121)+"\n")},
	}
	for _, tt := range tests {
		if len(tt.problems) == 0 {
			t.Errorf("%s: the check found nothing wrong", tt.name)
		} else {
			t.Logf("%s: %s", tt.name, tt.problems[0])
		}
	}
}
