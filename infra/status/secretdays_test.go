package status

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// secretDays records an integration's ClientSecretDaysLeft at minute at.
func (f *fakeMetrics) secretDays(integration string, at time.Time, days float64) {
	if f.points == nil {
		f.points = map[string]map[string]map[time.Time]float64{}
	}
	if f.points[integration] == nil {
		f.points[integration] = map[string]map[time.Time]float64{}
	}
	if f.points[integration][MetricClientSecretDaysLeft] == nil {
		f.points[integration][MetricClientSecretDaysLeft] = map[time.Time]float64{}
	}
	f.points[integration][MetricClientSecretDaysLeft][at.Truncate(time.Minute)] = days
}

// TestWriteClientSecretDays: the CLIENT SECRET column shows the days left
// on each integration's client secret as its last report said them, blank
// for an integration whose credentials say nothing, "expired" past the date;
// the verdict stays the tokens'.
func TestWriteClientSecretDays(t *testing.T) {
	for _, c := range []struct {
		name       string
		reports    map[time.Duration]float64 // age of the report -> days left then
		wantAcme   string
		wantHeader bool
	}{
		{name: "none said", wantAcme: ""},
		{name: "the latest report", reports: map[time.Duration]float64{24 * time.Hour: 30, time.Hour: 29}, wantAcme: "29 days left"},
		{name: "less than a day", reports: map[time.Duration]float64{time.Hour: 0}, wantAcme: "0 days left"},
		{name: "past its date", reports: map[time.Duration]float64{time.Hour: -3}, wantAcme: "expired"},
		{name: "reported before the window", reports: map[time.Duration]float64{72 * time.Hour: 12}, wantAcme: ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld()
			for age, days := range c.reports {
				w.metrics.secretDays("acme", now.Add(-age), days)
			}
			var buf bytes.Buffer
			ok, err := Write(context.Background(), &buf, w.config())
			if err != nil || !ok {
				t.Fatalf("Write() = %v, %v; want the screen, all tokens fresh", ok, err)
			}
			rows := map[string]string{}
			var head string
			inTable := false
			for _, l := range strings.Split(buf.String(), "\n") {
				switch {
				case strings.HasPrefix(l, "INTEGRATION "):
					head, inTable = l, true
				case strings.HasPrefix(l, "rule:"):
					inTable = false
				case inTable && l != "":
					rows[strings.Fields(l)[0]] = l
				}
			}
			col := strings.Index(head, "CLIENT SECRET")
			if col < 0 || !strings.HasSuffix(head, "CLIENT SECRET") {
				t.Fatalf("header %q, want a last column CLIENT SECRET", head)
			}
			cell := func(name string) string {
				if l := rows[name]; len(l) > col {
					return strings.TrimSpace(l[col:])
				}
				return ""
			}
			if got := cell("acme"); got != c.wantAcme {
				t.Errorf("acme's CLIENT SECRET = %q, want %q\n%s", got, c.wantAcme, buf.String())
			}
			if got := cell("default"); got != "" {
				t.Errorf("default's CLIENT SECRET = %q, want blank: it reported nothing", got)
			}
		})
	}
}
