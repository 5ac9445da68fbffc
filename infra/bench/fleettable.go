package bench

import (
	"fmt"
	"strings"
	"time"
)

// Budgets of the fleet table.
const (
	// FleetWallBudget bounds tick 1's wall time for 1,000 integrations,
	// and so for every smaller fleet; FleetFunctionTimeout bounds it too.
	FleetWallBudget = 30 * time.Second
	// FleetRSSBudget bounds the bootstrap's peak RSS over a fleet's run.
	FleetRSSBudget = 64 << 20
	// MaxFleetRefreshReads and MaxFleetRefreshWrites bound the Secrets
	// Manager calls per integration that refreshes, on its own secrets
	// (the fleet's ListSecrets pages have their own budget, ListPage); MaxFleetNoOpReads and MaxFleetNoOpWrites
	// those per integration that does not.
	MaxFleetRefreshReads  = 2
	MaxFleetRefreshWrites = 1
	MaxFleetNoOpReads     = 2
	MaxFleetNoOpWrites    = 0
	// WriteQuota is the Region's shared quota of PutSecretValue,
	// UpdateSecret and UpdateSecretVersionStage requests per second; the
	// rotator paces its writes at 40 per second under it.
	WriteQuota = 50
	// WriteCeiling is the most writes per second the rotator is designed to
	// reach Secrets Manager with: paced at 40/s, bunched by jitter to at most
	// 45 (rotation.WriteCeiling, which this package cannot import).
	WriteCeiling = 45
	// ListPage is how many secrets one ListSecrets page returns at most.
	ListPage = 100
)

// Table renders the report as one Markdown table: a column per fleet size,
// each figure followed by PASS or MISS where it has a budget.
func (r *FleetReport) Table() string {
	var b strings.Builder
	b.WriteString("| fleet figure |")
	for _, s := range r.Sizes {
		fmt.Fprintf(&b, " %s |", thousands(s.Integrations))
	}
	b.WriteString(" budget |\n|---|")
	for range r.Sizes {
		b.WriteString("---:|")
	}
	b.WriteString("---|\n")
	row := func(figure, budget string, cell func(FleetSize) string) {
		fmt.Fprintf(&b, "| %s |", figure)
		for _, s := range r.Sizes {
			fmt.Fprintf(&b, " %s |", cell(s))
		}
		fmt.Fprintf(&b, " %s |\n", budget)
	}

	wall := func(t Tick) string {
		return fmt.Sprintf("%.2f s %s", t.Wall.Seconds(), verdict(t.Wall < FleetWallBudget && t.Wall < FleetFunctionTimeout))
	}
	wallBudget := fmt.Sprintf("< %.0f s (timeout %.0f s)", FleetWallBudget.Seconds(), FleetFunctionTimeout.Seconds())
	// An integration's reads are those of its own two secrets; the
	// fleet's listing (ListSecrets, one page per 100 token secrets) is
	// the run's, and has its own row and budget.
	reads := func(t Tick, n, budget int) string {
		own := t.Calls.Get + t.Calls.Describe
		s := fmt.Sprintf("%.3f %s", perIntegration(own, n), verdict(own <= budget*n && t.Calls.Other() == 0))
		if o := t.Calls.Other(); o > 0 {
			s += fmt.Sprintf(" (+%d other calls)", o)
		}
		return s
	}
	writes := func(t Tick, n, budget int) string {
		return fmt.Sprintf("%.3f %s", perIntegration(t.Calls.Writes(), n), verdict(t.Calls.Writes() <= budget*n))
	}
	list := func(t Tick, n int) string {
		return fmt.Sprintf("%d %s", t.Calls.List, verdict(t.Calls.List <= (n+ListPage-1)/ListPage))
	}
	tokens := func(t Tick, n int) string { return fmt.Sprintf("%.3f", perIntegration(t.Tokens, n)) }
	latency := func(t Tick) string { return millis(ms(t.SMLatency)) }
	outcome := func(t Tick, ok bool) string {
		return fmt.Sprintf("%s / %s / %s %s", thousands(t.Rotated), thousands(t.Fresh), thousands(t.Failed), verdict(ok))
	}

	const t1, t2 = "tick 1 (every integration refreshes)", "tick 2 (none refreshes)"
	row(t1+": wall time of the invocation", wallBudget, func(s FleetSize) string { return wall(s.Refresh) })
	row("… integrations per second", "", func(s FleetSize) string {
		return fmt.Sprintf("%.1f", float64(s.Integrations)/s.Refresh.Wall.Seconds())
	})
	row("… rotated / fresh / failed", "all rotated", func(s FleetSize) string {
		return outcome(s.Refresh, s.Refresh.Rotated == s.Integrations && s.Refresh.Failed == 0)
	})
	row("… SM reads per integration, of its own two secrets (GetSecretValue + DescribeSecret)",
		fmt.Sprintf("≤ %d", MaxFleetRefreshReads), func(s FleetSize) string { return reads(s.Refresh, s.Integrations, MaxFleetRefreshReads) })
	row("… ListSecrets pages for the whole fleet", "≤ one per 100 integrations", func(s FleetSize) string { return list(s.Refresh, s.Integrations) })
	row("… SM writes per integration (PutSecretValue)", fmt.Sprintf("≤ %d", MaxFleetRefreshWrites),
		func(s FleetSize) string { return writes(s.Refresh, s.Integrations, MaxFleetRefreshWrites) })
	row(fmt.Sprintf("… token requests per integration (each answered after %v)", r.TokenDelay), "",
		func(s FleetSize) string { return tokens(s.Refresh, s.Integrations) })
	row("… median Secrets Manager call (moto_server, through the proxy)", "", func(s FleetSize) string { return latency(s.Refresh) })
	row("… most PutSecretValue calls in any 1 s window", fmt.Sprintf("≤ %d (paced at 40/s; the Region's quota is %d)", WriteCeiling, WriteQuota),
		func(s FleetSize) string {
			n := max(s.Refresh.MaxWritesPerSecond, s.NoOp.MaxWritesPerSecond)
			return fmt.Sprintf("%d %s", n, verdict(n <= WriteCeiling))
		})
	row(t2+": wall time of the invocation", wallBudget, func(s FleetSize) string { return wall(s.NoOp) })
	row("… rotated / fresh / failed", "all fresh", func(s FleetSize) string {
		return outcome(s.NoOp, s.NoOp.Fresh == s.Integrations && s.NoOp.Failed == 0)
	})
	row("… SM reads per integration, of its own two secrets (GetSecretValue + DescribeSecret)",
		fmt.Sprintf("≤ %d", MaxFleetNoOpReads), func(s FleetSize) string { return reads(s.NoOp, s.Integrations, MaxFleetNoOpReads) })
	row("… ListSecrets pages for the whole fleet", "≤ one per 100 integrations", func(s FleetSize) string { return list(s.NoOp, s.Integrations) })
	row("… SM writes per integration (PutSecretValue)", fmt.Sprintf("%d", MaxFleetNoOpWrites),
		func(s FleetSize) string { return writes(s.NoOp, s.Integrations, MaxFleetNoOpWrites) })
	row("… token requests per integration", "", func(s FleetSize) string { return tokens(s.NoOp, s.Integrations) })
	row("… median Secrets Manager call (moto_server, through the proxy)", "", func(s FleetSize) string { return latency(s.NoOp) })
	row("peak RSS of the bootstrap over both ticks (VmHWM)", "< "+mib(FleetRSSBudget), func(s FleetSize) string {
		return fmt.Sprintf("%s %s", mib(float64(s.PeakRSS)), verdict(s.PeakRSS < FleetRSSBudget))
	})
	if g, ok := rssGrowth(r.Sizes); ok {
		first, last := r.Sizes[0].Integrations, r.Sizes[len(r.Sizes)-1].Integrations
		row(fmt.Sprintf("RSS growth per integration ((peak at %s − peak at %s) / %s)", thousands(last), thousands(first), thousands(last-first)),
			"", func(s FleetSize) string {
				if s.Integrations != last {
					return ""
				}
				return fmt.Sprintf("%.1f KiB", g/1024)
			})
	}
	return b.String()
}
