package readmecode_test

import (
	"errors"
	"go/format"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/readmecode"
)

func TestConsumersOfTheREADME(t *testing.T) {
	_, text := readme(t)
	blocks, err := readmecode.Consumers(text)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(text, "\n")
	for _, lang := range readmecode.Langs {
		b := blocks[lang]
		if got, want := lines[b.Line-2], "```"+string(lang); got != want {
			t.Errorf("%s block: README line %d is %q, want its opening fence %q", lang, b.Line-1, got, want)
		}
		if first, _, _ := strings.Cut(b.Code, "\n"); lines[b.Line-1] != first {
			t.Errorf("%s block: Line = %d, but that README line is not the block's first", lang, b.Line)
		}
	}
}

// TestGoBlockIsGofmted holds the Go block to gofmt, as the body of the
// function it is compiled in.
func TestGoBlockIsGofmted(t *testing.T) {
	_, text := readme(t)
	blocks, err := readmecode.Consumers(text)
	if err != nil {
		t.Fatal(err)
	}
	code := blocks[readmecode.Go].Code
	var indented strings.Builder
	for line := range strings.Lines(code) {
		if line != "\n" {
			indented.WriteString("\t")
		}
		indented.WriteString(line)
	}
	src := "package p\n\nfunc f() error {\n" + indented.String() + "}\n"
	formatted, err := format.Source([]byte(src))
	if err != nil {
		t.Fatalf("the Go block does not parse as a function body: %v", err)
	}
	if string(formatted) != src {
		t.Errorf("the Go block is not gofmt-formatted; gofmt makes it:\n%s", formatted)
	}
}

func TestConsumers(t *testing.T) {
	const section = "# T\n\n```go\noutside()\n```\n\n## Consumers\n\ntext\n\n"
	blocks := "```python\npy()\n```\n\n```\nplain\n```\n\n```js\njs()\n```\n\n````go\ngo()\n```\nstill go()\n````\n"
	tests := []struct {
		name, readme string
		wantErr      string
	}{
		{"all three", section + blocks + "\n## Next\n\n```python\nafter()\n```\n", ""},
		{"no section", "# T\n\n" + blocks, `no "## Consumers" section`},
		{"one missing", section + "```python\npy()\n```\n```go\ngo()\n```\n", "no js block"},
		{"one missing from the section", section + "```python\npy()\n```\n```go\ngo()\n```\n## Next\n```js\njs()\n```\n", "no js block"},
		{"two of one", section + blocks + "```python\nagain()\n```\n", "two python blocks (lines 12 and 29)"},
		{"not closed", section + "```python\npy()\n", "block at line 12 is not closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readmecode.Consumers(tt.readme)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Consumers() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Consumers() error = %v", err)
			}
			want := map[readmecode.Lang]readmecode.Block{
				readmecode.Python: {Lang: readmecode.Python, Code: "py()\n", Line: 12},
				readmecode.Node:   {Lang: readmecode.Node, Code: "js()\n", Line: 20},
				readmecode.Go:     {Lang: readmecode.Go, Code: "go()\n```\nstill go()\n", Line: 24},
			}
			for lang, w := range want {
				if got[lang] != w {
					t.Errorf("Consumers()[%s] = %+v, want %+v", lang, got[lang], w)
				}
			}
		})
	}
}

// TestMissingRuntimes: without python3 or node on the PATH, the checks
// say so, wrapping ErrUnavailable, which makes the test skip (or fail
// under CI=true) with that message.
func TestMissingRuntimes(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := readmecode.CheckPython(t.Context()); !errors.Is(err, readmecode.ErrUnavailable) || !strings.Contains(err.Error(), "boto3") {
		t.Errorf("CheckPython() error = %v, want ErrUnavailable saying to install python3 and boto3", err)
	}
	if _, _, err := readmecode.CheckNode(t.Context()); !errors.Is(err, readmecode.ErrUnavailable) || !strings.Contains(err.Error(), "Node.js 20") {
		t.Errorf("CheckNode() error = %v, want ErrUnavailable saying to install Node.js 20", err)
	}
}
