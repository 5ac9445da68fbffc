package status

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		expr string
		want time.Duration
		ok   bool
	}{
		{"rate(23 hours)", 23 * time.Hour, true},
		{"rate(1 hour)", time.Hour, true},
		{"rate(45 minutes)", 45 * time.Minute, true},
		{"rate(10 minutes)", 10 * time.Minute, true},
		{"rate(1 day)", 24 * time.Hour, true},
		{"rate(2 days)", 48 * time.Hour, true},
		{"rate(0 hours)", 0, false},
		{"rate(23 weeks)", 0, false},
		{"cron(0 3 * * ? *)", 0, false},
		{"at(2026-12-01T00:00:00)", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.expr)
		if ok := err == nil; got != tt.want || ok != tt.ok {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, ok %v", tt.expr, got, err, tt.want, tt.ok)
		}
	}
}

func TestSchedulerNext(t *testing.T) {
	tests := []struct {
		name     string
		schedule string
		lastEnd  time.Time
		want     time.Time
		how      string
	}{
		{"after the last run", "rate(23 hours)", now.Add(-2 * time.Hour), now.Add(21 * time.Hour), "the last run + rate(23 hours)"},
		{"no run seen", "rate(23 hours)", time.Time{}, now.Add(23 * time.Hour), "now + rate(23 hours)"},
		{"overdue", "rate(23 hours)", now.Add(-30 * time.Hour), now.Add(23 * time.Hour), "now + rate(23 hours)"},
		{"a run in this minute", "rate(23 hours)", now.Add(30 * time.Second), now.Add(23 * time.Hour), "the last run + rate(23 hours)"},
		{"cron", "cron(0 3 * * ? *)", now.Add(-time.Hour), time.Time{}, "the schedule cron(0 3 * * ? *) is not a rate(...)"},
		{"unknown", "", now.Add(-time.Hour), time.Time{}, "the stack's Schedule is unknown"},
	}
	for _, tt := range tests {
		got := schedulerNext(tt.schedule, tt.lastEnd, now)
		if !got.By.Equal(tt.want) || got.How != tt.how {
			t.Errorf("%s: schedulerNext() = %v, %q; want %v, %q", tt.name, got.By, got.How, tt.want, tt.how)
		}
	}
}

func TestRotationNext(t *testing.T) {
	days := func(n int64) *smtypes.RotationRulesType {
		return &smtypes.RotationRulesType{AutomaticallyAfterDays: aws.Int64(n)}
	}
	expr := func(e string, window *string) *smtypes.RotationRulesType {
		return &smtypes.RotationRulesType{ScheduleExpression: aws.String(e), Duration: window}
	}
	tests := []struct {
		name        string
		next, last  *time.Time
		rules       *smtypes.RotationRulesType
		want        time.Time
		wantUnknown bool
	}{
		{"NextRotationDate wins", aws.Time(now.Add(5 * time.Hour)), aws.Time(now.Add(-time.Hour)), days(1), now.Add(5 * time.Hour), false},
		{"days: the rest of the day as the window", nil, aws.Time(now.Add(-time.Hour)), days(1), now.Add(47 * time.Hour), false},
		{"hours: an hour's window", nil, aws.Time(now.Add(-time.Hour)), expr("rate(20 hours)", nil), now.Add(20 * time.Hour), false},
		{"a window of its own", nil, aws.Time(now.Add(-time.Hour)), expr("rate(20 hours)", aws.String("3h")), now.Add(22 * time.Hour), false},
		{"never rotated", nil, nil, expr("rate(4 hours)", nil), now.Add(5 * time.Hour), false},
		{"overdue", nil, aws.Time(now.Add(-10 * time.Hour)), expr("rate(4 hours)", nil), now.Add(5 * time.Hour), false},
		{"cron rules", nil, nil, expr("cron(0 3 * * ? *)", nil), time.Time{}, true},
		{"no rules", nil, nil, nil, time.Time{}, true},
	}
	for _, tt := range tests {
		got := rotationNext(tt.next, tt.last, tt.rules, now)
		if !got.By.Equal(tt.want) || (got.By.IsZero() != tt.wantUnknown) {
			t.Errorf("%s: rotationNext() = %v (%s), want %v", tt.name, got.By, got.How, tt.want)
		}
	}
}

func TestShort(t *testing.T) {
	tests := map[time.Duration]string{
		42 * time.Second:               "42s",
		7*time.Minute + 59*time.Second: "7m",
		5*time.Hour + 7*time.Minute:    "5h07m",
		47*time.Hour + 59*time.Minute:  "47h59m",
		51 * time.Hour:                 "2d03h",
	}
	for d, want := range tests {
		if got := short(d); got != want {
			t.Errorf("short(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestParseToken(t *testing.T) {
	tests := []struct {
		value   string
		noToken string
	}{
		{tokenJSON("c", now, now.Add(time.Hour)), ""},
		{"{}", "no token yet ({})"},
		{" {} ", "no token yet ({})"},
		{"", "not JSON"},
		{"not json " + accessTokenSentinel, "not JSON"},
		{`{"access_token": 7, "expiry": "2026-11-30T00:00:00Z"}`, "no access_token"},
		{`{"access_token": "x", "expiry": 7}`, "not the token format"},
		{`{"access_token": "", "expiry": "2026-11-30T00:00:00Z"}`, "no access_token"},
		{`{"access_token": null, "expiry": "2026-11-30T00:00:00Z"}`, "no access_token"},
		{`{"token_type": "bearer"}`, "not a token"},
		{`{"access_token": "x", "expiry": "30/11/2026"}`, "expiry is not RFC 3339"},
	}
	for _, tt := range tests {
		var ts tokenState
		ts.parse(tt.value)
		if ts.NoToken != tt.noToken || ts.HasToken != (tt.noToken == "") {
			t.Errorf("parse(%.40q): NoToken = %q, HasToken %v; want %q", tt.value, ts.NoToken, ts.HasToken, tt.noToken)
		}
	}
}
