package templatecheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// emitted returns what the function writes, metric by metric: the
// dimension sets (dimKey) of the lines that carry it. It drives
// metrics.Emitter through every kind of line the rotator writes (an
// integration rotated, left fresh or failed; the rotation protocol's token
// request; a run all good, partly failed or all failed) and reads the EMF
// metadata back, so that what it holds is the code's, not a list to keep.
func emitted(t *testing.T) map[string]map[string]bool {
	t.Helper()
	var buf bytes.Buffer
	e := metrics.Emitter{W: &buf, FunctionName: "tokenrotator-RotatorFunction-abc"}
	for _, o := range []metrics.Outcome{
		{Rotated: true, TTL: 24 * time.Hour, TokenRequest: time.Second, Attempts: 2},
		{TTL: 20 * time.Hour},
		{Failed: true, Attempts: 3},
	} {
		e.Integration("acme", o)
	}
	e.TokenRequest("acme", time.Second, 2)
	e.ClientSecretExpiry("acme", time.Now().Add(40*24*time.Hour))
	for _, s := range []metrics.Summary{
		{Integrations: 2, Rotated: 2, MinTTL: 24 * time.Hour, MaxTokenRequest: time.Second, Attempts: 3, Requested: 2},
		{Integrations: 2, Rotated: 1, Failed: 1, MinTTL: 24 * time.Hour, MaxTokenRequest: time.Second, Attempts: 4, Requested: 2},
		{Integrations: 1, Failed: 1},
	} {
		e.Run(s)
	}
	out := map[string]map[string]bool{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var line struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name string }
				}
			} `json:"_aws"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("decoding the metric line %s: %v", sc.Bytes(), err)
		}
		for _, cw := range line.AWS.CloudWatchMetrics {
			if cw.Namespace != metrics.Namespace {
				t.Fatalf("a metric line in namespace %q, want %q", cw.Namespace, metrics.Namespace)
			}
			for _, m := range cw.Metrics {
				for _, dims := range cw.Dimensions {
					if out[m.Name] == nil {
						out[m.Name] = map[string]bool{}
					}
					out[m.Name][dimKey(slices.Clone(dims))] = true
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("the emitter wrote no metric")
	}
	return out
}

// TestDashboardMetricsAreEmitted: every metric of the rotator's namespace
// that the dashboard graphs is one the function writes, with exactly the
// dimension set of a line that carries it (an integration's line:
// FunctionName and Integration; a run's: FunctionName), valued with the
// stack's function, and one series per integration through SEARCH, so that
// added integrations appear without a deploy.
func TestDashboardMetricsAreEmitted(t *testing.T) {
	written := emitted(t)
	for engine, view := range views(t) {
		for _, r := range metricRefs(t, dashboardOf(t, view)) {
			if r.namespace != metrics.Namespace {
				continue
			}
			sets, ok := written[r.name]
			if !ok {
				t.Errorf("%s: %s, which the function never writes (it writes %v)", engine, r, slices.Sorted(maps.Keys(written)))
				continue
			}
			if !sets[r.dimSet()] {
				t.Errorf("%s: %s: dimensions {%s}, want one of the sets the function writes it with: %v",
					engine, r, r.dimSet(), slices.Sorted(maps.Keys(sets)))
			}
			if got, want := r.dims[metrics.DimensionFunctionName], placeholder("RotatorFunction"); got != want {
				t.Errorf("%s: %s: %s = %q, want the stack's function, %q", engine, r, metrics.DimensionFunctionName, got, want)
			}
			if v, ok := r.dims[metrics.DimensionIntegration]; ok && (!r.search || v != "") {
				t.Errorf("%s: %s: want the %s dimension open in a SEARCH, one series per integration", engine, r, metrics.DimensionIntegration)
			}
		}
	}
}

// TestDashboardShowsWhatTheIssueAsks: time left, good and failed runs per
// integration, the token requests' latency at p50 and p99, their retries,
// and the days left on each client secret.
func TestDashboardShowsWhatTheIssueAsks(t *testing.T) {
	refs := metricRefs(t, dashboardOf(t, views(t)[engineScheduler]))
	perIntegration := func(name, stat string) bool {
		return slices.ContainsFunc(refs, func(r metricRef) bool {
			_, ok := r.dims[metrics.DimensionIntegration]
			return r.namespace == metrics.Namespace && r.name == name && ok && (stat == "" || r.stat == stat)
		})
	}
	for _, want := range []struct{ name, stat string }{
		{metrics.TokenSecondsToExpiry, "Minimum"},
		{metrics.RotationSucceeded, "Sum"},
		{metrics.RotationFailed, "Sum"},
		{metrics.TokenRequestLatency, "p50"},
		{metrics.TokenRequestLatency, "p99"},
		{metrics.TokenRequestRetries, "Sum"},
		{metrics.ClientSecretDaysLeft, "Minimum"},
	} {
		if !perIntegration(want.name, want.stat) {
			t.Errorf("the dashboard graphs no %s (%s) per integration", want.name, want.stat)
		}
	}
}

// stackMetrics are the AWS namespaces the dashboard may graph, each with
// the one dimension that must name a resource of the stack.
var stackMetrics = map[string]map[string]string{
	"AWS/SQS":    {"QueueName": placeholder("DeadLetterQueue.QueueName")},
	"AWS/Lambda": {"FunctionName": placeholder("RotatorFunction")},
}

// TestDashboardAWSMetricsAreTheStacks: a graphed AWS metric is the stack's
// dead-letter queue's or function's, never another resource's, and every
// metric widget reads the stack's Region.
func TestDashboardAWSMetricsAreTheStacks(t *testing.T) {
	d := dashboardOf(t, views(t)[engineScheduler])
	for _, r := range metricRefs(t, d) {
		if r.namespace == metrics.Namespace {
			continue
		}
		want, ok := stackMetrics[r.namespace]
		if !ok {
			t.Errorf("%s: namespace %s, want %s or one of %v", r, r.namespace, metrics.Namespace, slices.Sorted(maps.Keys(stackMetrics)))
			continue
		}
		if !maps.Equal(r.dims, want) {
			t.Errorf("%s: dimensions %v, want %v", r, r.dims, want)
		}
	}
	for _, w := range d.Widgets {
		if w.Type == "metric" && w.Properties.Region != placeholder("AWS::Region") {
			t.Errorf("widget %q: region %q, want ${AWS::Region}", w.Properties.Title, w.Properties.Region)
		}
		if w.X+w.Width > 24 {
			t.Errorf("widget %q: x %d + width %d passes the 24 columns", w.Properties.Title, w.X, w.Width)
		}
	}
}

// TestDashboardShowsEveryAlarm: under each engine, the alarm widget lists
// exactly the alarms that engine's stack has (RotationFailedAlarm with
// secretsmanager only), and a graph shows the metric each of them watches,
// with the alarm's own dimensions.
func TestDashboardShowsEveryAlarm(t *testing.T) {
	for engine, view := range views(t) {
		checkDashboardAlarms(t, engine, view)
	}
}

// checkDashboardAlarms holds that the dashboard of view, the template under
// one choice of the parameters named by engine, lists exactly its alarms
// and graphs each one's metric.
func checkDashboardAlarms(t *testing.T, engine string, view map[string]any) {
	t.Helper()
	{
		d := dashboardOf(t, view)
		alarms := resources(t, view, "AWS::CloudWatch::Alarm")
		var want, got []string
		for id := range alarms {
			want = append(want, placeholder(id+".Arn"))
		}
		for _, w := range d.Widgets {
			if w.Type == "alarm" {
				got = append(got, w.Properties.Alarms...)
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the alarm widgets list %v, want the stack's alarms %v", engine, got, want)
		}
		refs := metricRefs(t, d)
		for id, a := range alarms {
			p := get(t, a, "Properties").(map[string]any)
			dims := map[string]string{}
			for _, dim := range list(p["Dimensions"]) {
				dims[get(t, dim, "Name").(string)] = placeholderOf(get(t, dim, "Value"))
			}
			graphed := slices.ContainsFunc(refs, func(r metricRef) bool {
				return r.namespace == p["Namespace"] && r.name == p["MetricName"] && maps.Equal(r.dims, dims)
			})
			if !graphed {
				t.Errorf("%s: no graph shows %s's metric %v/%v %v", engine, id, p["Namespace"], p["MetricName"], dims)
			}
		}
	}
}

// TestDashboardStaleLine: the time-left graph draws one horizontal line,
// at the span after which the stale alarms fire (StaleTokenAlarm's
// periods, and ops.StaleHours for each added integration's alarm), its
// label starting with that span in hours. The template says why that span
// and not a threshold on time left now.
func TestDashboardStaleLine(t *testing.T) {
	tpl := load(t)
	stale := get(t, tpl, "Resources", "StaleTokenAlarm", "Properties").(map[string]any)
	period, _ := stale["Period"].(int)
	n, _ := stale["EvaluationPeriods"].(int)
	span := period * n
	if want := ops.StaleHours * 3600; span != want {
		t.Fatalf("StaleTokenAlarm fires after %d s, each added integration's alarm after %d s: one line cannot show both", span, want)
	}
	var lines []annotation
	graphs := 0
	for _, w := range dashboardOf(t, views(t)[engineScheduler]).Widgets {
		for _, entry := range w.Properties.Metrics {
			refs, _ := entryRefs(w.Properties.Title, entry)
			if slices.ContainsFunc(refs, func(r metricRef) bool { return r.name == metrics.TokenSecondsToExpiry }) {
				graphs++
				lines = append(lines, w.Properties.Annotations.Horizontal...)
				break
			}
		}
	}
	if graphs != 1 || len(lines) != 1 {
		t.Fatalf("%d time-left graphs with %d horizontal lines, want one graph with one line", graphs, len(lines))
	}
	if lines[0].Value != float64(span) {
		t.Errorf("the time-left line is at %v s, want %d s, after which StaleTokenAlarm fires", lines[0].Value, span)
	}
	if !strings.HasPrefix(lines[0].Label, hours(span)) {
		t.Errorf("the time-left line's label %q, want it to start with %q", lines[0].Label, hours(span))
	}
}

// TestDashboardNameAndURL: the name holds the stack's name and its Region
// (dashboards are global to the account), and DashboardUrl opens it.
func TestDashboardNameAndURL(t *testing.T) {
	tpl := load(t)
	name := get(t, tpl, "Resources", dashboardID, "Properties", "DashboardName")
	if s, err := substitute(name); err != nil || !strings.Contains(s, placeholder("AWS::StackName")) || !strings.Contains(s, placeholder("AWS::Region")) {
		t.Errorf("%s.DashboardName = %v, want !Sub with ${AWS::StackName} and ${AWS::Region}", dashboardID, name)
	}
	url, err := substitute(get(t, tpl, "Outputs", "DashboardUrl", "Value"))
	want := "https://ref(AWS::Region).console.aws.amazon.com/cloudwatch/home?region=ref(AWS::Region)#dashboards/dashboard/ref(Dashboard)"
	if err != nil || url != want {
		t.Errorf("Outputs.DashboardUrl = %q (%v), want %q", url, err, want)
	}
}
