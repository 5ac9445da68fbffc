package status

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

var rateRE = regexp.MustCompile(`^rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)$`)

// ParseRate returns the interval of a rate expression as EventBridge
// Scheduler and Secrets Manager write it: rate(1 hour), rate(23 hours),
// rate(10 minutes), rate(2 days), the unit singular for 1 and plural
// otherwise. Anything else (cron(...), at(...), a typo) is an error.
func ParseRate(expr string) (time.Duration, error) {
	m := rateRE.FindStringSubmatch(expr)
	if m == nil {
		return 0, fmt.Errorf("%q is not a rate expression such as rate(23 hours)", expr)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, fmt.Errorf("%q: %w", expr, err)
	}
	if (n == 1) != !strings.HasSuffix(m[2], "s") {
		return 0, fmt.Errorf("%q: the unit is singular for 1 and plural otherwise", expr)
	}
	unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(m[2], "s")]
	return time.Duration(n) * unit, nil
}

// nextRun is the latest time by which an integration's next run comes, and
// how that was worked out. A zero By means it is unknown.
type nextRun struct {
	By  time.Time
	How string
}

// schedulerNext bounds the next scheduled run: runs come every interval of
// a rate schedule, so the next one comes at most interval after the last run
// seen (whose minute ends at lastEnd), or, when no run was seen or it is
// overdue, at most interval from now.
func schedulerNext(schedule string, lastEnd, now time.Time) nextRun {
	interval, err := ParseRate(schedule)
	switch {
	case schedule == "":
		return nextRun{How: "the stack's Schedule is unknown"}
	case err != nil:
		return nextRun{How: fmt.Sprintf("the schedule %s is not a rate(...)", schedule)}
	case !lastEnd.IsZero() && lastEnd.Add(interval).After(now):
		// The run's minute may not be over yet; the next run still comes
		// within an interval from now.
		return nextRun{By: minTime(lastEnd, now).Add(interval), How: "the last run + " + schedule}
	}
	return nextRun{By: now.Add(interval), How: "now + " + schedule}
}

// rotationNext bounds the next rotation of a secret with Secrets Manager
// rotation: NextRotationDate when Secrets Manager gives one, else the last
// rotation (or now, when there was none or it is overdue) plus the rules'
// interval and window.
func rotationNext(next, lastRotated *time.Time, rules *smtypes.RotationRulesType, now time.Time) nextRun {
	if next != nil && !next.IsZero() {
		return nextRun{By: *next, How: "NextRotationDate"}
	}
	span, ok := rotationSpan(rules)
	if !ok {
		return nextRun{How: "the secret's rotation rules have no interval"}
	}
	if lastRotated != nil && lastRotated.Add(span).After(now) {
		return nextRun{By: lastRotated.Add(span), How: "the last rotation + interval + window"}
	}
	return nextRun{By: now.Add(span), How: "now + interval + window"}
}

// rotationSpan is a rotation schedule's interval plus its window: a rate
// ScheduleExpression or AutomaticallyAfterDays, then Duration, or when that
// is unset, Secrets Manager's default window: 1 hour for a schedule in hours,
// the rest of the UTC day (at most 24 hours) for one in days.
func rotationSpan(rules *smtypes.RotationRulesType) (time.Duration, bool) {
	if rules == nil {
		return 0, false
	}
	var interval time.Duration
	switch {
	case rules.ScheduleExpression != nil:
		d, err := ParseRate(*rules.ScheduleExpression)
		if err != nil {
			return 0, false
		}
		interval = d
	case rules.AutomaticallyAfterDays != nil && *rules.AutomaticallyAfterDays > 0:
		interval = time.Duration(*rules.AutomaticallyAfterDays) * 24 * time.Hour
	default:
		return 0, false
	}
	window := 24 * time.Hour
	if interval%(24*time.Hour) != 0 {
		window = time.Hour
	}
	if rules.Duration != nil {
		if d, err := time.ParseDuration(*rules.Duration); err == nil && d > 0 {
			window = d
		}
	}
	return interval + window, true
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
