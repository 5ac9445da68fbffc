package readmecode_test

import (
	"errors"
	"go/format"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/readmecode"
)

// TestConsumersOfTheREADME: each block's Line is its first code line, in
// the consumers' document and in the top-level README, which holds one Go
// block.
func TestConsumersOfTheREADME(t *testing.T) {
	for _, d := range docs(t) {
		lines := strings.Split(d.text, "\n")
		for lang, b := range d.blocks {
			if got, want := lines[b.Line-2], "```"+string(lang); got != want {
				t.Errorf("%s, %s block: line %d is %q, want its opening fence %q", d.name, lang, b.Line-1, got, want)
			}
			if first, _, _ := strings.Cut(b.Code, "\n"); lines[b.Line-1] != first {
				t.Errorf("%s, %s block: Line = %d, but that line is not the block's first", d.name, lang, b.Line)
			}
		}
	}
}

// TestGoBlockIsGofmted holds the Go blocks to gofmt, as the body of the
// function each is compiled in.
func TestGoBlockIsGofmted(t *testing.T) {
	for _, d := range docs(t) {
		code := d.blocks[readmecode.Go].Code
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
			t.Fatalf("%s: the Go block does not parse as a function body: %v", d.name, err)
		}
		if string(formatted) != src {
			t.Errorf("%s: the Go block is not gofmt-formatted; gofmt makes it:\n%s", d.name, formatted)
		}
	}
}

func TestConsumers(t *testing.T) {
	const head = "# T\n\ntext\n\n"
	blocks := "```python\npy()\n```\n\n```\nplain\n```\n\n```js\njs()\n```\n\n````go\ngo()\n```\nstill go()\n````\n\n```sh\nsh\n```\n"
	tests := []struct {
		name, doc string
		wantErr   string
	}{
		{"all three", head + blocks, ""},
		{"one missing", head + "```python\npy()\n```\n```go\ngo()\n```\n", "no js block"},
		{"two of one", head + blocks + "```python\nagain()\n```\n", "2 python blocks (lines 6 and 27)"},
		{"not closed", head + "```python\npy()\n", "python block at line 6 is not closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readmecode.Consumers(tt.doc)
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
				readmecode.Python: {Lang: readmecode.Python, Code: "py()\n", Line: 6},
				readmecode.Node:   {Lang: readmecode.Node, Code: "js()\n", Line: 14},
				readmecode.Go:     {Lang: readmecode.Go, Code: "go()\n```\nstill go()\n", Line: 18},
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
