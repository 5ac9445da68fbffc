package status

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// Print writes the screen: a heading, one row per integration, notes on
// what could not be read, the rule, the alarms in ALARM, the dead-letter
// queue's depth, and the verdict as the last line. Nothing on it is a token
// or a secret: the report holds neither.
func (r *report) Print(w io.Writer) {
	st := r.Stack
	head := fmt.Sprintf("stack %s at %s: function %s, ", st.Name, r.At.Format(time.RFC3339), st.FunctionName)
	if st.RotationEngine == ops.EngineSecretsManager {
		head += "engine " + st.RotationEngine + " (each token secret's own rotation schedule)"
	} else {
		head += "schedule " + orUnknown(st.Schedule)
	}
	fmt.Fprintln(w, head)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "INTEGRATION\tCLIENT\tAGE\tEXPIRES IN\tNEXT RUN WITHIN\tCHECK\tLAST RUN (%s)\tENGINE\tCURRENT VERSION\tPREVIOUS VERSION\tCLIENT SECRET\n", short(r.Window))
	for _, one := range r.Rows {
		t := one.Token
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", one.Name, orDash(t.ClientID), age(t, r.At), expiresIn(t, r.At),
			within(one.Next, r.At), one.Verdict, lastRunText(one, r.At), orDash(t.Engine), orDash(t.Current), orDash(t.Previous), secretDaysText(one.Last))
	}
	tw.Flush()

	for _, one := range r.Rows {
		if one.Token.Err != nil {
			fmt.Fprintf(w, "%s: cannot read its token secret: %v\n", one.Name, one.Token.Err)
		}
	}
	if r.MetricsErr != nil {
		fmt.Fprintf(w, "last runs: cannot read: %v; each next run is bounded from now\n", r.MetricsErr)
	}
	fmt.Fprintln(w, "rule: a token must outlive its next run, which comes (scheduler) at most one Schedule interval after the last run seen, "+
		"or from now when none was seen, or (secretsmanager) by NextRotationDate, else the last rotation + interval + window")

	switch {
	case !r.AlarmsRead:
	case r.AlarmsErr != nil:
		fmt.Fprintf(w, "alarms in ALARM: cannot read: %v\n", r.AlarmsErr)
	case len(r.Alarms) == 0:
		fmt.Fprintln(w, "alarms in ALARM: none")
	default:
		fmt.Fprintf(w, "alarms in ALARM: %d\n", len(r.Alarms))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, a := range r.Alarms {
			fmt.Fprintf(tw, "  %s\tsince %s\t%s\n", a.Name, a.Since.UTC().Format(time.RFC3339), clip(a.Reason, 120))
		}
		tw.Flush()
	}

	switch {
	case r.QueueErr != nil:
		fmt.Fprintf(w, "dead-letter queue: cannot read: %v\n", r.QueueErr)
	case r.QueueRead && r.QueueDepth == 0:
		fmt.Fprintln(w, "dead-letter queue: 0 messages")
	case r.QueueRead:
		fmt.Fprintf(w, "dead-letter queue: %d %s: runs that failed after their retries (aws sqs receive-message --queue-url %s)\n",
			r.QueueDepth, plural(r.QueueDepth, "message", "messages"), r.Stack.DeadLetterQueueURL)
	case r.Stack.DeadLetterQueueURL == "":
		fmt.Fprintf(w, "dead-letter queue: unknown (the stack has no output %s)\n", OutputDeadLetterQueue)
	}
	fmt.Fprintln(w, r.verdictLine())
}

// secretDaysText is the CLIENT SECRET cell: the days left on the client
// secret at its last report, "expired" past its date, blank when no run in
// the window reported one.
func secretDaysText(l lastRun) string {
	switch {
	case l.SecretDaysAt.IsZero():
		return ""
	case l.SecretDays < 0:
		return "expired"
	default:
		return fmt.Sprintf("%.0f days left", l.SecretDays)
	}
}

// verdictLine is the screen's last line: which tokens fail the check, and why.
func (r *report) verdictLine() string {
	var failing, unknownNext []string
	for _, one := range r.Rows {
		if !one.OK() {
			failing = append(failing, one.Name+" ("+why(one, r.At)+")")
		} else if one.Next.By.IsZero() {
			unknownNext = append(unknownNext, one.Name)
		}
	}
	n := len(r.Rows)
	if len(failing) > 0 {
		return fmt.Sprintf("%d of %d %s %s before the next run: %s", len(failing), n, plural(n, "token", "tokens"),
			plural(len(failing), "expires", "expire"), strings.Join(failing, ", "))
	}
	line := fmt.Sprintf("all %d tokens outlive the next run", n)
	if n == 1 {
		line = "the 1 token outlives the next run"
	}
	if len(unknownNext) > 0 {
		line += fmt.Sprintf(" (%s only judged against now: %s)", strings.Join(unknownNext, ", "), r.firstUnknownHow())
	}
	return line
}

func (r *report) firstUnknownHow() string {
	for _, one := range r.Rows {
		if one.Next.By.IsZero() {
			return one.Next.How
		}
	}
	return ""
}

// why says why a row fails the check.
func why(one row, now time.Time) string {
	t := one.Token
	switch one.Verdict {
	case verdictUnreadable:
		return "cannot read its token secret"
	case verdictNoToken:
		return t.NoToken
	case verdictExpired:
		return "expired " + short(now.Sub(t.Expiry)) + " ago"
	case verdictNoRotation:
		return one.Next.How
	}
	return fmt.Sprintf("expires in %s, next run within %s", short(t.Expiry.Sub(now)), short(one.Next.By.Sub(now)))
}

func age(t tokenState, now time.Time) string {
	if !t.HasToken || t.IssuedAt.IsZero() {
		return "-"
	}
	if d := now.Sub(t.IssuedAt); d < 0 {
		return short(-d) + " ahead"
	}
	return short(now.Sub(t.IssuedAt))
}

func expiresIn(t tokenState, now time.Time) string {
	switch {
	case t.Err != nil:
		return "?"
	case !t.HasToken:
		return t.NoToken
	case !t.Expiry.After(now):
		return "expired " + short(now.Sub(t.Expiry)) + " ago"
	}
	return short(t.Expiry.Sub(now))
}

func within(n nextRun, now time.Time) string {
	if n.By.IsZero() {
		return "unknown"
	}
	return short(max(n.By.Sub(now), 0))
}

func lastRunText(one row, now time.Time) string {
	l := one.Last
	switch {
	case !one.LastKnown:
		return "not read"
	case l.At.IsZero():
		return "none seen"
	}
	outcome := "unknown"
	switch {
	case l.Failed > 0 && l.Succeeded > 0:
		outcome = "failed+succeeded"
	case l.Failed > 0:
		outcome = "failed"
	case l.Succeeded > 0:
		outcome = "succeeded"
	}
	// The run was within the minute that starts at l.At: at most this long ago.
	ago := now.Sub(l.At).Truncate(time.Minute)
	if ago < time.Minute {
		return outcome + " <1m ago"
	}
	return outcome + " " + short(ago) + " ago"
}

// short writes d the way the screen does: 42s, 7m, 5h07m, 2d03h.
func short(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// clip shortens s to n runes on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
