package bench

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// Budgets from issue 6: ratios to the reference, and absolute limits.
const (
	SizeBudget = 1.10
	InitBudget = 1.3
	RSSBudget  = 1.3
	OwnBudget  = 5 * time.Millisecond
	// MaxRefreshReads, MaxRefreshTokens and MaxRefreshWrites bound the
	// refresh path's calls.
	MaxRefreshReads  = 2
	MaxRefreshTokens = 1
	MaxRefreshWrites = 1
)

// Table renders the report as one Markdown table: ours, the reference,
// the ratio, the budget and PASS or MISS.
func (r *Report) Table() string {
	o, ref := r.Ours, r.Reference
	var b strings.Builder
	b.WriteString("| figure | ours | reference | ratio | budget | verdict |\n|---|---:|---:|---:|---|---|\n")
	row := func(figure, ours, refv, ratio, budget, verdict string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", figure, ours, refv, ratio, budget, verdict)
	}
	ratioRow := func(figure string, ours, refv float64, show func(float64) string, budget float64) {
		q := ours / refv
		row(figure, show(ours), show(refv), fmt.Sprintf("%.2f×", q), fmt.Sprintf("≤ %.2f×", budget), verdict(q <= budget))
	}
	ratioRow("bootstrap, linux/arm64 stripped", float64(o.Size), float64(ref.Size), mib, SizeBudget)
	ratioRow("bootstrap zip (deflate)", float64(o.Zip), float64(ref.Zip), mib, SizeBudget)
	ratioRow(fmt.Sprintf("cold-start init, median of %d (emulator, linux/%s)", r.ColdStarts, runtime.GOARCH),
		ms(o.Init), ms(ref.Init), millis, InitBudget)
	warm := fmt.Sprintf("warm forced rotation, median of %d", r.WarmRuns)
	row(warm+": round trip", millis(ms(o.Total)), millis(ms(ref.Total)), ratio(o.Total, ref.Total), "", "")
	row("… Secrets Manager time", millis(ms(o.SecretsManager)), millis(ms(ref.SecretsManager)), ratio(o.SecretsManager, ref.SecretsManager), "", "")
	row("… IMS time", millis(ms(o.TokenEndpoint)), millis(ms(ref.TokenEndpoint)), ratio(o.TokenEndpoint, ref.TokenEndpoint), "", "")
	row("… own time (round trip − network waits)", millis(ms(o.Own)), millis(ms(ref.Own)), ratio(o.Own, ref.Own),
		"≤ "+millis(ms(OwnBudget)), verdict(o.Own <= OwnBudget))
	ratioRow("peak RSS of the bootstrap (VmHWM)", float64(o.PeakRSS), float64(ref.PeakRSS), mib, RSSBudget)
	row("calls, refresh path (SM reads / token requests / SM writes)", o.Refresh.String(), ref.Refresh.String(), "",
		fmt.Sprintf("≤ %d / %d / %d", MaxRefreshReads, MaxRefreshTokens, MaxRefreshWrites), verdict(refreshOK(o.Refresh)))
	noOpRef := "none (always refreshes)"
	if ref.HasNoOp {
		noOpRef = ref.NoOp.String()
	}
	row("calls, no-op path (SM reads / token requests / SM writes)", o.NoOp.String(), noOpRef, "",
		"– / 0 / 0", verdict(o.HasNoOp && o.NoOp.Tokens == 0 && o.NoOp.Writes == 0 && o.NoOp.Other == 0))
	row("consumer library, cached Get", fmt.Sprintf("%.1f ns/op, %d allocs/op", r.Consumer.NsPerOp, r.Consumer.AllocsPerOp), "", "", "", "")
	return b.String()
}

// SigningTable renders what private_key_jwt adds to a run: ours keeping
// a private_key_jwt integration fresh beside ours with a client secret,
// measured in the same run (the same columns as Table's, budget and
// verdict empty: the issue set none).
func (r *Report) SigningTable() string {
	s, o := r.Signed, r.Ours
	var b strings.Builder
	b.WriteString("| figure | private_key_jwt | client secret | ratio | budget | verdict |\n|---|---:|---:|---:|---|---|\n")
	row := func(figure, signed, secret, ratio string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |  |  |\n", figure, signed, secret, ratio)
	}
	row(fmt.Sprintf("warm forced rotation, median of %d: round trip", r.WarmRuns), millis(ms(s.Total)), millis(ms(o.Total)), ratio(s.Total, o.Total))
	row("… KMS time (kms:Sign, through a timing proxy)", millis(ms(s.KMSTime)), "none", "")
	row("… own time (round trip − network waits, KMS's included)", millis(ms(s.Own)), millis(ms(o.Own)), ratio(s.Own, o.Own))
	row("KMS round trips per run: the first in a fresh emulator / each later one", fmt.Sprintf("%d / %d", s.KMSFirst, s.KMSWarm),
		fmt.Sprintf("%d / %d", o.KMSFirst, o.KMSWarm), "")
	row("calls, refresh path (SM reads / token requests / SM writes)", s.Refresh.String(), o.Refresh.String(), "")
	return b.String()
}

func refreshOK(c Calls) bool {
	return c.Reads <= MaxRefreshReads && c.Tokens <= MaxRefreshTokens && c.Writes <= MaxRefreshWrites && c.Other == 0
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func millis(v float64) string { return fmt.Sprintf("%.2f ms", v) }

func mib(v float64) string { return fmt.Sprintf("%.2f MiB", v/(1<<20)) }
