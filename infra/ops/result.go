package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/tokenrotator/tokenrotator/functions/integration"
)

// Outcome is one integration's result, as the rotator reports it: the
// fields of its result JSON that the operator shows. It holds no secret.
type Outcome struct {
	// Integration is the integration's name.
	Integration string `json:"integration"`
	// Rotated says whether the run wrote a new token version.
	Rotated bool `json:"rotated"`
	// Reason says why the run did what it did.
	Reason string `json:"reason"`
	// Error is why the integration failed; empty when it did not.
	Error string `json:"error"`
	// Expiry is the stored token's, when the integration did not fail.
	Expiry time.Time `json:"expiry"`
	// VersionID is the token secret's AWSCURRENT version after the run.
	VersionID string `json:"version_id"`
}

// Kind is "failed", "rotated" or "fresh".
func (o Outcome) Kind() string {
	switch {
	case o.Error != "":
		return "failed"
	case o.Rotated:
		return "rotated"
	}
	return "fresh"
}

// Counts tallies a run's integrations by outcome.
type Counts struct {
	Rotated int `json:"rotated"`
	Fresh   int `json:"fresh"`
	Failed  int `json:"failed"`
}

// Report is one invocation's outcome.
type Report struct {
	// Integrations holds each integration's outcome, sorted by name. When
	// the function failed it holds only the failures its error names.
	Integrations []Outcome
	// Counts tallies the run, when known.
	Counts Counts
	// Err is the function's error, nil when it succeeded.
	Err *FunctionError
}

// FunctionError is an invocation in which the function reported an error:
// one or more integrations failed, or the run could not start.
type FunctionError struct {
	// Type is Lambda's errorType, such as "errorString".
	Type string `json:"errorType"`
	// Message is the function's error: for a run of many, "2 of 3
	// integrations failed (...); acme: <cause>; ...".
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return "the function reported an error: " + e.Message }

// event is the payload the operator sends.
type event struct {
	Force       bool   `json:"force"`
	Integration string `json:"integration,omitempty"`
}

// invoke runs the function with ev and returns its report. The error is
// the report's Err when the function failed, or why the invocation itself
// did.
func (o *Operator) invoke(ctx context.Context, ev event) (Report, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return Report{}, fmt.Errorf("encoding the event: %w", err)
	}
	out, err := o.cfg.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(o.cfg.InvokeName), Payload: payload})
	if err != nil {
		return Report{}, fmt.Errorf("invoking function %s: %w", o.cfg.Stack.FunctionName, err)
	}
	rep, err := decodeReport(aws.ToString(out.FunctionError) != "", out.Payload, ev.Integration)
	if err != nil {
		return Report{}, fmt.Errorf("function %s: %w", o.cfg.Stack.FunctionName, err)
	}
	if rep.Err != nil {
		return rep, rep.Err
	}
	return rep, nil
}

// decodeReport reads the function's response. Lambda flags a function
// error with X-Amz-Function-Error (failed); the Runtime Interface Emulator
// does not, so an {"errorMessage", "errorType"} body, or its plain timeout
// message, counts as one too. only is the integration the run was limited
// to, which names the failure of a run of one.
func decodeReport(failed bool, payload []byte, only string) (Report, error) {
	trimmed := bytes.TrimSpace(payload)
	if msg := string(trimmed); strings.HasPrefix(msg, "Task timed out after") {
		return failureReport(&FunctionError{Type: "TimeoutError", Message: msg}, only), nil
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &probe); err != nil {
		if failed {
			return failureReport(&FunctionError{Type: "Unknown", Message: fmt.Sprintf("the function failed with %.300s", trimmed)}, only), nil
		}
		return Report{}, fmt.Errorf("the response is not JSON: %.200q", trimmed)
	}
	_, hasMessage := probe["errorMessage"]
	_, hasType := probe["errorType"]
	if failed || (hasMessage && hasType) {
		var fe FunctionError
		if err := json.Unmarshal(trimmed, &fe); err != nil || fe.Message == "" {
			fe = FunctionError{Type: "Unknown", Message: fmt.Sprintf("the function failed with %.300s", trimmed)}
		}
		return failureReport(&fe, only), nil
	}
	var res struct {
		Outcome
		Counts       *Counts   `json:"counts"`
		Integrations []Outcome `json:"integrations"`
	}
	if err := json.Unmarshal(trimmed, &res); err != nil {
		return Report{}, fmt.Errorf("decoding the result: %w", err)
	}
	rep := Report{Integrations: res.Integrations}
	if len(rep.Integrations) == 0 {
		rep.Integrations = []Outcome{res.Outcome}
	}
	if res.Counts != nil {
		rep.Counts = *res.Counts
	} else {
		for _, one := range rep.Integrations {
			rep.Counts.add(one)
		}
	}
	return rep, nil
}

func (c *Counts) add(o Outcome) {
	switch o.Kind() {
	case "failed":
		c.Failed++
	case "rotated":
		c.Rotated++
	default:
		c.Fresh++
	}
}

// failureReport is the report of a failed invocation: the failures the
// message names, with the counts it states.
func failureReport(fe *FunctionError, only string) Report {
	rep := Report{Err: fe}
	if only != "" {
		rep.Integrations = []Outcome{{Integration: only, Error: fe.Message}}
		rep.Counts.Failed = 1
		return rep
	}
	failures, counts, ok := parseFailures(fe.Message)
	rep.Counts = counts
	if ok {
		rep.Integrations = failures
	}
	return rep
}

var (
	// summaryRE matches the rotator's summary of a run of many with
	// failures (rotation.Rotator.Run).
	summaryRE = regexp.MustCompile(`(\d+) of (\d+) integrations failed \((\d+) rotated, (\d+) fresh; nothing was written for the failed ones\)`)
	// failureRE matches the start of one named failure after the summary.
	failureRE = regexp.MustCompile(`; ([a-z0-9][a-z0-9-]{0,` + strconv.Itoa(integration.MaxNameLength-1) + `}): `)
	// moreRE matches the tail the rotator adds past 20 named failures.
	moreRE = regexp.MustCompile(`; and \d+ more, named in the log$`)
)

// parseFailures reads the failed integrations and the counts out of the
// rotator's error for a run of many. ok is false when the message is not
// in that form, or names other than as many failures as it counts (a cause
// that itself reads "; name: " would do that): the caller then shows the
// message alone.
func parseFailures(msg string) (failures []Outcome, counts Counts, ok bool) {
	loc := summaryRE.FindStringSubmatchIndex(msg)
	if loc == nil {
		return nil, Counts{}, false
	}
	num := func(i int) int { n, _ := strconv.Atoi(msg[loc[2*i]:loc[2*i+1]]); return n }
	counts = Counts{Failed: num(1), Rotated: num(3), Fresh: num(4)}
	rest := moreRE.ReplaceAllString(msg[loc[1]:], "")
	starts := failureRE.FindAllStringSubmatchIndex(rest, -1)
	for i, s := range starts {
		end := len(rest)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		failures = append(failures, Outcome{Integration: rest[s[2]:s[3]], Error: rest[s[1]:end]})
	}
	if len(failures) != min(counts.Failed, maxNamedFailures) || (len(starts) > 0 && starts[0][0] != 0) {
		return nil, counts, false
	}
	return failures, counts, true
}

// maxNamedFailures is how many failures the rotator's error names.
const maxNamedFailures = 20
