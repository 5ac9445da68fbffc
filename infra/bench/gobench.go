package bench

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// GoBench is one Go benchmark's result.
type GoBench struct {
	// Name is the benchmark's name without its -GOMAXPROCS suffix.
	Name string
	// NsPerOp, BytesPerOp and AllocsPerOp are as go test -benchmem
	// reports them.
	NsPerOp     float64
	BytesPerOp  int64
	AllocsPerOp int64
}

// runGoBench runs the benchmark named name (a Benchmark function, matched
// exactly) in pkg with -benchmem and returns its result.
func runGoBench(ctx context.Context, root, pkg, name string) (GoBench, error) {
	args := []string{"test", "-run", "^$", "-bench", "^" + name + "$", "-benchmem", pkg}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.WaitDelay = 5 * time.Second
	var combined bytes.Buffer
	cmd.Stdout, cmd.Stderr = &combined, &combined
	if err := cmd.Run(); err != nil {
		return GoBench{}, fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(combined.Bytes()))
	}
	return parseGoBench(combined.String(), name)
}

// parseGoBench finds the result line of the benchmark named name in go
// test output, such as
//
//	BenchmarkGetCached-2   	41839243	        28.61 ns/op	       0 B/op	       0 allocs/op
func parseGoBench(out, name string) (GoBench, error) {
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 4 || (f[0] != name && !strings.HasPrefix(f[0], name+"-")) {
			continue
		}
		b := GoBench{Name: name, BytesPerOp: -1, AllocsPerOp: -1}
		seen := false
		for i := 2; i+1 < len(f); i += 2 {
			v, unit := f[i], f[i+1]
			var err error
			switch unit {
			case "ns/op":
				b.NsPerOp, err = strconv.ParseFloat(v, 64)
				seen = true
			case "B/op":
				b.BytesPerOp, err = strconv.ParseInt(v, 10, 64)
			case "allocs/op":
				b.AllocsPerOp, err = strconv.ParseInt(v, 10, 64)
			}
			if err != nil {
				return GoBench{}, fmt.Errorf("benchmark %s: bad %s value %q", name, unit, v)
			}
		}
		if !seen || b.AllocsPerOp < 0 {
			return GoBench{}, fmt.Errorf("benchmark %s: no ns/op or allocs/op in %q", name, strings.TrimSpace(line))
		}
		return b, nil
	}
	return GoBench{}, fmt.Errorf("benchmark %s: no result line in the go test output", name)
}
