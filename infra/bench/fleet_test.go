package bench

import (
	"strings"
	"testing"
	"time"
)

func TestMaxInWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	paced := func(n int, every time.Duration) []time.Time {
		var ts []time.Time
		for i := range n {
			ts = append(ts, t0.Add(time.Duration(i)*every))
		}
		return ts
	}
	tests := []struct {
		name   string
		events []time.Time
		want   int
	}{
		{name: "none", want: 0},
		{name: "one", events: at(0), want: 1},
		{name: "steady 40 per second for 3 s", events: paced(120, 25*time.Millisecond), want: 40},
		{name: "a second apart is two windows (half-open)", events: at(0, 1000), want: 1},
		{name: "just under a second apart is one window", events: at(0, 999), want: 2},
		{name: "burst in the middle, unsorted", events: at(2500, 0, 2100, 2200, 100, 2300, 3200), want: 4},
		{name: "simultaneous", events: at(5, 5, 5), want: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaxInWindow(tt.events, time.Second); got != tt.want {
				t.Errorf("MaxInWindow() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSMCallsPerIntegration(t *testing.T) {
	tests := []struct {
		name                string
		calls               SMCalls
		n                   int
		reads, writes       int
		other               int
		readsPer, writesPer float64
	}{
		{name: "1,000 refreshing, 10 list pages", n: 1000, calls: SMCalls{Get: 2000, List: 10, Put: 1000, All: 3010},
			reads: 2010, writes: 1000, readsPer: 2.01, writesPer: 1},
		{name: "one, fresh", n: 1, calls: SMCalls{Get: 2, List: 1, All: 3}, reads: 3, readsPer: 3},
		{name: "a targeted lookup and an unexpected call", n: 1, calls: SMCalls{Get: 2, Describe: 1, Put: 1, All: 5},
			reads: 3, writes: 1, other: 1, readsPer: 3, writesPer: 1},
		{name: "empty fleet", n: 0, calls: SMCalls{List: 1, All: 1}, reads: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.calls
			if c.Reads() != tt.reads || c.Writes() != tt.writes || c.Other() != tt.other {
				t.Errorf("Reads(), Writes(), Other() = %d, %d, %d, want %d, %d, %d", c.Reads(), c.Writes(), c.Other(), tt.reads, tt.writes, tt.other)
			}
			if got := perIntegration(c.Reads(), tt.n); got != tt.readsPer {
				t.Errorf("perIntegration(%d, %d) = %v, want %v", c.Reads(), tt.n, got, tt.readsPer)
			}
			if got := perIntegration(c.Writes(), tt.n); got != tt.writesPer {
				t.Errorf("perIntegration(%d, %d) = %v, want %v", c.Writes(), tt.n, got, tt.writesPer)
			}
		})
	}
}

func TestRSSGrowth(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name   string
		sizes  []FleetSize
		want   float64
		wantOK bool
	}{
		{name: "first and last, the middle ignored", sizes: []FleetSize{
			{Integrations: 1, PeakRSS: 10 * mib}, {Integrations: 100, PeakRSS: 50 * mib}, {Integrations: 1000, PeakRSS: 10*mib + 999*2048},
		}, want: 2048, wantOK: true},
		{name: "shrinking", sizes: []FleetSize{{Integrations: 1, PeakRSS: 2000}, {Integrations: 11, PeakRSS: 1000}}, want: -100, wantOK: true},
		{name: "one size", sizes: []FleetSize{{Integrations: 1000, PeakRSS: mib}}},
		{name: "same size twice", sizes: []FleetSize{{Integrations: 5, PeakRSS: 1}, {Integrations: 5, PeakRSS: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := rssGrowth(tt.sizes)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("rssGrowth() = %v, %v, want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 1: "1", 999: "999", 1000: "1,000", 123456: "123,456", 1234567: "1,234,567", -1000: "-1,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFleetTableVerdicts(t *testing.T) {
	rep := &FleetReport{TokenDelay: 100 * time.Millisecond, Sizes: []FleetSize{
		{
			Integrations: 1, PeakRSS: 10 << 20,
			Refresh: Tick{Wall: 200 * time.Millisecond, Rotated: 1, Tokens: 1, MaxWritesPerSecond: 1,
				Calls: SMCalls{Get: 2, List: 1, Put: 1, All: 4}},
			NoOp: Tick{Wall: 40 * time.Millisecond, Fresh: 1, Calls: SMCalls{Get: 2, Put: 1, All: 3}},
		},
		{
			Integrations: 1000, PeakRSS: 10<<20 + 999*10240,
			Refresh: Tick{Wall: 31 * time.Second, Rotated: 1000, Tokens: 1000, MaxWritesPerSecond: 51, SMLatency: 1500 * time.Microsecond,
				Calls: SMCalls{Get: 2000, List: 11, Put: 1000, All: 3011}},
			NoOp: Tick{Wall: 10 * time.Second, Rotated: 3, Fresh: 997, Calls: SMCalls{Get: 2000, All: 2001}},
		},
	}}
	table := rep.Table()
	for _, want := range []string{
		"| fleet figure | 1 | 1,000 | budget |\n|---|---:|---:|---|\n",
		"wall time of the invocation | 0.20 s PASS | 31.00 s MISS | < 30 s (timeout 120 s) |",
		"| … integrations per second | 5.0 | 32.3 |  |",
		"| … rotated / fresh / failed | 1 / 0 / 0 PASS | 1,000 / 0 / 0 PASS | all rotated |",
		"(GetSecretValue + DescribeSecret) | 2.000 PASS | 2.000 PASS | ≤ 2 |",
		"| … ListSecrets pages for the whole fleet | 1 PASS | 11 MISS | ≤ one per 100 integrations |",
		"| … SM writes per integration (PutSecretValue) | 1.000 PASS | 1.000 PASS | ≤ 1 |",
		"| … token requests per integration (each answered after 100ms) | 1.000 | 1.000 |  |",
		"| … median Secrets Manager call (moto_server, through the proxy) | 0.00 ms | 1.50 ms |  |",
		"| … most PutSecretValue calls in any 1 s window | 1 PASS | 51 MISS |",
		"wall time of the invocation | 0.04 s PASS | 10.00 s PASS |",
		"| … rotated / fresh / failed | 0 / 1 / 0 PASS | 3 / 997 / 0 MISS | all fresh |",
		"(GetSecretValue + DescribeSecret) | 2.000 PASS | 2.000 MISS (+1 other calls) | ≤ 2 |",
		"| … ListSecrets pages for the whole fleet | 0 PASS | 0 PASS | ≤ one per 100 integrations |",
		"| … SM writes per integration (PutSecretValue) | 1.000 MISS | 0.000 PASS | 0 |",
		"| peak RSS of the bootstrap over both ticks (VmHWM) | 10.00 MiB PASS | 19.76 MiB PASS | < 64.00 MiB |",
		"| RSS growth per integration ((peak at 1,000 − peak at 1) / 999) |  | 10.0 KiB |  |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("Table() lacks %q; got\n%s", want, table)
		}
	}
}
