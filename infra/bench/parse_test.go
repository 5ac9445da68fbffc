package bench

import (
	"strings"
	"testing"
	"time"
)

func TestParseVmHWM(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{name: "status file", status: "Name:\tbootstrap\nVmPeak:\t 1265744 kB\nVmHWM:\t   13844 kB\nVmRSS:\t   13844 kB\n", want: 13844 * 1024},
		{name: "last line without newline", status: "Name:\tx\nVmHWM:\t1 kB", want: 1024},
		{name: "missing", status: "Name:\tx\nVmRSS:\t1 kB\n", wantErr: true},
		{name: "no unit", status: "VmHWM:\t12\n", wantErr: true},
		{name: "not a number", status: "VmHWM:\tlots kB\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVmHWM(tt.status)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("parseVmHWM() = %d, %v, want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseGoBench(t *testing.T) {
	const out = `goos: linux
goarch: amd64
pkg: github.com/tokenrotator/tokenrotator/functions/tokensecret
cpu: some CPU
BenchmarkGetCachedParallel-2   	70000000	        14.20 ns/op	       0 B/op	       0 allocs/op
BenchmarkGetCached-2           	74034685	        16.20 ns/op	       8 B/op	       1 allocs/op
PASS
ok  	github.com/tokenrotator/tokenrotator/functions/tokensecret	2.1s
`
	tests := []struct {
		name    string
		out     string
		bench   string
		want    GoBench
		wantErr bool
	}{
		{name: "exact name, not a prefix of another", out: out, bench: "BenchmarkGetCached",
			want: GoBench{Name: "BenchmarkGetCached", NsPerOp: 16.2, BytesPerOp: 8, AllocsPerOp: 1}},
		{name: "without GOMAXPROCS suffix", out: "BenchmarkX 10 3.5 ns/op 0 B/op 0 allocs/op\n", bench: "BenchmarkX",
			want: GoBench{Name: "BenchmarkX", NsPerOp: 3.5, AllocsPerOp: 0}},
		{name: "absent", out: out, bench: "BenchmarkTokenCached", wantErr: true},
		{name: "without -benchmem", out: "BenchmarkX-2 10 3.5 ns/op\n", bench: "BenchmarkX", wantErr: true},
		{name: "bad number", out: "BenchmarkX-2 10 fast ns/op 0 B/op 0 allocs/op\n", bench: "BenchmarkX", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseGoBench(tt.out, tt.bench)
			if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
				t.Errorf("parseGoBench() = %+v, %v, want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{name: "none", want: 0},
		{name: "odd, unsorted", in: []time.Duration{9 * ms, 1 * ms, 5 * ms}, want: 5 * ms},
		{name: "even", in: []time.Duration{4 * ms, 1 * ms, 2 * ms, 3 * ms}, want: 2500 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	before := Usage{Calls: map[string]int{"GetSecretValue": 3, "CreateSecret": 2}, Busy: time.Second}
	after := Usage{Calls: map[string]int{"GetSecretValue": 5, "CreateSecret": 2, "PutSecretValue": 1, "TagResource": 1}, Busy: 3 * time.Second}
	d := after.Sub(before)
	if d.Busy != 2*time.Second {
		t.Errorf("Sub().Busy = %v, want 2s", d.Busy)
	}
	got := classify(d, 1)
	want := Calls{Reads: 2, Writes: 1, Other: 1, Tokens: 1}
	if got != want {
		t.Errorf("classify() = %+v, want %+v", got, want)
	}
	if s := got.String(); s != "2 / 1 / 1 (+1 other)" {
		t.Errorf("String() = %q, want %q", s, "2 / 1 / 1 (+1 other)")
	}
}

func TestTableVerdicts(t *testing.T) {
	rep := &Report{
		Ours: Figures{Size: 120, Zip: 100, Init: 14 * time.Millisecond, Own: 6 * time.Millisecond, PeakRSS: 10,
			Refresh: Calls{Reads: 2, Tokens: 1, Writes: 1}, NoOp: Calls{Reads: 2}, HasNoOp: true},
		Reference: Figures{Size: 100, Zip: 100, Init: 10 * time.Millisecond, PeakRSS: 10, Refresh: Calls{Reads: 1, Tokens: 1, Writes: 1}},
	}
	table := rep.Table()
	for _, want := range []string{
		"| bootstrap, linux/arm64 stripped | 0.00 MiB | 0.00 MiB | 1.20× | ≤ 1.10× | MISS |",
		"| bootstrap zip (deflate) | 0.00 MiB | 0.00 MiB | 1.00× | ≤ 1.10× | PASS |",
		"| 14.00 ms | 10.00 ms | 1.40× | ≤ 1.30× | MISS |",
		"| 6.00 ms | 0.00 ms |  | ≤ 5.00 ms | MISS |",
		"| 2 / 1 / 1 | 1 / 1 / 1 |  | ≤ 2 / 1 / 1 | PASS |",
		"| 2 / 0 / 0 | none (always refreshes) |  | – / 0 / 0 | PASS |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("Table() lacks %q; got\n%s", want, table)
		}
	}
}
