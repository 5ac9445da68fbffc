package templatecheck

import (
	"regexp"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/status"
)

// The limits real AWS holds the template's values to, which no local run
// meets: a value past them fails a deploy or an update in an account.

// lambdaDescriptionMax is the longest Description Lambda takes.
const lambdaDescriptionMax = 256

// TestFunctionDescriptionsFit holds every function's Description to a fixed
// string within Lambda's limit: one built with !Sub from the token secret's
// ARN or the token URL could pass 256 characters and fail an update.
func TestFunctionDescriptionsFit(t *testing.T) {
	tpl := load(t)
	n := 0
	for id, r := range get(t, tpl, "Resources").(map[string]any) {
		ty, _ := r.(map[string]any)["Type"].(string)
		if ty != "AWS::Serverless::Function" && ty != "AWS::Lambda::Function" {
			continue
		}
		n++
		d := get(t, r, "Properties", "Description")
		s, ok := d.(string)
		switch {
		case !ok:
			t.Errorf("%s.Description = %v, want a fixed string: one built from other values can pass Lambda's %d characters", id, d, lambdaDescriptionMax)
		case len(s) > lambdaDescriptionMax:
			t.Errorf("%s.Description is %d characters, over Lambda's %d", id, len(s), lambdaDescriptionMax)
		}
	}
	if n == 0 {
		t.Fatal("the template has no function")
	}
}

// minScheduleInterval is the shortest Schedule the template takes: each run
// that refreshes writes once, and Secrets Manager asks for at most one
// PutSecretValue per 10 minutes per secret, sustained. At 12 minutes the
// schedule's 120 writes a day leave 24 for forced runs and retries.
const (
	minScheduleInterval = 12 * time.Minute
	writeRuleInterval   = 10 * time.Minute
)

// TestSchedulePattern holds the Schedule parameter to the write rule: every
// rate it takes is at least minScheduleInterval, with room under the rule
// for a write an hour more, and the schedules of functions/rotator/README.md
// (each row of its table) pass it.
func TestSchedulePattern(t *testing.T) {
	re := parameterPattern(t, "Schedule")
	day := 24 * time.Hour
	if scheduled, rule := day/minScheduleInterval, day/writeRuleInterval; rule-scheduled < 24 {
		t.Errorf("at %v a day holds %d scheduled writes, %d under the rule's %d: want room for one more an hour", minScheduleInterval, scheduled, rule-scheduled, rule)
	}
	for expr, want := range map[string]bool{
		"rate(23 hours)": true, "rate(90 minutes)": true, "rate(45 minutes)": true, "rate(12 minutes)": true,
		"rate(1 hour)": true, "rate(1 day)": true, "rate(2 days)": true, "rate(120 minutes)": true,
		"cron(0 */6 * * ? *)": true, "at(2026-12-24T00:00:00)": true,
		"rate(10 minutes)": false, "rate(11 minutes)": false, "rate(5 minutes)": false, "rate(1 minute)": false,
		"rate(1 hours)": false, "rate(0 hours)": false, "rate(23 hour)": false, "": false, "rate(23 hours) ": false,
	} {
		if got := re.MatchString(expr); got != want {
			t.Errorf("Schedule pattern takes %q = %v, want %v", expr, got, want)
		}
		if d, err := status.ParseRate(expr); want && err == nil && d < minScheduleInterval {
			t.Errorf("Schedule %q is every %v, under %v", expr, d, minScheduleInterval)
		}
	}
}

// TestNativeSchedulePatterns holds NativeRotationSchedule and
// NativeRotationWindow to what Secrets Manager takes: at least 4 hours
// between rotations, rate() windows that restart at midnight UTC (so hours
// that divide 24, each window the full interval), and a window that reaches
// neither the next window nor the next UTC day.
func TestNativeSchedulePatterns(t *testing.T) {
	sched := parameterPattern(t, "NativeRotationSchedule")
	for expr, want := range map[string]bool{
		"rate(4 hours)": true, "rate(6 hours)": true, "rate(8 hours)": true, "rate(12 hours)": true,
		"rate(1 day)": true, "rate(7 days)": true, "rate(999 days)": true, "cron(0 8 * * ? *)": true,
		"rate(1 hour)": false, "rate(2 hours)": false, "rate(3 hours)": false, "rate(5 hours)": false,
		"rate(10 hours)": false, "rate(23 hours)": false, "rate(24 hours)": false, "rate(1 days)": false,
		"rate(1000 days)": false, "rate(45 minutes)": false,
	} {
		if got := sched.MatchString(expr); got != want {
			t.Errorf("NativeRotationSchedule pattern takes %q = %v, want %v", expr, got, want)
			continue
		}
		if !want || expr[:4] == "cron" {
			continue
		}
		h, err := parseRate(expr)
		if err != nil {
			t.Errorf("NativeRotationSchedule %q: %v", expr, err)
			continue
		}
		if h < minNativeInterval || ((24*time.Hour)%h != 0 && h%(24*time.Hour) != 0) {
			t.Errorf("NativeRotationSchedule takes %q, every %v: want at least %v, dividing a day or whole days", expr, h, minNativeInterval)
		}
	}
	window := parameterPattern(t, "NativeRotationWindow")
	for d, want := range map[string]bool{"1h": true, "2h": true, "8h": true, "24h": true, "0h": false, "25h": false, "48h": false, "90m": false} {
		if got := window.MatchString(d); got != want {
			t.Errorf("NativeRotationWindow pattern takes %q = %v, want %v", d, got, want)
		}
	}
}

// parameterPattern compiles the AllowedPattern of parameter name.
func parameterPattern(t *testing.T, name string) *regexp.Regexp {
	t.Helper()
	p, _ := get(t, load(t), "Parameters", name, "AllowedPattern").(string)
	if p == "" {
		t.Fatalf("Parameters.%s has no AllowedPattern", name)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		t.Fatalf("Parameters.%s.AllowedPattern = %q: %v", name, p, err)
	}
	return re
}
