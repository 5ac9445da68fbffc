package ops

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/integration"
)

// Rotate forces a rotation: of every integration of the stack (the
// function's own and every added one) when name is empty, else of name
// only. It prints one line for the invocation, then a table with each
// integration's outcome (rotated, fresh or failed), its token's expiry and
// the reason or error. When the function reports an error, the table lists
// the failures it names and the error is a *FunctionError, whose message
// names each failed integration. It needs the stack's function name.
func (o *Operator) Rotate(ctx context.Context, name string) (Report, error) {
	if name != "" {
		if err := integration.CheckName(name); err != nil {
			return Report{}, err
		}
	}
	if err := o.need(OutputFunctionName); err != nil {
		return Report{}, err
	}
	ev := event{Force: true, Integration: name}
	if name == "" {
		fmt.Fprintf(o.cfg.Out, `invoking %s with {"force": true}: every integration`+"\n", o.cfg.Stack.FunctionName)
	} else {
		fmt.Fprintf(o.cfg.Out, `invoking %s with {"force": true, "integration": %q}`+"\n", o.cfg.Stack.FunctionName, name)
	}
	rep, err := o.invoke(ctx, ev)
	if err != nil && rep.Err == nil {
		return rep, err
	}
	WriteTable(o.cfg.Out, rep)
	return rep, err
}

// WriteTable writes rep as a table: integration, outcome, expiry, reason or
// error; then, for a failed run, what the table could not show.
func WriteTable(w io.Writer, rep Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INTEGRATION\tOUTCOME\tEXPIRY\tREASON OR ERROR")
	for _, one := range rep.Integrations {
		detail := one.Reason
		if one.Error != "" {
			detail = one.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", one.Integration, one.Kind(), formatTime(one.Expiry), oneLine(detail))
	}
	tw.Flush()
	if rep.Err == nil {
		fmt.Fprintf(w, "%d rotated, %d fresh, %d failed\n", rep.Counts.Rotated, rep.Counts.Fresh, rep.Counts.Failed)
		return
	}
	c := rep.Counts
	switch {
	case len(rep.Integrations) == 0:
		fmt.Fprintln(w, "(the function reported an error that names no integration's result; it follows)")
	case c.Rotated+c.Fresh > 0:
		fmt.Fprintf(w, "%d failed; the other %d succeeded (%d rotated, %d fresh), their details are in the function's log\n",
			c.Failed, c.Rotated+c.Fresh, c.Rotated, c.Fresh)
	default:
		fmt.Fprintf(w, "%d failed\n", max(c.Failed, len(rep.Integrations)))
	}
}

// formatTime is t in RFC 3339 UTC, or "-" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
