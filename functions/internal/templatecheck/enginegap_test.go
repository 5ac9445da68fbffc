package templatecheck

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/infra/status"
)

// tokenLifetime is the lifetime of an Adobe IMS token, the default
// provider's: the native schedule's default must keep it fresh.
const tokenLifetime = 24 * time.Hour

// minNativeInterval is the shortest interval Secrets Manager rotates at.
const minNativeInterval = 4 * time.Hour

var windowExpr = regexp.MustCompile(`^([1-9][0-9]?)h$`)

// parseRate returns the interval of a rate(N hours) or rate(N days)
// schedule expression, the ones Secrets Manager's rotation takes.
func parseRate(expr string) (time.Duration, error) {
	if strings.Contains(expr, "minute") {
		return 0, fmt.Errorf("%q is not rate(N hours) or rate(N days)", expr)
	}
	return status.ParseRate(expr)
}

// parseWindow returns the length of a rotation window written as Nh.
func parseWindow(d string) (time.Duration, error) {
	m := windowExpr.FindStringSubmatch(d)
	if m == nil {
		return 0, fmt.Errorf("%q is not a number of hours such as 2h", d)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, fmt.Errorf("%q: %w", d, err)
	}
	return time.Duration(n) * time.Hour, nil
}

// nativeInterval and nativeWindow return the defaults of
// NativeRotationSchedule (H) and NativeRotationWindow (D).
func nativeInterval(t *testing.T) time.Duration {
	t.Helper()
	expr, _ := get(t, load(t), "Parameters", "NativeRotationSchedule", "Default").(string)
	h, err := parseRate(expr)
	if err != nil {
		t.Fatalf("Parameters.NativeRotationSchedule.Default: %v", err)
	}
	return h
}

func nativeWindow(t *testing.T) time.Duration {
	t.Helper()
	d, _ := get(t, load(t), "Parameters", "NativeRotationWindow", "Default").(string)
	w, err := parseWindow(d)
	if err != nil {
		t.Fatalf("Parameters.NativeRotationWindow.Default: %v", err)
	}
	return w
}

// scheduleProblems returns what is wrong with a native schedule of interval
// h and window d for a token of lifetime life that consumers read again
// margin before its expiry; none when a whole failed window still leaves
// them a valid token.
func scheduleProblems(h, d, life, margin time.Duration) []string {
	var out []string
	usable := life - margin
	if h < minNativeInterval {
		out = append(out, fmt.Sprintf("interval %v is under Secrets Manager's minimum %v", h, minNativeInterval))
	}
	if d <= 0 || d > h {
		out = append(out, fmt.Sprintf("window %v must be positive and at most the interval %v", d, h))
	}
	// Windows start on the hour; rotations happen anywhere inside.
	if gap := h + d; gap >= usable {
		out = append(out, fmt.Sprintf("two successful rotations up to H + D = %v apart, not below %v", gap, usable))
	}
	if gap := 2*h + d; gap >= usable {
		out = append(out, fmt.Sprintf("with one whole window failed, up to 2H + D = %v, not below %v", gap, usable))
	}
	// rate() windows restart at midnight UTC (Secrets Manager's
	// RotationRules reference), and a window may reach neither the next one
	// nor the next UTC day: an interval that does not divide a day makes the
	// day's last window short, which H + D above does not describe.
	if (24*time.Hour)%h != 0 && h%(24*time.Hour) != 0 {
		out = append(out, fmt.Sprintf("interval %v neither divides a day nor is whole days", h))
	}
	if d > 24*time.Hour {
		out = append(out, fmt.Sprintf("window %v reaches into the next UTC day", d))
	}
	return out
}

func TestParseNativeSchedule(t *testing.T) {
	for _, tt := range []struct {
		expr string
		want time.Duration
		ok   bool
	}{
		{"rate(8 hours)", 8 * time.Hour, true},
		{"rate(1 day)", 24 * time.Hour, true},
		{"rate(10 days)", 240 * time.Hour, true},
		{"rate(0 hours)", 0, false},
		{"rate(8 minutes)", 0, false},
		{"cron(0 */8 * * ? *)", 0, false},
		{"rate(8hours)", 0, false},
	} {
		got, err := parseRate(tt.expr)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseRate(%q) = %v, %v; want %v, ok %v", tt.expr, got, err, tt.want, tt.ok)
		}
	}
	for _, tt := range []struct {
		d    string
		want time.Duration
		ok   bool
	}{
		{"2h", 2 * time.Hour, true},
		{"24h", 24 * time.Hour, true},
		{"0h", 0, false},
		{"90m", 0, false},
		{"2", 0, false},
	} {
		got, err := parseWindow(tt.d)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseWindow(%q) = %v, %v; want %v, ok %v", tt.d, got, err, tt.want, tt.ok)
		}
	}
}

// TestNativeScheduleGap holds the default native schedule to its arithmetic
// (the comment above TokenSecretRotationSchedule), and the rule to the
// schedules it must refuse.
func TestNativeScheduleGap(t *testing.T) {
	h, d := nativeInterval(t), nativeWindow(t)
	for _, p := range scheduleProblems(h, d, tokenLifetime, tokensecret.DefaultMargin) {
		t.Errorf("NativeRotationSchedule %v with NativeRotationWindow %v: %s", h, d, p)
	}
	// The rule itself: schedules that look reasonable and are not.
	for _, tt := range []struct {
		h, d time.Duration
		why  string
	}{
		{12 * time.Hour, 2 * time.Hour, "a whole failed window leaves 26 h"},
		{23 * time.Hour, time.Hour, "24 h between rotations, no margin"},
		{2 * time.Hour, time.Hour, "under 4 hours"},
		{8 * time.Hour, 9 * time.Hour, "a window longer than the interval"},
		{7 * time.Hour, time.Hour, "7 does not divide 24"},
	} {
		if len(scheduleProblems(tt.h, tt.d, tokenLifetime, tokensecret.DefaultMargin)) == 0 {
			t.Errorf("scheduleProblems(%v, %v) found none, want one: %s", tt.h, tt.d, tt.why)
		}
	}
}

// TestRotationFailedAlarm holds the secretsmanager engine's alarm on failed
// rotations: the function's own metric, to the alarm topic, firing when
// failures come back in a second hour within a span that holds a failed
// window and the next one (H + D + 1 hours), so that a failure Secrets
// Manager's retry heals does not fire it (FunctionErrorsAlarm reports that
// one) and one its retries do not heal does, before a 24-hour token
// expires.
func TestRotationFailedAlarm(t *testing.T) {
	v := views(t)
	if _, ok := get(t, v[engineScheduler], "Resources").(map[string]any)["RotationFailedAlarm"]; ok {
		t.Errorf("RotationEngine scheduler has RotationFailedAlarm, want it with secretsmanager only")
	}
	p := get(t, v[engineSecretsManager], "Resources", "RotationFailedAlarm", "Properties").(map[string]any)
	for key, want := range map[string]any{
		"Namespace": metrics.Namespace, "MetricName": metrics.RotationFailed, "Statistic": "Sum",
		"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1, "TreatMissingData": "notBreaching",
		"Period": 3600,
	} {
		if got := p[key]; got != want {
			t.Errorf("RotationFailedAlarm.%s = %v, want %v", key, got, want)
		}
	}
	dims := list(p["Dimensions"])
	if len(dims) != 1 || get(t, dims[0], "Name") != metrics.DimensionFunctionName || !refs(get(t, dims[0], "Value"))["RotatorFunction"] {
		t.Errorf("RotationFailedAlarm.Dimensions = %v, want %s = !Ref RotatorFunction", dims, metrics.DimensionFunctionName)
	}
	for _, key := range []string{"AlarmActions", "OKActions"} {
		if a := list(p[key]); len(a) != 1 || !refs(a[0])["AlarmTopic"] {
			t.Errorf("RotationFailedAlarm.%s = %v, want [!Ref AlarmTopic]", key, p[key])
		}
	}
	period, _ := p["Period"].(int)
	n, _ := p["EvaluationPeriods"].(int)
	m, _ := p["DatapointsToAlarm"].(int)
	span := time.Duration(period*n) * time.Second
	h, d := nativeInterval(t), nativeWindow(t)
	if m != 2 {
		t.Errorf("RotationFailedAlarm.DatapointsToAlarm = %d, want 2: failures in a second hour", m)
	}
	if need := h + d + time.Hour; span < need {
		t.Errorf("RotationFailedAlarm looks at %v, want at least H + D + 1 h = %v, so a failed window and the next fall inside", span, need)
	}
	if span > 24*time.Hour {
		t.Errorf("RotationFailedAlarm looks at %v, more than the day CloudWatch allows", span)
	}
	if alarmAt := 2*h + d; alarmAt >= tokenLifetime-tokensecret.DefaultMargin {
		t.Errorf("RotationFailedAlarm fires up to %v after the last good rotation, want before a %v token expires", alarmAt, tokenLifetime)
	}
}
