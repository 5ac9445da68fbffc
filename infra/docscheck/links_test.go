package docscheck

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/repodoc"
)

// linkTarget finds the target of each inline link, ](target).
var linkTarget = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// slug is GitHub's anchor for a heading: lower case, punctuation but
// hyphens and underscores dropped, spaces made hyphens.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the slugs of text's headings.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	proseLines(text, func(_ int, line string) {
		if t := strings.TrimLeft(line, "#"); t != line && strings.HasPrefix(t, " ") {
			out[slug(t)] = true
		}
	}, nil)
	return out
}

// checkLinks holds every relative link of docs (text by path relative to
// the root) to a file that exists and, with a #fragment, to a heading of
// the document it names.
func checkLinks(docs map[string]string, exists func(path string) bool) []string {
	var problems []string
	for from, text := range docs {
		proseLines(text, func(n int, line string) {
			for _, m := range linkTarget.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, fragment, _ := strings.Cut(target, "#")
				to := from
				if file != "" {
					to = path.Clean(path.Join(path.Dir(from), file))
					if strings.HasPrefix(to, "../") || !exists(to) {
						problems = append(problems, fmt.Sprintf("%s:%d: link to %s: no such file", from, n, target))
						continue
					}
				}
				if fragment == "" {
					continue
				}
				toText, ok := docs[to]
				if !ok {
					problems = append(problems, fmt.Sprintf("%s:%d: link to %s: a #fragment of a file that is not one of the docs", from, n, target))
					continue
				}
				if !anchors(toText)[fragment] {
					problems = append(problems, fmt.Sprintf("%s:%d: link to %s: %s has no heading #%s", from, n, target, to, fragment))
				}
			}
		}, nil)
	}
	return problems
}

// TestLinks: every relative link of the docs leads to a file, and every
// #fragment to a heading.
func TestLinks(t *testing.T) {
	root, err := repodoc.Root()
	if err != nil {
		t.Fatal(err)
	}
	exists := func(p string) bool {
		_, err := os.Stat(path.Join(root, p))
		return err == nil
	}
	for _, p := range checkLinks(docsByPath(t), exists) {
		t.Error(p)
	}
}

func docsByPath(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range allDocs(t) {
		out[d.path] = d.text
	}
	return out
}

func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"Python (boto3)":                     "python-boto3",
		"Node.js (AWS SDK v3)":               "nodejs-aws-sdk-v3",
		"The rotation protocol's four steps": "the-rotation-protocols-four-steps",
		"1,000 integrations in one run":      "1000-integrations-in-one-run",
		"`make status`":                      "make-status",
		"What make deploy does":              "what-make-deploy-does",
	} {
		if got := slug(heading); got != want {
			t.Errorf("slug(%q) = %q, want %q", heading, got, want)
		}
	}
}
